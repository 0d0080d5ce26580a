//! `/v1/orgs`: the organizations the caller belongs to; create; rename and workspace access.

use crate::app::{App, Caller, Work};
use crate::error::{ApiError, Reply};
use crate::limits::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gatehouse_core::replies::Items;
use gatehouse_core::store::organizations::WorkspaceAccessMode;
use gatehouse_core::usecases::orgs::{self, OrganizationView};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewOrganization {
    pub name: String,
    /// How organization roles relate to workspaces (rule 11); `separate` unless given.
    #[serde(default)]
    pub workspace_access: Option<WorkspaceAccessMode>,
}

/// What to change in an organization; fields left out stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OrganizationChange {
    /// A new name (the slug stays): `orgs rename`.
    #[serde(default)]
    pub name: Option<String>,
    /// `separate` or `inherit`: `orgs update --workspace-access`.
    #[serde(default)]
    pub workspace_access: Option<WorkspaceAccessMode>,
}

/// The organizations you belong to (`orgs list`).
#[utoipa::path(get, path = "/v1/orgs", tag = "orgs", security(("bearer" = [])),
    responses((status = 200, body = Items<OrganizationView>), super::Failures))]
pub async fn list(State(app): State<App>, caller: Caller) -> Reply<Json<Items<OrganizationView>>> {
    Ok(Json(app.call(caller, Work::Read, |db, who, now| orgs::list(db, who, now).map(Items::from)).await?))
}

/// A new organization, owned by you (`orgs create`).
#[utoipa::path(post, path = "/v1/orgs", tag = "orgs", security(("bearer" = [])), request_body = NewOrganization,
    responses((status = 201, body = OrganizationView), super::Failures))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Body(body): Body<NewOrganization>,
) -> Reply<(StatusCode, Json<OrganizationView>)> {
    let org = app
        .call(caller, Work::Write, move |db, who, now| orgs::create(db, who, &body.name, body.workspace_access, now))
        .await?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// Rename an organization (`orgs rename`; its slug stays) and set how its roles reach its
/// workspaces (`orgs update --workspace-access`); both, if both are given, in that order.
#[utoipa::path(patch, path = "/v1/orgs/{org}", tag = "orgs", security(("bearer" = [])), request_body = OrganizationChange,
    params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 200, body = OrganizationView), super::Failures))]
pub async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Body(body): Body<OrganizationChange>,
) -> Reply<Json<OrganizationView>> {
    if body.name.is_none() && body.workspace_access.is_none() {
        return Err(ApiError::from(gatehouse_core::Error::invalid(
            "name",
            "name what to change: name, workspace_access",
        )));
    }
    Ok(Json(
        app.call(caller, Work::Write, move |db, who, now| {
            let mut view = None;
            if let Some(name) = &body.name {
                view = Some(orgs::rename(db, who, &org, name, now)?);
            }
            if let Some(mode) = body.workspace_access {
                view = Some(orgs::update(db, who, &org, mode, now)?);
            }
            view.ok_or_else(|| gatehouse_core::Error::Internal("nothing changed".into()))
        })
        .await?,
    ))
}
