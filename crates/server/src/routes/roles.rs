//! `/v1/orgs/{org}/roles` and `/v1/orgs/{org}/permissions`: roles with their permissions, and the
//! organization's custom permissions.

use crate::app::{App, Caller, Work};
use crate::error::Reply;
use crate::limits::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gatehouse_core::replies::{Deleted, Items};
use gatehouse_core::usecases::roles::{self, PermissionView, RoleView};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewRoleDefinition {
    pub name: String,
    /// You must hold every permission you give the role (rule 2).
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RoleChange {
    /// The role's permissions from now on (replacing the old ones).
    pub permissions: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewPermission {
    /// `area.action`, e.g. `billing.access`.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// Every role with its permissions (`roles list`).
#[utoipa::path(get, path = "/v1/orgs/{org}/roles", tag = "roles", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 200, body = Items<RoleView>), super::Failures))]
pub async fn list(State(app): State<App>, caller: Caller, Path(org): Path<String>) -> Reply<Json<Items<RoleView>>> {
    Ok(Json(app.call(caller, Work::Read, move |db, who, now| roles::list(db, who, &org, now).map(Items::from)).await?))
}

/// One role (`roles show`).
#[utoipa::path(get, path = "/v1/orgs/{org}/roles/{role}", tag = "roles", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug"), ("role" = String, Path)),
    responses((status = 200, body = RoleView), super::Failures))]
pub async fn show(
    State(app): State<App>,
    caller: Caller,
    Path((org, role)): Path<(String, String)>,
) -> Reply<Json<RoleView>> {
    Ok(Json(app.call(caller, Work::Read, move |db, who, now| roles::show(db, who, &org, &role, now)).await?))
}

/// A custom role (`roles create`).
#[utoipa::path(post, path = "/v1/orgs/{org}/roles", tag = "roles", security(("bearer" = [])),
    request_body = NewRoleDefinition, params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 201, body = RoleView), super::Failures))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Body(body): Body<NewRoleDefinition>,
) -> Reply<(StatusCode, Json<RoleView>)> {
    let role = app
        .call(caller, Work::Write, move |db, who, now| {
            roles::create(db, who, &org, &body.name, &body.permissions, body.description.as_deref().unwrap_or(""), now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(role)))
}

/// Replace a role's permissions (`roles update`).
#[utoipa::path(put, path = "/v1/orgs/{org}/roles/{role}", tag = "roles", security(("bearer" = [])),
    request_body = RoleChange,
    params(("org" = String, Path, description = "the organization's slug"), ("role" = String, Path)),
    responses((status = 200, body = RoleView), super::Failures))]
pub async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((org, role)): Path<(String, String)>,
    Body(body): Body<RoleChange>,
) -> Reply<Json<RoleView>> {
    Ok(Json(
        app.call(caller, Work::Write, move |db, who, now| {
            roles::update(db, who, &org, &role, &body.permissions, body.description.as_deref(), now)
        })
        .await?,
    ))
}

/// Delete a role no grant or open invitation uses (`roles delete`).
#[utoipa::path(delete, path = "/v1/orgs/{org}/roles/{role}", tag = "roles", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug"), ("role" = String, Path)),
    responses((status = 200, body = Deleted), super::Failures))]
pub async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((org, role)): Path<(String, String)>,
) -> Reply<Json<Deleted>> {
    Ok(Json(
        app.call(caller, Work::Write, move |db, who, now| {
            roles::delete(db, who, &org, &role, now)?;
            Ok(Deleted { deleted: role })
        })
        .await?,
    ))
}

/// The built-in and custom permissions (`permissions list`).
#[utoipa::path(get, path = "/v1/orgs/{org}/permissions", tag = "roles", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 200, body = Items<PermissionView>), super::Failures))]
pub async fn list_permissions(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
) -> Reply<Json<Items<PermissionView>>> {
    Ok(Json(
        app.call(caller, Work::Read, move |db, who, now| roles::list_permissions(db, who, &org, now).map(Items::from))
            .await?,
    ))
}

/// A custom permission for your own applications (`permissions create`).
#[utoipa::path(post, path = "/v1/orgs/{org}/permissions", tag = "roles", security(("bearer" = [])),
    request_body = NewPermission, params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 201, body = PermissionView), super::Failures))]
pub async fn create_permission(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Body(body): Body<NewPermission>,
) -> Reply<(StatusCode, Json<PermissionView>)> {
    let p = app
        .call(caller, Work::Write, move |db, who, now| {
            roles::create_permission(db, who, &org, &body.name, body.description.as_deref().unwrap_or(""), now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(p)))
}
