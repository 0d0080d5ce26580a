//! `/v1/orgs/{org}/members`: the member list, one member, role, expiry, enable/disable (by email
//! or all matching a filter), remove, and leaving an organization yourself.

use crate::app::{App, Caller, Work};
use crate::error::Reply;
use crate::limits::{Body, Params};
use axum::extract::{Path, State};
use axum::Json;
use gatehouse_core::replies::{ExpiryChanged, Left, Removed, RoleChanged};
use gatehouse_core::usecases::members::{self, BulkReport, MemberDetails, MemberFilter, MemberPage};
use gatehouse_core::{time, Error};
use serde::Deserialize;

/// The `members list` options, as query parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberListQuery {
    /// Search in emails and names.
    pub search: Option<String>,
    /// active, disabled, expired, pending, rejected or invitation_expired
    pub status: Option<String>,
    /// Only members holding this role.
    pub role: Option<String>,
    /// email (default), name, role, status, created, last_login or expires
    pub sort: Option<String>,
    /// Descending order.
    pub desc: Option<bool>,
    /// From 1 (default 1).
    pub page: Option<i64>,
    /// Rows per page (default 50).
    pub per_page: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewRole {
    pub role: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewExpiry {
    /// RFC 3339, a duration from now (`90d`, `12h`, `30m`, `45s`), or `never` to clear it.
    pub access_expires: String,
}

/// Which members a bulk enable/disable acts on: `emails`, or every member matching the filter
/// with `all_matching: true` (as `--all-matching --search … --status … --role …`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct MemberSelection {
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub all_matching: bool,
    #[serde(default)]
    pub search: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

impl MemberSelection {
    fn to_core(self) -> Result<members::Selection, Error> {
        let filter = MemberFilter { search: self.search, status: self.status, role: self.role };
        match (self.all_matching, self.emails.is_empty()) {
            (true, true) => Ok(members::Selection::AllMatching(filter)),
            (false, _) => Ok(members::Selection::Emails(self.emails)),
            (true, false) => Err(Error::invalid("emails", "give either emails or all_matching, not both")),
        }
    }
}

/// The member list (`members list`), with invitations as pending/rejected/invitation_expired rows.
#[utoipa::path(get, path = "/v1/orgs/{org}/members", tag = "members", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug"), MemberListQuery),
    responses((status = 200, body = MemberPage), super::Failures))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Params(q): Params<MemberListQuery>,
) -> Reply<Json<MemberPage>> {
    Ok(Json(
        app.call(caller, Work::Read, move |db, who, now| {
            let query = members::MemberQuery {
                filter: MemberFilter { search: q.search, status: q.status, role: q.role },
                sort: members::SortKey::parse(q.sort.as_deref().unwrap_or("email"))?,
                descending: q.desc.unwrap_or(false),
                page: q.page.unwrap_or(1),
                per_page: q.per_page.unwrap_or(50),
                count_limit: None,
                after: None,
            };
            // The service pages by number, in the shape of PRODUCT.md §3: no position of the next page.
            members::list(db, who, &org, &query, now).map(|p| members::MemberPage { next: None, ..p })
        })
        .await?,
    ))
}

/// One member's details (`members show`).
#[utoipa::path(get, path = "/v1/orgs/{org}/members/{email}", tag = "members", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug"), ("email" = String, Path)),
    responses((status = 200, body = MemberDetails), super::Failures))]
pub async fn show(
    State(app): State<App>,
    caller: Caller,
    Path((org, email)): Path<(String, String)>,
) -> Reply<Json<MemberDetails>> {
    Ok(Json(app.call(caller, Work::Read, move |db, who, now| members::show(db, who, &org, &email, now)).await?))
}

/// Give a member a new organization role (`members role`).
#[utoipa::path(put, path = "/v1/orgs/{org}/members/{email}/role", tag = "members", security(("bearer" = [])),
    request_body = NewRole,
    params(("org" = String, Path, description = "the organization's slug"), ("email" = String, Path)),
    responses((status = 200, body = RoleChanged), super::Failures))]
