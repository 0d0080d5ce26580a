//! `roles` and `role_permissions`.

use crate::error::Result;
use crate::policy::RoleRights;
use crate::sql::{params, Connection, OptionalExtension};
use crate::time::Timestamp;
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: String,
    pub is_owner: bool,
    pub permissions: BTreeSet<String>,
}

impl Role {
    pub fn rights(&self) -> RoleRights {
        RoleRights { name: self.name.clone(), is_owner: self.is_owner, permissions: self.permissions.clone() }
    }
}

fn permissions_of(conn: &Connection, role_id: &str) -> Result<BTreeSet<String>> {
    let mut st = conn.prepare_cached("SELECT permission FROM role_permissions WHERE role_id = ?1")?;
    let set = st.query_map([role_id], |r| r.get(0))?.collect::<crate::sql::Result<BTreeSet<String>>>()?;
    Ok(set)
}

fn with_permissions(conn: &Connection, row: (String, String, String, bool)) -> Result<Role> {
    let permissions = permissions_of(conn, &row.0)?;
    Ok(Role { id: row.0, name: row.1, description: row.2, is_owner: row.3, permissions })
}

/// A role by name, compared case-insensitively.
pub fn by_name(conn: &Connection, org_id: &str, name: &str) -> Result<Option<Role>> {
    // No name holds a NUL (names are validated when made, and PostgreSQL's text cannot hold one,
    // so the lookup would fail there instead of finding nothing).
    if name.contains('\0') {
        return Ok(None);
    }
    let row = conn
        .prepare_cached(
            "SELECT id, name, description, is_owner FROM roles WHERE organization_id = ?1 AND name = ?2 COLLATE NOCASE",
        )?
        .query_row(params![org_id, name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    row.map(|row| with_permissions(conn, row)).transpose()
}

pub fn by_id(conn: &Connection, id: &str) -> Result<Option<Role>> {
    let row = conn
        .prepare_cached("SELECT id, name, description, is_owner FROM roles WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    row.map(|row| with_permissions(conn, row)).transpose()
}

pub fn owner_role_id(conn: &Connection, org_id: &str) -> Result<String> {
    Ok(conn
        .prepare_cached("SELECT id FROM roles WHERE organization_id = ?1 AND is_owner = 1")?
        .query_row([org_id], |r| r.get(0))?)
}

pub fn list(conn: &Connection, org_id: &str) -> Result<Vec<Role>> {
    let rows: Vec<(String, String, String, bool)> = conn
        .prepare_cached(
            "SELECT id, name, description, is_owner FROM roles WHERE organization_id = ?1
             ORDER BY is_owner DESC, created_at, name COLLATE NOCASE",
        )?
        .query_map([org_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<crate::sql::Result<_>>()?;
    rows.into_iter().map(|row| with_permissions(conn, row)).collect()
}

pub fn insert(
    conn: &Connection,
    org_id: &str,
    name: &str,
    description: &str,
    is_owner: bool,
    permissions: &BTreeSet<String>,
    now: Timestamp,
) -> Result<String> {
    let id = super::new_id();
    conn.prepare_cached(
        "INSERT INTO roles (id, organization_id, name, description, is_owner, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, org_id, name, description, is_owner, now])?;
    set_permissions(conn, &id, permissions)?;
    Ok(id)
}

pub fn set_permissions(conn: &Connection, role_id: &str, permissions: &BTreeSet<String>) -> Result<()> {
    conn.prepare_cached("DELETE FROM role_permissions WHERE role_id = ?1")?.execute([role_id])?;
    let mut st = conn.prepare_cached("INSERT INTO role_permissions (role_id, permission) VALUES (?1, ?2)")?;
    for p in permissions {
        st.execute(params![role_id, p])?;
    }
    Ok(())
}

pub fn set_description(conn: &Connection, role_id: &str, description: &str) -> Result<()> {
    conn.execute("UPDATE roles SET description = ?2 WHERE id = ?1", params![role_id, description])?;
    Ok(())
}

pub fn delete(conn: &Connection, role_id: &str) -> Result<()> {
    conn.execute("DELETE FROM roles WHERE id = ?1", [role_id])?;
    Ok(())
}

/// How many grants and open invitations use the role.
pub fn usage(conn: &Connection, role_id: &str) -> Result<(i64, i64)> {
    let grants = conn.query_row("SELECT count(*) FROM access_grants WHERE role_id = ?1", [role_id], |r| r.get(0))?;
    let invites =
        conn.query_row("SELECT count(*) FROM invitations WHERE role_id = ?1 AND status = 'open'", [role_id], |r| {
            r.get(0)
        })?;
    Ok((grants, invites))
}
