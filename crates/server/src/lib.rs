//! `gatehouse serve`: the local service. Other programs on the machine (and, over TLS, on the LAN)
//! ask whether someone may do something and administer the roster over HTTP, without starting a
//! process per question. It is one more front door into the same core functions as the CLI and
//! the desktop app: a handler resolves who is calling (a service-account token or a person's
//! session token), calls one core function on a pooled connection, and maps the core's error to
//! an HTTP status. No SQL and no authorization here (PRODUCT.md §5).
//!
//! Shape: `listen` accepts connections (TCP, TLS, Unix socket) and hands each to hyper with a
//! header read timeout; `app` holds the connection pool and the bound on failed authentications;
//! `routes` are the handlers, one module per resource; `openapi` gathers their descriptions into
//! the OpenAPI 3.1 document served at `/openapi.json`; `health` is the `/healthz` reply, which the
//! desktop app reads without this crate's `serve` feature.

pub mod health;

#[cfg(feature = "serve")]
mod app;
#[cfg(feature = "serve")]
mod error;
#[cfg(feature = "serve")]
mod limits;
#[cfg(feature = "serve")]
mod listen;
#[cfg(feature = "serve")]
pub mod openapi;
#[cfg(feature = "serve")]
mod pool;
#[cfg(feature = "serve")]
mod routes;

#[cfg(feature = "serve")]
pub use listen::{database_name, serve, Listening, Options, TlsFiles, MAX_CONNECTIONS};
