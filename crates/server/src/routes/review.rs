//! `/v1/orgs/{org}/review` (who has what, until when) and `/v1/orgs/{org}/export/members`.

use crate::app::{App, Caller, Work};
use crate::error::Reply;
use crate::limits::Params;
use axum::extract::{Path, State};
use axum::Json;
use gatehouse_core::replies::Items;
use gatehouse_core::time;
use gatehouse_core::usecases::members::MemberRow;
use gatehouse_core::usecases::review::{self, ReviewRow};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// Only access that ends within this duration (`30d`).
    pub expiring_within: Option<String>,
}

/// The access review (`review --format json`).
#[utoipa::path(get, path = "/v1/orgs/{org}/review", tag = "review", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug"), ReviewQuery),
    responses((status = 200, body = Items<ReviewRow>), super::Failures))]
pub async fn review(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Params(q): Params<ReviewQuery>,
) -> Reply<Json<Items<ReviewRow>>> {
    Ok(Json(
        app.call(caller, Work::Read, move |db, who, now| {
            let within =
                q.expiring_within.as_deref().map(|d| time::parse_duration("expiring_within", d)).transpose()?;
            review::review(db, who, &org, within, now).map(Items::from)
        })
        .await?,
    ))
}

/// The whole roster, for other systems (`members export --format json`).
#[utoipa::path(get, path = "/v1/orgs/{org}/export/members", tag = "review", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 200, body = Items<MemberRow>), super::Failures))]
pub async fn export_members(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
) -> Reply<Json<Items<MemberRow>>> {
    Ok(Json(
        app.call(caller, Work::Read, move |db, who, now| review::export_members(db, who, &org, now).map(Items::from))
            .await?,
    ))
}
