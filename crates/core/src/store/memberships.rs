//! `memberships`.

use crate::error::Result;
use crate::sql::{params, Connection, OptionalExtension};
use crate::time::Timestamp;

#[derive(Debug, Clone)]
pub struct Membership {
    pub id: String,
    pub organization_id: String,
    pub account_id: String,
    pub enabled: bool,
    pub access_expires_at: Option<Timestamp>,
    pub joined_at: Timestamp,
}

impl Membership {
    /// Enabled and not past its access expiry at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.enabled && self.access_expires_at.is_none_or(|t| t > now)
    }
}

pub fn of(conn: &Connection, org_id: &str, account_id: &str) -> Result<Option<Membership>> {
    let mut st = conn.prepare_cached(
        "SELECT id, organization_id, account_id, enabled, access_expires_at, joined_at FROM memberships
         WHERE organization_id = ?1 AND account_id = ?2",
    )?;
    Ok(st
        .query_row(params![org_id, account_id], |r| {
            Ok(Membership {
                id: r.get(0)?,
                organization_id: r.get(1)?,
                account_id: r.get(2)?,
                enabled: r.get(3)?,
                access_expires_at: r.get(4)?,
                joined_at: r.get(5)?,
            })
        })
        .optional()?)
}

pub fn insert(
    conn: &Connection,
    org_id: &str,
    account_id: &str,
    access_expires_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<String> {
    let id = super::new_id();
    conn.prepare_cached(
        "INSERT INTO memberships (id, organization_id, account_id, enabled, access_expires_at, joined_at) VALUES (?1, ?2, ?3, 1, ?4, ?5)",
    )?
    .execute(params![id, org_id, account_id, access_expires_at, now])?;
    Ok(id)
}

pub fn set_enabled(conn: &Connection, id: &str, enabled: bool) -> Result<()> {
    conn.prepare_cached("UPDATE memberships SET enabled = ?2 WHERE id = ?1")?.execute(params![id, enabled])?;
    Ok(())
}

/// Set or clear the access expiry; a new expiry is audited again when it passes.
pub fn set_expiry(conn: &Connection, id: &str, expires_at: Option<Timestamp>) -> Result<()> {
    conn.prepare_cached("UPDATE memberships SET access_expires_at = ?2, expiry_recorded = 0 WHERE id = ?1")?
        .execute(params![id, expires_at])?;
    Ok(())
}

/// Delete the membership; its grants go with it (ON DELETE CASCADE).
pub fn delete(conn: &Connection, id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM memberships WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// Memberships whose expiry has passed and was not yet audited: (id, org, email, expires_at).
pub fn unrecorded_expiries(conn: &Connection, now: Timestamp) -> Result<Vec<(String, String, String, Timestamp)>> {
    let mut st = conn.prepare_cached(
        "SELECT m.id, m.organization_id, a.email, m.access_expires_at FROM memberships m JOIN accounts a ON a.id = m.account_id
         WHERE m.access_expires_at IS NOT NULL AND m.expiry_recorded = 0 AND m.access_expires_at <= ?1
         ORDER BY m.access_expires_at",
    )?;
    let rows = st
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<crate::sql::Result<_>>()?;
    Ok(rows)
}

pub fn mark_expiry_recorded(conn: &Connection, id: &str) -> Result<()> {
    conn.prepare_cached("UPDATE memberships SET expiry_recorded = 1 WHERE id = ?1")?.execute([id])?;
    Ok(())
}
