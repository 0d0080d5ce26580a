//! `/healthz` and `/openapi.json`: the two routes anyone may read.

use crate::app::App;
use crate::error::Reply;
use crate::health::Health;
use crate::pool::Conn;
use axum::extract::State;
use axum::Json;

/// Up, which version, which database (what the desktop app shows). No sign-in needed; it tells
/// nothing of the roster.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, body = Health), super::Failures))]
pub async fn healthz(State(app): State<App>) -> Reply<Json<Health>> {
    let schema_version = app.0.pool.run(Conn::Read, |db| db.schema_version()).await??;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: app.0.database.display().to_string(),
        schema_version,
    }))
}

/// This document: OpenAPI 3.1, generated from the Rust types the routes take and return.
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}
