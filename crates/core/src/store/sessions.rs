//! `sessions`: people signed in to the local service. Only the SHA-256 of a token is stored.

use crate::error::Result;
use crate::sql::{params, Connection, OptionalExtension};
use crate::time::Timestamp;

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub account_id: String,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

pub fn insert(
    conn: &Connection,
    account_id: &str,
    token_hash: &[u8],
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<String> {
    let id = super::new_id();
    conn.prepare_cached(
        "INSERT INTO sessions (id, account_id, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, account_id, token_hash, now, expires_at])?;
    Ok(id)
}

pub fn by_token_hash(conn: &Connection, hash: &[u8]) -> Result<Option<Session>> {
    let mut st =
        conn.prepare_cached("SELECT id, account_id, expires_at, revoked_at FROM sessions WHERE token_hash = ?1")?;
    Ok(st
        .query_row([hash], |r| {
            Ok(Session { id: r.get(0)?, account_id: r.get(1)?, expires_at: r.get(2)?, revoked_at: r.get(3)? })
        })
        .optional()?)
}

pub fn revoke(conn: &Connection, id: &str, now: Timestamp) -> Result<()> {
    conn.prepare_cached("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
        .execute(params![id, now])?;
    Ok(())
}

/// Forget sessions that ended more than a day ago: nothing refers to them, and a table of dead
/// tokens only grows.
pub fn forget_ended(conn: &Connection, now: Timestamp) -> Result<usize> {
    let before = now - 86_400;
    Ok(conn.prepare_cached("DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1")?.execute([before])?)
}
