//! The Roles explorer: roles, their permissions, custom roles and custom permissions.

use super::Reply;
use crate::AppState;
use gatehouse_core::usecases::roles;
use tauri::State;

#[tauri::command]
pub async fn list_roles(state: State<'_, AppState>, org: String) -> Reply<Vec<roles::RoleView>> {
    state.call(|db, who, now| roles::list(db, who, &org, now))
}

#[tauri::command]
pub async fn create_role(
    state: State<'_, AppState>,
    org: String,
    name: String,
    permissions: Vec<String>,
    description: String,
) -> Reply<roles::RoleView> {
    state.call(|db, who, now| roles::create(db, who, &org, &name, &permissions, &description, now))
}

#[tauri::command]
pub async fn update_role(
    state: State<'_, AppState>,
    org: String,
    role: String,
    permissions: Vec<String>,
    description: Option<String>,
) -> Reply<roles::RoleView> {
    state.call(|db, who, now| roles::update(db, who, &org, &role, &permissions, description.as_deref(), now))
}

#[tauri::command]
pub async fn delete_role(state: State<'_, AppState>, org: String, role: String) -> Reply<()> {
    state.call(|db, who, now| roles::delete(db, who, &org, &role, now))
}

#[tauri::command]
pub async fn list_permissions(state: State<'_, AppState>, org: String) -> Reply<Vec<roles::PermissionView>> {
    state.call(|db, who, now| roles::list_permissions(db, who, &org, now))
}

#[tauri::command]
pub async fn create_permission(
    state: State<'_, AppState>,
    org: String,
    name: String,
    description: String,
) -> Reply<roles::PermissionView> {
    state.call(|db, who, now| roles::create_permission(db, who, &org, &name, &description, now))
}
