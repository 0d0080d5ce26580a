//! `organizations`.

use crate::error::{Error, Result};
use crate::sql::{params, Connection, OptionalExtension, Row};
use crate::sql::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How an organization's scopes relate (rule 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum WorkspaceAccessMode {
    /// An organization role gives nothing inside a workspace; a workspace grant gives no
    /// organization permission (Synerise). The default for new organizations.
    Separate,
    /// Organization roles apply in every workspace too (CloudTruth projects, GitLab groups).
    Inherit,
}

impl WorkspaceAccessMode {
    pub const ALL: [WorkspaceAccessMode; 2] = [WorkspaceAccessMode::Separate, WorkspaceAccessMode::Inherit];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceAccessMode::Separate => "separate",
            WorkspaceAccessMode::Inherit => "inherit",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<WorkspaceAccessMode> {
        let s = s.trim();
        Self::ALL.into_iter().find(|m| m.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| {
            Error::invalid(
                field,
                format!("'{}' is not a workspace access; use separate or inherit", crate::validate::shorten(s)),
            )
        })
    }
}

impl ToSql for WorkspaceAccessMode {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for WorkspaceAccessMode {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        WorkspaceAccessMode::ALL.into_iter().find(|m| m.as_str() == s).ok_or(FromSqlError::InvalidType)
    }
}

#[derive(Debug, Clone)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub created_at: Timestamp,
    pub workspace_access: WorkspaceAccessMode,
}

const COLUMNS: &str = "o.id, o.name, o.slug, o.created_at, o.workspace_access";

fn from_row(r: &Row) -> crate::sql::Result<Organization> {
    Ok(Organization {
        id: r.get(0)?,
        name: r.get(1)?,
        slug: r.get(2)?,
        created_at: r.get(3)?,
        workspace_access: r.get(4)?,
    })
}

pub fn by_slug(conn: &Connection, slug: &str) -> Result<Option<Organization>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM organizations o WHERE o.slug = ?1"))?;
    Ok(st.query_row([slug], from_row).optional()?)
}

pub fn by_id(conn: &Connection, id: &str) -> Result<Option<Organization>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM organizations o WHERE o.id = ?1"))?;
    Ok(st.query_row([id], from_row).optional()?)
}

pub fn insert(
    conn: &Connection,
    name: &str,
    slug: &str,
    workspace_access: WorkspaceAccessMode,
    now: Timestamp,
) -> Result<String> {
    let id = super::new_id();
    conn.execute(
        "INSERT INTO organizations (id, name, slug, created_at, workspace_access) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, name, slug, now, workspace_access],
    )?;
    Ok(id)
}

pub fn rename(conn: &Connection, id: &str, name: &str) -> Result<()> {
    conn.execute("UPDATE organizations SET name = ?2 WHERE id = ?1", params![id, name])?;
    Ok(())
}

pub fn set_workspace_access(conn: &Connection, id: &str, mode: WorkspaceAccessMode) -> Result<()> {
    conn.execute("UPDATE organizations SET workspace_access = ?2 WHERE id = ?1", params![id, mode])?;
    Ok(())
}

/// The organizations an account is a member of (enabled or not), by name.
pub fn of_account(conn: &Connection, account_id: &str) -> Result<Vec<Organization>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM organizations o
         JOIN memberships m ON m.organization_id = o.id WHERE m.account_id = ?1 ORDER BY lower(o.name), o.slug"
    ))?;
    let rows = st.query_map([account_id], from_row)?.collect::<crate::sql::Result<Vec<_>>>()?;
    Ok(rows)
}
