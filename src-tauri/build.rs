fn main() {
    // The app's own commands, declared so that each needs a permission: a window may call only
    // what `capabilities/` grants it by name (`allow-<command>`).
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(gatehouse_app_commands::COMMANDS)),
    )
    .expect("tauri build script");
}

#[path = "src/commands/names.rs"]
mod gatehouse_app_commands;
