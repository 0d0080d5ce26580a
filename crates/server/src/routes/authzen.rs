//! The OpenID AuthZEN Authorization API 1.0: `POST /access/v1/evaluation`, `POST
//! /access/v1/evaluations` and `GET /.well-known/authzen-configuration`. Gatehouse reads a
//! question as its own `check`: the subject is a person (type `user`, id = email), the action's
//! name is the permission, and the resource is an organization (type `organization`, id = slug)
//! or a workspace (type `workspace`, id = `ORG/WORKSPACE`). Decisions are closed by default: a
//! question that cannot be answered is `decision: false`.

use crate::app::{App, Caller, Work};
use crate::error::{ApiError, Reply};
use crate::limits::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use gatehouse_core::usecases::check;
use gatehouse_core::{Database, Error, Principal, Result, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A subject or a resource: `type` and `id`, and properties Gatehouse does not use.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct AuthzenAction {
    /// The permission, e.g. `billing.access`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
}

/// One question: may `subject` do `action` on `resource`?
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct EvaluationRequest {
    /// Type `user`, id = the person's email.
    pub subject: Entity,
    pub action: AuthzenAction,
    /// Type `organization` (id = slug) or `workspace` (id = `ORG/WORKSPACE`).
    pub resource: Entity,
    /// Accepted and not used: Gatehouse decides on the roster as it stands now.
    #[serde(default)]
    #[allow(dead_code)]
    pub context: Option<Value>,
}

/// One evaluation of a batch; what it leaves out comes from the request's top-level defaults.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PartialEvaluation {
    #[serde(default)]
    pub subject: Option<Entity>,
    #[serde(default)]
    pub action: Option<AuthzenAction>,
    #[serde(default)]
    pub resource: Option<Entity>,
    /// Accepted and not used.
    #[serde(default)]
    #[allow(dead_code)]
    pub context: Option<Value>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationsSemantic {
    #[default]
    ExecuteAll,
    DenyOnFirstDeny,
    PermitOnFirstPermit,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EvaluationsOptions {
    #[serde(default)]
    pub evaluations_semantic: Option<EvaluationsSemantic>,
}

/// Many questions, with top-level defaults (the specification's "boxcarring").
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EvaluationsRequest {
    #[serde(default)]
    pub subject: Option<Entity>,
    #[serde(default)]
    pub action: Option<AuthzenAction>,
    #[serde(default)]
    pub resource: Option<Entity>,
    /// Accepted and not used.
    #[serde(default)]
    #[allow(dead_code)]
    pub context: Option<Value>,
    #[serde(default)]
    pub evaluations: Option<Vec<PartialEvaluation>>,
    #[serde(default)]
    pub options: Option<EvaluationsOptions>,
}

/// A decision; `context.reason` says why, `context.error` what went wrong with that question.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Decision {
    pub decision: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

/// The decisions in the order of `evaluations`; without an `evaluations` array, one decision as
/// from `/access/v1/evaluation`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EvaluationsResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluations: Option<Vec<Decision>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

/// The policy decision point's metadata.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuthzenConfiguration {
    pub policy_decision_point: String,
    pub access_evaluation_endpoint: String,
    pub access_evaluations_endpoint: String,
}

/// A batch holds at most this many evaluations.
const MAX_EVALUATIONS: usize = 1000;

/// Ask Gatehouse's `check` the question of one evaluation.
fn decide(
    db: &mut Database,
    who: &Principal,
    subject: &Entity,
    action: &AuthzenAction,
    resource: &Entity,
    now: Timestamp,
) -> Result<Decision> {
    if subject.kind != "user" {
        return Err(Error::invalid(
            "subject.type",
            "Gatehouse answers for subjects of type user, whose id is an email",
        ));
    }
    let (org, workspace) = match resource.kind.as_str() {
        "organization" => (resource.id.as_str(), None),
        "workspace" => {
            let (org, w) = resource
                .id
                .split_once('/')
                .ok_or_else(|| Error::invalid("resource.id", "a workspace's id is ORG/WORKSPACE, e.g. acme/billing"))?;
            (org, Some(w))
        }
        _ => return Err(Error::invalid(
            "resource.type",
            "Gatehouse answers for resources of type organization (id = its slug) or workspace (id = ORG/WORKSPACE)",
        )),
    };
    let answer = check::check(db, who, org, &subject.id, &action.name, workspace, now)?;
    Ok(Decision { decision: answer.allowed, context: Some(json!({ "reason": answer.reason })) })
}

/// A question that could not be asked, as the specification shows per-evaluation errors.
fn closed(e: Error) -> Decision {
    let e = ApiError::from(e);
    Decision {
        decision: false,
        context: Some(json!({"error": {"status": e.status().as_u16(), "code": e.code(), "message": e.body().message}})),
    }
}

/// Access Evaluation: may this subject do this action on this resource?
#[utoipa::path(post, path = "/access/v1/evaluation", tag = "authzen", security(("bearer" = [])),
    request_body = EvaluationRequest, responses((status = 200, body = Decision), super::Failures))]
