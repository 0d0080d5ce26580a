//! Who is calling: password sign-in with lockout (rule 7), service-account tokens, and the secret
//! tokens of invitations (rule 4). Tokens come from the OS random source; only their SHA-256 is
//! ever stored.

use crate::audit_actions::AuditAction;
use crate::db::Database;
use crate::error::{Error, Result};
use crate::sql::Scope;
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
    #[cfg(test)]
    argon2_runs::count();
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes).map_err(|e| Error::Internal(format!("random source: {e}")))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::Internal(format!("argon2: {e}")))?
        .to_string())
}

fn verify_password(hash: &str, password: &str) -> bool {
    #[cfg(test)]
    argon2_runs::count();
    PasswordHash::new(hash).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// What an unknown email (or an account without a password) is verified against, so that both
/// answers cost exactly one argon2 run (rule 7). It is a constant, made once with `hash_password`
/// at the parameters of `argon2()`: hashing it on demand would cost the unknown path a second run
/// (issue 8.4 measured 89 ms known vs 114 ms unknown). A test keeps its parameters equal to ours.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$+wZM9S51zdixOfDi4C8HvQ$PZqdzH16P+ZgDpowaQpFFdxPX5kft6ltnxoTbGXskVk";

/// How many argon2 runs this thread made: tests compare the paths of sign-in by counting them,
/// which proves equal cost without timing anything.
#[cfg(test)]
pub(crate) mod argon2_runs {
    use std::cell::Cell;
    thread_local!(static RUNS: Cell<u32> = const { Cell::new(0) });
    pub fn count() {
        RUNS.with(|r| r.set(r.get() + 1));
    }
    pub fn take() -> u32 {
        RUNS.with(|r| r.replace(0))
    }
}

pub fn lock_seconds(failures: i64) -> i64 {
    let extra = (failures - LOCK_AFTER_FAILURES).clamp(0, 20) as u32;
    (FIRST_LOCK_SECONDS << extra).min(MAX_LOCK_SECONDS)
}

pub const WRONG_CREDENTIALS: &str = "sign-in failed: wrong email or password";

/// How far `last_login_at` and a token's `last_used_at` may lag behind: they are written only
/// when they would move by more than this, so that a script calling `check` in a loop does not
/// make a durable write per call (issue 9).
pub const BOOKKEEPING_GRANULARITY: i64 = 60;

fn locked_error(until: Timestamp) -> Error {
    Error::Unauthenticated(format!("sign-in locked after too many failed attempts; try again after {}", rfc3339(until)))
}

/// Sign in with email and password. Failures are counted per email whether or not an account has
/// it, so neither the message nor the lockout tells whether the email exists; both paths cost one
/// argon2 run (the decoy above). An email no account could have (too long, control characters)
/// is refused as invalid input before argon2: it reveals nothing, and is never written.
///
/// No write lock is held while argon2 runs (it takes tens of ms, and a write lock would queue
/// every other process behind it). What must be written is written after, each in a short
/// transaction: a failure (counted again inside the transaction, so concurrent failures all
/// count), or clearing earlier failures (looked at again inside the transaction, so that a lock
/// set meanwhile stays). A plain success writes nothing but `last_login_at`, and that only when
/// it moves by more than a minute and the lock is free. Guesses verified in
/// parallel cannot beat the lockout: a guess answered after the lock was set — right or wrong —
/// gets the locked answer, so at most `LOCK_AFTER_FAILURES` guesses are answered as before.
pub fn sign_in(db: &mut Database, email: &str, password: &str, now: Timestamp) -> Result<Principal> {
    // The email keys the failures written below: what no account could have is refused first
    // (`rules::rule7_a_sign_in_email_no_account_could_have_is_refused_naming_it_…`).
    let email_norm = validate::sign_in_email("email", email)?;
    let (attempts, account) =
        db.read(now, |tx| Ok((accounts::attempts(tx, &email_norm)?, accounts::by_email(tx, &email_norm)?)))?;
    if let (_, Some(until)) = attempts {
        if until > now {
            return Err(refuse_locked(db, &email_norm, until, now));
        }
    }
    let hash = account.as_ref().and_then(|a| a.password_hash.as_deref());
    let password_matches = verify_password(hash.unwrap_or(DECOY_HASH), password) && hash.is_some();
    let account = match account {
        Some(account) if password_matches => account,
        _ => return Err(record_failure(db, &email_norm, now)),
    };
    // Right password. Other attempts may have run meanwhile: look again before answering.
    let (failures, locked_until) = db.read(now, |tx| accounts::attempts(tx, &email_norm))?;
    if let Some(until) = locked_until.filter(|t| *t > now) {
        return Err(refuse_locked(db, &email_norm, until, now));
    }
    if failures > 0 {
        // Consecutive failures end with a success: this must be written, so wait for the lock.
        // And look once more inside the write: a failure committed since the look above may have
        // set the lock, which clearing would wipe (`tests/org_locks.rs`,
        // `a_right_password_racing_the_fifth_failure_does_not_wipe_the_lock`).
        let locked = db.write_in(now, &Scope::system(), |tx| {
            if let (_, Some(until)) = accounts::attempts(tx, &email_norm)? {
                if until > now {
                    audit_refused(tx, &email_norm, until, now)?;
                    return Ok(Some(until));
                }
            }
            accounts::clear_attempts(tx, &email_norm)?;
            accounts::record_login(tx, &account.id, now)?;
            Ok(None)
        })?;
        if let Some(until) = locked {
            return Err(locked_error(until));
        }
    } else if account.last_login_at.is_none_or(|t| now - t > BOOKKEEPING_GRANULARITY) {
        db.try_write(&Scope::system(), |tx| accounts::record_login(tx, &account.id, now))?;
    }
    Ok(Principal::Account { id: account.id, email: account.email })
}

/// A locked email: audit the refused attempt and answer with when to try again.
fn refuse_locked(db: &mut Database, email_norm: &str, until: Timestamp, now: Timestamp) -> Error {
    match db.write_in(now, &Scope::system(), |tx| audit_refused(tx, email_norm, until, now)) {
        Ok(()) => locked_error(until),
        Err(e) => e,
    }
}

/// The system chain's trace of an attempt refused because the email is locked until `until`.
fn audit_refused(tx: &crate::sql::Transaction, email_norm: &str, until: Timestamp, now: Timestamp) -> Result<()> {
    audit::append(
        tx,
        "",
        email_norm,
        AuditAction::SigninRefused,
        email_norm,
        &serde_json::json!({"locked_until": rfc3339(until)}),
        now,
    )
}

/// Count a failed attempt (reading the count inside the write, so that parallel failures all
/// count) and lock the email at the fifth. An attempt that finds the email already locked by
/// parallel ones is answered as locked, like any attempt after the lock.
fn record_failure(db: &mut Database, email_norm: &str, now: Timestamp) -> Error {
    let counted = db.write_in(now, &Scope::system(), |tx| {
        let (failures, locked_until) = accounts::attempts(tx, email_norm)?;
        if let Some(until) = locked_until.filter(|t| *t > now) {
            audit_refused(tx, email_norm, until, now)?;
            return Ok(locked_error(until));
        }
        let failures = failures + 1;
        let locked = (failures >= LOCK_AFTER_FAILURES).then(|| now + lock_seconds(failures));
        accounts::set_attempts(tx, email_norm, failures, locked, now)?;
        audit::append(
            tx,
            "",
            email_norm,
            AuditAction::SigninFailed,
            email_norm,
            &serde_json::json!({"failures": failures}),
            now,
        )?;
        Ok(Error::Unauthenticated(WRONG_CREDENTIALS.into()))
    });
    counted.unwrap_or_else(|e| e)
}

/// How many characters of a refused token its audit event keeps: the prefix and 8 characters, as
/// much as `service-accounts list` shows of a token.
const TOKEN_SHOWN_CHARS: usize = 12;

/// Sign in with a service-account token. A read: the token's `last_used_at` is bookkeeping,
/// written only when it moves by more than a minute and the write lock is free.
///
/// A refused token leaves a trace (rule 8): an unknown one a `token.refused` event in the system
/// chain (naming only the token's first characters, as `service-accounts list` shows them), a
/// revoked or expired one the same event in its organization's chain.
pub fn authenticate_token(db: &mut Database, token: &str, now: Timestamp) -> Result<Principal> {
    let token = token.trim();
    let hash = token_hash(token);
    let (chain, actor, message) = match db.read(now, |tx| service_accounts::by_token_hash(tx, &hash))? {
        None => (String::new(), "unknown token".to_string(), "unknown service-account token".to_string()),
        Some(sa) if sa.revoked_at.is_some() => {
            let message = format!("the token of service account {} was revoked", sa.name);
            (sa.organization_id, format!("service-account:{}", sa.name), message)
        }
        Some(sa) if sa.expires_at.is_some_and(|t| t <= now) => {
            let message = format!("the token of service account {} has expired", sa.name);
            (sa.organization_id, format!("service-account:{}", sa.name), message)
        }
        Some(sa) => {
            if sa.last_used_at.is_none_or(|t| now - t > BOOKKEEPING_GRANULARITY) {
                db.try_write(&Scope::org_id(&sa.organization_id), |tx| service_accounts::touch(tx, &sa.id, now))?;
            }
            return Ok(Principal::ServiceAccount { id: sa.id, organization_id: sa.organization_id, name: sa.name });
        }
    };
    let shown: String = token.chars().take(TOKEN_SHOWN_CHARS).collect();
    db.write_in(now, &Scope::org_id(&chain), |tx| {
        audit::append(
            tx,
            &chain,
            &actor,
            AuditAction::TokenRefused,
            &shown,
            &serde_json::json!({ "reason": message }),
            now,
        )
    })?;
    Err(Error::Unauthenticated(message))
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

    #[test]
    fn the_decoy_has_our_parameters() {
        let ours = hash_password("x").unwrap();
        let params = |h: &str| h.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(params(DECOY_HASH), params(&ours));
        assert!(!verify_password(DECOY_HASH, ""));
    }

    /// Rule 7 / issue 8.4: an unknown email costs what a known one costs — one argon2 run each,
    /// also the first time in a process (the decoy used to be hashed lazily, on that path only).
    #[test]
    fn sign_in_costs_one_argon2_run_whether_or_not_the_email_exists() {
        let mut db = Database::open_in_memory().unwrap();
        crate::usecases::orgs::init(&mut db, "Acme", "known@acme.io", "Kim Known", "right password!", 1_000).unwrap();
        let runs = |db: &mut Database, email: &str, password: &str| {
            argon2_runs::take();
            let _ = sign_in(db, email, password, 2_000);
            argon2_runs::take()
        };
        assert_eq!(runs(&mut db, "unknown@acme.io", "wrong password!"), 1, "unknown email");
        assert_eq!(runs(&mut db, "known@acme.io", "wrong password!"), 1, "known email, wrong password");
        assert_eq!(runs(&mut db, "known@acme.io", "right password!"), 1, "known email, right password");
        assert_eq!(runs(&mut db, "unknown@acme.io", "wrong password!"), 1, "unknown email again");
    }
}
