//! `gatehouse`: the one command users type. With a subcommand it is the CLI; with no arguments, or
//! with a `gatehouse://` link (how the system hands over a clicked link), it starts the desktop app,
//! `gatehouse-desktop`, installed beside it.
//!
//! It links no WebKit (only `gatehouse-cli` and the core): a CLI call used to spend ~60 ms in the
//! dynamic loader resolving 169 WebKitGTK libraries before `main`; now it starts in a few ms. On
//! Windows it is a console program, so its output reaches the terminal like any other CLI's.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The desktop program's file name.
const DESKTOP: &str = if cfg!(windows) { "gatehouse-desktop.exe" } else { "gatehouse-desktop" };

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if gatehouse_cli::wants_window(&args) {
        std::process::exit(start_desktop(&args[1.min(args.len())..]));
    }
    std::process::exit(gatehouse_cli::run(args));
}

/// Where the desktop program may be, given where this program is: beside it (the .deb and .rpm
/// in /usr/bin, Windows' install folder, a macOS bundle's Contents/MacOS, cargo's target folder),
/// or in a libexec-style folder a distribution may prefer.
fn desktop_candidates(this: &Path) -> Vec<PathBuf> {
    let Some(dir) = this.parent() else { return vec![] };
    let mut found = vec![dir.join(DESKTOP)];
    if let Some(prefix) = dir.parent() {
        found.push(prefix.join("libexec").join("gatehouse").join(DESKTOP));
        found.push(prefix.join("lib").join("gatehouse").join(DESKTOP));
    }
    found
}

/// Hand over to the desktop program with the same arguments (a link, or none). On Unix it replaces
/// this process (same process id, environment and terminal), so whatever started `gatehouse` — a
/// desktop entry, a WebDriver session — is talking to the window.
fn start_desktop(args: &[OsString]) -> i32 {
    if !gatehouse_cli::has_display(|name| std::env::var_os(name)) {
        eprintln!("{}", gatehouse_cli::no_display_message("gatehouse"));
        return 2;
    }
    let this = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("gatehouse"));
    let candidates = desktop_candidates(&this);
    let Some(desktop) = candidates.iter().find(|p| p.is_file()) else {
        eprintln!(
            "gatehouse: the desktop app is not installed beside this command (looked for {}).\n\
             The command line works without it: gatehouse --help",
            candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        return 1;
    };
    let mut command = Command::new(desktop);
    command.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.exec();
        eprintln!("gatehouse: cannot start the desktop app {}: {error}", desktop.display());
        1
    }
    #[cfg(not(unix))]
    {
        // A GUI program: start it and return the terminal (or the launcher) at once.
        match command.spawn() {
            Ok(_) => 0,
            Err(error) => {
                eprintln!("gatehouse: cannot start the desktop app {}: {error}", desktop.display());
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desktop_program_is_looked_for_beside_this_one_first() {
        let found = desktop_candidates(Path::new("/usr/bin/gatehouse"));
        assert_eq!(found[0], Path::new("/usr/bin").join(DESKTOP));
        assert!(found.contains(&Path::new("/usr/libexec/gatehouse").join(DESKTOP)));
    }
}
