//! Members: the roster (memberships and the invitations shown beside them), role changes,
//! access expiry, enable/disable (one, many, or all matching), remove and leave.

use super::access::{keep_an_owner, OrgAccess};
use crate::auth::Principal;
use crate::db::Database;
use crate::error::{ConflictReason, Error, Result};
use crate::policy::{Action, MemberChange, Target};
use crate::store::{accounts, grants, memberships, rights, roles};
use crate::time::{rfc3339, rfc3339_opt, require_future, Timestamp};
use crate::validate;
use rusqlite::{named_params, Connection};
use serde::Serialize;
use ts_rs::TS;

pub const STATUSES: [&str; 6] = ["active", "disabled", "expired", "pending", "rejected", "invitation_expired"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Email,
    Name,
    Role,
    Status,
    Created,
    LastLogin,
    Expires,
}

impl SortKey {
    pub fn parse(s: &str) -> Result<SortKey> {
        Ok(match s {
            "email" => SortKey::Email,
            "name" => SortKey::Name,
            "role" => SortKey::Role,
            "status" => SortKey::Status,
            "created" => SortKey::Created,
            "last_login" => SortKey::LastLogin,
            "expires" => SortKey::Expires,
            _ => return Err(Error::invalid("sort", format!("'{}' is not a sort; use email, name, role, status, created, last_login or expires", validate::shorten(s)))),
        })
    }

    fn column(self) -> &'static str {
        match self {
            SortKey::Email => "email_norm",
            SortKey::Name => "sort_name",
            SortKey::Role => "roles_key",
            SortKey::Status => "status",
            SortKey::Created => "created_at",
            SortKey::LastLogin => "last_login_at",
            SortKey::Expires => "access_expires_at",
        }
    }
}

/// Which rows of the roster: search text, status, role.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub search: Option<String>,
    pub status: Option<String>,
    pub role: Option<String>,
}

impl MemberFilter {
    fn normalized(&self) -> Result<MemberFilter> {
        let search = self.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if let Some(s) = search {
            if s.chars().count() > 254 || s.chars().any(char::is_control) {
                return Err(Error::invalid("search", "must be at most 254 characters without control characters"));
            }
        }
        let status = self.status.as_deref().map(str::trim).filter(|s| !s.is_empty() && *s != "all");
        if let Some(s) = status {
            if !STATUSES.contains(&s) {
                return Err(Error::invalid("status", format!("'{}' is not a status; use {}", validate::shorten(s), STATUSES.join(", "))));
            }
        }
        let role = self.role.as_deref().map(str::trim).filter(|s| !s.is_empty());
        Ok(MemberFilter { search: search.map(str::to_lowercase), status: status.map(str::to_string), role: role.map(str::to_string) })
    }
}

#[derive(Debug, Clone)]
pub struct MemberQuery {
    pub filter: MemberFilter,
    pub sort: SortKey,
    pub descending: bool,
    pub page: i64,
    pub per_page: i64,
}

