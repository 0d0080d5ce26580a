//! Organizations: the switcher, creating and renaming, and what the caller may do in one.

use super::Reply;
use crate::AppState;
use gatehouse_core::store::organizations::WorkspaceAccessMode;
use gatehouse_core::usecases::orgs;
use tauri::State;

#[tauri::command]
pub async fn list_orgs(state: State<'_, AppState>) -> Reply<Vec<orgs::OrganizationView>> {
    state.call(orgs::list)
}

/// A new organization; its scopes are `separate` unless `workspace_access` says `inherit`.
#[tauri::command]
pub async fn create_org(
    state: State<'_, AppState>,
    name: String,
    workspace_access: Option<WorkspaceAccessMode>,
) -> Reply<orgs::OrganizationView> {
    state.call(|db, who, now| orgs::create(db, who, &name, workspace_access, now))
}

#[tauri::command]
pub async fn rename_org(state: State<'_, AppState>, org: String, name: String) -> Reply<orgs::OrganizationView> {
    state.call(|db, who, now| orgs::rename(db, who, &org, &name, now))
}

#[tauri::command]
pub async fn my_access(state: State<'_, AppState>, org: String) -> Reply<orgs::MyAccess> {
    state.call(|db, who, now| orgs::my_access(db, who, &org, now))
}
