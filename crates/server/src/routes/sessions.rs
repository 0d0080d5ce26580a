//! `POST /v1/sessions` (sign in: a session token) and `DELETE /v1/sessions/current` (sign out).

use crate::app::{App, Caller, Client, Work};
use crate::error::Reply;
use crate::limits::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_core::usecases::sessions::{self, NewSession};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// Sign in with email and password; the session token is shown once. Five failures in a row lock
/// the email with growing back-off (rule 7), whatever the front door.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = SignIn,
    responses((status = 201, description = "signed in", body = NewSession), super::Failures))]
pub async fn create(
    State(app): State<App>,
    caller: Client,
    Body(body): Body<SignIn>,
) -> Reply<(StatusCode, Json<NewSession>)> {
    let lifetime = app.0.session_lifetime;
    let session = app
        .call_open(caller.client, Work::Write, move |db, now| {
            sessions::create(db, &body.email, &body.password, lifetime, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(session)))
}

/// Sign out: the session token of this request stops working at once.
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions", security(("bearer" = [])),
    responses((status = 204, description = "signed out"), super::Failures))]
pub async fn revoke(State(app): State<App>, caller: Caller) -> Reply<StatusCode> {
    let Caller { token, client } = caller;
    app.call_open(client, Work::Write, move |db, now| sessions::revoke(db, &token, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}