impl Default for MemberQuery {
    fn default() -> Self {
        MemberQuery { filter: MemberFilter::default(), sort: SortKey::Email, descending: false, page: 1, per_page: 50 }
    }
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct MemberRow {
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    pub status: String,
    pub confirmed: bool,
    pub enabled: bool,
    pub created_at: String,
    pub last_login_at: Option<String>,
    pub access_expires_at: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct StatusCounts {
    #[ts(type = "number")]
    pub active: i64,
    #[ts(type = "number")]
    pub disabled: i64,
    #[ts(type = "number")]
    pub expired: i64,
    #[ts(type = "number")]
    pub pending: i64,
    #[ts(type = "number")]
    pub rejected: i64,
    #[ts(type = "number")]
    pub invitation_expired: i64,
    #[ts(type = "number")]
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct MemberPage {
    pub items: Vec<MemberRow>,
    #[ts(type = "number")]
    pub page: i64,
    #[ts(type = "number")]
    pub per_page: i64,
    #[ts(type = "number")]
    pub total: i64,
    pub counts: StatusCounts,
}

/// The roster as one relation: memberships and the invitations shown in the member list.
/// Roles are not part of it: they are looked up only for the rows of the page (and per row only
/// when a role filter or the role sort needs them), which keeps a page cheap on large rosters.
const ROSTER: &str = "
WITH roster AS (
  SELECT a.email AS email, a.email_norm AS email_norm, a.given_name AS given_name, a.family_name AS family_name,
         a.sort_name AS sort_name, m.id AS membership_id, NULL AS invite_role,
         CASE WHEN m.enabled = 0 THEN 'disabled'
              WHEN m.access_expires_at IS NOT NULL AND m.access_expires_at <= :now THEN 'expired'
              ELSE 'active' END AS status,
         a.email_confirmed AS confirmed, m.enabled AS enabled, a.created_at AS created_at,
         a.last_login_at AS last_login_at, m.access_expires_at AS access_expires_at
  FROM memberships m JOIN accounts a ON a.id = m.account_id
  WHERE m.organization_id = :org
  UNION ALL
  SELECT i.email, i.email_norm, '', '', '', NULL, r.name,
         CASE WHEN i.status = 'rejected' THEN 'rejected' WHEN i.valid_until <= :now THEN 'invitation_expired' ELSE 'pending' END,
         0, 0, i.created_at, NULL, i.access_expires_at
  FROM invitations i JOIN roles r ON r.id = i.role_id
  WHERE i.organization_id = :org AND i.status IN ('open', 'rejected')
)";

/// A membership's current organization-scope roles, comma-separated, by name.
const ROLES_OF_ROW: &str = "CASE WHEN ROW.membership_id IS NULL THEN ROW.invite_role ELSE
  (SELECT group_concat(name, ',') FROM (SELECT r.name AS name FROM access_grants g JOIN roles r ON r.id = g.role_id
     WHERE g.membership_id = ROW.membership_id AND g.workspace_id IS NULL
       AND (g.valid_from IS NULL OR g.valid_from <= :now) AND (g.expires_at IS NULL OR g.expires_at > :now)
     ORDER BY r.name COLLATE NOCASE)) END";

const MATCHES: &str = "
  (:search IS NULL OR instr(email_norm, :search) > 0 OR instr(sort_name, :search) > 0)
  AND (:role IS NULL OR CASE WHEN roster.membership_id IS NULL THEN roster.invite_role = :role COLLATE NOCASE ELSE
        EXISTS (SELECT 1 FROM access_grants g JOIN roles r ON r.id = g.role_id
                WHERE g.membership_id = roster.membership_id AND g.workspace_id IS NULL AND r.name = :role COLLATE NOCASE
                  AND (g.valid_from IS NULL OR g.valid_from <= :now) AND (g.expires_at IS NULL OR g.expires_at > :now)) END)";

fn row_of(r: &rusqlite::Row) -> rusqlite::Result<MemberRow> {
    let given: String = r.get("given_name")?;
    let family: String = r.get("family_name")?;
    let roles: Option<String> = r.get("roles")?;
    Ok(MemberRow {
        email: r.get("email")?,
        name: accounts::full_name(&given, &family),
        roles: roles.map(|s| s.split(',').map(str::to_string).collect()).unwrap_or_default(),
        status: r.get("status")?,
        confirmed: r.get("confirmed")?,
        enabled: r.get("enabled")?,
        created_at: rfc3339(r.get("created_at")?),
        last_login_at: rfc3339_opt(r.get("last_login_at")?),
        access_expires_at: rfc3339_opt(r.get("access_expires_at")?),
    })
}

/// One page of the roster, with the status counts of the rows matching search and role.
pub(crate) fn query_roster(conn: &Connection, org_id: &str, q: &MemberQuery, now: Timestamp) -> Result<MemberPage> {
    let f = q.filter.normalized()?;
    if q.per_page < 1 || q.per_page > 10_000 {
        return Err(Error::invalid("per_page", "must be between 1 and 10000"));
    }
    if q.page < 1 {
        return Err(Error::invalid("page", "must be 1 or more"));
    }
    let dir = if q.descending { "DESC" } else { "ASC" };
    let column = q.sort.column();
    let sort = if column == "roles_key" { format!("lower(coalesce({}, ''))", ROLES_OF_ROW.replace("ROW.", "roster.")) } else { column.to_string() };
    let outer_sort = if column == "roles_key" { "lower(coalesce(roles, ''))" } else { column };
    // Ties break by email in the same direction, so pages never repeat or skip a row. The page is
    // cut first; roles are looked up for its rows only.
    let roles_of_page = ROLES_OF_ROW.replace("ROW.", "page.");
    let sql = format!(
        "{ROSTER} SELECT page.*, {roles_of_page} AS roles FROM
           (SELECT * FROM roster WHERE {MATCHES} AND (:status IS NULL OR status = :status)
            ORDER BY {sort} {dir}, email_norm {dir} LIMIT :limit OFFSET :offset) AS page
         ORDER BY {outer_sort} {dir}, email_norm {dir}"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let items = st
        .query_map(
            named_params! {":org": org_id, ":now": now, ":search": f.search, ":role": f.role, ":status": f.status,
                           ":limit": q.per_page, ":offset": (q.page - 1).saturating_mul(q.per_page)},
            row_of,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut counts = StatusCounts::default();
    let mut st = conn.prepare_cached(&format!("{ROSTER} SELECT status, count(*) FROM roster WHERE {MATCHES} GROUP BY status"))?;
    let mut rows = st.query(named_params! {":org": org_id, ":now": now, ":search": f.search, ":role": f.role})?;
    while let Some(r) = rows.next()? {
        let status: String = r.get(0)?;
        let n: i64 = r.get(1)?;
        match status.as_str() {
            "active" => counts.active = n,
            "disabled" => counts.disabled = n,
            "expired" => counts.expired = n,
            "pending" => counts.pending = n,
            "rejected" => counts.rejected = n,
            _ => counts.invitation_expired = n,
        }
        counts.total += n;
    }
    let total = match f.status.as_deref() {
        None => counts.total,
        Some("active") => counts.active,
        Some("disabled") => counts.disabled,
        Some("expired") => counts.expired,
        Some("pending") => counts.pending,
        Some("rejected") => counts.rejected,
        Some(_) => counts.invitation_expired,
    };
    Ok(MemberPage { items, page: q.page, per_page: q.per_page, total, counts })
}

pub fn list(db: &mut Database, who: &Principal, org: &str, q: &MemberQuery, now: Timestamp) -> Result<MemberPage> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewOrganization, "members")?;
        query_roster(tx, &access.org.id, q, now)
    })
}

/// Every row of the roster matching a filter, in email order (for export and bulk actions).
pub(crate) fn all_matching(conn: &Connection, org_id: &str, filter: &MemberFilter, now: Timestamp) -> Result<Vec<MemberRow>> {
    let q = MemberQuery { filter: filter.clone(), sort: SortKey::Email, descending: false, page: 1, per_page: 10_000 };
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let p = query_roster(conn, org_id, &MemberQuery { page, ..q.clone() }, now)?;
        let n = p.items.len();
        out.extend(p.items);
        if (n as i64) < q.per_page {
            return Ok(out);
        }
        page += 1;
    }
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct WorkspaceAccess {
    pub workspace: String,
    pub role: String,
    pub valid_from: Option<String>,
    pub expires_at: Option<String>,
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct MemberDetails {
    #[serde(flatten)]
    pub row: MemberRow,
    pub given_name: String,
    pub family_name: String,
    pub joined_at: Option<String>,
    pub workspaces: Vec<WorkspaceAccess>,
}

/// The member a command is aimed at, with the facts the policy needs.
struct Subject {
    account: accounts::Account,
    membership: memberships::Membership,
    target: Target,
}

fn subject(conn: &Connection, access: &OrgAccess, email: &str) -> Result<Subject> {
    let (_, email_norm) = validate::email("email", email)?;
    let not_member = || Error::not_found(format!("{} is not a member of {}", email.trim(), access.org.slug));
    let account = accounts::by_email(conn, &email_norm)?.ok_or_else(not_member)?;
    let membership = memberships::of(conn, &access.org.id, &account.id)?.ok_or_else(not_member)?;
    let is_owner = rights::holds_owner_role(conn, &membership.id)?;
    let is_self = access.account_id() == Some(account.id.as_str());
    Ok(Subject { account, membership, target: Target { is_owner, is_self } })
}

pub fn show(db: &mut Database, who: &Principal, org: &str, email: &str, now: Timestamp) -> Result<MemberDetails> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewOrganization, email)?;
        let (_, email_norm) = validate::email("email", email)?;
        let filter = MemberFilter { search: Some(email_norm.clone()), ..Default::default() };
        let row = all_matching(tx, &access.org.id, &filter, now)?
            .into_iter()
            .find(|r| r.email.to_ascii_lowercase() == email_norm)
            .ok_or_else(|| Error::not_found(format!("{} is neither a member of {} nor invited", email.trim(), access.org.slug)))?;
        let (given_name, family_name, joined_at, workspaces) = match accounts::by_email(tx, &email_norm)? {
            Some(account) => match memberships::of(tx, &access.org.id, &account.id)? {
                Some(m) => {
                    let ws = grants::of_subject(tx, grants::Subject::Membership(&m.id))?
                        .into_iter()
                        .filter_map(|g| {
                            let current = g.is_current(now) && m.is_active(now);
                            g.workspace.clone().map(|workspace| WorkspaceAccess {
                                workspace,
                                role: g.role_name.clone(),
                                valid_from: rfc3339_opt(g.valid_from),
                                expires_at: rfc3339_opt(g.expires_at),
                                current,
                            })
                        })
                        .collect();
                    (account.given_name, account.family_name, Some(rfc3339(m.joined_at)), ws)
                }
                None => (account.given_name, account.family_name, None, vec![]),
            },
            None => (String::new(), String::new(), None, vec![]),
        };
        Ok(MemberDetails { row, given_name, family_name, joined_at, workspaces })
    })
}

