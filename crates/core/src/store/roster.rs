//! `roster`, `roster_counts`, `roster_orgs` (migration 0003): the member list as one table. The
//! triggers of that migration write it with every change to memberships, accounts, grants and
//! invitations; `usecases::members` reads it. This module holds the bulk-load switch only.

use crate::error::Result;
use crate::sql::Connection;
use crate::time::Timestamp;

/// Stop the insert triggers from writing an organization's roster rows one by one, for a bulk load
/// in this transaction; `rebuild` must follow in the same transaction.
pub fn defer(conn: &Connection, org_id: &str) -> Result<()> {
    conn.prepare_cached("UPDATE roster_orgs SET deferred = 1 WHERE organization_id = ?1")?.execute([org_id])?;
    Ok(())
}

/// Write an organization's roster rows afresh from the base tables in one statement each, and let
/// the triggers keep them again.
pub fn rebuild(conn: &Connection, org_id: &str) -> Result<()> {
    let roles = "(SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id
                  WHERE g.membership_id = m.id AND g.workspace_id IS NULL)";
    conn.execute("DELETE FROM roster WHERE org = (SELECT org FROM roster_orgs WHERE organization_id = ?1)", [org_id])?;
    conn.execute(
        &format!(
            "INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                                 roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
             SELECT o.org, m.id, 0, a.email, a.email_norm, a.given_name, a.family_name,
                    CASE WHEN a.sort_name = '' THEN a.email_norm ELSE a.sort_name END, {roles},
                    lower(coalesce({roles}, '')),
                    CASE WHEN EXISTS (SELECT 1 FROM access_grants g WHERE g.membership_id = m.id AND g.workspace_id IS NULL
                                        AND (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL)) THEN 1 ELSE 0 END,
                    CASE WHEN m.enabled <> 0 THEN 0 ELSE 1 END, m.access_expires_at, m.access_expires_at, a.email_confirmed,
                    m.enabled, a.created_at, a.last_login_at
             FROM roster_orgs o JOIN memberships m ON m.organization_id = o.organization_id JOIN accounts a ON a.id = m.account_id
             WHERE o.organization_id = ?1"
        ),
        [org_id],
    )?;
    conn.execute(
        "INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                             roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
         SELECT o.org, i.id, 1, i.email, i.email_norm, '', '', i.email_norm, r.name, lower(r.name), 0,
                CASE WHEN i.status = 'open' THEN 2 ELSE 3 END, CASE WHEN i.status = 'open' THEN i.valid_until END,
                i.access_expires_at, 0, 0, i.created_at, NULL
         FROM roster_orgs o JOIN invitations i ON i.organization_id = o.organization_id JOIN roles r ON r.id = i.role_id
         WHERE o.organization_id = ?1 AND i.status IN ('open', 'rejected')",
        [org_id],
    )?;
    conn.execute("UPDATE roster_orgs SET deferred = 0 WHERE organization_id = ?1", [org_id])?;
    Ok(())
}

/// After `defer` and a bulk invite: write the roster rows of the open invitations of an
/// organization valid until `valid_until` (the invite's new ones) in one statement, and let the
/// triggers keep the roster again.
pub fn add_new_invitations(conn: &Connection, org_id: &str, valid_until: Timestamp) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                             roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
         SELECT o.org, i.id, 1, i.email, i.email_norm, '', '', i.email_norm, r.name, lower(r.name), 0, 2, i.valid_until,
                i.access_expires_at, 0, 0, i.created_at, NULL
         FROM roster_orgs o JOIN invitations i ON i.organization_id = o.organization_id JOIN roles r ON r.id = i.role_id
         WHERE o.organization_id = ?1 AND i.status = 'open' AND i.valid_until = ?2
           AND NOT EXISTS (SELECT 1 FROM roster x WHERE x.entry_id = i.id)",
    )?
    .execute(crate::sql::params![org_id, valid_until])?;
    conn.prepare_cached("UPDATE roster_orgs SET deferred = 0 WHERE organization_id = ?1")?.execute([org_id])?;
    Ok(())
}
