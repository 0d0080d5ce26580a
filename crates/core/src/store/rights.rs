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

/// `of_account`'s statement, public so that the `check_parts` bench times this very text:
/// ?1 organization, ?2 account, ?3 now, ?4 workspace.
pub const OF_ACCOUNT: &str = "SELECT r.is_owner, rp.permission FROM memberships m
     JOIN organizations o ON o.id = m.organization_id
     JOIN access_grants g ON g.membership_id = m.id
     JOIN roles r ON r.id = g.role_id
     LEFT JOIN role_permissions rp ON rp.role_id = r.id
     WHERE m.organization_id = ?1 AND m.account_id = ?2 AND m.enabled = 1
       AND (m.access_expires_at IS NULL OR m.access_expires_at > ?3)
       AND (g.workspace_id IS ?4 OR (?4 IS NOT NULL AND g.workspace_id IS NULL AND o.workspace_access = 'inherit'))
       AND (g.valid_from IS NULL OR g.valid_from <= ?3)
       AND (g.expires_at IS NULL OR g.expires_at > ?3)";

/// The person's part of `check` alone (the account by its email, its membership, the best grant
/// in scope), which `check` asked as a statement of its own before `asked_at_once`: the
/// `check_parts` bench times it, to show what reading a random person's pages costs. ?1
/// organization, ?2 email, ?3 now, ?4 permission, ?5 workspace, ?6 inherit.
pub const OF_PERSON: &str = "SELECT m.enabled, m.access_expires_at,
       (SELECT max(CASE WHEN r.is_owner = 1 THEN 2 WHEN rp.permission IS NOT NULL THEN 1 ELSE 0 END)
        FROM access_grants g
        JOIN roles r ON r.id = g.role_id
        LEFT JOIN role_permissions rp ON rp.role_id = r.id AND rp.permission = ?4
        WHERE g.membership_id = m.id
          AND (g.workspace_id IS ?5 OR (?5 IS NOT NULL AND g.workspace_id IS NULL AND ?6 = 1))
          AND (g.valid_from IS NULL OR g.valid_from <= ?3)
          AND (g.expires_at IS NULL OR g.expires_at > ?3))
     FROM accounts a LEFT JOIN memberships m ON m.organization_id = ?1 AND m.account_id = a.id
     WHERE a.email_norm = ?2";

pub fn of_account(
    conn: &Connection,
    org_id: &str,
    account_id: &str,
    workspace_id: Option<&str>,
    now: Timestamp,
) -> Result<Rights> {
    let mut st = conn.prepare_cached(OF_ACCOUNT)?;
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

/// What `check` finds about one person, by email: whether they are a member in force and, if so,
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

/// Who asks `check`, as one statement reads them: an account's membership here (of any status),
/// or a service account's organization, creator and whether it is active at `now`.
#[derive(Debug, Clone)]
pub enum Asker {
    Account { membership: Option<String> },
    ServiceAccount { organization_id: Option<String>, created_by_account: Option<String>, active: bool },
}

/// `check`'s whole question in one statement: the organization by its slug, the caller's rights
/// there at organization scope (`of_account` / `of_service_account`) and what the caller is to it,
/// whether `permission` is one of the organization's own, the workspace asked by name, and
/// the person's answer in that scope (`PersonAnswer`). `None`: no organization with that slug.
#[derive(Debug, Clone)]
pub struct Question {
    pub org: crate::store::organizations::Organization,
    pub rights: Rights,
    pub asker: Asker,
    pub custom_permission: bool,
    /// The workspace asked for, when one was named and exists.
    pub workspace_id: Option<String>,
    pub answer: PersonAnswer,
    /// Asked with `Times::Next` (SQLite's kept answers, `answers.rs`): the first moment after
    /// `now` at which a row this answer was read from changes by itself: an access expiry of the
    /// person's or the calling account's membership, the start or end of any of their grants (of
    /// any scope, in force or not), the expiry of a calling service account or the start or end of
    /// its grants. None: nothing of theirs has a time ahead (or not asked).
    pub next_change: Option<Timestamp>,
}

/// Whether `asked_at_once` also reads when its answer next changes by itself (`Question::next_change`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// PostgreSQL, and SQLite when answers are not kept: the answer alone.
    Now,
    /// SQLite keeping answers: the answer and the next moment it could change.
    Next,
}

