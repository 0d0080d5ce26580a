//! `/v1/orgs`: the organizations the caller belongs to; create; rename.

use crate::app::{App, Caller, Work};
use crate::error::{ApiError, Reply};
use crate::limits::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gatehouse_core::replies::Items;
use gatehouse_core::usecases::orgs::{self, OrganizationSummary};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewOrganization {
    pub name: String,
}

/// What to change in an organization; fields left out stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OrganizationChange {
    /// A new name (the slug stays).
    #[serde(default)]
    pub name: Option<String>,
}

/// The organizations you belong to (`orgs list`).
#[utoipa::path(get, path = "/v1/orgs", tag = "orgs", security(("bearer" = [])),
    responses((status = 200, body = Items<OrganizationSummary>), super::Failures))]
pub async fn list(State(app): State<App>, caller: Caller) -> Reply<Json<Items<OrganizationSummary>>> {
    Ok(Json(app.call(caller, Work::Read, |db, who, now| orgs::list(db, who, now).map(Items::from)).await?))
}

/// A new organization, owned by you (`orgs create`).
#[utoipa::path(post, path = "/v1/orgs", tag = "orgs", security(("bearer" = [])), request_body = NewOrganization,
    responses((status = 201, body = OrganizationSummary), super::Failures))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Body(body): Body<NewOrganization>,
) -> Reply<(StatusCode, Json<OrganizationSummary>)> {
    let org = app.call(caller, Work::Write, move |db, who, now| orgs::create(db, who, &body.name, now)).await?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// Rename an organization (`orgs rename`); its slug stays.
#[utoipa::path(patch, path = "/v1/orgs/{org}", tag = "orgs", security(("bearer" = [])), request_body = OrganizationChange,
    params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 200, body = OrganizationSummary), super::Failures))]
pub async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Body(body): Body<OrganizationChange>,
) -> Reply<Json<OrganizationSummary>> {
    let Some(name) = body.name else {
        return Err(ApiError::from(gatehouse_core::Error::invalid("name", "name what to change: name")));
    };
    Ok(Json(app.call(caller, Work::Write, move |db, who, now| orgs::rename(db, who, &org, &name, now)).await?))
}
