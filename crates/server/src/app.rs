//! What every handler shares: the connection pool, the bound on failed authentications, and the
//! one way to run a core call as the caller. A handler states which connection it needs and
//! which core function it calls; `App::call` resolves the bearer token on that same connection,
//! records expiries that have passed (rule 9), runs the call, and counts a failed authentication
//! against the client's address.

use crate::error::{ApiError, Reply};
use crate::limits::{ClientKey, FailureBound};
use crate::pool::{Conn, Pool};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use gatehouse_core::usecases::{audit, sessions};
use gatehouse_core::{time, Database, ErrorCode, Principal, Result, Timestamp};
use std::sync::Arc;

#[derive(Clone)]
pub struct App(pub Arc<AppState>);

pub struct AppState {
    pub pool: Arc<Pool>,
    pub failures: FailureBound,
    /// The database as `/healthz` names it (`listen::database_name`: never a password).
    pub database: String,
    /// `sqlite` or `postgresql`.
    pub backend: &'static str,
    pub session_lifetime: i64,
    /// Whether connections come over TLS (for the AuthZEN metadata's https URLs).
    pub tls: bool,
}

/// How a call touches the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// `check` and the AuthZEN evaluations: a reader connection, nothing written on success.
    /// Expiries are recorded by the writer's periodic sweep instead, so a question never writes.
    Ask,
    /// Any other read: a reader connection, after recording the expiries that have passed.
    Read,
    /// A change: the one writer connection.
    Write,
}

/// The caller as the request names it: its bearer token and its address. Extracted before the
/// body is read, so a request without a token is 401 and a client over the bound on failed
/// authentications is 429, whatever its body.
pub struct Caller {
    pub token: String,
    pub client: ClientKey,
}

/// A client that may come without a token (signing in, an invitation's own token).
pub struct Client {
    pub token: Option<String>,
    pub client: ClientKey,
}

impl FromRequestParts<App> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_string())
            .filter(|t| !t.is_empty());
        let client = parts.extensions.get::<ClientKey>().copied().unwrap_or(ClientKey::UnixSocket);
        app.0.failures.check(client)?;
        Ok(Client { token, client })
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Client { token, client } = Client::from_request_parts(parts, app).await?;
        Ok(Caller { token: token.ok_or_else(ApiError::no_token)?, client })
    }
}

/// What a job on the pool came back with: the caller was not recognised, or the call's result.
enum Outcome<T> {
    NotAuthenticated(gatehouse_core::Error),
    Done(Result<T>),
}

impl App {
    /// Run `f` as the caller on the connection `work` needs.
    pub async fn call<T, F>(&self, caller: Caller, work: Work, f: F) -> Reply<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Database, &Principal, Timestamp) -> Result<T> + Send + 'static,
    {
        let Caller { token, client } = caller;
        let outcome = self
            .run(work, move |db, now| match sessions::authenticate_bearer(db, &token, now) {
                Ok(who) => Outcome::Done(f(db, &who, now)),
                Err(e) => Outcome::NotAuthenticated(e),
            })
            .await?;
        match outcome {
            Outcome::Done(result) => Ok(result?),
            Outcome::NotAuthenticated(e) => {
                if e.code() == ErrorCode::Unauthenticated {
                    self.0.failures.record_failure(client);
                }
                Err(e.into())
            }
        }
    }

    /// Run `f` without a caller (signing in, accepting or rejecting an invitation by its token).
    /// An `unauthenticated` answer counts against the client's address like a bad token.
    pub async fn call_open<T, F>(&self, client: ClientKey, work: Work, f: F) -> Reply<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Database, Timestamp) -> Result<T> + Send + 'static,
    {
        match self.run(work, f).await? {
            Ok(value) => Ok(value),
            Err(e) => {
                if e.code() == ErrorCode::Unauthenticated {
                    self.0.failures.record_failure(client);
                }
                Err(e.into())
            }
        }
    }

    /// `f` on a pooled connection, with `now` read once, after recording passed expiries unless
    /// the work is a question.
    async fn run<T, F>(&self, work: Work, f: F) -> Reply<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Database, Timestamp) -> T + Send + 'static,
    {
        let conn = match work {
            Work::Ask | Work::Read => Conn::Read,
            Work::Write => Conn::Write,
        };
        let result: Result<T> = self
            .0
            .pool
            .run(conn, move |db| {
                let now = time::now();
                if work != Work::Ask {
                    audit::record_expiries(db, now)?;
                }
                Ok(f(db, now))
            })
            .await?;
        Ok(result?)
    }
}
