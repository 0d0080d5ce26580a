//! The routes: one module per resource, each handler a thin front door (who is calling, one core
//! call, its error mapped). Request bodies that the CLI takes as arguments are small structs here;
//! every reply is a core type or a `gatehouse_core::replies` shape, the same JSON as `--json`.

pub mod audit;
pub mod authzen;
pub mod check;
pub mod invitations;
pub mod members;
pub mod meta;
pub mod orgs;
pub mod review;
pub mod roles;
pub mod service_accounts;
pub mod sessions;
pub mod workspaces;

use crate::app::App;
use crate::error::ApiError;
use axum::routing::{delete, get, post, put};
use axum::Router;

/// Every route of the service.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(meta::healthz))
        .route("/openapi.json", get(meta::openapi))
        .route("/.well-known/authzen-configuration", get(authzen::configuration))
        .route("/access/v1/evaluation", post(authzen::evaluation))
        .route("/access/v1/evaluations", post(authzen::evaluations))
        .route("/v1/sessions", post(sessions::create))
        .route("/v1/sessions/current", delete(sessions::revoke))
        .route("/v1/check", post(check::check))
        .route("/v1/check/batch", post(check::batch))
        .route("/v1/invitations/accept", post(invitations::accept))
        .route("/v1/invitations/reject", post(invitations::reject))
        .route("/v1/orgs", get(orgs::list).post(orgs::create))
        .route("/v1/orgs/{org}", axum::routing::patch(orgs::update))
        .route("/v1/orgs/{org}/leave", post(members::leave))
        .route("/v1/orgs/{org}/members", get(members::list))
        .route("/v1/orgs/{org}/members/enable", post(members::enable))
        .route("/v1/orgs/{org}/members/disable", post(members::disable))
        .route("/v1/orgs/{org}/members/{email}", get(members::show).delete(members::remove))
        .route("/v1/orgs/{org}/members/{email}/role", put(members::set_role))
        .route("/v1/orgs/{org}/members/{email}/expiry", put(members::set_expiry))
        .route("/v1/orgs/{org}/invitations", get(invitations::list).post(invitations::create))
        .route("/v1/orgs/{org}/invitations/{email}", delete(invitations::revoke))
        .route("/v1/orgs/{org}/invitations/{email}/resend", post(invitations::resend))
        .route("/v1/orgs/{org}/roles", get(roles::list).post(roles::create))
        .route("/v1/orgs/{org}/roles/{role}", get(roles::show).put(roles::update).delete(roles::delete))
        .route("/v1/orgs/{org}/permissions", get(roles::list_permissions).post(roles::create_permission))
        .route("/v1/orgs/{org}/workspaces", get(workspaces::list).post(workspaces::create))
        .route(
            "/v1/orgs/{org}/workspaces/{workspace}/members/{email}",
            put(workspaces::grant).delete(workspaces::revoke),
        )
        .route("/v1/orgs/{org}/service-accounts", get(service_accounts::list).post(service_accounts::create))
        .route("/v1/orgs/{org}/service-accounts/{name}", delete(service_accounts::revoke))
        .route("/v1/orgs/{org}/audit", get(audit::list))
        .route("/v1/orgs/{org}/audit/verify", get(audit::verify))
        .route("/v1/orgs/{org}/review", get(review::review))
        .route("/v1/orgs/{org}/export/members", get(review::export_members))
        .route("/v1/orgs/{org}/export/audit", get(audit::export_audit))
        .fallback(|| async { ApiError::not_found_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(app)
}

/// The error replies every route may give, for the OpenAPI document: a 4XX or 5XX status with
/// `{"error":{…}}`. Never built: only described.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Failures {
    /// invalid_input (400), unauthenticated (401), forbidden (403), not_found (404), conflict
    /// (409), body too large (413), too many failed authentications (429)
    #[response(status = "4XX")]
    Client(gatehouse_core::replies::ErrorReply),
    /// internal (500), unavailable (503: database unreachable, over the bound on concurrent
    /// requests, or past the deadline; with Retry-After)
    #[response(status = "5XX")]
    Server(gatehouse_core::replies::ErrorReply),
}
