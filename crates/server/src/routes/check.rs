//! `POST /v1/check` and `POST /v1/check/batch`: the CLI's `check`, one question or many in order.

use crate::app::{App, Caller, Work};
use crate::error::{ApiError, Reply};
use crate::limits::Body;
use axum::extract::State;
use axum::Json;
use gatehouse_core::usecases::check::{self, CheckAnswer};
use gatehouse_core::ErrorBody;
use serde::{Deserialize, Serialize};

/// May `user` do `permission` in `org` (or in its `workspace`) right now?
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CheckQuestion {
    /// The organization's slug.
    pub org: String,
    /// The person's email.
    pub user: String,
    pub permission: String,
    /// A workspace of the organization, by name.
    #[serde(default)]
    pub workspace: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CheckBatch {
    pub checks: Vec<CheckQuestion>,
}

/// One answer of a batch: the CLI's `{"allowed","reason"}`, or, for a question that could not be
/// asked (unknown organization, not allowed to ask there…), `allowed: false` with the error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchAnswer {
    pub allowed: bool,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchAnswers {
    /// In the order of `checks`.
    pub results: Vec<BatchAnswer>,
}

/// A batch holds at most this many questions.
pub const MAX_BATCH: usize = 1000;

/// May this person do this, right now? `allowed` either way with a 200; callers holding
/// `org.view` there, or the organization's own service accounts, may ask.
#[utoipa::path(post, path = "/v1/check", tag = "check", security(("bearer" = [])), request_body = CheckQuestion,
    responses((status = 200, body = CheckAnswer), super::Failures))]
pub async fn check(State(app): State<App>, caller: Caller, Body(q): Body<CheckQuestion>) -> Reply<Json<CheckAnswer>> {
    let answer = app
        .call(caller, Work::Ask, move |db, who, now| {
            check::check(db, who, &q.org, &q.user, &q.permission, q.workspace.as_deref(), now)
        })
        .await?;
    Ok(Json(answer))
}

/// Many questions in one request, answered in order, each on its own (one refused question does
/// not spoil the others).
#[utoipa::path(post, path = "/v1/check/batch", tag = "check", security(("bearer" = [])), request_body = CheckBatch,
    responses((status = 200, body = BatchAnswers), super::Failures))]
pub async fn batch(State(app): State<App>, caller: Caller, Body(b): Body<CheckBatch>) -> Reply<Json<BatchAnswers>> {
    if b.checks.len() > MAX_BATCH {
        return Err(ApiError::too_large(format!("a batch holds at most {MAX_BATCH} checks; split it")));
    }
    let results = app
        .call(caller, Work::Ask, move |db, who, now| {
            Ok(b.checks
                .iter()
                .map(|q| match check::check(db, who, &q.org, &q.user, &q.permission, q.workspace.as_deref(), now) {
                    Ok(CheckAnswer { allowed, reason }) => BatchAnswer { allowed, reason, error: None },
                    Err(e) => {
                        let body = ApiError::from(e).body().clone();
                        BatchAnswer { allowed: false, reason: body.message.clone(), error: Some(body) }
                    }
                })
                .collect())
        })
        .await?;
    Ok(Json(BatchAnswers { results }))
}