/// Give a member one organization role in place of the ones they have.
pub fn set_role(db: &mut Database, who: &Principal, org: &str, email: &str, role: &str, now: Timestamp) -> Result<()> {
    db.write(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let s = subject(tx, &access, email)?;
        let role = roles::by_name(tx, &access.org.id, role.trim())?
            .ok_or_else(|| Error::invalid("role", format!("no role '{}' in {}", validate::shorten(role), access.org.slug)))?;
        access.require(&Action::AssignRole { target: s.target, current_is_owner: s.target.is_owner, role: &role.rights() }, &s.account.email)?;
        let before = rights::lasting_owners(tx, &access.org.id, now)?;
        let old: Vec<String> = grants::of_subject(tx, grants::Subject::Membership(&s.membership.id))?
            .into_iter()
            .filter(|g| g.workspace.is_none())
            .map(|g| g.role_name)
            .collect();
        grants::delete_org_scope(tx, &s.membership.id)?;
        grants::insert(
            tx,
            &grants::NewGrant::organization_role(&access.org.id, grants::Subject::Membership(&s.membership.id), &role.id, Some(&access.actor())),
            now,
        )?;
        keep_an_owner(tx, &access.org.id, before, now, "this role change")?;
        access.audit(tx, "members.role_changed", &s.account.email, serde_json::json!({"from": old, "to": role.name}))
    })
}

