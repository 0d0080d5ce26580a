//! The Users screen: the member list, details, and the changes of its row menu and bulk bar.

use super::{moment, save_export, Reply};
use crate::state::RunningJob;
use crate::AppState;
use gatehouse_core::usecases::{members, review};
use gatehouse_core::{Error, ErrorBody};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tauri::{AppHandle, Emitter, Manager, Runtime, State};
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

/// The event that tells the page how far the bulk job `job` has got.
pub const BULK_PROGRESS_EVENT: &str = "bulk-progress";

/// How far a bulk enable/disable has got: `done` of `total` rows of the job the page named.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct BulkProgress {
    pub job: String,
    #[ts(type = "number")]
    pub done: u64,
    #[ts(type = "number")]
    pub total: u64,
}

/// At most this often the page hears of a running job (the last row is always told).
const PROGRESS_EVERY: Duration = Duration::from_millis(50);

/// Enable or disable the listed emails, or, when `all_matching` is given, every member matching
/// that filter (in one transaction; rows the caller may not touch are skipped and reported).
///
/// With `job`, the page hears `bulk-progress` events naming it, and `cancel_bulk` with the same
/// name stops it: everything rolls back and the answer is `conflict` `cancelled`. The work runs on
/// a thread of its own, so the window stays responsive (the database is busy until it ends).
#[tauri::command]
pub async fn set_members_enabled<R: Runtime>(
    app: AppHandle<R>,
    org: String,
    emails: Vec<String>,
    all_matching: Option<MemberListArgs>,
    enabled: bool,
    job: Option<String>,
) -> Reply<members::BulkReport> {
    if let Some(name) = &job {
        if name.trim().is_empty() || name.len() > 100 {
            return Err(ErrorBody::from(&Error::invalid("job", "a name of 1 to 100 characters")));
        }
    }
    let run = move || {
        let state = app.state::<AppState>();
        let running = job.as_deref().map(|name| state.start_job(name));
        let mut told: Option<Instant> = None;
        state.call(|db, who, now| {
            let selection = selection(&emails, &all_matching);
            members::set_enabled_watched(db, who, &org, &selection, enabled, now, &mut |p| {
                if let Some(name) = &job {
                    if p.done == p.total || told.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                        told = Some(Instant::now());
                        let event = BulkProgress { job: name.clone(), done: p.done, total: p.total };
                        let _ = app.emit(BULK_PROGRESS_EVENT, event);
                    }
                }
                !running.as_ref().is_some_and(RunningJob::cancelled)
            })
        })
    };
    tauri::async_runtime::spawn_blocking(run)
        .await
        .map_err(|e| ErrorBody::from(&Error::Internal(format!("the bulk command stopped: {e}"))))?
}

/// Stop the bulk job `job` (`set_members_enabled` with that name): it rolls back and answers
/// `conflict` `cancelled`. Answers at once, on the calling thread: it never waits for the
/// database, which the job holds.
#[tauri::command]
pub fn cancel_bulk(state: State<'_, AppState>, job: String) -> Reply<()> {
    state.principal().ok_or_else(|| ErrorBody::from(&Error::Unauthenticated("sign in first".into())))?;
    state.cancel_job(&job);
    Ok(())
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
