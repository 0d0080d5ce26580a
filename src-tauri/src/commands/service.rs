//! Whether the local service (`gatehouse serve`) runs on the configured address, and whether it
//! serves the database this window shows. The window asks its `/healthz` with a short blocking
//! probe; nothing here talks to the service otherwise.

use super::Reply;
use crate::AppState;
use gatehouse_server::health;
use serde::Serialize;
use std::time::Duration;
use tauri::State;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ServiceStatus {
    /// The address asked: `$GATEHOUSE_LISTEN`, else 127.0.0.1:7878 (where `gatehouse serve` and
    /// its systemd unit listen by default).
    pub address: String,
    /// A Gatehouse service answered there.
    pub running: bool,
    /// The database file it serves, when it runs.
    pub database: Option<String>,
    /// That file is the one this window shows.
    pub same_database: bool,
    /// Its Gatehouse version, when it runs.
    pub version: Option<String>,
}

/// The address the service is configured to listen on.
pub fn configured_address() -> String {
    std::env::var("GATEHOUSE_LISTEN")
        .ok()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| health::DEFAULT_ADDRESS.to_string())
}

#[tauri::command]
pub async fn service_status(state: State<'_, AppState>) -> Reply<ServiceStatus> {
    let mine = state.open_call(|db, _| Ok(db.path().map(|p| p.to_path_buf())))?;
    let address = configured_address();
    let asked = address.clone();
    let found = tauri::async_runtime::spawn_blocking(move || health::probe(&asked, Duration::from_millis(300)))
        .await
        .ok()
        .flatten();
    let canonical = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    Ok(match found {
        Some(h) => ServiceStatus {
            same_database: mine
                .as_deref()
                .is_some_and(|m| canonical(m) == canonical(std::path::Path::new(&h.database))),
            running: true,
            database: Some(h.database),
            version: Some(h.version),
            address,
        },
        None => ServiceStatus { address, running: false, database: None, same_database: false, version: None },
    })
}
