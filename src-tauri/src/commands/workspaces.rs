//! The Workspaces screen: workspaces and the access granted in them.

use super::{moment, Reply};
use crate::AppState;
use gatehouse_core::usecases::workspaces;
use tauri::State;

#[tauri::command]
pub async fn list_workspaces(state: State<'_, AppState>, org: String) -> Reply<Vec<workspaces::WorkspaceView>> {
    state.call(|db, who, now| workspaces::list(db, who, &org, now))
}

#[tauri::command]
pub async fn create_workspace(
    state: State<'_, AppState>,
    org: String,
    name: String,
) -> Reply<workspaces::WorkspaceView> {
    state.call(|db, who, now| workspaces::create(db, who, &org, &name, now))
}

#[tauri::command]
pub async fn grant_workspace(
    state: State<'_, AppState>,
    org: String,
    workspace: String,
    email: String,
    role: String,
    expires: Option<String>,
) -> Reply<workspaces::WorkspaceGrantView> {
    state.call(|db, who, now| {
        let at = moment("expires", expires.as_deref(), now)?;
        workspaces::grant(db, who, &org, &workspace, &email, &role, at, now)
    })
}

#[tauri::command]
pub async fn revoke_workspace(state: State<'_, AppState>, org: String, workspace: String, email: String) -> Reply<()> {
    state.call(|db, who, now| workspaces::revoke(db, who, &org, &workspace, &email, now))
}
