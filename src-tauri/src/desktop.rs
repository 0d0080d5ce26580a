//! `gatehouse-desktop`: the Gatehouse window. Users start it as `gatehouse` (with no arguments, or
//! with a `gatehouse://` link), which hands over to this program; the desktop entry and the
//! installers' shortcuts start it directly. An argument that is a `gatehouse://invite/…` link
//! opens the accept-invitation screen; other arguments are ignored (macOS and some launchers add
//! their own).

// On Windows a release build is a GUI program: no console window flashes up when the app starts.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    gatehouse_app::run_desktop();
}