pub async fn evaluation(
    State(app): State<App>,
    caller: Caller,
    Body(q): Body<EvaluationRequest>,
) -> Reply<Json<Decision>> {
    Ok(Json(
        app.call(caller, Work::Ask, move |db, who, now| decide(db, who, &q.subject, &q.action, &q.resource, now))
            .await?,
    ))
}

/// Access Evaluations: many questions, with defaults and the three evaluation semantics.
#[utoipa::path(post, path = "/access/v1/evaluations", tag = "authzen", security(("bearer" = [])),
    request_body = EvaluationsRequest, responses((status = 200, body = EvaluationsResponse), super::Failures))]
pub async fn evaluations(
    State(app): State<App>,
    caller: Caller,
    Body(q): Body<EvaluationsRequest>,
) -> Reply<Json<EvaluationsResponse>> {
    if q.evaluations.as_ref().is_some_and(|e| e.len() > MAX_EVALUATIONS) {
        return Err(ApiError::too_large(format!("at most {MAX_EVALUATIONS} evaluations in one request; split it")));
    }
    let semantic = q.options.as_ref().and_then(|o| o.evaluations_semantic).unwrap_or_default();
    Ok(Json(
        app.call(caller, Work::Ask, move |db, who, now| {
            let Some(list) = q.evaluations.filter(|l| !l.is_empty()) else {
                // No evaluations array: the single Access Evaluation, answered the same way.
                let missing = |field: &str| Error::invalid(field, format!("{field} is required without evaluations"));
                let subject = q.subject.ok_or_else(|| missing("subject"))?;
                let action = q.action.ok_or_else(|| missing("action"))?;
                let resource = q.resource.ok_or_else(|| missing("resource"))?;
                let d = decide(db, who, &subject, &action, &resource, now)?;
                return Ok(EvaluationsResponse { evaluations: None, decision: Some(d.decision), context: d.context });
            };
            let mut decisions = Vec::with_capacity(list.len());
            for e in list {
                let subject = e.subject.as_ref().or(q.subject.as_ref());
                let action = e.action.as_ref().or(q.action.as_ref());
                let resource = e.resource.as_ref().or(q.resource.as_ref());
                let d = match (subject, action, resource) {
                    (Some(s), Some(a), Some(r)) => decide(db, who, s, a, r, now).unwrap_or_else(closed),
                    _ => closed(Error::invalid(
                        "evaluations",
                        "each evaluation needs a subject, an action and a resource, its own or the request's",
                    )),
                };
                let stop = match semantic {
                    EvaluationsSemantic::ExecuteAll => false,
                    EvaluationsSemantic::DenyOnFirstDeny => !d.decision,
                    EvaluationsSemantic::PermitOnFirstPermit => d.decision,
                };
                decisions.push(d);
                if stop {
                    break;
                }
            }
            Ok(EvaluationsResponse { evaluations: Some(decisions), decision: None, context: None })
        })
        .await?,
    ))
}

/// The policy decision point's metadata, with the URLs of the two evaluation endpoints.
#[utoipa::path(get, path = "/.well-known/authzen-configuration", tag = "authzen",
    responses((status = 200, body = AuthzenConfiguration), super::Failures))]
pub async fn configuration(State(app): State<App>, headers: HeaderMap) -> Json<AuthzenConfiguration> {
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let base = format!("{}://{host}", if app.0.tls { "https" } else { "http" });
    Json(AuthzenConfiguration {
        access_evaluation_endpoint: format!("{base}/access/v1/evaluation"),
        access_evaluations_endpoint: format!("{base}/access/v1/evaluations"),
        policy_decision_point: base,
    })
}
