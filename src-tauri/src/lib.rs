//! The desktop shell of Gatehouse: a Tauri 2 window over the same core as the CLI.
//!
//! The page never holds a session or a secret: the signed-in principal lives here, in Rust state,
//! and every command (`commands/`) is a thin wrapper — the principal from state, one core call,
//! the error mapped to `{code, message, field?, reason?}`. Authorization happens in the core.

pub mod commands;
pub mod settings;
pub mod state;

use tauri::{Emitter, Manager};
use tauri_plugin_deep_link::DeepLinkExt;

pub use state::AppState;

pub use gatehouse_cli::{wants_window, LINK_SCHEME};

/// The invitation token of a `gatehouse://invite/TOKEN` link, if that is what `arg` is.
pub fn invite_token_from_link(arg: &str) -> Option<String> {
    let rest = arg.strip_prefix(LINK_SCHEME)?.strip_prefix("invite/")?;
    let token = rest.trim_end_matches('/').split(['?', '#']).next()?.trim();
    (!token.is_empty() && token.len() <= 200).then(|| token.to_string())
}

/// Every app command, registered with Tauri. Also used by the command-layer tests.
#[macro_export]
macro_rules! app_handlers {
    () => {
        tauri::generate_handler![
            $crate::commands::session::app_status,
            $crate::commands::session::database_status,
            $crate::commands::session::choose_database,
            $crate::commands::session::database_settings,
            $crate::commands::session::setup,
            $crate::commands::session::sign_in,
            $crate::commands::session::sign_out,
            $crate::commands::session::take_pending_invite,
            $crate::commands::session::accept_invitation,
            $crate::commands::session::reject_invitation,
            $crate::commands::session::preview_invitation,
            $crate::commands::session::my_invitations,
            $crate::commands::session::accept_my_invitation,
            $crate::commands::session::decline_my_invitation,
            $crate::commands::orgs::list_orgs,
            $crate::commands::orgs::create_org,
            $crate::commands::orgs::rename_org,
            $crate::commands::orgs::my_access,
            $crate::commands::members::list_members,
            $crate::commands::members::member_details,
            $crate::commands::members::set_member_role,
            $crate::commands::members::set_member_expiry,
            $crate::commands::members::set_members_enabled,
            $crate::commands::members::cancel_bulk,
            $crate::commands::members::preview_members_enabled,
            $crate::commands::members::remove_member,
            $crate::commands::members::leave_org,
            $crate::commands::members::export_members,
            $crate::commands::invitations::create_invitations,
            $crate::commands::invitations::parse_invitations_csv,
            $crate::commands::invitations::list_invitations,
            $crate::commands::invitations::resend_invitation,
            $crate::commands::invitations::revoke_invitation,
            $crate::commands::roles::list_roles,
            $crate::commands::roles::create_role,
            $crate::commands::roles::update_role,
            $crate::commands::roles::delete_role,
            $crate::commands::roles::list_permissions,
            $crate::commands::roles::create_permission,
            $crate::commands::workspaces::list_workspaces,
            $crate::commands::workspaces::create_workspace,
            $crate::commands::workspaces::grant_workspace,
            $crate::commands::workspaces::revoke_workspace,
            $crate::commands::service_accounts::list_service_accounts,
            $crate::commands::service_accounts::create_service_account,
            $crate::commands::service_accounts::revoke_service_account,
            $crate::commands::audit::list_audit,
            $crate::commands::audit::verify_audit,
            $crate::commands::audit::export_audit,
            $crate::commands::review::access_review,
            $crate::commands::review::export_review,
            $crate::commands::review::check_permission,
            $crate::commands::service::service_status,
        ]
    };
}

/// The app's configuration, embedded page and resolved capabilities (generated at build time).
/// Generic over the runtime so that the command-layer tests run the real ACL on the mock runtime.
pub fn context<R: tauri::Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// Keep the token of a link that arrived while the app runs, and tell the page to take it.
fn hand_over_invite<R: tauri::Runtime>(app: &tauri::AppHandle<R>, token: String) {
    app.state::<AppState>().set_pending_invite(token);
    let _ = app.emit("invite-link", ());
}

/// Open the window. The database is opened once the window exists, off the main thread, so that
/// the page can say why the start takes long (an upgrade, another process's lock) or why the
/// database cannot be used (`database_status`, the `database-status` event).
pub fn run_desktop() {
    // The database chosen on the first run (or $GATEHOUSE_DB); none yet: the page asks.
    let places = settings::Places::of_this_user();
    let db_path = places.database_to_open();
    let state = match db_path {
        Some(_) => AppState::opening(),
        None => AppState::choosing(places.clone()),
    };
    // The database can be chosen again from the window (Database settings, or after it failed
    // to open), unless $GATEHOUSE_DB names it: `choose` says so then.
    state.set_places(places);
    if let Some(token) = std::env::args().nth(1).as_deref().and_then(invite_token_from_link) {
        state.set_pending_invite(token);
    }
    tauri::Builder::default()
        // A second start (a clicked invitation link, or the app icon again) focuses this window and
        // hands over its link instead of opening another copy on the same database.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            if let Some(token) = argv.get(1).and_then(|a| invite_token_from_link(a)) {
                hand_over_invite(app, token);
            }
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.set_focus();
            }
        }))
        // `gatehouse://invite/TOKEN`: registered by the installers (tauri.conf.json, plugins.deep-link).
        // Linux and Windows hand a clicked link over as an argument (above, and via single-instance);
        // macOS sends it as an event to the running app.
        .plugin(tauri_plugin_deep_link::init())
        .setup(move |app| {
            if let Some(db_path) = db_path {
                let opener = app.handle().clone();
                std::thread::spawn(move || {
                    let emitter = opener.clone();
                    let listener: state::StatusListener = std::sync::Arc::new(move |status| {
                        let _ = emitter.emit(state::DATABASE_STATUS_EVENT, status);
                    });
                    opener.state::<AppState>().open(&db_path, listener);
                });
            }
            let handle = app.handle().clone();
            app.deep_link().on_open_url(move |event| {
                if let Some(token) = event.urls().iter().find_map(|u| invite_token_from_link(u.as_str())) {
                    hand_over_invite(&handle, token);
                }
            });
            Ok(())
        })
        .manage(state)
        .invoke_handler(app_handlers!())
        .run(context())
        .expect("error while running the Gatehouse window");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_links() {
        assert_eq!(invite_token_from_link("gatehouse://invite/ghi_abc").as_deref(), Some("ghi_abc"));
        assert_eq!(invite_token_from_link("gatehouse://invite/ghi_abc/").as_deref(), Some("ghi_abc"));
        assert_eq!(invite_token_from_link("gatehouse://invite/"), None);
        assert_eq!(invite_token_from_link("gatehouse://other/ghi_abc"), None);
        assert_eq!(invite_token_from_link("https://invite/ghi_abc"), None);
    }
}
