//! `gatehouse` as a command line only. The desktop shell (src-tauri) will take over this binary name
//! and dispatch here whenever it is given a subcommand.

fn main() {
    std::process::exit(gatehouse_cli::run(std::env::args_os()));
}
