//! `service_accounts`: non-human principals; their role is an access grant like a member's.

use crate::error::Result;
use crate::sql::{params, Connection, OptionalExtension, Row};
use crate::time::Timestamp;

#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub token_prefix: String,
    pub expires_at: Option<Timestamp>,
    pub created_by: Option<String>,
    /// The person it counts as (rule 9): its creator, or the person its creating service account
    /// counted as.
    pub created_by_account: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

const COLUMNS: &str =
    "id, organization_id, name, token_prefix, expires_at, created_by, created_at, last_used_at, revoked_at,
     created_by_account";

fn from_row(r: &Row) -> crate::sql::Result<ServiceAccount> {
    Ok(ServiceAccount {
        id: r.get(0)?,
        organization_id: r.get(1)?,
        name: r.get(2)?,
        token_prefix: r.get(3)?,
        expires_at: r.get(4)?,
        created_by: r.get(5)?,
        created_at: r.get(6)?,
        last_used_at: r.get(7)?,
        revoked_at: r.get(8)?,
        created_by_account: r.get(9)?,
    })
}

pub fn by_token_hash(conn: &Connection, hash: &[u8]) -> Result<Option<ServiceAccount>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM service_accounts WHERE token_hash = ?1"))?;
    Ok(st.query_row([hash], from_row).optional()?)
}

pub fn by_id(conn: &Connection, id: &str) -> Result<Option<ServiceAccount>> {
    let sql = format!("SELECT {COLUMNS} FROM service_accounts WHERE id = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([id], from_row).optional()?)
}

/// Not revoked and not past its expiry at `now`.
pub fn is_active(sa: &ServiceAccount, now: Timestamp) -> bool {
    sa.revoked_at.is_none() && sa.expires_at.is_none_or(|t| t > now)
}

pub fn by_name(conn: &Connection, org_id: &str, name: &str) -> Result<Option<ServiceAccount>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM service_accounts WHERE organization_id = ?1 AND name = ?2 COLLATE NOCASE"
    ))?;
    Ok(st.query_row(params![org_id, name], from_row).optional()?)
}

pub fn list(conn: &Connection, org_id: &str) -> Result<Vec<ServiceAccount>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM service_accounts WHERE organization_id = ?1 ORDER BY name COLLATE NOCASE"
    ))?;
    let rows = st.query_map([org_id], from_row)?.collect::<crate::sql::Result<_>>()?;
    Ok(rows)
}

#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &Connection,
    org_id: &str,
    name: &str,
    token_hash: &[u8],
    token_prefix: &str,
    expires_at: Option<Timestamp>,
    created_by: &str,
    created_by_account: Option<&str>,
    now: Timestamp,
) -> Result<String> {
    let id = super::new_id();
    conn.prepare_cached(
        "INSERT INTO service_accounts (id, organization_id, name, token_hash, token_prefix, expires_at, created_by,
                                       created_by_account, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        id,
        org_id,
        name,
        token_hash,
        token_prefix,
        expires_at,
        created_by,
        created_by_account,
        now
    ])?;
    Ok(id)
}

pub fn revoke(conn: &Connection, id: &str, now: Timestamp) -> Result<()> {
    conn.execute("UPDATE service_accounts SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", params![id, now])?;
    Ok(())
}

pub fn touch(conn: &Connection, id: &str, now: Timestamp) -> Result<()> {
    conn.prepare_cached("UPDATE service_accounts SET last_used_at = ?2 WHERE id = ?1")?.execute(params![id, now])?;
    Ok(())
}
