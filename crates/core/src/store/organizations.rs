//! `organizations`.

use crate::error::Result;
use crate::time::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};

#[derive(Debug, Clone)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub created_at: Timestamp,
}

fn from_row(r: &Row) -> rusqlite::Result<Organization> {
    Ok(Organization { id: r.get(0)?, name: r.get(1)?, slug: r.get(2)?, created_at: r.get(3)? })
}

pub fn by_slug(conn: &Connection, slug: &str) -> Result<Option<Organization>> {
    let mut st = conn.prepare_cached("SELECT id, name, slug, created_at FROM organizations WHERE slug = ?1")?;
    Ok(st.query_row([slug], from_row).optional()?)
}

pub fn by_id(conn: &Connection, id: &str) -> Result<Option<Organization>> {
    let mut st = conn.prepare_cached("SELECT id, name, slug, created_at FROM organizations WHERE id = ?1")?;
    Ok(st.query_row([id], from_row).optional()?)
}

pub fn insert(conn: &Connection, name: &str, slug: &str, now: Timestamp) -> Result<String> {
    let id = super::new_id();
    conn.execute(
        "INSERT INTO organizations (id, name, slug, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, name, slug, now],
    )?;
    Ok(id)
}

pub fn rename(conn: &Connection, id: &str, name: &str) -> Result<()> {
    conn.execute("UPDATE organizations SET name = ?2 WHERE id = ?1", params![id, name])?;
    Ok(())
}

/// The organizations an account is a member of (enabled or not), by name.
pub fn of_account(conn: &Connection, account_id: &str) -> Result<Vec<Organization>> {
    let mut st = conn.prepare_cached(
        "SELECT o.id, o.name, o.slug, o.created_at FROM organizations o
         JOIN memberships m ON m.organization_id = o.id WHERE m.account_id = ?1 ORDER BY lower(o.name), o.slug",
    )?;
    let rows = st.query_map([account_id], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
