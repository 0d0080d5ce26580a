//! Sessions of the local service: a person signs in once with email and password (rule 7's lockout
//! applies) and gets a bearer token that expires and can be revoked. A session only says who is
//! calling: every request still computes that person's rights afresh (rule 1).

use crate::audit_actions::AuditAction;
use crate::auth::{self, Principal};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::sql::Scope;
use crate::store::{accounts, audit, sessions};
use crate::time::{rfc3339, Timestamp};
use serde::Serialize;
use ts_rs::TS;

/// Session tokens start with this, service-account tokens with `ghs_`, invitations with `ghi_`.
pub const TOKEN_PREFIX: &str = "ghp_";
/// How long a session lasts unless the service is told otherwise.
pub const DEFAULT_LIFETIME_SECONDS: i64 = 12 * 3600;

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct NewSession {
    /// Shown once; only its SHA-256 is stored. Send it as `Authorization: Bearer TOKEN`.
    pub token: String,
    pub email: String,
    pub expires_at: String,
}

/// Sign in and open a session of `lifetime` seconds.
pub fn create(db: &mut Database, email: &str, password: &str, lifetime: i64, now: Timestamp) -> Result<NewSession> {
    let who = auth::sign_in(db, email, password, now)?;
    let Principal::Account { id, email } = who else {
        return Err(Error::Internal("a password sign-in gave a service account".into()));
    };
    let token = auth::new_token(TOKEN_PREFIX)?;
    let expires_at = now + lifetime;
    db.write_in(now, &Scope::system(), |tx| {
        sessions::forget_ended(tx, now)?;
        sessions::insert(tx, &id, &auth::token_hash(&token), expires_at, now)?;
        audit::append(
            tx,
            "",
            &email,
            AuditAction::SessionCreated,
            &email,
            &serde_json::json!({"expires_at": rfc3339(expires_at)}),
            now,
        )?;
        Ok(NewSession { token: token.clone(), email: email.clone(), expires_at: rfc3339(expires_at) })
    })
}

/// Who holds this session token; reads only, so asking many questions writes nothing.
pub fn authenticate(db: &mut Database, token: &str, now: Timestamp) -> Result<Principal> {
    let hash = auth::token_hash(token.trim());
    db.read(now, |tx| {
        let session = sessions::by_token_hash(tx, &hash)?
            .ok_or_else(|| Error::Unauthenticated("unknown session token; sign in again".into()))?;
        if session.revoked_at.is_some() {
            return Err(Error::Unauthenticated("this session was signed out; sign in again".into()));
        }
        if session.expires_at <= now {
            return Err(Error::Unauthenticated(format!(
                "this session expired at {}; sign in again",
                rfc3339(session.expires_at)
            )));
        }
        let account = accounts::by_id(tx, &session.account_id)?
            .ok_or_else(|| Error::Unauthenticated("the account of this session no longer exists".into()))?;
        Ok(Principal::Account { id: account.id, email: account.email })
    })
}

/// End the session of this token (signing out); the token stops working at once.
pub fn revoke(db: &mut Database, token: &str, now: Timestamp) -> Result<()> {
    let who = authenticate(db, token, now)?;
    let hash = auth::token_hash(token.trim());
    db.write_in(now, &Scope::system(), |tx| {
        let session = sessions::by_token_hash(tx, &hash)?
            .ok_or_else(|| Error::Unauthenticated("unknown session token".into()))?;
        sessions::revoke(tx, &session.id, now)?;
        let email = who.label();
        audit::append(tx, "", &email, AuditAction::SessionRevoked, &email, &serde_json::json!({}), now)
    })
}

/// The caller behind an `Authorization: Bearer` token: a service account's token or a person's
/// session, told apart by their prefixes. Anything else is refused; there is no default identity.
pub fn authenticate_bearer(db: &mut Database, token: &str, now: Timestamp) -> Result<Principal> {
    let token = token.trim();
    if token.starts_with(super::service_accounts::TOKEN_PREFIX) {
        auth::authenticate_token(db, token, now)
    } else if token.starts_with(TOKEN_PREFIX) {
        authenticate(db, token, now)
    } else {
        Err(Error::Unauthenticated(format!(
            "not a Gatehouse token: send a service-account token ({}…) or a session token ({TOKEN_PREFIX}…) from POST /v1/sessions",
            super::service_accounts::TOKEN_PREFIX
        )))
    }
}
