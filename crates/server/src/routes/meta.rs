//! `/healthz` and `/openapi.json`: the two routes anyone may read.

use crate::app::App;
use crate::error::Reply;
use crate::health::Health;
use crate::pool::Conn;
use axum::extract::State;
use axum::Json;

/// Up, which version, which database (what the desktop app shows). No sign-in needed; it tells
/// nothing of the roster. It asks the database for its schema version on a reader connection,
/// so it answers 200 only while the database answers: a database server that cannot be reached
/// is 503 `unavailable`, and a load balancer in front of several services takes this one out
/// until its database is back.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, body = Health), super::Failures))]
pub async fn healthz(State(app): State<App>) -> Reply<Json<Health>> {
    let schema_version = app.0.pool.run(Conn::Read, |db| db.schema_version()).await??;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: app.0.database.clone(),
        backend: app.0.backend.into(),
        schema_version,
    }))
}

/// This document: OpenAPI 3.1, generated from the Rust types the routes take and return.
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}
