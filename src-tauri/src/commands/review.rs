//! The Access review screen, and `check` for the person who wants to ask a question by hand.

use super::{save_export, Reply};
use crate::AppState;
use gatehouse_core::time;
use gatehouse_core::usecases::{check, review};
use tauri::State;

/// `expiring_within` as the page sends it: a duration such as `30d`, or empty for all access.
fn within(text: Option<&str>) -> gatehouse_core::Result<Option<i64>> {
    text.map(str::trim).filter(|s| !s.is_empty()).map(|d| time::parse_duration("expiring_within", d)).transpose()
}

/// Who has what; with `expiring_within` (a duration such as `30d`), only access ending that soon.
#[tauri::command]
pub async fn access_review(
    state: State<'_, AppState>,
    org: String,
    expiring_within: Option<String>,
) -> Reply<Vec<review::ReviewRow>> {
    state.call(|db, who, now| review::review(db, who, &org, within(expiring_within.as_deref())?, now))
}

#[tauri::command]
pub async fn export_review<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    org: String,
    expiring_within: Option<String>,
) -> Reply<String> {
    state.call(|db, who, now| {
        let rows = review::review(db, who, &org, within(expiring_within.as_deref())?, now)?;
        let text = gatehouse_cli::output::review_csv(&rows)?;
        save_export(&app, &format!("gatehouse-review-{org}"), "csv", &text)
    })
}

#[tauri::command]
pub async fn check_permission(
    state: State<'_, AppState>,
    org: String,
    user: String,
    permission: String,
    workspace: Option<String>,
) -> Reply<check::CheckAnswer> {
    state.call(|db, who, now| {
        check::check(db, who, &org, &user, &permission, workspace.as_deref().filter(|w| !w.is_empty()), now)
    })
}
