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

/// People of an organization by normalized email, as `accounts::by_email`, `of` and
/// `rights::holds_owner_role` find them one by one: (account, membership, holds the owner role),
/// keyed by the email asked. Emails of no member are absent. One statement per `ENABLE_BATCH`;
/// accounts first, by email (CROSS JOIN fixes the order: the planner, blind to the list's length,
/// otherwise walked the organization's memberships, and a row's cost grew with the organization).
pub fn of_emails(
    conn: &Connection,
    org_id: &str,
    email_norms: &[String],
) -> Result<std::collections::HashMap<String, (super::accounts::Account, Membership, bool)>> {
    let mut out = std::collections::HashMap::with_capacity(email_norms.len());
    for chunk in email_norms.chunks(ENABLE_BATCH) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 2)).collect();
        let sql = format!(
            "SELECT {}, a.email_norm, m.id, m.enabled, m.access_expires_at, m.joined_at,
                    EXISTS (SELECT 1 FROM access_grants g JOIN roles r ON r.id = g.role_id
                            WHERE g.membership_id = m.id AND g.workspace_id IS NULL AND r.is_owner = 1)
             FROM accounts a CROSS JOIN memberships m ON m.account_id = a.id AND m.organization_id = ?1
             WHERE a.email_norm IN ({})",
            super::accounts::COLUMNS_OF_A,
            list.join(", ")
        );
        let mut values: Vec<&dyn crate::sql::ToSql> = vec![&org_id];
        values.extend(chunk.iter().map(|e| e as &dyn crate::sql::ToSql));
        let mut st = if chunk.len() == ENABLE_BATCH { conn.prepare_cached(&sql)? } else { conn.prepare(&sql)? };
        let mut rows = st.query(values.as_slice())?;
        while let Some(r) = rows.next()? {
            let account = super::accounts::from_row(r)?;
            let email_norm: String = r.get(8)?;
            let membership = Membership {
                id: r.get(9)?,
                organization_id: org_id.to_string(),
                account_id: account.id.clone(),
                enabled: r.get(10)?,
                access_expires_at: r.get(11)?,
                joined_at: r.get(12)?,
            };
            let is_owner: bool = r.get(13)?;
            out.insert(email_norm, (account, membership, is_owner));
        }
    }
    Ok(out)
}

/// A new membership. Its roster row copies the account (names, last sign-in), which is the
/// system's: in a PostgreSQL write that did not name the system, its lock is taken first, or a
/// sign-in committing meanwhile would change the account without seeing the membership, and the
/// row would keep what the INSERT saw (`tests/org_locks.rs`,
/// `a_sign_in_while_a_workspace_grant_makes_the_person_a_member_is_not_lost_from_the_roster`).
pub fn insert(
    conn: &Connection,
    org_id: &str,
    account_id: &str,
    access_expires_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<String> {
    conn.lock_org("")?;
    let id = super::new_id();
    conn.prepare_cached(
        "INSERT INTO memberships (id, organization_id, account_id, enabled, access_expires_at, joined_at) VALUES (?1, ?2, ?3, 1, ?4, ?5)",
    )?
    .execute(params![id, org_id, account_id, access_expires_at, now])?;
    Ok(id)
}

/// Memberships updated by one statement of `set_enabled_many`.
pub const ENABLE_BATCH: usize = 500;

/// Enable or disable many memberships, `ENABLE_BATCH` to a statement: a statement's set-up and
/// its statement journal (the roster triggers make one) are paid once per batch, not per row.
pub fn set_enabled_many(conn: &Connection, ids: &[String], enabled: bool) -> Result<()> {
    for chunk in ids.chunks(ENABLE_BATCH) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 2)).collect();
        let sql = format!("UPDATE memberships SET enabled = ?1 WHERE id IN ({})", list.join(", "));
        let mut values: Vec<&dyn crate::sql::ToSql> = vec![&enabled];
        values.extend(chunk.iter().map(|id| id as &dyn crate::sql::ToSql));
        // A full batch is always the same statement: prepared once. A last, shorter one is not kept.
        let mut st = if chunk.len() == ENABLE_BATCH { conn.prepare_cached(&sql)? } else { conn.prepare(&sql)? };
        st.execute(values.as_slice())?;
    }
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

/// Memberships whose expiry has passed and was not yet audited: (id, org, email, expires_at), of
/// organization `org` (by the `memberships_org_pending_expiry` index, PostgreSQL's) or of all.
pub fn unrecorded_expiries(
    conn: &Connection,
    org: Option<&str>,
    now: Timestamp,
) -> Result<Vec<(String, String, String, Timestamp)>> {
    // One statement, with or without the organization's condition (see grants::unrecorded_expiries).
    macro_rules! unrecorded {
        ($org:literal) => {
            concat!(
                "SELECT m.id, m.organization_id, a.email, m.access_expires_at FROM memberships m JOIN accounts a ON a.id = m.account_id
         WHERE ",
                $org,
                "m.access_expires_at IS NOT NULL AND m.expiry_recorded = 0 AND m.access_expires_at <= ?1
         ORDER BY m.access_expires_at"
            )
        };
    }
    let mut st =
        conn.prepare_cached(if org.is_some() { unrecorded!("m.organization_id = ?2 AND ") } else { unrecorded!("") })?;
    let row = |r: &crate::sql::Row| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?));
    let rows = match org {
        Some(org) => st.query_map(params![now, org], row)?.collect::<crate::sql::Result<_>>()?,
        None => st.query_map([now], row)?.collect::<crate::sql::Result<_>>()?,
    };
    Ok(rows)
}

pub fn mark_expiry_recorded(conn: &Connection, id: &str) -> Result<()> {
    conn.prepare_cached("UPDATE memberships SET expiry_recorded = 1 WHERE id = ?1")?.execute([id])?;
    Ok(())
}