/// Set (`Some`) or clear (`None`) a member's access expiry.
pub fn set_expiry(db: &mut Database, who: &Principal, org: &str, email: &str, when: Option<Timestamp>, now: Timestamp) -> Result<()> {
    let when = require_future("when", when, now)?;
    db.write(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let s = subject(tx, &access, email)?;
        let extends = match (s.membership.access_expires_at, when) {
            (_, None) => s.membership.access_expires_at.is_some(),
            (None, Some(_)) => false,
            (Some(old), Some(new)) => new > old,
        };
        access.require(&Action::ChangeMember { target: s.target, change: MemberChange::SetExpiry { extends } }, &s.account.email)?;
        let before = rights::lasting_owners(tx, &access.org.id, now)?;
        memberships::set_expiry(tx, &s.membership.id, when)?;
        keep_an_owner(tx, &access.org.id, before, now, "an access expiry on the last owner")?;
        let action = if when.is_some() { "members.expiry_set" } else { "members.expiry_cleared" };
        access.audit(tx, action, &s.account.email, serde_json::json!({"from": rfc3339_opt(s.membership.access_expires_at), "to": rfc3339_opt(when)}))
    })
}

/// Which memberships a bulk enable/disable acts on.
#[derive(Debug, Clone)]
pub enum Selection {
    Emails(Vec<String>),
    AllMatching(MemberFilter),
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct RowOutcome {
    pub email: String,
    /// `enabled`, `disabled`, `unchanged` or `skipped`.
    pub result: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct BulkReport {
    pub rows: Vec<RowOutcome>,
    #[ts(type = "number")]
    pub changed: i64,
    #[ts(type = "number")]
    pub skipped: i64,
}

/// Enable or disable members, all in one transaction (rule 5). The last owner, oneself and owners
/// the caller may not act on are skipped and reported; an unknown email fails the whole command.
pub fn set_enabled(db: &mut Database, who: &Principal, org: &str, selection: &Selection, enabled: bool, now: Timestamp) -> Result<BulkReport> {
    let change = if enabled { MemberChange::Enable } else { MemberChange::Disable };
    db.write(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        // The caller needs members.manage at all; rows they may not touch are skipped below.
        access.require(&Action::ChangeMember { target: Target { is_owner: false, is_self: false }, change }, "members")?;
        let emails: Vec<String> = match selection {
            Selection::Emails(list) => {
                if list.is_empty() {
                    return Err(Error::invalid("emails", "name at least one email, or use --all-matching"));
                }
                list.clone()
            }
            Selection::AllMatching(filter) => all_matching(tx, &access.org.id, filter, now)?
                .into_iter()
                .filter(|r| matches!(r.status.as_str(), "active" | "disabled" | "expired"))
                .map(|r| r.email)
                .collect(),
        };
        let mut report = BulkReport { rows: vec![], changed: 0, skipped: 0 };
        let mut done = std::collections::HashSet::new();
        for email in &emails {
            let s = subject(tx, &access, email)?;
            if !done.insert(s.membership.id.clone()) {
                continue;
            }
            let mut outcome = RowOutcome { email: s.account.email.clone(), result: String::new(), reason: None };
            if let crate::policy::Decision::Deny(reason) =
                crate::policy::decide(&access.rights, &Action::ChangeMember { target: s.target, change })
            {
                outcome.result = "skipped".into();
                outcome.reason = Some(reason);
            } else if s.membership.enabled == enabled {
                outcome.result = "unchanged".into();
                outcome.reason = Some(format!("already {}", if enabled { "enabled" } else { "disabled" }));
            } else {
                let before = rights::lasting_owners(tx, &access.org.id, now)?;
                memberships::set_enabled(tx, &s.membership.id, enabled)?;
                if let Err(e) = keep_an_owner(tx, &access.org.id, before, now, "disabling") {
                    memberships::set_enabled(tx, &s.membership.id, !enabled)?;
                    outcome.result = "skipped".into();
                    outcome.reason = Some(format!("last_owner: {e}"));
                } else {
                    outcome.result = if enabled { "enabled".into() } else { "disabled".into() };
                    access.audit(tx, if enabled { "members.enabled" } else { "members.disabled" }, &s.account.email, serde_json::json!({}))?;
                }
            }
            match outcome.result.as_str() {
                "enabled" | "disabled" => report.changed += 1,
                "skipped" => report.skipped += 1,
                _ => {}
            }
            report.rows.push(outcome);
        }
        Ok(report)
    })
}

/// Remove a member: the membership and its grants go; audit events, invitations and service
/// accounts they created stay (rule 6).
pub fn remove(db: &mut Database, who: &Principal, org: &str, email: &str, now: Timestamp) -> Result<()> {
    db.write(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let s = subject(tx, &access, email)?;
        access.require(&Action::ChangeMember { target: s.target, change: MemberChange::Remove }, &s.account.email)?;
        let before = rights::lasting_owners(tx, &access.org.id, now)?;
        memberships::delete(tx, &s.membership.id)?;
        keep_an_owner(tx, &access.org.id, before, now, "removing this member")?;
        access.audit(tx, "members.removed", &s.account.email, serde_json::json!({}))
    })
}

/// Leave an organization oneself; the last owner cannot.
pub fn leave(db: &mut Database, who: &Principal, org: &str, now: Timestamp) -> Result<()> {
    db.write(now, |tx| {
        let org_row = super::access::organization(tx, org)?;
        let account = who.account_id().ok_or_else(|| Error::forbidden("a service account cannot leave an organization"))?;
        let membership = memberships::of(tx, &org_row.id, account)?
            .ok_or_else(|| Error::not_found(format!("you are not a member of {}", org_row.slug)))?;
        let before = rights::lasting_owners(tx, &org_row.id, now)?;
        memberships::delete(tx, &membership.id)?;
        keep_an_owner(tx, &org_row.id, before, now, "leaving")
            .map_err(|_| Error::conflict(ConflictReason::LastOwner, "you are the last owner; make someone else owner before you leave"))?;
        crate::store::audit::append(tx, &org_row.id, &who.label(), "members.left", &who.label(), &serde_json::json!({}), now)
    })
}
