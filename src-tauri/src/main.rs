//! `gatehouse`: one binary. With no arguments (or a `gatehouse://` link, which is how the system
//! hands a deep link to the app) it opens the desktop window; with a subcommand it is the CLI and
//! needs no display.

// On Windows a release build is a GUI program (no console window flashes up when the app starts);
// the CLI then re-attaches to the console of the shell that started it (see `attach_console`).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if gatehouse_app::wants_window(&args) {
        gatehouse_app::run_desktop();
    } else {
        gatehouse_app::attach_console();
        std::process::exit(gatehouse_cli::run(args));
    }
}
