//! Effective permissions, computed afresh from the tables at one moment (rule 1): an enabled,
//! unexpired membership (or an unrevoked, unexpired service account), and the union of its grants
//! that have started and not ended. Scopes follow the organization's `workspace_access` (rule 11):
//! at organization scope only organization-scope grants count, whatever the setting (a workspace
//! grant never gives an organization permission); in a workspace, that workspace's grants count,
//! and the organization-scope ones too only when the organization is set to `inherit`. An expired
//! or disabled membership hides both.

use crate::error::Result;
use crate::policy::Rights;
use crate::sql::{params, Connection};
use crate::time::Timestamp;

fn collect(rows: impl Iterator<Item = crate::sql::Result<(bool, Option<String>)>>) -> Result<Rights> {
    let mut rights = Rights::none();
    for row in rows {
        let (is_owner, permission) = row?;
        rights.is_owner |= is_owner;
        if let Some(p) = permission {
            rights.permissions.insert(p);
        }
    }
    Ok(rights)
}

pub fn of_account(
    conn: &Connection,
    org_id: &str,
    account_id: &str,
    workspace_id: Option<&str>,
    now: Timestamp,
) -> Result<Rights> {
    let mut st = conn.prepare_cached(
        "SELECT r.is_owner, rp.permission FROM memberships m
         JOIN organizations o ON o.id = m.organization_id
         JOIN access_grants g ON g.membership_id = m.id
         JOIN roles r ON r.id = g.role_id
         LEFT JOIN role_permissions rp ON rp.role_id = r.id
         WHERE m.organization_id = ?1 AND m.account_id = ?2 AND m.enabled = 1
           AND (m.access_expires_at IS NULL OR m.access_expires_at > ?3)
           AND (g.workspace_id IS ?4 OR (?4 IS NOT NULL AND g.workspace_id IS NULL AND o.workspace_access = 'inherit'))
           AND (g.valid_from IS NULL OR g.valid_from <= ?3)
           AND (g.expires_at IS NULL OR g.expires_at > ?3)",
    )?;
    let rows = st.query_map(params![org_id, account_id, now, workspace_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    collect(rows)
}

pub fn of_service_account(
    conn: &Connection,
    org_id: &str,
    sa_id: &str,
    workspace_id: Option<&str>,
    now: Timestamp,
) -> Result<Rights> {
    let mut st = conn.prepare_cached(
        "SELECT r.is_owner, rp.permission FROM service_accounts s
         JOIN organizations o ON o.id = s.organization_id
         JOIN access_grants g ON g.service_account_id = s.id
         JOIN roles r ON r.id = g.role_id
         LEFT JOIN role_permissions rp ON rp.role_id = r.id
         WHERE s.id = ?2 AND s.organization_id = ?1 AND s.revoked_at IS NULL
           AND (s.expires_at IS NULL OR s.expires_at > ?3)
           AND (g.workspace_id IS ?4 OR (?4 IS NOT NULL AND g.workspace_id IS NULL AND o.workspace_access = 'inherit'))
           AND (g.valid_from IS NULL OR g.valid_from <= ?3)
           AND (g.expires_at IS NULL OR g.expires_at > ?3)",
    )?;
    let rows = st.query_map(params![org_id, sa_id, now, workspace_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    collect(rows)
}

/// What `check` asks about one person, by email: whether they are a member in force and, if so,
/// whether they hold the owner role or `permission` at `now` (the scopes of `of_account`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonAnswer {
    NoAccount,
    NotMember,
    Disabled,
    ExpiredAt(Timestamp),
    Owner,
    Holds,
    Lacks,
}

/// `PersonAnswer` in one statement: the account by its email, its membership, and the grants of
/// `of_account` asked about the one permission (instead of `accounts::by_email`,
/// `memberships::of` and `of_account`, which looked the membership up twice and read every
/// permission of every role). `inherit`: the organization's `workspace_access` is `inherit`.
/// `tests/prepared.rs` counts the statements; `tests/scopes.rs` and `tests/rules.rs` hold its answers.
pub fn of_person(
    conn: &Connection,
    org_id: &str,
    inherit: bool,
    email_norm: &str,
    permission: &str,
    workspace_id: Option<&str>,
    now: Timestamp,
) -> Result<PersonAnswer> {
    let mut st = conn.prepare_cached(
        "SELECT m.enabled, m.access_expires_at,
           (SELECT max(CASE WHEN r.is_owner = 1 THEN 2 WHEN rp.permission IS NOT NULL THEN 1 ELSE 0 END)
            FROM access_grants g
            JOIN roles r ON r.id = g.role_id
            LEFT JOIN role_permissions rp ON rp.role_id = r.id AND rp.permission = ?4
            WHERE g.membership_id = m.id
              AND (g.workspace_id IS ?5 OR (?5 IS NOT NULL AND g.workspace_id IS NULL AND ?6 = 1))
              AND (g.valid_from IS NULL OR g.valid_from <= ?3)
              AND (g.expires_at IS NULL OR g.expires_at > ?3))
         FROM accounts a LEFT JOIN memberships m ON m.organization_id = ?1 AND m.account_id = a.id
         WHERE a.email_norm = ?2",
    )?;
    let mut rows = st.query(params![org_id, email_norm, now, permission, workspace_id, i64::from(inherit)])?;
    let Some(row) = rows.next()? else {
        return Ok(PersonAnswer::NoAccount);
    };
    let enabled: Option<bool> = row.get(0)?;
    let expires: Option<Timestamp> = row.get(1)?;
    let held: Option<i64> = row.get(2)?;
    Ok(match enabled {
        None => PersonAnswer::NotMember,
        Some(false) => PersonAnswer::Disabled,
        Some(true) => match expires.filter(|t| *t <= now) {
            Some(t) => PersonAnswer::ExpiredAt(t),
            None => match held {
                Some(2) => PersonAnswer::Owner,
                Some(1) => PersonAnswer::Holds,
                _ => PersonAnswer::Lacks,
            },
        },
    })
}

/// Owners who will stay owners with nothing more done: enabled, no access expiry, an
/// organization-scope owner grant that has started and has no end. Rule 3 keeps this above zero.
///
/// Walked from the organization's one owner role (`roles_one_owner`) through its grants
/// (`access_grants_role`): the cost follows the number of owner grants, not the organization's size
/// (from the memberships side every enabled membership was visited: a bulk disable that asks this
/// per row was quadratic).
pub fn lasting_owners(conn: &Connection, org_id: &str, now: Timestamp) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(DISTINCT m.id) FROM roles r
             CROSS JOIN access_grants g ON g.role_id = r.id AND g.workspace_id IS NULL
             CROSS JOIN memberships m ON m.id = g.membership_id
             WHERE r.organization_id = ?1 AND r.is_owner = 1
               AND m.enabled = 1 AND m.access_expires_at IS NULL
               AND (g.valid_from IS NULL OR g.valid_from <= ?2) AND g.expires_at IS NULL",
        )?
        .query_row(params![org_id, now], |r| r.get(0))?)
}

