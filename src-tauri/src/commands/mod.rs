//! The Tauri commands: each takes the signed-in principal from `AppState`, makes one core call and
//! maps its error to `ErrorBody`. No SQL and no authorization here.

pub mod audit;
pub mod invitations;
pub mod members;
pub mod names;
pub mod orgs;
pub mod review;
pub mod roles;
pub mod service;
pub mod service_accounts;
pub mod session;
pub mod workspaces;

use gatehouse_core::{time, ErrorBody, Result, Timestamp};

/// The result every command returns to the page.
pub type Reply<T> = std::result::Result<T, ErrorBody>;

/// An optional moment from the page (RFC 3339, a duration such as `90d`, or `never`).
pub(crate) fn moment(field: &str, text: Option<&str>, now: Timestamp) -> Result<Option<Timestamp>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => time::parse_when(field, t, now),
        None => Ok(None),
    }
}

/// Write an export into the user's Downloads folder (or home) and return where it went.
pub(crate) fn save_export<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    stem: &str,
    ext: &str,
    text: &str,
) -> Result<String> {
    use tauri::Manager;
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| gatehouse_core::Error::Internal(format!("no folder to save into: {e}")))?;
    let stamp = chrono_like_stamp(time::now());
    // A new owner-only file (rule 12): two exports in the same second get `-2`, `-3`…, and a file or
    // symbolic link already at a name is never written through.
    for n in 1..100 {
        let suffix = if n == 1 { String::new() } else { format!("-{n}") };
        let path = dir.join(format!("{stem}-{stamp}{suffix}.{ext}"));
        match gatehouse_core::files::write_new(&path, "out", text.as_bytes()) {
            Err(e) if e.conflict_reason() == Some(gatehouse_core::ConflictReason::AlreadyExists) => continue,
            other => return other.map(|p| p.display().to_string()),
        }
    }
    Err(gatehouse_core::Error::conflict(
        gatehouse_core::ConflictReason::AlreadyExists,
        format!("too many exports named {stem}-{stamp} in {}", dir.display()),
    ))
}

fn chrono_like_stamp(now: Timestamp) -> String {
    time::rfc3339(now).replace([':', '-'], "").replace('T', "-").trim_end_matches('Z').to_string()
}
