//! `/v1/orgs/{org}/invitations` (invite one or many, list, resend, revoke) and
//! `/v1/invitations/accept|reject`, which the invitation's own token authorizes.

use crate::app::{App, Caller, Client, Work};
use crate::error::{ApiError, Reply};
use crate::limits::{Body, Params, MAX_BULK_ROWS};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gatehouse_core::replies::{Items, Revoked};
use gatehouse_core::usecases::invitations::{self, AcceptedMembership, InvitationView, IssuedInvitations};
use gatehouse_core::{time, Error, Result, Timestamp};
use serde::Deserialize;

/// One invitee with a role of their own.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Invitee {
    pub email: String,
    pub role: String,
    /// When the invitee's access will end: RFC 3339 or a duration (`90d`).
    #[serde(default)]
    pub access_expires: Option<String>,
    /// Invite to this workspace only: the role is held there, with no organization role.
    #[serde(default)]
    pub workspace: Option<String>,
}

/// Whom to invite, in one of three ways (as `invites create`): `emails` (separated by commas,
/// semicolons, spaces or new lines) all with `role`; `invitees`, each with a role; or `csv`, the
/// text of a CSV file with the header `email,role[,access_expires]`. At most 10,000 invitees.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct NewInvitations {
    #[serde(default)]
    pub emails: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    /// With `emails`: when the invitees' access will end.
    #[serde(default)]
    pub access_expires: Option<String>,
    /// With `emails`: invite to this workspace only (`--workspace`).
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub invitees: Option<Vec<Invitee>>,
    #[serde(default)]
    pub csv: Option<String>,
    /// How long the invitations can be accepted (default `7d`).
    #[serde(default)]
    pub valid_for: Option<String>,
}

impl NewInvitations {
    fn invitees(self, now: Timestamp) -> Result<Vec<invitations::Invitee>> {
        let when = |field: &str, t: &Option<String>| t.as_deref().map(|t| time::parse_when(field, t, now)).transpose();
        match (self.emails, self.invitees, self.csv) {
            (Some(list), None, None) => {
                let role = self.role.ok_or_else(|| Error::invalid("role", "name the role to invite to"))?;
                let expires = when("access_expires", &self.access_expires)?.flatten();
                Ok(invitations::split_emails(&list)
                    .into_iter()
                    .map(|email| invitations::Invitee {
                        email,
                        role: role.clone(),
                        access_expires_at: expires,
                        workspace: self.workspace.clone(),
                    })
                    .collect())
            }
            (None, Some(list), None) => list
                .into_iter()
                .map(|i| {
                    Ok(invitations::Invitee {
                        access_expires_at: when("access_expires", &i.access_expires)?.flatten(),
                        email: i.email,
                        role: i.role,
                        workspace: i.workspace,
                    })
                })
                .collect(),
            (None, None, Some(text)) => invitations::parse_csv(&text, now),
            _ => Err(Error::invalid("emails", "give exactly one of emails (with role), invitees or csv")),
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationListQuery {
    /// pending, invitation_expired, rejected, accepted or revoked
    pub status: Option<String>,
}

/// Accept an invitation with its token: signed in (`Authorization: Bearer` a session token), or as
/// a new account with `name` and `password`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Acceptance {
    pub token: String,
    /// A new account's name, "GIVEN FAMILY".
    #[serde(default)]
    pub name: Option<String>,
    /// A new account's password.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Rejection {
    pub token: String,
}

/// Invite one or many (`invites create`): every invitee or none (rule 5); each token shown once.
#[utoipa::path(post, path = "/v1/orgs/{org}/invitations", tag = "invitations", security(("bearer" = [])),
    request_body = NewInvitations, params(("org" = String, Path, description = "the organization's slug")),
    responses((status = 201, body = IssuedInvitations), super::Failures))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Body(body): Body<NewInvitations>,
) -> Reply<(StatusCode, Json<IssuedInvitations>)> {
    let rows = body.invitees.as_ref().map_or(0, Vec::len)
        + body.emails.as_deref().map_or(0, |e| invitations::split_emails(e).len())
        + body.csv.as_deref().map_or(0, |c| c.lines().count().saturating_sub(1));
    if rows > MAX_BULK_ROWS {
        return Err(ApiError::too_large(format!(
            "{rows} invitees: a bulk invite names at most {MAX_BULK_ROWS}; split it"
        )));
    }
    let issued = app
        .call(caller, Work::Write, move |db, who, now| {
            let valid_for = body.valid_for.as_deref().map(|v| time::parse_duration("valid_for", v)).transpose()?;
            let invitees = body.invitees(now)?;
            invitations::create(db, who, &org, &invitees, valid_for, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// Invitations of an organization (`invites list`).
#[utoipa::path(get, path = "/v1/orgs/{org}/invitations", tag = "invitations", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug"), InvitationListQuery),
    responses((status = 200, body = Items<InvitationView>), super::Failures))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Params(q): Params<InvitationListQuery>,
) -> Reply<Json<Items<InvitationView>>> {
    Ok(Json(
        app.call(caller, Work::Read, move |db, who, now| {
            invitations::list(db, who, &org, q.status.as_deref(), now).map(Items::from)
        })
        .await?,
    ))
}

/// A new token for an invitation; the old one stops working (`invites resend`).
#[utoipa::path(post, path = "/v1/orgs/{org}/invitations/{email}/resend", tag = "invitations", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug"), ("email" = String, Path)),
    responses((status = 200, body = IssuedInvitations), super::Failures))]
