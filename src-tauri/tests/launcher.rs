//! `gatehouse`, the command users type, is a lean program: the CLI, which hands over to the
//! desktop program beside it when run with no arguments or a `gatehouse://` link (issue 9: a CLI
//! call spent ~60 ms loading WebKitGTK before `main`).

use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

fn bin(name: &str) -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin(name)
}

/// The CLI links no WebKit, GTK or other GUI library; the desktop program does.
#[test]
fn the_cli_links_no_webkit() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let libraries = |path: &Path| {
        let out = Command::new("ldd").arg(path).output().expect("ldd");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let cli = libraries(&bin("gatehouse"));
    for gui in ["webkit", "gtk", "gdk", "javascriptcore", "soup", "glib"] {
        assert!(!cli.contains(gui), "gatehouse links {gui}:\n{cli}");
    }
    assert!(cli.lines().count() <= 8, "gatehouse links more than the C runtime:\n{cli}");
    assert!(libraries(&bin("gatehouse-desktop")).contains("libwebkit2gtk"), "the desktop program lost WebKit");
}

/// With no arguments or a link, `gatehouse` becomes the desktop program beside it (same process,
/// same arguments); with a subcommand it stays the CLI; without the desktop program it says so.
#[test]
fn no_arguments_or_a_link_start_the_desktop_program_beside_it() {
    if !cfg!(unix) {
        return;
    }
    let dir = TempDir::new().unwrap();
    let cli = dir.path().join("gatehouse");
    std::fs::copy(bin("gatehouse"), &cli).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(&cli).args(args).env_remove("GATEHOUSE_DB").env("DISPLAY", ":0").output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, _, err) = run(&[]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("the desktop app is not installed beside this command") && err.contains("gatehouse --help"),
        "{err}"
    );

    // A stand-in for the window that shows how it was started.
    let desktop = dir.path().join("gatehouse-desktop");
    std::fs::write(&desktop, "#!/bin/sh\necho \"desktop pid=$$ args=$*\"\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&desktop, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (code, out, err) = run(&[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("desktop pid=") && out.trim_end().ends_with("args="), "{out}");
    let (code, out, _) = run(&["gatehouse://invite/ghi_abc"]);
    assert_eq!(code, Some(0));
    assert!(out.trim_end().ends_with("args=gatehouse://invite/ghi_abc"), "{out}");
    // Same process: the pid the stand-in saw is the one started.
    let child = Command::new(&cli).env("DISPLAY", ":0").stdout(std::process::Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("pid={pid} ")), "{out:?}");

    // A subcommand is the CLI, whatever is installed beside it.
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("gatehouse "), "{out}");
}

/// Without a display (over SSH, in a container) the window cannot open: `gatehouse` with no
/// arguments says so and how to use the command line, and does not start the desktop program,
/// which would end in a GTK panic (exit 101), as the README's first command did on such a machine.
#[test]
fn without_a_display_no_arguments_say_how_to_use_the_command_line() {
    if !cfg!(unix) || cfg!(target_os = "macos") {
        return;
    }
    let dir = TempDir::new().unwrap();
    let cli = dir.path().join("gatehouse");
    std::fs::copy(bin("gatehouse"), &cli).unwrap();
    let desktop = dir.path().join("gatehouse-desktop");
    std::fs::write(&desktop, "#!/bin/sh\necho started\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&desktop, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for display in [None, Some("")] {
        let mut command = Command::new(&cli);
        command.env_remove("WAYLAND_DISPLAY").env_remove("GATEHOUSE_DB");
        match display {
            None => command.env_remove("DISPLAY"),
            Some(value) => command.env("DISPLAY", value),
        };
        let out = command.output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
        assert!(!stdout.contains("started"), "the desktop program was started: {stdout}");
        assert!(stderr.contains("no display") && stderr.contains("gatehouse --help"), "{stderr}");
    }
    // A subcommand is the CLI, display or none.
    let out = Command::new(&cli).arg("--version").env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// The desktop program started directly without a display (the desktop entry run over SSH, or
/// `gatehouse-desktop` typed in a container) says so and exits 2, as `gatehouse` does, instead of
/// ending in GTK's panic "Failed to initialize gtk backend!" (exit 101), as it did before.
#[test]
fn the_desktop_program_without_a_display_says_so_and_exits_2() {
    if !cfg!(unix) || cfg!(target_os = "macos") {
        return;
    }
    let home = TempDir::new().unwrap();
    let out = Command::new(bin("gatehouse-desktop"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("GATEHOUSE_DB")
        .env("XDG_DATA_HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("gatehouse-desktop: there is no display"), "{stderr}");
    assert!(stderr.contains("gatehouse --help") && !stderr.contains("panicked"), "{stderr}");
}
