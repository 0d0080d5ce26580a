//! The Service accounts screen: the token is in the reply to `create_service_account` only.

use super::{moment, Reply};
use crate::AppState;
use gatehouse_core::usecases::service_accounts;
use tauri::State;

#[tauri::command]
pub async fn list_service_accounts(
    state: State<'_, AppState>,
    org: String,
) -> Reply<Vec<service_accounts::ServiceAccountView>> {
    state.call(|db, who, now| service_accounts::list(db, who, &org, now))
}

#[tauri::command]
pub async fn create_service_account(
    state: State<'_, AppState>,
    org: String,
    name: String,
    role: String,
    expires: Option<String>,
) -> Reply<service_accounts::CreatedServiceAccount> {
    state.call(|db, who, now| {
        let at = moment("expires", expires.as_deref(), now)?;
        service_accounts::create(db, who, &org, &name, &role, at, now)
    })
}

#[tauri::command]
pub async fn revoke_service_account(
    state: State<'_, AppState>,
    org: String,
    name: String,
) -> Reply<service_accounts::ServiceAccountView> {
    state.call(|db, who, now| service_accounts::revoke(db, who, &org, &name, now))
}
