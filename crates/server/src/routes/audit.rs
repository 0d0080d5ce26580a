//! `/v1/orgs/{org}/audit`: the audit log, its chain verified, and its export.

use crate::app::{App, Caller, Work};
use crate::error::Reply;
use crate::limits::Params;
use axum::extract::{Path, State};
use axum::Json;
use gatehouse_core::replies::Items;
use gatehouse_core::time;
use gatehouse_core::usecases::audit::{self, AuditEventView, AuditQuery, ChainReport};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    /// Only events by this actor (an email, or `service-account:NAME`).
    pub actor: Option<String>,
    /// An action, or its prefix (`members`).
    pub action: Option<String>,
    /// RFC 3339, or a duration meaning that long ago (`7d`).
    pub since: Option<String>,
    /// RFC 3339, or a duration meaning that long ago.
    pub until: Option<String>,
}

/// Events, newest first (`audit list`).
#[utoipa::path(get, path = "/v1/orgs/{org}/audit", tag = "audit", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug"), AuditListQuery),
    responses((status = 200, body = Items<AuditEventView>), super::Failures))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Params(q): Params<AuditListQuery>,
) -> Reply<Json<Items<AuditEventView>>> {
    Ok(Json(
        app.call(caller, Work::Read, move |db, who, now| {
            let query = AuditQuery {
                actor: q.actor,
                action: q.action,
                target: None,
                since: q.since.as_deref().map(|t| time::parse_past("since", t, now)).transpose()?.flatten(),
                until: q.until.as_deref().map(|t| time::parse_past("until", t, now)).transpose()?.flatten(),
                limit: None,
            };
            audit::list(db, who, &org, &query, now).map(Items::from)
        })
        .await?,
    ))
}

/// Recompute the chain of hashes (`audit verify`); a broken chain is 409 `conflict`.
#[utoipa::path(get, path = "/v1/orgs/{org}/audit/verify", tag = "audit", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 200, body = ChainReport), super::Failures))]
pub async fn verify(State(app): State<App>, caller: Caller, Path(org): Path<String>) -> Reply<Json<ChainReport>> {
    Ok(Json(app.call(caller, Work::Read, move |db, who, now| audit::verify(db, who, &org, now)).await?))
}

/// The whole log, oldest first, as a log is read (`audit export --format jsonl`, as one JSON
/// document).
#[utoipa::path(get, path = "/v1/orgs/{org}/export/audit", tag = "audit", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 200, body = Items<AuditEventView>), super::Failures))]
pub async fn export_audit(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
) -> Reply<Json<Items<AuditEventView>>> {
    Ok(Json(
        app.call(caller, Work::Read, move |db, who, now| {
            let mut items = audit::list(db, who, &org, &AuditQuery::default(), now)?;
            items.reverse();
            Ok(Items::from(items))
        })
        .await?,
    ))
}
