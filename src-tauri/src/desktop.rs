//! `gatehouse-desktop`: the Gatehouse window. Users start it as `gatehouse` (with no arguments, or
//! with a `gatehouse://` link), which hands over to this program; the desktop entry and the
//! installers' shortcuts start it directly. An argument that is a `gatehouse://invite/…` link
//! opens the accept-invitation screen; other arguments are ignored (macOS and some launchers add
//! their own).

// On Windows a release build is a GUI program: no console window flashes up when the app starts.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Without a display GTK cannot start and the window would end in a panic (exit 101): say so,
    // as `gatehouse` does, and exit 2.
    if !gatehouse_cli::has_display(|name| std::env::var_os(name)) {
        eprintln!("{}", gatehouse_cli::no_display_message("gatehouse-desktop"));
        std::process::exit(2);
    }
    gatehouse_app::run_desktop();
}
