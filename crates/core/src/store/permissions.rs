//! `custom_permissions`; the built-in ones are in `catalogue`.

use crate::error::Result;
use crate::sql::{params, Connection};
use crate::time::Timestamp;

pub fn custom(conn: &Connection, org_id: &str) -> Result<Vec<(String, String)>> {
    let mut st = conn
        .prepare_cached("SELECT name, description FROM custom_permissions WHERE organization_id = ?1 ORDER BY name")?;
    let rows = st.query_map([org_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<crate::sql::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn exists(conn: &Connection, org_id: &str, name: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM custom_permissions WHERE organization_id = ?1 AND name = ?2)")?
        .query_row(params![org_id, name], |r| r.get(0))?)
}

pub fn insert(conn: &Connection, org_id: &str, name: &str, description: &str, now: Timestamp) -> Result<()> {
    conn.execute(
        "INSERT INTO custom_permissions (organization_id, name, description, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![org_id, name, description, now],
    )?;
    Ok(())
}
