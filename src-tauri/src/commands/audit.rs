//! The Audit log screen: filters, export, verify.

use super::{moment, save_export, Reply};
use crate::AppState;
use gatehouse_core::formats::ExportFormat;
use gatehouse_core::usecases::audit;
use serde::Deserialize;
use tauri::State;
use ts_rs::TS;

#[derive(Debug, Clone, Default, Deserialize, TS)]
#[ts(export)]
pub struct AuditFilter {
    #[ts(optional)]
    pub actor: Option<String>,
    #[ts(optional)]
    pub action: Option<String>,
    #[ts(optional)]
    pub target: Option<String>,
    /// RFC 3339.
    #[ts(optional)]
    pub since: Option<String>,
    #[ts(optional)]
    pub until: Option<String>,
    #[ts(optional, type = "number")]
    pub limit: Option<i64>,
}

fn query(f: &AuditFilter, now: gatehouse_core::Timestamp) -> gatehouse_core::Result<audit::AuditQuery> {
    let text = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    Ok(audit::AuditQuery {
        actor: text(&f.actor),
        action: text(&f.action),
        target: text(&f.target),
        since: moment("since", f.since.as_deref(), now)?,
        until: moment("until", f.until.as_deref(), now)?,
        limit: f.limit,
    })
}

#[tauri::command]
pub async fn list_audit(
    state: State<'_, AppState>,
    org: String,
    filter: AuditFilter,
) -> Reply<Vec<audit::AuditEventView>> {
    state.call(|db, who, now| audit::list(db, who, &org, &query(&filter, now)?, now))
}

#[tauri::command]
pub async fn verify_audit(state: State<'_, AppState>, org: String) -> Reply<audit::ChainReport> {
    state.call(|db, who, now| audit::verify(db, who, &org, now))
}

/// Export the events matching the filter into Downloads, in the format the page asked for (the
/// file's extension follows it); returns the file written.
#[tauri::command]
pub async fn export_audit<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    org: String,
    filter: AuditFilter,
    format: ExportFormat,
) -> Reply<String> {
    state.call(|db, who, now| {
        let items = audit::list(db, who, &org, &query(&filter, now)?, now)?;
        let text = gatehouse_cli::output::audit_export(&items, format)?;
        save_export(&app, &format!("gatehouse-audit-{org}"), format.extension(), &text)
    })
}
