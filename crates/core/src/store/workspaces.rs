//! `workspaces`.

use crate::error::Result;
use crate::sql::{params, Connection, OptionalExtension};
use crate::time::Timestamp;

#[derive(Debug, Clone)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
}

pub fn by_name(conn: &Connection, org_id: &str, name: &str) -> Result<Option<Workspace>> {
    // No name holds a NUL (names are validated when made, and PostgreSQL's text cannot hold one,
    // so the lookup would fail there instead of finding nothing).
    if name.contains('\0') {
        return Ok(None);
    }
    let mut st = conn.prepare_cached(
        "SELECT id, name, created_at FROM workspaces WHERE organization_id = ?1 AND name = ?2 COLLATE NOCASE",
    )?;
    Ok(st
        .query_row(params![org_id, name], |r| Ok(Workspace { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)? }))
        .optional()?)
}

pub fn list(conn: &Connection, org_id: &str) -> Result<Vec<Workspace>> {
    let mut st = conn.prepare_cached(
        "SELECT id, name, created_at FROM workspaces WHERE organization_id = ?1 ORDER BY name COLLATE NOCASE",
    )?;
    let rows = st
        .query_map([org_id], |r| Ok(Workspace { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)? }))?
        .collect::<crate::sql::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn insert(conn: &Connection, org_id: &str, name: &str, now: Timestamp) -> Result<String> {
    let id = super::new_id();
    conn.execute(
        "INSERT INTO workspaces (id, organization_id, name, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, org_id, name, now],
    )?;
    Ok(id)
}
