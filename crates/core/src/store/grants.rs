//! `access_grants`: roles given to members and service accounts, at organization or workspace scope.

use crate::error::Result;
use crate::sql::{params, Connection};
use crate::time::Timestamp;

/// Who a grant is for.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Membership(&'a str),
    ServiceAccount(&'a str),
}

#[derive(Debug, Clone)]
pub struct Grant {
    pub id: String,
    pub role_id: String,
    pub role_name: String,
    pub role_is_owner: bool,
    pub workspace: Option<String>,
    pub valid_from: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub granted_by: Option<String>,
    pub granted_at: Timestamp,
}

impl Grant {
    pub fn is_current(&self, now: Timestamp) -> bool {
        self.valid_from.is_none_or(|t| t <= now) && self.expires_at.is_none_or(|t| t > now)
    }
}

pub struct NewGrant<'a> {
    pub organization_id: &'a str,
    pub subject: Subject<'a>,
    pub role_id: &'a str,
    pub workspace_id: Option<&'a str>,
    pub valid_from: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub granted_by: Option<&'a str>,
}

impl<'a> NewGrant<'a> {
    /// A role at organization scope, from now on, with no end.
    pub fn organization_role(
        organization_id: &'a str,
        subject: Subject<'a>,
        role_id: &'a str,
        granted_by: Option<&'a str>,
    ) -> Self {
        NewGrant {
            organization_id,
            subject,
            role_id,
            workspace_id: None,
            valid_from: None,
            expires_at: None,
            granted_by,
        }
    }
}

pub fn insert(conn: &Connection, g: &NewGrant, now: Timestamp) -> Result<String> {
    let id = super::new_id();
    let (membership, service_account) = match g.subject {
        Subject::Membership(m) => (Some(m), None),
        Subject::ServiceAccount(s) => (None, Some(s)),
    };
    conn.prepare_cached(
        "INSERT INTO access_grants (id, organization_id, membership_id, service_account_id, role_id, workspace_id,
                                    valid_from, expires_at, granted_by, granted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id,
        g.organization_id,
        membership,
        service_account,
        g.role_id,
        g.workspace_id,
        g.valid_from,
        g.expires_at,
        g.granted_by,
        now
    ])?;
    Ok(id)
}

/// Every grant of a subject, organization scope first, with role and workspace names.
pub fn of_subject(conn: &Connection, subject: Subject) -> Result<Vec<Grant>> {
    let (column, id) = match subject {
        Subject::Membership(m) => ("membership_id", m),
        Subject::ServiceAccount(s) => ("service_account_id", s),
    };
    let mut st = conn.prepare_cached(&format!(
        "SELECT g.id, g.role_id, r.name, r.is_owner, w.name, g.valid_from, g.expires_at, g.granted_by, g.granted_at
         FROM access_grants g JOIN roles r ON r.id = g.role_id LEFT JOIN workspaces w ON w.id = g.workspace_id
         WHERE g.{column} = ?1 ORDER BY g.workspace_id IS NOT NULL, w.name, r.name"
    ))?;
    let rows = st.query_map([id], |r| grant_at(r, 0))?.collect::<crate::sql::Result<_>>()?;
    Ok(rows)
}

/// The grant in the columns `GRANT_COLUMNS` starting at column `at` of a row.
fn grant_at(r: &crate::sql::Row, at: usize) -> crate::sql::Result<Grant> {
    Ok(Grant {
        id: r.get(at)?,
        role_id: r.get(at + 1)?,
        role_name: r.get(at + 2)?,
        role_is_owner: r.get(at + 3)?,
        workspace: r.get(at + 4)?,
        valid_from: r.get(at + 5)?,
        expires_at: r.get(at + 6)?,
        granted_by: r.get(at + 7)?,
        granted_at: r.get(at + 8)?,
    })
}

/// Every grant of every membership of an organization in one query, as (the member's email, the
/// membership's access expiry, the grant), each member's grants in the order of `of_subject`.
pub fn of_memberships(conn: &Connection, org_id: &str) -> Result<Vec<(String, Option<Timestamp>, Grant)>> {
    let mut st = conn.prepare_cached(
        "SELECT a.email, m.access_expires_at,
                g.id, g.role_id, r.name, r.is_owner, w.name, g.valid_from, g.expires_at, g.granted_by, g.granted_at
         FROM memberships m JOIN accounts a ON a.id = m.account_id
         JOIN access_grants g ON g.membership_id = m.id JOIN roles r ON r.id = g.role_id
         LEFT JOIN workspaces w ON w.id = g.workspace_id
         WHERE m.organization_id = ?1 ORDER BY m.id, g.workspace_id IS NOT NULL, w.name, r.name",
    )?;
    let rows =
        st.query_map([org_id], |r| Ok((r.get(0)?, r.get(1)?, grant_at(r, 2)?)))?.collect::<crate::sql::Result<_>>()?;
    Ok(rows)
}

