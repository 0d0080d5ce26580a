//! What keeps one caller from starving the others: bounded bodies, a deadline per request, a bound
//! on concurrent requests (over it: 503 with `Retry-After`, at once, rather than a queue that
//! grows), and a bound on failed authentications per client address (429). The header and body
//! read timeouts live with the connection (`listen`).

use crate::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Request bodies are at most this large.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A bulk invite names at most this many people.
pub const MAX_BULK_ROWS: usize = 10_000;

/// Who a client is, for the bound on failed authentications: its IP address, or, for every
/// process on the Unix socket, the socket itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    Ip(IpAddr),
    UnixSocket,
}

/// Failed authentications per client in a fixed window. Past `max` in one window, the client's
/// requests are refused (429) until the window ends, good token or not, so guessing tokens or
/// passwords from one address is slow.
pub struct FailureBound {
    max: u32,
    window: Duration,
    clients: Mutex<HashMap<ClientKey, (Instant, u32)>>,
}

impl FailureBound {
    pub fn new(max: u32, window: Duration) -> FailureBound {
        FailureBound { max, window, clients: Mutex::new(HashMap::new()) }
    }

    /// Refuse a client that is over the bound.
    pub fn check(&self, client: ClientKey) -> Result<(), ApiError> {
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        match clients.get(&client) {
            Some((start, failures)) if *failures >= self.max && start.elapsed() < self.window => {
                Err(ApiError::too_many_failures((self.window - start.elapsed()).as_secs_f64().ceil() as u64))
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, client: ClientKey) {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        // Forget finished windows now and then, so the map stays as small as the set of
        // clients failing right now.
        if clients.len() > 4096 {
            let window = self.window;
            clients.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = clients.entry(client).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

/// The deadline of every request: past it the caller gets 503 (a write still running finishes
/// or rolls back on its own; see `pool`).
pub async fn deadline(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            ApiError::busy(format!("the request took longer than the service's deadline of {} s", limit.as_secs()))
                .into_response()
        }
    }
}

/// What `tower::load_shed` says when every request slot is taken.
pub async fn overloaded(_: tower::BoxError) -> ApiError {
    ApiError::busy("the service is at its bound of concurrent requests; try again in a moment")
}

/// A JSON request body, refused in the service's own error shape: 413 past the size limit, 400
/// for anything that is not the JSON the route takes (naming what is wrong). Any content type is
/// read as JSON, so `curl -d '{…}'` works without `-H 'content-type: application/json'`.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(format!("the request body is over the limit of {MAX_BODY_BYTES} bytes"))
            } else {
                ApiError::bad_body(axum::http::StatusCode::BAD_REQUEST, rejection.body_text())
            }
        })?;
        serde_json::from_slice(&bytes).map(Body).map_err(|e| {
            ApiError::bad_body(
                axum::http::StatusCode::BAD_REQUEST,
                format!("the body is not the JSON this route takes: {e}"),
            )
        })
    }
}

/// Query parameters, refused in the service's own error shape.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Params(v))
            .map_err(|e| ApiError::bad_query(e.body_text()))
    }
}
