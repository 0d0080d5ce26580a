//! The Users screen: the member list, details, and the changes of its row menu and bulk bar.

use super::{moment, save_export, Reply};
use crate::AppState;
use gatehouse_core::usecases::{members, review};
use serde::Deserialize;
use tauri::State;
use ts_rs::TS;

/// Search, filters, sort and page of the member list, as the page sends them.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[ts(export)]
pub struct MemberListArgs {
    #[ts(optional)]
    pub search: Option<String>,
    /// A `MemberStatus` name, or `all`.
    #[ts(optional)]
    pub status: Option<String>,
    #[ts(optional)]
    pub role: Option<String>,
}

impl MemberListArgs {
    fn filter(&self) -> members::MemberFilter {
        members::MemberFilter { search: self.search.clone(), status: self.status.clone(), role: self.role.clone() }
    }
}

#[tauri::command]
pub async fn list_members(
    state: State<'_, AppState>,
    org: String,
    filter: MemberListArgs,
    sort: members::SortKey,
    descending: bool,
    page: i64,
    per_page: i64,
    // Status counts that walk the matching rows stop here ("1,000+"); absent: all exact.
    count_limit: Option<i64>,
    // `next` of the page before (same filter, sort and direction): a deep page by a seek, not a skip.
    after: Option<String>,
) -> Reply<members::MemberPage> {
    state.call(|db, who, now| {
        let q = members::MemberQuery { filter: filter.filter(), sort, descending, page, per_page, count_limit, after };
        members::list(db, who, &org, &q, now)
    })
}

#[tauri::command]
pub async fn member_details(state: State<'_, AppState>, org: String, email: String) -> Reply<members::MemberDetails> {
    state.call(|db, who, now| members::show(db, who, &org, &email, now))
}

#[tauri::command]
pub async fn set_member_role(state: State<'_, AppState>, org: String, email: String, role: String) -> Reply<()> {
    state.call(|db, who, now| members::set_role(db, who, &org, &email, &role, now))
}

/// `when`: RFC 3339, a duration from now (`3s`, `90d`), or empty/`never` to clear.
#[tauri::command]
pub async fn set_member_expiry(
    state: State<'_, AppState>,
    org: String,
    email: String,
    when: Option<String>,
) -> Reply<()> {
    state.call(|db, who, now| {
        let at = moment("when", when.as_deref(), now)?;
        members::set_expiry(db, who, &org, &email, at, now)
    })
}

/// The rows a bulk enable/disable is about: every member matching `all_matching` when given, else
/// the listed emails.
fn selection(emails: &[String], all_matching: &Option<MemberListArgs>) -> members::Selection {
    match all_matching {
        Some(f) => members::Selection::AllMatching(f.filter()),
        None => members::Selection::Emails(emails.to_vec()),
    }
}

/// Enable or disable the listed emails, or, when `all_matching` is given, every member matching
/// that filter (in one transaction; rows the caller may not touch are skipped and reported).
#[tauri::command]
pub async fn set_members_enabled(
    state: State<'_, AppState>,
    org: String,
    emails: Vec<String>,
    all_matching: Option<MemberListArgs>,
    enabled: bool,
) -> Reply<members::BulkReport> {
    state.call(|db, who, now| {
        let selection = selection(&emails, &all_matching);
        members::set_enabled(db, who, &org, &selection, enabled, now)
    })
}

/// What `set_members_enabled` with the same arguments would do, changing nothing (the bulk
/// confirmation shows it).
#[tauri::command]
pub async fn preview_members_enabled(
    state: State<'_, AppState>,
    org: String,
    emails: Vec<String>,
    all_matching: Option<MemberListArgs>,
    enabled: bool,
) -> Reply<members::BulkReport> {
    state.call(|db, who, now| {
        let selection = selection(&emails, &all_matching);
        members::preview_set_enabled(db, who, &org, &selection, enabled, now)
    })
}

#[tauri::command]
pub async fn remove_member(state: State<'_, AppState>, org: String, email: String) -> Reply<()> {
    state.call(|db, who, now| members::remove(db, who, &org, &email, now))
}

#[tauri::command]
pub async fn leave_org(state: State<'_, AppState>, org: String) -> Reply<()> {
    state.call(|db, who, now| members::leave(db, who, &org, now))
}

/// Export every member as CSV into Downloads; returns the file written.
#[tauri::command]
pub async fn export_members<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    org: String,
) -> Reply<String> {
    state.call(|db, who, now| {
        let rows = review::export_members(db, who, &org, now)?;
        let text = gatehouse_cli::output::members_csv(&rows)?;
        save_export(&app, &format!("gatehouse-members-{org}"), "csv", &text)
    })
}