/// The part of `asked_at_once` about the person asked: one row (the organization `o2`, the
/// workspace named, the account and its membership, the best grant in scope), whoever asks.
/// `$next` is `person_next!` (`Times::Next`) or nothing.
macro_rules! person_asked {
    ($next:expr) => {
        concat!(
            "
    JOIN (SELECT o2.id AS org,
                 CASE WHEN EXISTS (SELECT 1 FROM custom_permissions p WHERE p.organization_id = o2.id AND p.name = ?5)
                      THEN 1 ELSE 0 END AS custom,
                 w.id AS ws, a.id AS account, m.enabled AS enabled, m.access_expires_at AS expires,
                 (SELECT max(CASE WHEN r.is_owner = 1 THEN 2 WHEN rp.permission IS NOT NULL THEN 1 ELSE 0 END)
                  FROM access_grants g
                  JOIN roles r ON r.id = g.role_id
                  LEFT JOIN role_permissions rp ON rp.role_id = r.id AND rp.permission = ?5
                  WHERE g.membership_id = m.id
                    AND (g.workspace_id IS w.id
                         OR (w.id IS NOT NULL AND g.workspace_id IS NULL AND o2.workspace_access = 'inherit'))
                    AND (g.valid_from IS NULL OR g.valid_from <= ?3)
                    AND (g.expires_at IS NULL OR g.expires_at > ?3)) AS held",
            $next,
            "
          FROM organizations o2
          LEFT JOIN workspaces w ON w.organization_id = o2.id AND w.name = ?6 COLLATE NOCASE
          LEFT JOIN accounts a INDEXED BY accounts_email_id ON a.email_norm = ?4
          LEFT JOIN memberships m ON m.organization_id = o2.id AND m.account_id = a.id
          WHERE o2.slug = ?1) x ON x.org = o.id"
        )
    };
}

/// The earliest start or end still ahead of `now` (?3) among the grants `WHERE $owner`: per grant
/// the earlier of the two that lie ahead (a start is ahead and earlier unless the end is ahead and
/// before it), then the least of those.
macro_rules! grants_next {
    ($owner:expr) => {
        concat!(
            "(SELECT min(CASE WHEN g.valid_from > ?3
                               AND (g.expires_at IS NULL OR g.expires_at <= ?3 OR g.expires_at >= g.valid_from)
                             THEN g.valid_from
                             WHEN g.expires_at > ?3 THEN g.expires_at END)
              FROM access_grants g WHERE ",
            $owner,
            ")"
        )
    };
}

/// `Times::Next`'s columns in `person_asked`: the person's membership's expiry if ahead, and the
/// next start or end of their grants (read through the same index entries as `held`).
macro_rules! person_next {
    () => {
        concat!(
            ",
                 CASE WHEN m.access_expires_at > ?3 THEN m.access_expires_at END AS expires_next,
                 ",
            grants_next!("g.membership_id = m.id"),
            " AS grants_next"
        )
    };
}

/// `asked_at_once`'s statement for a calling account; `$times` is `Times::Next`'s columns (the
/// person's from `person_next!`, then the caller's) or nothing, `$person` `person_asked!` with or
/// without `person_next!`.
macro_rules! asked_by_account {
    ($times:expr, $person:expr) => {
        concat!(
            "SELECT o.id, o.name, o.slug, o.created_at, o.workspace_access,
                    x.custom, x.ws, x.account, x.enabled, x.expires, x.held,
                    cm.id, NULL, NULL, cr.is_owner, crp.permission",
            $times,
            "
             FROM organizations o",
            $person,
            "
             LEFT JOIN memberships cm ON cm.organization_id = o.id AND cm.account_id = ?2
             LEFT JOIN access_grants cg ON cg.membership_id = cm.id AND cm.enabled = 1
                  AND (cm.access_expires_at IS NULL OR cm.access_expires_at > ?3) AND cg.workspace_id IS NULL
                  AND (cg.valid_from IS NULL OR cg.valid_from <= ?3) AND (cg.expires_at IS NULL OR cg.expires_at > ?3)
             LEFT JOIN roles cr ON cr.id = cg.role_id
             LEFT JOIN role_permissions crp ON crp.role_id = cr.id
             WHERE o.slug = ?1"
        )
    };
}

/// The same for a calling service account.
macro_rules! asked_by_service_account {
    ($times:expr, $person:expr) => {
        concat!(
            "SELECT o.id, o.name, o.slug, o.created_at, o.workspace_access,
                    x.custom, x.ws, x.account, x.enabled, x.expires, x.held,
                    s.organization_id, s.created_by_account,
                    CASE WHEN s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > ?3) THEN 1 ELSE 0 END,
                    cr.is_owner, crp.permission",
            $times,
            "
             FROM organizations o",
            $person,
            "
             LEFT JOIN service_accounts s ON s.id = ?2
             LEFT JOIN access_grants cg ON cg.service_account_id = s.id AND s.organization_id = o.id
                  AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > ?3) AND cg.workspace_id IS NULL
                  AND (cg.valid_from IS NULL OR cg.valid_from <= ?3) AND (cg.expires_at IS NULL OR cg.expires_at > ?3)
             LEFT JOIN roles cr ON cr.id = cg.role_id
             LEFT JOIN role_permissions crp ON crp.role_id = cr.id
             WHERE o.slug = ?1"
        )
    };
}

