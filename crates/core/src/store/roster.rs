//! `roster`, `roster_counts`, `roster_orgs` (migration 0003): the member list as one table. The
//! triggers of that migration write it with every change to memberships, accounts, grants and
//! invitations; `usecases::members` reads it. This module holds the bulk-load switches only.

use crate::error::{Error, Result};
use crate::sql::{Backend, Connection, OptionalExtension};
use crate::time::Timestamp;

/// Stop the insert triggers from writing an organization's roster rows one by one, for a bulk load
/// in this transaction; `rebuild` must follow in the same transaction.
pub fn defer(conn: &Connection, org_id: &str) -> Result<()> {
    conn.prepare_cached("UPDATE roster_orgs SET deferred = 1 WHERE organization_id = ?1")?.execute([org_id])?;
    Ok(())
}

/// The roster triggers that write a row for each new membership, grant and invitation: a bulk load
/// that rebuilds the roster afterwards (`rebuild`) suspends them rather than have each of their
/// WHEN clauses look up `roster_orgs` for every row.
pub const INSERT_TRIGGERS: [&str; 3] = ["roster_membership_insert", "roster_grant_insert", "roster_invitation_insert"];

/// The roster's secondary indexes (migration 0003): a bulk load that writes most of the roster
/// builds them afterwards from sorted rows instead of inserting into each of them row by row.
pub const INDEXES: [&str; 8] = [
    "roster_by_email",
    "roster_by_name",
    "roster_by_role",
    "roster_by_created",
    "roster_by_last_login",
    "roster_by_expires",
    "roster_scan",
    "roster_timed",
];

/// Schema objects (indexes, triggers) dropped for a bulk load inside the current transaction, to
/// be made again by `restore` from the very SQL `sqlite_master` held, so the schema ends as it
/// began. Drop and re-creation are part of the transaction: a rollback or a crash leaves them as
/// they were. A re-created UNIQUE index checks the loaded rows as the index did row by row.
#[must_use = "restore the suspended objects in the same transaction"]
pub struct Suspended {
    sql: Vec<String>,
}

/// Drop the named indexes and triggers (all of them must exist), keeping their SQL. SQLite only:
/// on PostgreSQL nothing is suspended (its roster triggers honour `defer`, and every row is kept
/// as it is written).
pub fn suspend(conn: &Connection, names: &[&str]) -> Result<Suspended> {
    let mut sql = Vec::with_capacity(names.len());
    if conn.backend() == Backend::Postgres {
        return Ok(Suspended { sql });
    }
    for name in names {
        let (kind, text): (String, String) = conn
            .prepare_cached("SELECT type, sql FROM sqlite_master WHERE name = ?1 AND type IN ('index', 'trigger')")?
            .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or_else(|| Error::Internal(format!("no index or trigger {name} to suspend")))?;
        // Names are ours (constants), never input; quoted anyway.
        conn.execute_batch(&format!("DROP {} \"{name}\"", kind.to_uppercase()))?;
        sql.push(text);
    }
    Ok(Suspended { sql })
}

impl Suspended {
    /// Make the suspended objects again, in the order they were suspended.
    pub fn restore(self, conn: &Connection) -> Result<()> {
        for sql in &self.sql {
            conn.execute_batch(sql)?;
        }
        Ok(())
    }
}

/// Roughly how many rows the roster holds (its largest row id: deleted rows included).
pub fn size_bound(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT coalesce(max(rid), 0) FROM roster", [], |r| r.get(0))?)
}

/// Write an organization's roster rows and counters afresh from the base tables, set-based (one
/// statement for the memberships, whose roles are aggregated in one pass over the organization's
/// grants, one for the invitations, one for the counters), and let the triggers keep them again.
pub fn rebuild(conn: &Connection, org_id: &str) -> Result<()> {
    let org: i64 = conn.query_row("SELECT org FROM roster_orgs WHERE organization_id = ?1", [org_id], |r| r.get(0))?;
    conn.execute("DELETE FROM roster WHERE org = ?1", [org])?;
    // The counters are counted once at the end rather than bumped by a trigger for every row.
    let counting = suspend(conn, &["roster_counts_insert"])?;
    conn.execute(
        "INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                             roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
         SELECT ?2, m.id, 0, a.email, a.email_norm, a.given_name, a.family_name,
                CASE WHEN a.sort_name = '' THEN a.email_norm ELSE a.sort_name END, x.roles,
                lower(coalesce(x.roles, '')), coalesce(x.timed, 0),
                CASE WHEN m.enabled <> 0 THEN 0 ELSE 1 END, m.access_expires_at, m.access_expires_at, a.email_confirmed,
                m.enabled, a.created_at, a.last_login_at
         FROM memberships m JOIN accounts a ON a.id = m.account_id
              LEFT JOIN (SELECT g.membership_id AS mid,
                                group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) AS roles,
                                max(CASE WHEN g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL THEN 1 ELSE 0 END) AS timed
                         FROM access_grants g JOIN roles r ON r.id = g.role_id
                         WHERE g.organization_id = ?1 AND g.membership_id IS NOT NULL AND g.workspace_id IS NULL
                         GROUP BY g.membership_id) x ON x.mid = m.id
         WHERE m.organization_id = ?1",
        crate::sql::params![org_id, org],
    )?;
    conn.execute(
        "INSERT INTO roster (org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key,
                             roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at)
         SELECT ?2, i.id, 1, i.email, i.email_norm, '', '', i.email_norm, r.name, lower(r.name), 0,
                CASE WHEN i.status = 'open' THEN 2 ELSE 3 END, CASE WHEN i.status = 'open' THEN i.valid_until END,
                i.access_expires_at, 0, 0, i.created_at, NULL
         FROM invitations i JOIN roles r ON r.id = i.role_id
         WHERE i.organization_id = ?1 AND i.status IN ('open', 'rejected')",
        crate::sql::params![org_id, org],
    )?;
    conn.execute("DELETE FROM roster_counts WHERE org = ?1", [org])?;
    conn.execute(
        "INSERT INTO roster_counts (org, roles_key, cls, n)
         SELECT org, roles_key, cls, count(*) FROM roster WHERE org = ?1 GROUP BY org, roles_key, cls",
        [org],
    )?;
    counting.restore(conn)?;
    conn.execute("UPDATE roster_orgs SET deferred = 0 WHERE org = ?1", [org])?;
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
