//! `/v1/orgs/{org}/workspaces`: workspaces and the roles granted in them.

use crate::app::{App, Caller, Work};
use crate::error::Reply;
use crate::limits::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gatehouse_core::replies::{Items, WorkspaceRevoked};
use gatehouse_core::time;
use gatehouse_core::usecases::workspaces::{self, WorkspaceGrantView, WorkspaceView};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewWorkspace {
    pub name: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct WorkspaceGrant {
    pub role: String,
    /// When the grant ends: RFC 3339 or a duration (`90d`); none for no end.
    #[serde(default)]
    pub expires: Option<String>,
}

/// The organization's workspaces (`workspaces list`).
#[utoipa::path(get, path = "/v1/orgs/{org}/workspaces", tag = "workspaces", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 200, body = Items<WorkspaceView>), super::Failures))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
) -> Reply<Json<Items<WorkspaceView>>> {
    Ok(Json(
        app.call(caller, Work::Read, move |db, who, now| workspaces::list(db, who, &org, now).map(Items::from)).await?,
    ))
}

/// A new workspace (`workspaces create`).
#[utoipa::path(post, path = "/v1/orgs/{org}/workspaces", tag = "workspaces", security(("bearer" = [])),
    request_body = NewWorkspace, params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 201, body = WorkspaceView), super::Failures))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Body(body): Body<NewWorkspace>,
) -> Reply<(StatusCode, Json<WorkspaceView>)> {
    let w =
        app.call(caller, Work::Write, move |db, who, now| workspaces::create(db, who, &org, &body.name, now)).await?;
    Ok((StatusCode::CREATED, Json(w)))
}

/// Give a member a role in one workspace (`workspaces grant`).
#[utoipa::path(put, path = "/v1/orgs/{org}/workspaces/{workspace}/members/{email}", tag = "workspaces",
    security(("bearer" = [])), request_body = WorkspaceGrant,
    params(("org" = String, Path, description = "the organization's slug"), ("workspace" = String, Path), ("email" = String, Path)),
    responses((status = 200, body = WorkspaceGrantView), super::Failures))]
pub async fn grant(
    State(app): State<App>,
    caller: Caller,
    Path((org, workspace, email)): Path<(String, String, String)>,
    Body(body): Body<WorkspaceGrant>,
) -> Reply<Json<WorkspaceGrantView>> {
    Ok(Json(
        app.call(caller, Work::Write, move |db, who, now| {
            let expires = body.expires.as_deref().map(|t| time::parse_when("expires", t, now)).transpose()?.flatten();
            workspaces::grant(db, who, &org, &workspace, &email, &body.role, expires, now)
        })
        .await?,
    ))
}

/// Take a member's access to one workspace away (`workspaces revoke`).
#[utoipa::path(delete, path = "/v1/orgs/{org}/workspaces/{workspace}/members/{email}", tag = "workspaces",
    security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug"), ("workspace" = String, Path), ("email" = String, Path)),
    responses((status = 200, body = WorkspaceRevoked), super::Failures))]
pub async fn revoke(
    State(app): State<App>,
    caller: Caller,
    Path((org, workspace, email)): Path<(String, String, String)>,
) -> Reply<Json<WorkspaceRevoked>> {
    Ok(Json(
        app.call(caller, Work::Write, move |db, who, now| {
            workspaces::revoke(db, who, &org, &workspace, &email, now)?;
            Ok(WorkspaceRevoked { workspace, revoked: email })
        })
        .await?,
    ))
}