/// `asked_at_once`'s statement for this kind of caller: ?1 slug, ?2 the caller's id, ?3 now, ?4
/// the person's email, ?5 permission, ?6 workspace name. Public so that the `check_parts` bench
/// steps this very text.
pub fn asked_at_once_sql(principal: &crate::auth::Principal, times: Times) -> &'static str {
    use crate::auth::Principal;
    match (principal, times) {
        (Principal::Account { .. }, Times::Now) => asked_by_account!("", person_asked!("")),
        (Principal::Account { .. }, Times::Next) => asked_by_account!(
            concat!(
                ", x.expires_next, x.grants_next,
                     CASE WHEN cm.access_expires_at > ?3 THEN cm.access_expires_at END, ",
                grants_next!("g.membership_id = cm.id")
            ),
            person_asked!(person_next!())
        ),
        (Principal::ServiceAccount { .. }, Times::Now) => asked_by_service_account!("", person_asked!("")),
        (Principal::ServiceAccount { .. }, Times::Next) => asked_by_service_account!(
            concat!(
                ", x.expires_next, x.grants_next,
                     CASE WHEN s.expires_at > ?3 THEN s.expires_at END, ",
                grants_next!("g.service_account_id = s.id")
            ),
            person_asked!(person_next!())
        ),
    }
}

/// `check` in one statement (so on PostgreSQL one round trip, and on either engine one snapshot:
/// one statement outside a transaction reads one snapshot of its own): see `Question`. The rows
/// are the caller's (grant, permission) pairs in force, at least one, each carrying the
/// organization, the caller and the answer about the person. `tests/prepared.rs` counts its
/// statements and round trips; the scope and rule suites hold its answers on both engines, and
/// `kept_answers` its `next_change`.
#[allow(clippy::too_many_arguments)]
pub fn asked_at_once(
    conn: &Connection,
    principal: &crate::auth::Principal,
    slug: &str,
    email_norm: &str,
    permission: &str,
    workspace: Option<&str>,
    now: Timestamp,
    times: Times,
) -> Result<Option<Question>> {
    use crate::auth::Principal;
    let caller_id = match principal {
        Principal::Account { id, .. } | Principal::ServiceAccount { id, .. } => id,
    };
    let sql = asked_at_once_sql(principal, times);
    let mut st = conn.prepare_cached(sql)?;
    let mut rows = st.query(params![slug, caller_id, now, email_norm, permission, workspace])?;
    let mut question: Option<Question> = None;
    while let Some(row) = rows.next()? {
        let q = match &mut question {
            Some(q) => q,
            None => {
                let org = crate::store::organizations::Organization {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    slug: row.get(2)?,
                    created_at: row.get(3)?,
                    workspace_access: row.get(4)?,
                };
                let enabled: Option<bool> = row.get(8)?;
                let expires: Option<Timestamp> = row.get(9)?;
                let held: Option<i64> = row.get(10)?;
                let account: Option<String> = row.get(7)?;
                let answer = match (account, enabled) {
                    (None, _) => PersonAnswer::NoAccount,
                    (Some(_), None) => PersonAnswer::NotMember,
                    (Some(_), Some(false)) => PersonAnswer::Disabled,
                    (Some(_), Some(true)) => match expires.filter(|t| *t <= now) {
                        Some(t) => PersonAnswer::ExpiredAt(t),
                        None => match held {
                            Some(2) => PersonAnswer::Owner,
                            Some(1) => PersonAnswer::Holds,
                            _ => PersonAnswer::Lacks,
                        },
                    },
                };
                let asker = match principal {
                    Principal::Account { .. } => Asker::Account { membership: row.get(11)? },
                    Principal::ServiceAccount { .. } => Asker::ServiceAccount {
                        organization_id: row.get(11)?,
                        created_by_account: row.get(12)?,
                        active: row.get::<_, Option<bool>>(13)?.unwrap_or(false),
                    },
                };
                // The least of the four times ahead (each NULL when there is none).
                let mut next_change: Option<Timestamp> = None;
                for i in (16..20).filter(|_| times == Times::Next) {
                    if let Some(t) = row.get::<_, Option<Timestamp>>(i)? {
                        next_change = Some(next_change.map_or(t, |n| n.min(t)));
                    }
                }
                question.insert(Question {
                    org,
                    rights: Rights::none(),
                    asker,
                    custom_permission: row.get(5)?,
                    workspace_id: row.get(6)?,
                    answer,
                    next_change,
                })
            }
        };
        let is_owner: Option<bool> = row.get(14)?;
        q.rights.is_owner |= is_owner.unwrap_or(false);
        if let Some(p) = row.get::<_, Option<String>>(15)? {
            q.rights.permissions.insert(p);
        }
    }
    Ok(question)
}