/// Remove every organization-scope grant of a membership (before giving it a new role).
pub fn delete_org_scope(conn: &Connection, membership_id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM access_grants WHERE membership_id = ?1 AND workspace_id IS NULL")?
        .execute([membership_id])?;
    Ok(())
}

pub fn delete_in_workspace(conn: &Connection, membership_id: &str, workspace_id: &str) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM access_grants WHERE membership_id = ?1 AND workspace_id = ?2")?
        .execute(params![membership_id, workspace_id])?)
}

/// Grants whose expiry has passed and was not yet audited: (grant id, org, subject label, role,
/// workspace, expires_at), of organization `org` (by the `access_grants_org_pending_expiry` index,
/// PostgreSQL's) or of all of them.
#[allow(clippy::type_complexity)]
pub fn unrecorded_expiries(
    conn: &Connection,
    org: Option<&str>,
    now: Timestamp,
) -> Result<Vec<(String, String, String, String, Option<String>, Timestamp)>> {
    // One statement, with or without the organization's condition (a literal each, so that
    // PostgreSQL plans the organization's index for the first).
    macro_rules! unrecorded {
        ($org:literal) => {
            concat!(
                "SELECT g.id, g.organization_id, coalesce(a.email, 'service-account:' || s.name), r.name, w.name, g.expires_at
         FROM access_grants g JOIN roles r ON r.id = g.role_id
         LEFT JOIN memberships m ON m.id = g.membership_id LEFT JOIN accounts a ON a.id = m.account_id
         LEFT JOIN service_accounts s ON s.id = g.service_account_id
         LEFT JOIN workspaces w ON w.id = g.workspace_id
         WHERE ",
                $org,
                "g.expires_at IS NOT NULL AND g.expiry_recorded = 0 AND g.expires_at <= ?1 ORDER BY g.expires_at"
            )
        };
    }
    let mut st =
        conn.prepare_cached(if org.is_some() { unrecorded!("g.organization_id = ?2 AND ") } else { unrecorded!("") })?;
    let row = |r: &crate::sql::Row| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?));
    let rows = match org {
        Some(org) => st.query_map(params![now, org], row)?.collect::<crate::sql::Result<_>>()?,
        None => st.query_map([now], row)?.collect::<crate::sql::Result<_>>()?,
    };
    Ok(rows)
}

pub fn mark_expiry_recorded(conn: &Connection, id: &str) -> Result<()> {
    conn.prepare_cached("UPDATE access_grants SET expiry_recorded = 1 WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// The organizations with something awaiting an `access.expired` event.
pub fn orgs_with_unrecorded_expiry(conn: &Connection, now: Timestamp) -> Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT organization_id FROM access_grants WHERE expires_at IS NOT NULL AND expiry_recorded = 0 AND expires_at <= ?1
         UNION SELECT organization_id FROM memberships WHERE access_expires_at IS NOT NULL AND expiry_recorded = 0 AND access_expires_at <= ?1",
    )?
    .query_map([now], |r| r.get(0))?
    .collect::<crate::sql::Result<_>>()
    .map_err(Into::into)
}

/// Whether anything at all awaits an `access.expired` event: the earliest pending expiry of each
/// table is the first entry of its `*_pending_expiry` index, compared with `now` here. No value of
/// the statement steers its plan: as `EXISTS (… expires_at <= $1)` PostgreSQL gave it a generic
/// plan after five uses on a connection that read all of `access_grants` (26-39 ms at 100k).
pub fn any_unrecorded_expiry(conn: &Connection, now: Timestamp) -> Result<bool> {
    let (grant, membership): (Option<Timestamp>, Option<Timestamp>) = conn
        .prepare_cached(
            "SELECT (SELECT min(expires_at) FROM access_grants WHERE expires_at IS NOT NULL AND expiry_recorded = 0),
                    (SELECT min(access_expires_at) FROM memberships WHERE access_expires_at IS NOT NULL AND expiry_recorded = 0)",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(grant.into_iter().chain(membership).any(|at| at <= now))
}