pub async fn set_role(
    State(app): State<App>,
    caller: Caller,
    Path((org, email)): Path<(String, String)>,
    Body(body): Body<NewRole>,
) -> Reply<Json<RoleChanged>> {
    Ok(Json(
        app.call(caller, Work::Write, move |db, who, now| {
            members::set_role(db, who, &org, &email, &body.role, now)?;
            Ok(RoleChanged { email, role: body.role })
        })
        .await?,
    ))
}

/// Set or clear a member's access expiry (`members expire`).
#[utoipa::path(put, path = "/v1/orgs/{org}/members/{email}/expiry", tag = "members", security(("bearer" = [])),
    request_body = NewExpiry,
    params(("org" = String, Path, description = "the organization's slug"), ("email" = String, Path)),
    responses((status = 200, body = ExpiryChanged), super::Failures))]
pub async fn set_expiry(
    State(app): State<App>,
    caller: Caller,
    Path((org, email)): Path<(String, String)>,
    Body(body): Body<NewExpiry>,
) -> Reply<Json<ExpiryChanged>> {
    Ok(Json(
        app.call(caller, Work::Write, move |db, who, now| {
            let at = time::parse_when("access_expires", &body.access_expires, now)?;
            members::set_expiry(db, who, &org, &email, at, now)?;
            Ok(ExpiryChanged { email, access_expires_at: time::rfc3339_opt(at) })
        })
        .await?,
    ))
}

async fn set_enabled(
    app: App,
    caller: Caller,
    org: String,
    selection: MemberSelection,
    enable: bool,
) -> Reply<Json<BulkReport>> {
    let selection = selection.to_core()?;
    Ok(Json(
        app.call(caller, Work::Write, move |db, who, now| members::set_enabled(db, who, &org, &selection, enable, now))
            .await?,
    ))
}

/// Enable members (`members enable`): all of them or none; each row reported.
#[utoipa::path(post, path = "/v1/orgs/{org}/members/enable", tag = "members", security(("bearer" = [])),
    request_body = MemberSelection, params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 200, body = BulkReport), super::Failures))]
pub async fn enable(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Body(body): Body<MemberSelection>,
) -> Reply<Json<BulkReport>> {
    set_enabled(app, caller, org, body, true).await
}

/// Disable members (`members disable`): access stops at once, the record stays; the last owner
/// and yourself are skipped and reported.
#[utoipa::path(post, path = "/v1/orgs/{org}/members/disable", tag = "members", security(("bearer" = [])),
    request_body = MemberSelection, params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 200, body = BulkReport), super::Failures))]
pub async fn disable(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Body(body): Body<MemberSelection>,
) -> Reply<Json<BulkReport>> {
    set_enabled(app, caller, org, body, false).await
}

/// Remove a member and their grants (`members remove`).
#[utoipa::path(delete, path = "/v1/orgs/{org}/members/{email}", tag = "members", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug"), ("email" = String, Path)),
    responses((status = 200, body = Removed), super::Failures))]
pub async fn remove(
    State(app): State<App>,
    caller: Caller,
    Path((org, email)): Path<(String, String)>,
) -> Reply<Json<Removed>> {
    Ok(Json(
        app.call(caller, Work::Write, move |db, who, now| {
            members::remove(db, who, &org, &email, now)?;
            Ok(Removed { removed: email })
        })
        .await?,
    ))
}

/// Leave an organization yourself (`members leave`); the last owner cannot.
#[utoipa::path(post, path = "/v1/orgs/{org}/leave", tag = "members", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 200, body = Left), super::Failures))]
pub async fn leave(State(app): State<App>, caller: Caller, Path(org): Path<String>) -> Reply<Json<Left>> {
    Ok(Json(
        app.call(caller, Work::Write, move |db, who, now| {
            members::leave(db, who, &org, now)?;
            Ok(Left { left: org })
        })
        .await?,
    ))
}
