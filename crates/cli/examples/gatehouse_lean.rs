//! The `gatehouse` command without the desktop hand-over: exactly `src-tauri/src/main.rs` for every
//! subcommand (`gatehouse_cli::run`), in a package that does not depend on Tauri, so that
//! `scripts/bench-serve` can make an optimised build of `gatehouse serve` and `gatehouse check`
//! without compiling the GUI stack in release mode.

fn main() {
    std::process::exit(gatehouse_cli::run(std::env::args_os()));
}
