//! Who is calling: password sign-in with lockout (rule 7), service-account tokens, and the secret
//! tokens of invitations (rule 4). Tokens come from the OS random source; only their SHA-256 is
//! ever stored.

use crate::db::Database;
use crate::error::{Error, Result};
use crate::store::{accounts, audit, service_accounts};
use crate::time::{rfc3339, Timestamp};
use crate::validate;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Account { id: String, email: String },
    ServiceAccount { id: String, organization_id: String, name: String },
}

impl Principal {
    /// How the caller appears in the audit log.
    pub fn label(&self) -> String {
        match self {
            Principal::Account { email, .. } => email.clone(),
            Principal::ServiceAccount { name, .. } => format!("service-account:{name}"),
        }
    }

    pub fn account_id(&self) -> Option<&str> {
        match self {
            Principal::Account { id, .. } => Some(id),
            Principal::ServiceAccount { .. } => None,
        }
    }
}

/// Consecutive failures before an email is locked.
pub const LOCK_AFTER_FAILURES: i64 = 5;
/// The first lock lasts this long; each further failure doubles it, up to `MAX_LOCK_SECONDS`.
pub const FIRST_LOCK_SECONDS: i64 = 30;
pub const MAX_LOCK_SECONDS: i64 = 24 * 3600;

fn argon2() -> Argon2<'static> {
    // OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> Result<String> {
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes).map_err(|e| Error::Internal(format!("random source: {e}")))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::Internal(format!("argon2: {e}")))?
        .to_string())
}

fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to verify against when the email has no account, so both answers take as long.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never matches").unwrap_or_default())
}

pub fn lock_seconds(failures: i64) -> i64 {
    let extra = (failures - LOCK_AFTER_FAILURES).clamp(0, 20) as u32;
    (FIRST_LOCK_SECONDS << extra).min(MAX_LOCK_SECONDS)
}

pub const WRONG_CREDENTIALS: &str = "sign-in failed: wrong email or password";

/// Sign in with email and password. Failures are counted per email whether or not an account has
/// it, so neither the message nor the lockout tells whether the email exists.
pub fn sign_in(db: &mut Database, email: &str, password: &str, now: Timestamp) -> Result<Principal> {
    let email_norm = email.trim().to_ascii_lowercase();
    let tx = db.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (failures, locked_until) = accounts::attempts(&tx, &email_norm)?;
    if let Some(until) = locked_until.filter(|t| *t > now) {
        audit::append(
            &tx,
            "",
            &email_norm,
            "signin.refused",
            &email_norm,
            &serde_json::json!({"locked_until": rfc3339(until)}),
            now,
        )?;
        tx.commit()?;
        return Err(Error::Unauthenticated(format!(
            "sign-in locked after too many failed attempts; try again after {}",
            rfc3339(until)
        )));
    }
    let account = accounts::by_email(&tx, &email_norm)?;
    let ok = match account.as_ref().and_then(|a| a.password_hash.as_deref()) {
        Some(hash) => verify_password(hash, password),
        None => {
            verify_password(decoy_hash(), password);
            false
        }
    };
    match (ok, account) {
        (true, Some(account)) => {
            accounts::clear_attempts(&tx, &email_norm)?;
            accounts::record_login(&tx, &account.id, now)?;
            tx.commit()?;
            Ok(Principal::Account { id: account.id, email: account.email })
        }
        _ => {
            let failures = failures + 1;
            let locked = (failures >= LOCK_AFTER_FAILURES).then(|| now + lock_seconds(failures));
            accounts::set_attempts(&tx, &email_norm, failures, locked, now)?;
            audit::append(
                &tx,
                "",
                &email_norm,
                "signin.failed",
                &email_norm,
                &serde_json::json!({"failures": failures}),
                now,
            )?;
            tx.commit()?;
            Err(Error::Unauthenticated(WRONG_CREDENTIALS.into()))
        }
    }
}

/// Sign in with a service-account token.
pub fn authenticate_token(db: &mut Database, token: &str, now: Timestamp) -> Result<Principal> {
    let hash = token_hash(token.trim());
    db.write(now, |tx| {
        let sa = service_accounts::by_token_hash(tx, &hash)?
            .ok_or_else(|| Error::Unauthenticated("unknown service-account token".into()))?;
        if sa.revoked_at.is_some() {
            return Err(Error::Unauthenticated(format!("the token of service account {} was revoked", sa.name)));
        }
        if sa.expires_at.is_some_and(|t| t <= now) {
            return Err(Error::Unauthenticated(format!("the token of service account {} has expired", sa.name)));
        }
        service_accounts::touch(tx, &sa.id, now)?;
        Ok(Principal::ServiceAccount { id: sa.id, organization_id: sa.organization_id, name: sa.name })
    })
}

/// A new secret token: `prefix` then 32 bytes (256 bits) from the OS random source, hex-encoded.
pub fn new_token(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("random source: {e}")))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Check a new password and hash it.
pub fn new_password_hash(password: &str) -> Result<String> {
    validate::password("password", password)?;
    hash_password(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_use_owasp_argon2id() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "wrong"));
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = new_token("ghi_").unwrap();
        let b = new_token("ghi_").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(token_hash(&a).len(), 32);
    }

    #[test]
    fn back_off_grows() {
        assert_eq!(lock_seconds(5), 30);
        assert_eq!(lock_seconds(6), 60);
        assert_eq!(lock_seconds(7), 120);
        assert_eq!(lock_seconds(60), MAX_LOCK_SECONDS);
    }
}