pub async fn resend(
    State(app): State<App>,
    caller: Caller,
    Path((org, email)): Path<(String, String)>,
) -> Reply<Json<IssuedInvitations>> {
    Ok(Json(app.call(caller, Work::Write, move |db, who, now| invitations::resend(db, who, &org, &email, now)).await?))
}

/// Withdraw an invitation (`invites revoke`).
#[utoipa::path(delete, path = "/v1/orgs/{org}/invitations/{email}", tag = "invitations", security(("bearer" = [])),
    params(("org" = String, Path, description = "the organization's slug"), ("email" = String, Path)),
    responses((status = 200, body = Revoked), super::Failures))]
pub async fn revoke(
    State(app): State<App>,
    caller: Caller,
    Path((org, email)): Path<(String, String)>,
) -> Reply<Json<Revoked>> {
    Ok(Json(
        app.call(caller, Work::Write, move |db, who, now| {
            invitations::revoke(db, who, &org, &email, now)?;
            Ok(Revoked { revoked: email })
        })
        .await?,
    ))
}

/// Accept an invitation (`invites accept`): signed in with a session, or as a new account.
#[utoipa::path(post, path = "/v1/invitations/accept", tag = "invitations", request_body = Acceptance,
    security((), ("bearer" = [])),
    responses((status = 200, body = AcceptedMembership), super::Failures))]
pub async fn accept(
    State(app): State<App>,
    client: Client,
    Body(body): Body<Acceptance>,
) -> Reply<Json<AcceptedMembership>> {
    let accepted = if let Some(token) = client.token {
        app.call(Caller { token, client: client.client }, Work::Write, move |db, who, now| {
            invitations::accept(db, &body.token, invitations::Acceptor::SignedIn(who), now)
        })
        .await?
    } else {
        let (Some(name), Some(password)) = (body.name, body.password) else {
            return Err(ApiError::from(Error::invalid(
                "name",
                "a new account needs name and password (or accept signed in, with Authorization: Bearer)",
            )));
        };
        app.call_open(client.client, Work::Write, move |db, now| {
            invitations::accept(
                db,
                &body.token,
                invitations::Acceptor::NewAccount { full_name: &name, password: &password },
                now,
            )
        })
        .await?
    };
    Ok(Json(accepted))
}

/// Reject an invitation (`invites reject`); the token is the only credential needed.
#[utoipa::path(post, path = "/v1/invitations/reject", tag = "invitations", request_body = Rejection,
    responses((status = 200, body = InvitationView), super::Failures))]
pub async fn reject(
    State(app): State<App>,
    caller: Client,
    Body(body): Body<Rejection>,
) -> Reply<Json<InvitationView>> {
    Ok(Json(app.call_open(caller.client, Work::Write, move |db, now| invitations::reject(db, &body.token, now)).await?))
}