/// Whether this account is one of the organization's lasting owners (as `lasting_owners` counts them).
pub fn is_lasting_owner(conn: &Connection, org_id: &str, account_id: &str, now: Timestamp) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM memberships m
             JOIN access_grants g ON g.membership_id = m.id AND g.workspace_id IS NULL
             JOIN roles r ON r.id = g.role_id AND r.is_owner = 1
             WHERE m.organization_id = ?1 AND m.account_id = ?3 AND m.enabled = 1 AND m.access_expires_at IS NULL
               AND (g.valid_from IS NULL OR g.valid_from <= ?2) AND g.expires_at IS NULL)",
        )?
        .query_row(params![org_id, now, account_id], |r| r.get(0))?)
}

/// Whether this membership is one of `lasting_owners` (ignoring its `enabled` flag, which a bulk
/// enable/disable is about to change).
pub fn is_lasting_owner_grant(conn: &Connection, membership_id: &str, now: Timestamp) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM memberships m
             JOIN access_grants g ON g.membership_id = m.id AND g.workspace_id IS NULL
             JOIN roles r ON r.id = g.role_id AND r.is_owner = 1
             WHERE m.id = ?1 AND m.access_expires_at IS NULL
               AND (g.valid_from IS NULL OR g.valid_from <= ?2) AND g.expires_at IS NULL)",
        )?
        .query_row(params![membership_id, now], |r| r.get(0))?)
}

/// Whether a membership holds the owner role at organization scope (current or not).
pub fn holds_owner_role(conn: &Connection, membership_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM access_grants g JOIN roles r ON r.id = g.role_id
             WHERE g.membership_id = ?1 AND g.workspace_id IS NULL AND r.is_owner = 1)",
        )?
        .query_row([membership_id], |r| r.get(0))?)
}

/// The first moment after `now` at which a row `check` reads about `email_norm` in the organization,
/// or about the caller, changes by itself: an access expiry of either one's membership, the start
/// or end of any of their grants (of any scope, in force or not), the expiry of a calling service
/// account. None: nothing of theirs has a time still ahead. `check` keeps its answer until then
/// (`answers.rs`); `caller_account`/`caller_service_account` name the caller.
pub fn next_change(
    conn: &Connection,
    org_id: &str,
    email_norm: &str,
    caller_account: Option<&str>,
    caller_service_account: Option<&str>,
    now: Timestamp,
) -> Result<Option<Timestamp>> {
    Ok(conn
        .prepare_cached(
            "WITH ms(id, expires) AS (
               SELECT m.id, m.access_expires_at FROM accounts a
               JOIN memberships m ON m.organization_id = ?1 AND m.account_id = a.id WHERE a.email_norm = ?2
               UNION ALL
               SELECT m.id, m.access_expires_at FROM memberships m WHERE m.organization_id = ?1 AND m.account_id = ?3),
             times(t) AS (
               SELECT expires FROM ms
               UNION ALL SELECT g.valid_from FROM ms JOIN access_grants g ON g.membership_id = ms.id
               UNION ALL SELECT g.expires_at FROM ms JOIN access_grants g ON g.membership_id = ms.id
               UNION ALL SELECT s.expires_at FROM service_accounts s WHERE s.id = ?4
               UNION ALL SELECT g.valid_from FROM access_grants g WHERE g.service_account_id = ?4
               UNION ALL SELECT g.expires_at FROM access_grants g WHERE g.service_account_id = ?4)
             SELECT min(t) FROM times WHERE t > ?5",
        )?
        .query_row(params![org_id, email_norm, caller_account, caller_service_account, now], |r| r.get(0))?)
}
