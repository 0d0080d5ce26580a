//! `/v1/orgs/{org}/service-accounts`: non-human principals with a role and a token.

use crate::app::{App, Caller, Work};
use crate::error::Reply;
use crate::limits::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gatehouse_core::replies::Items;
use gatehouse_core::time;
use gatehouse_core::usecases::service_accounts::{self, CreatedServiceAccount, ServiceAccountView};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewServiceAccount {
    pub name: String,
    pub role: String,
    /// When its token stops working: RFC 3339 or a duration (`90d`); none for no end.
    #[serde(default)]
    pub expires: Option<String>,
}

/// The organization's service accounts (`service-accounts list`).
#[utoipa::path(get, path = "/v1/orgs/{org}/service-accounts", tag = "service-accounts", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 200, body = Items<ServiceAccountView>), super::Failures))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
) -> Reply<Json<Items<ServiceAccountView>>> {
    Ok(Json(
        app.call(caller, Work::Read, move |db, who, now| service_accounts::list(db, who, &org, now).map(Items::from))
            .await?,
    ))
}

/// A new service account; its token is in this reply only (`service-accounts create`).
#[utoipa::path(post, path = "/v1/orgs/{org}/service-accounts", tag = "service-accounts", security(("bearer" = [])),
    request_body = NewServiceAccount, params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 201, body = CreatedServiceAccount), super::Failures))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Body(body): Body<NewServiceAccount>,
) -> Reply<(StatusCode, Json<CreatedServiceAccount>)> {
    let created = app
        .call(caller, Work::Write, move |db, who, now| {
            let expires = body.expires.as_deref().map(|t| time::parse_when("expires", t, now)).transpose()?.flatten();
            service_accounts::create(db, who, &org, &body.name, &body.role, expires, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Stop a service account's token from working (`service-accounts revoke`).
#[utoipa::path(delete, path = "/v1/orgs/{org}/service-accounts/{name}", tag = "service-accounts",
    security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug"), ("name" = String, Path)),
    responses((status = 200, body = ServiceAccountView), super::Failures))]
pub async fn revoke(
    State(app): State<App>,
    caller: Caller,
    Path((org, name)): Path<(String, String)>,
) -> Reply<Json<ServiceAccountView>> {
    Ok(Json(
        app.call(caller, Work::Write, move |db, who, now| service_accounts::revoke(db, who, &org, &name, now)).await?,
    ))
}
