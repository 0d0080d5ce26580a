//! Members: the roster (memberships and the invitations shown beside them), role changes,
//! access expiry, enable/disable (one, many, or all matching), remove and leave.

use super::access::{keep_an_owner, OrgAccess};
use crate::audit_actions::AuditAction;
use crate::auth::Principal;
use crate::db::Database;
use crate::error::{ConflictReason, Error, Result};
use crate::policy::{Action, MemberChange, Target};
use crate::sql::{Connection, OptionalExtension, Scope};
use crate::sql::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use crate::store::{accounts, grants, memberships, rights, roles};
use crate::time::{require_future, rfc3339, rfc3339_opt, Timestamp};
use crate::validate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a row of the roster is: a membership (active, disabled, expired) or an invitation shown
/// beside them (pending, rejected, invitation_expired). One enum for every front door: the CLI's
/// `--status`, the page's filter and badges (ts-rs), matched without a catch-all arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum MemberStatus {
    Active,
    Disabled,
    Expired,
    Pending,
    Rejected,
    InvitationExpired,
}

impl MemberStatus {
    /// In the order of the summary counts and of the status filter's help.
    pub const ALL: [MemberStatus; 6] = [
        MemberStatus::Active,
        MemberStatus::Disabled,
        MemberStatus::Expired,
        MemberStatus::Pending,
        MemberStatus::Rejected,
        MemberStatus::InvitationExpired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Disabled => "disabled",
            MemberStatus::Expired => "expired",
            MemberStatus::Pending => "pending",
            MemberStatus::Rejected => "rejected",
            MemberStatus::InvitationExpired => "invitation_expired",
        }
    }

    /// A membership (as opposed to an invitation shown in the roster).
    pub fn is_membership(self) -> bool {
        match self {
            MemberStatus::Active | MemberStatus::Disabled | MemberStatus::Expired => true,
            MemberStatus::Pending | MemberStatus::Rejected | MemberStatus::InvitationExpired => false,
        }
    }

    /// `--status` as typed; anything else is `invalid_input` naming `field`.
    pub fn parse(field: &str, s: &str) -> Result<MemberStatus> {
        let s = s.trim();
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|st| st.as_str()).collect();
            Error::invalid(field, format!("'{}' is not a status; use {}", validate::shorten(s), names.join(", ")))
        })
    }
}

impl FromSql for MemberStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        MemberStatus::ALL.into_iter().find(|st| st.as_str() == s).ok_or(FromSqlError::InvalidType)
    }
}

/// The member list's sort: `--sort`, and the page's column headings (ts-rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(export)]
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
    pub const ALL: [SortKey; 7] = [
        SortKey::Email,
        SortKey::Name,
        SortKey::Role,
        SortKey::Status,
        SortKey::Created,
        SortKey::LastLogin,
        SortKey::Expires,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Email => "email",
            SortKey::Name => "name",
            SortKey::Role => "role",
            SortKey::Status => "status",
            SortKey::Created => "created",
            SortKey::LastLogin => "last_login",
            SortKey::Expires => "expires",
        }
    }

    /// `--sort` as typed; anything else is `invalid_input` naming `sort`.
    pub fn parse(s: &str) -> Result<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            Error::invalid(
                "sort",
                format!(
                    "'{}' is not a sort; use email, name, role, status, created, last_login or expires",
                    validate::shorten(s)
                ),
            )
        })
    }
}

/// Which rows of the roster: search text, status, role.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub search: Option<String>,
    pub status: Option<String>,
    pub role: Option<String>,
}

/// A filter checked and normalized: search lower-cased, status parsed.
#[derive(Debug, Clone)]
struct Filter {
    search: Option<String>,
    status: Option<MemberStatus>,
    role: Option<String>,
}

impl MemberFilter {
    fn normalized(&self) -> Result<Filter> {
        let search = self.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if let Some(s) = search {
            if s.chars().count() > 254 || s.chars().any(char::is_control) {
                return Err(Error::invalid("search", "must be at most 254 characters without control characters"));
            }
        }
        let status = self.status.as_deref().map(str::trim).filter(|s| !s.is_empty() && *s != "all");
        let status = status.map(|s| MemberStatus::parse("status", s)).transpose()?;
        let role = self.role.as_deref().map(str::trim).filter(|s| !s.is_empty());
        Ok(Filter { search: search.map(str::to_lowercase), status, role: role.map(str::to_string) })
    }
}

#[derive(Debug, Clone)]
pub struct MemberQuery {
    pub filter: MemberFilter,
    pub sort: SortKey,
    pub descending: bool,
    pub page: i64,
    pub per_page: i64,
    /// Count each status only up to this many rows where counting means walking the matching rows
    /// (a search, or roles that start or end): a count that reaches it is reported as the limit
    /// and named in `MemberPage::estimated` (shown as "1,000+"). `None`: every count exact.
    pub count_limit: Option<i64>,
    /// `MemberPage::next` of the page before, asked with the same filter, sort and direction: this
    /// page starts after that row by a seek in the sort's index instead of skipping
    /// `(page - 1) * per_page` rows, so a deep page costs what page 1 costs. `page` is then only
    /// echoed. `None`: the page number says where the page starts.
    pub after: Option<String>,
}

impl Default for MemberQuery {
    fn default() -> Self {
        MemberQuery {
            filter: MemberFilter::default(),
            sort: SortKey::Email,
            descending: false,
            page: 1,
            per_page: 50,
            count_limit: None,
            after: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct MemberRow {
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    pub status: MemberStatus,
    pub confirmed: bool,
    pub enabled: bool,
    pub created_at: String,
    pub last_login_at: Option<String>,
    pub access_expires_at: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, TS, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// A role a member holds in one workspace (or an invitation is to).
#[derive(Debug, Clone, Serialize, TS, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct WorkspaceRole {
    pub workspace: String,
    pub role: String,
}

/// A row of the member list: the roster row and its workspace roles (rule 11: a person with
/// workspace access only shows there with those roles and no organization role).
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct MemberListRow {
    #[serde(flatten)]
    #[ts(flatten)]
    pub row: MemberRow,
    /// A membership's current workspace grants; for an invitation to one workspace, that workspace.
    pub workspaces: Vec<WorkspaceRole>,
}

impl std::ops::Deref for MemberListRow {
    type Target = MemberRow;
    fn deref(&self) -> &MemberRow {
        &self.row
    }
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct MemberPage {
    pub items: Vec<MemberListRow>,
    #[ts(type = "number")]
    pub page: i64,
    #[ts(type = "number")]
    pub per_page: i64,
    #[ts(type = "number")]
    pub total: i64,
    pub counts: StatusCounts,
    /// The counts that are lower bounds (`MemberQuery::count_limit` reached): status names, and
    /// `total` when the total is one. Absent when every count is exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub estimated: Option<Vec<String>>,
    /// Where the next page starts (`MemberQuery::after`): the sort key of this page's last row, when
    /// the page is full and its sort walks an index (every sort but `status`, and `role` while
    /// some roles start or end). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub next: Option<String>,
}

// The roster table (migration 0003) holds one row per membership and per invitation shown, kept in
// step by triggers inside the transactions that change memberships, accounts, grants and
// invitations. Status depends on the time, so it is computed here from `cls` and `until`:
//   cls 0 enabled membership (expired when until <= now), 1 disabled membership,
//   cls 2 open invitation (invitation_expired when until <= now), 3 rejected invitation.

/// The SQL condition on a roster row for one status at `:now`. The unary `+` keeps SQLite from
/// taking `cls` for a constant of the sort, which would make it sort what the index already orders.
fn status_cond(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::Active => "+cls = 0 AND (until IS NULL OR until > :now)",
        MemberStatus::Disabled => "+cls = 1",
        MemberStatus::Expired => "+cls = 0 AND until <= :now",
        MemberStatus::Pending => "+cls = 2 AND until > :now",
        MemberStatus::Rejected => "+cls = 3",
        MemberStatus::InvitationExpired => "+cls = 2 AND until <= :now",
    }
}

/// Statuses in the order of their names: the order of `--sort status`.
const STATUS_ORDER: [MemberStatus; 6] = [
    MemberStatus::Active,
    MemberStatus::Disabled,
    MemberStatus::Expired,
    MemberStatus::InvitationExpired,
    MemberStatus::Pending,
    MemberStatus::Rejected,
];

const STATUS_EXPR: &str = "CASE cls WHEN 1 THEN 'disabled' WHEN 3 THEN 'rejected'
  WHEN 0 THEN CASE WHEN until <= :now THEN 'expired' ELSE 'active' END
  ELSE CASE WHEN until <= :now THEN 'invitation_expired' ELSE 'pending' END END";

const SEARCH_COND: &str = "(instr(email_norm, :search) > 0 OR instr(sort_name, :search) > 0)";

/// The role filter on the stored role key: one of the comma-separated names equals the filter
/// (role names hold no comma, so a filter with one matches nothing; NOCASE and SQLite's lower()
/// both fold ASCII only, so comparing lower-cased names is comparing NOCASE).
const ROLE_COND: &str = "(instr(:rk, ',') = 0 AND (+roles_key = :rk
  OR (instr(roles_key, ',') > 0 AND instr(',' || roles_key || ',', ',' || :rk || ',') > 0)))";

/// The organization-scope roles of a membership row at `:now`, for rows whose grants start or end.
const ROLES_NOW: &str = "(SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id
   WHERE g.membership_id = roster.entry_id AND g.workspace_id IS NULL
     AND (g.valid_from IS NULL OR g.valid_from <= :now) AND (g.expires_at IS NULL OR g.expires_at > :now))";

fn role_cond(timed: bool) -> String {
    if timed {
        format!(
            "CASE WHEN roles_timed = 0 THEN {ROLE_COND} ELSE EXISTS (SELECT 1 FROM access_grants g JOIN roles r ON r.id = g.role_id
               WHERE g.membership_id = roster.entry_id AND g.workspace_id IS NULL AND r.name = :role COLLATE NOCASE
                 AND (g.valid_from IS NULL OR g.valid_from <= :now) AND (g.expires_at IS NULL OR g.expires_at > :now)) END"
        )
    } else {
        ROLE_COND.to_string()
    }
}

/// Sort indexes: (name, columns after `org`); every one ends in the filter columns, and the row
/// id breaks the last ties, so a walk is a total order and walking it backwards reverses it.
fn sort_index(sort: SortKey) -> (&'static str, &'static [&'static str]) {
    match sort {
        SortKey::Email | SortKey::Status => {
            ("roster_by_email", &["email_norm", "cls", "until", "roles_key", "sort_name"])
        }
        SortKey::Name => ("roster_by_name", &["sort_name", "email_norm", "cls", "until", "roles_key"]),
        SortKey::Role => ("roster_by_role", &["roles_key", "email_norm", "cls", "until", "sort_name"]),
        SortKey::Created => {
            ("roster_by_created", &["created_at", "email_norm", "cls", "until", "roles_key", "sort_name"])
        }
        SortKey::LastLogin => {
            ("roster_by_last_login", &["last_login_at", "email_norm", "cls", "until", "roles_key", "sort_name"])
        }
        SortKey::Expires => ("roster_by_expires", &["expires", "email_norm", "cls", "until", "roles_key", "sort_name"]),
    }
}

/// The values a roster query may name; each statement binds those it uses.
struct Binds<'a> {
    org: i64,
    now: Timestamp,
    search: Option<&'a str>,
    role: Option<&'a str>,
    rk: Option<String>,
}

fn bind(st: &mut crate::sql::Statement, b: &Binds, extra: &[(&str, &dyn crate::sql::ToSql)]) -> Result<()> {
    let mut set = |name: &str, value: &dyn crate::sql::ToSql| -> Result<()> {
        if let Some(i) = st.parameter_index(name)? {
            st.raw_bind_parameter(i, value)?;
        }
        Ok(())
    };
    set(":org", &b.org)?;
    set(":now", &b.now)?;
    set(":search", &b.search)?;
    set(":role", &b.role)?;
    set(":rk", &b.rk)?;
    for (name, value) in extra {
        set(name, *value)?;
    }
    Ok(())
}

/// The WHERE clause of the rows matching a filter, one status at most.
fn where_clause(f: &Filter, timed: bool, status: Option<MemberStatus>) -> String {
    let mut parts = vec!["org = :org".to_string()];
    if let Some(s) = status {
        parts.push(status_cond(s).to_string());
    }
    if f.role.is_some() {
        parts.push(role_cond(timed));
    }
    if f.search.is_some() {
        parts.push(SEARCH_COND.to_string());
    }
    parts.join(" AND ")
}

const ROW_COLUMNS: &str =
    "email, given_name, family_name, CASE WHEN roles_timed = 0 THEN roles ELSE ROLES_NOW END AS roles,
  STATUS_EXPR AS status, confirmed, enabled, created_at, last_login_at, expires AS access_expires_at";

fn row_columns() -> String {
    ROW_COLUMNS.replace("ROLES_NOW", ROLES_NOW).replace("STATUS_EXPR", STATUS_EXPR)
}

fn row_of(r: &crate::sql::Row) -> crate::sql::Result<MemberRow> {
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

/// The roster's number for an organization, and whether any of its rows has roles that start or end
/// (one statement: on PostgreSQL each is a round trip).
fn roster_org(conn: &Connection, org_id: &str) -> Result<Option<(i64, bool)>> {
    Ok(conn
        .prepare_cached(
            "SELECT o.org, EXISTS (SELECT 1 FROM roster INDEXED BY roster_timed WHERE roster.org = o.org AND roles_timed = 1)
             FROM roster_orgs o WHERE o.organization_id = ?1",
        )?
        .query_row([org_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The status counts of the rows matching search and role, in one statement. Without a search
/// they come from the counter rows plus two short index ranges (what has expired by now); with one,
/// from the status ranges of `roster_scan`.
fn status_counts(conn: &Connection, b: &Binds, f: &Filter, timed: bool) -> Result<StatusCounts> {
    let dynamic_role = f.role.is_some() && timed;
    let narrow = where_clause(f, timed, None).replacen("org = :org", "", 1);
    let sql = if f.search.is_none() && !dynamic_role {
        let role = if f.role.is_some() { format!(" AND {ROLE_COND}") } else { String::new() };
        let stored = |cls: i64| {
            format!("(SELECT coalesce(sum(n), 0) FROM roster_counts WHERE org = :org AND cls = {cls}{role})")
        };
        let expired = |cls: i64| {
            format!("(SELECT count(*) FROM roster INDEXED BY roster_scan WHERE org = :org AND cls = {cls} AND until <= :now{narrow})")
        };
        format!("SELECT {}, {}, {}, {}, {}, {}", stored(0), stored(1), stored(2), stored(3), expired(0), expired(2))
    } else {
        // One range of `roster_scan` per class, and the expired ranges again. One pass over the
        // organization's rows with a CASE per status was slower on both engines (100k `demo`,
        // search "a" + member: SQLite 32 ms of CPU against 12, PostgreSQL 128 ms against 90-134).
        let count = |cond: &str| {
            format!("(SELECT count(*) FROM roster INDEXED BY roster_scan WHERE org = :org AND {cond}{narrow})")
        };
        format!(
            "SELECT {}, {}, {}, {}, {}, {}",
            count("cls = 0"),
            count("cls = 1"),
            count("cls = 2"),
            count("cls = 3"),
            count("cls = 0 AND until <= :now"),
            count("cls = 2 AND until <= :now"),
        )
    };
    let mut st = conn.prepare_cached(&sql)?;
    bind(&mut st, b, &[])?;
    let mut rows = st.raw_query();
    let r = rows.next()?.ok_or_else(|| Error::Internal("no counts".into()))?;
    let mut by_cls = [0i64; 4];
    for (i, slot) in by_cls.iter_mut().enumerate() {
        *slot = r.get(i)?;
    }
    let (expired, invitation_expired): (i64, i64) = (r.get(4)?, r.get(5)?);
    Ok(StatusCounts {
        active: by_cls[0] - expired,
        disabled: by_cls[1],
        expired,
        pending: by_cls[2] - invitation_expired,
        rejected: by_cls[3],
        invitation_expired,
        total: by_cls.iter().sum(),
    })
}

/// The status counts of the rows matching search and role, each walked only until `limit` rows
/// are found (one short range of `roster_scan` per status): which of them reached it.
fn capped_status_counts(
    conn: &Connection,
    b: &Binds,
    f: &Filter,
    timed: bool,
    limit: i64,
) -> Result<(StatusCounts, Vec<String>)> {
    let narrow = where_clause(f, timed, None).replacen("org = :org", "", 1);
    let capped = |c: &str| {
        format!("(SELECT count(*) FROM (SELECT 1 FROM roster INDEXED BY roster_scan WHERE org = :org AND {c}{narrow} LIMIT :cap) AS capped)")
    };
    // With a role filter on stored roles, a status whose rows may have no end (active, disabled,
    // rejected) is counted in two ranges: first the rows with no end whose one role is the filter,
    // a seek on `roster_scan` (org, cls, until, roles_key); the rest (several roles, or an end) only
    // when the first falls short of the cap. One range walked every row with no end and another
    // role (at 1M, the admins and billing before the first member: 735k VM steps for `active`).
    let split = |cls: i64, rest: &str| {
        let first = capped(&format!("cls = {cls} AND until IS NULL AND roles_key = :rk"));
        let second = capped(&format!("cls = {cls} AND (until IS NOT NULL OR roles_key <> :rk){rest}"));
        format!("(SELECT CASE WHEN n >= :cap THEN n ELSE n + {second} END FROM (SELECT {first} AS n) AS seek)")
    };
    let by_role = f.role.is_some() && !timed;
    let counts: Vec<String> = if by_role {
        vec![
            split(0, " AND (until IS NULL OR until > :now)"),
            split(1, ""),
            capped("cls = 0 AND until <= :now"),
            capped("cls = 2 AND until > :now"),
            split(3, ""),
            capped("cls = 2 AND until <= :now"),
        ]
    } else {
        [
            "cls = 0 AND (until IS NULL OR until > :now)",
            "cls = 1",
            "cls = 0 AND until <= :now",
            "cls = 2 AND until > :now",
            "cls = 3",
            "cls = 2 AND until <= :now",
        ]
        .iter()
        .map(|c| capped(c))
        .collect()
    };
    let mut st = conn.prepare_cached(&format!("SELECT {}", counts.join(", ")))?;
    bind(&mut st, b, &[(":cap", &(limit + 1))])?;
    let mut rows = st.raw_query();
    let r = rows.next()?.ok_or_else(|| Error::Internal("no counts".into()))?;
    let mut n = [0i64; 6];
    let mut estimated = Vec::new();
    for (i, slot) in n.iter_mut().enumerate() {
        let c: i64 = r.get(i)?;
        if c > limit {
            estimated.push(MemberStatus::ALL[i].as_str().to_string());
        }
        *slot = c.min(limit);
    }
    if !estimated.is_empty() {
        estimated.push("total".to_string());
    }
    let counts = StatusCounts {
        active: n[0],
        disabled: n[1],
        expired: n[2],
        pending: n[3],
        rejected: n[4],
        invitation_expired: n[5],
        total: n.iter().sum(),
    };
    Ok((counts, estimated))
}

fn count_of(c: &StatusCounts, status: Option<MemberStatus>) -> i64 {
    match status {
        None => c.total,
        Some(MemberStatus::Active) => c.active,
        Some(MemberStatus::Disabled) => c.disabled,
        Some(MemberStatus::Expired) => c.expired,
        Some(MemberStatus::Pending) => c.pending,
        Some(MemberStatus::Rejected) => c.rejected,
        Some(MemberStatus::InvitationExpired) => c.invitation_expired,
    }
}

/// A position in a sort index: the sort, the direction, and the index columns' values (after
/// `org`, then the row id) of the row the position is after. Written as hex of its JSON, so that it
/// reads as one opaque word.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    sort: String,
    desc: bool,
    key: Vec<serde_json::Value>,
}

impl Cursor {
    fn encode(&self) -> Result<String> {
        Ok(hex::encode(serde_json::to_vec(self)?))
    }

    fn decode(text: &str, sort: SortKey, desc: bool, columns: usize) -> Result<Vec<crate::sql::Value>> {
        use crate::sql::Value;
        let bad = || Error::invalid("after", "is not a position this list gave for this sort and direction");
        let bytes = hex::decode(text.trim()).map_err(|_| bad())?;
        let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if c.sort != sort.as_str() || c.desc != desc || c.key.len() != columns {
            return Err(bad());
        }
        c.key
            .into_iter()
            .map(|v| match v {
                serde_json::Value::Null => Ok(Value::Null),
                serde_json::Value::String(s) => Ok(Value::Text(s)),
                serde_json::Value::Number(n) => n.as_i64().map(Value::Integer).ok_or_else(bad),
                _ => Err(bad()),
            })
            .collect()
    }
}

/// Up to `limit` rows matching `where_` after the position `key` (values of `order`, then `rid`)
/// in index order, ascending or descending. NULL sorts first, as in the index. The first column
/// bounds the index range (a seek); the rest of the position is compared row by row among ties.
#[allow(clippy::too_many_arguments)]
fn walk_after(
    conn: &Connection,
    b: &Binds,
    index: &str,
    order: &[&str],
    where_: &str,
    desc: bool,
    key: &[crate::sql::Value],
    limit: i64,
) -> Result<Vec<i64>> {
    use crate::sql::Value;
    let columns: Vec<&str> = order.iter().copied().chain(std::iter::once("rid")).collect();
    let param = |i: usize| format!(":k{i}");
    // Row r comes after the position when, for some column i, r equals it on the columns before i
    // and comes after it on column i.
    let mut after = Vec::new();
    for (i, (column, value)) in columns.iter().zip(key).enumerate() {
        let later = match (desc, value) {
            (false, Value::Null) => format!("{column} IS NOT NULL"),
            (false, _) => format!("{column} > {}", param(i)),
            (true, Value::Null) => continue,
            (true, _) => format!("({column} < {} OR {column} IS NULL)", param(i)),
        };
        let same: Vec<String> = (0..i).map(|j| format!("{} IS {}", columns[j], param(j))).collect();
        after.push(same.into_iter().chain(std::iter::once(later)).collect::<Vec<_>>().join(" AND "));
    }
    if after.is_empty() {
        return Ok(vec![]);
    }
    // The seek: the first column of the position bounds where the walk starts.
    let seek = match (desc, &key[0]) {
        (false, Value::Null) => None,
        (false, _) => Some(format!("{} >= :k0", columns[0])),
        (true, Value::Null) => Some(format!("{} IS NULL", columns[0])),
        (true, _) if !nullable(columns[0]) => Some(format!("{} <= :k0", columns[0])),
        (true, _) => None,
    };
    let dir = if desc { "DESC" } else { "ASC" };
    let order_by: Vec<String> = columns.iter().map(|c| format!("{c} {dir}")).collect();
    let mut st = conn.prepare_cached(&format!(
        "SELECT rid FROM roster INDEXED BY {index} WHERE {where_}{} AND ({}) ORDER BY {} LIMIT :limit",
        seek.map(|s| format!(" AND {s}")).unwrap_or_default(),
        after.join(" OR "),
        order_by.join(", ")
    ))?;
    let names: Vec<String> = (0..columns.len()).map(param).collect();
    let mut extra: Vec<(&str, &dyn crate::sql::ToSql)> = vec![(":limit", &limit)];
    for (name, value) in names.iter().zip(key) {
        extra.push((name.as_str(), value));
    }
    bind(&mut st, b, &extra)?;
    let mut rows = st.raw_query();
    let mut out = Vec::with_capacity(limit.max(0) as usize);
    while let Some(r) = rows.next()? {
        out.push(r.get(0)?);
    }
    Ok(out)
}

/// Roster columns that may hold NULL (the others are NOT NULL in migration 0003).
fn nullable(column: &str) -> bool {
    matches!(column, "until" | "last_login_at" | "expires")
}

/// Rows `offset..offset+limit` of the `total` rows matching `where_`, in index order: walked from
/// whichever end is nearer, so the deepest page costs no more than the middle one.
#[allow(clippy::too_many_arguments)]
fn walk(
    conn: &Connection,
    b: &Binds,
    index: &str,
    order: &[&str],
    where_: &str,
    desc: bool,
    offset: i64,
    limit: i64,
    total: i64,
) -> Result<Vec<i64>> {
    if offset >= total || limit <= 0 {
        return Ok(vec![]);
    }
    let limit = limit.min(total - offset);
    let from_end = total - offset - limit;
    let reverse = from_end < offset;
    let (descending, skip) = if reverse { (!desc, from_end) } else { (desc, offset) };
    let dir = if descending { "DESC" } else { "ASC" };
    let order_by: Vec<String> = order.iter().chain(std::iter::once(&"rid")).map(|c| format!("{c} {dir}")).collect();
    let mut st = conn.prepare_cached(&format!(
        "SELECT rid FROM roster INDEXED BY {index} WHERE {where_} ORDER BY {} LIMIT :limit OFFSET :offset",
        order_by.join(", ")
    ))?;
    bind(&mut st, b, &[(":limit", &limit), (":offset", &skip)])?;
    let mut rows = st.raw_query();
    let mut out = Vec::with_capacity(limit as usize);
    while let Some(r) = rows.next()? {
        out.push(r.get(0)?);
    }
    if reverse {
        out.reverse();
    }
    Ok(out)
}

/// The page's rows (roster rows `rids`, in that order) in one statement: on PostgreSQL every
/// statement is a round trip, and a row at a time made a page of 50 wait 50 times. With `key` (the
/// sort index's columns after `org`), also that position of the last row, then its row id: where
/// the next page starts (`MemberPage::next`), read with the rows rather than by one more statement.
fn rows_by_id(
    conn: &Connection,
    b: &Binds,
    rids: &[i64],
    key: Option<&[&str]>,
) -> Result<(Vec<MemberRow>, Option<Vec<serde_json::Value>>)> {
    let Some(&last) = rids.last() else { return Ok((vec![], None)) };
    let key = key.unwrap_or(&[]);
    let key_columns: String = key.iter().enumerate().map(|(i, c)| format!(", {c} AS k{i}")).collect();
    let mut st = conn.prepare_cached(&format!(
        "SELECT rid, {}{key_columns} FROM roster
         WHERE rid IN (SELECT CAST(CAST(value AS TEXT) AS INTEGER) FROM json_each(:rids))",
        row_columns()
    ))?;
    let list = serde_json::to_string(rids)?;
    bind(&mut st, b, &[(":rids", &list)])?;
    let mut rows = st.raw_query();
    let mut by_rid: std::collections::HashMap<i64, MemberRow> = Default::default();
    let mut position = None;
    while let Some(r) = rows.next()? {
        let rid: i64 = r.get("rid")?;
        if rid == last && !key.is_empty() {
            let first = r.column_count() - key.len();
            let mut values = (first..r.column_count())
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Integer(n) => serde_json::Value::from(n),
                        ValueRef::Text(t) => serde_json::Value::from(String::from_utf8_lossy(t).into_owned()),
                        _ => serde_json::Value::Null,
                    })
                })
                .collect::<crate::sql::Result<Vec<_>>>()?;
            values.push(serde_json::Value::from(rid));
            position = Some(values);
        }
        by_rid.insert(rid, row_of(r)?);
    }
    Ok((rids.iter().filter_map(|rid| by_rid.remove(rid)).collect(), position))
}

/// The page's rows (roster rows `rids`) with their workspace roles, read in one query: current
/// workspace grants of memberships, the workspace of invitations to one.
fn with_workspace_roles(
    conn: &Connection,
    rids: &[i64],
    rows: Vec<MemberRow>,
    now: Timestamp,
) -> Result<Vec<MemberListRow>> {
    if rids.len() != rows.len() {
        return Err(Error::Internal("a roster row vanished while reading a page".into()));
    }
    let mut by_rid: std::collections::HashMap<i64, Vec<WorkspaceRole>> = Default::default();
    if !rids.is_empty() {
        // The ids go as one JSON array; PostgreSQL's json_each gives json values, hence the casts
        // (through text, which both engines convert to an integer).
        let mut st = conn.prepare_cached(
            "SELECT ro.rid, w.name, r.name FROM roster ro
               JOIN access_grants g ON g.membership_id = ro.entry_id AND g.workspace_id IS NOT NULL
               JOIN workspaces w ON w.id = g.workspace_id JOIN roles r ON r.id = g.role_id
             WHERE ro.rid IN (SELECT CAST(CAST(value AS TEXT) AS INTEGER) FROM json_each(?1)) AND ro.kind = 0
               AND (g.valid_from IS NULL OR g.valid_from <= ?2) AND (g.expires_at IS NULL OR g.expires_at > ?2)
             UNION ALL
             SELECT ro.rid, w.name, r.name FROM roster ro
               JOIN invitations i ON i.id = ro.entry_id JOIN workspaces w ON w.id = i.workspace_id
               JOIN roles r ON r.id = i.role_id
             WHERE ro.rid IN (SELECT CAST(CAST(value AS TEXT) AS INTEGER) FROM json_each(?1)) AND ro.kind = 1
             ORDER BY 1, 2 COLLATE NOCASE, 3 COLLATE NOCASE",
        )?;
        let list = serde_json::to_string(rids)?;
        let mut rows = st.query(crate::sql::params![list, now])?;
        while let Some(r) = rows.next()? {
            by_rid.entry(r.get(0)?).or_default().push(WorkspaceRole { workspace: r.get(1)?, role: r.get(2)? });
        }
    }
    Ok(rows
        .into_iter()
        .zip(rids)
        .map(|(row, rid)| MemberListRow { row, workspaces: by_rid.remove(rid).unwrap_or_default() })
        .collect())
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
    let Some((org, timed)) = roster_org(conn, org_id)? else {
        return Ok(MemberPage {
            items: vec![],
            page: q.page,
            per_page: q.per_page,
            total: 0,
            counts: StatusCounts::default(),
            estimated: None,
            next: None,
        });
    };
    let b = Binds {
        org,
        now,
        search: f.search.as_deref(),
        role: f.role.as_deref(),
        rk: f.role.as_deref().map(str::to_ascii_lowercase),
    };
    let status = f.status;
    // Counting walks the matching rows only with a search or timed roles; the status sort needs
    // every segment's exact size.
    let walks = f.search.is_some() || (f.role.is_some() && timed);
    let (counts, estimated) = match q.count_limit {
        Some(limit) if walks && q.sort != SortKey::Status => {
            if limit < 1 {
                return Err(Error::invalid("count_limit", "must be 1 or more"));
            }
            capped_status_counts(conn, &b, &f, timed, limit)?
        }
        _ => (status_counts(conn, &b, &f, timed)?, vec![]),
    };
    // A lower bound is no end to walk back from: such pages are walked forwards only.
    let exact_total = match status {
        Some(s) => !estimated.iter().any(|e| e == s.as_str()),
        None => estimated.is_empty(),
    };
    let total = if exact_total { count_of(&counts, status) } else { i64::MAX / 2 };
    let offset = (q.page - 1).saturating_mul(q.per_page);
    let limit = q.per_page;
    // Sorts that walk one index can start a page after a position in it.
    let keyset = q.sort != SortKey::Status && !(q.sort == SortKey::Role && timed);
    let after = match &q.after {
        Some(text) if keyset => Some(Cursor::decode(text, q.sort, q.descending, sort_index(q.sort).1.len() + 1)?),
        // The status sort, and the role sort while roles start or end, page by number only.
        _ => None,
    };
    let rids = if after.is_none() && offset >= total {
        vec![]
    } else if q.sort == SortKey::Status {
        // One segment per status, in the order of the names, each in email order.
        let (index, order) = sort_index(SortKey::Email);
        let mut segments: Vec<MemberStatus> =
            STATUS_ORDER.iter().copied().filter(|s| status.is_none_or(|f| f == *s)).collect();
        if q.descending {
            segments.reverse();
        }
        let (mut start, mut want_offset, mut want) = (0i64, offset, limit);
        let mut out = Vec::new();
        for s in segments {
            let n = count_of(&counts, Some(s));
            if want == 0 {
                break;
            }
            if want_offset < start + n {
                let local = want_offset - start;
                let take = want.min(n - local);
                out.extend(walk(
                    conn,
                    &b,
                    index,
                    order,
                    &where_clause(&f, timed, Some(s)),
                    q.descending,
                    local,
                    take,
                    n,
                )?);
                want_offset += take;
                want -= take;
            }
            start += n;
        }
        out
    } else if q.sort == SortKey::Role && timed {
        // Some roles start or end: the role sort key is computed at `now`, without an index.
        let dir = if q.descending { "DESC" } else { "ASC" };
        let mut st = conn.prepare_cached(&format!(
            "SELECT rid FROM roster WHERE {} ORDER BY lower(coalesce(CASE WHEN roles_timed = 0 THEN roles ELSE {ROLES_NOW} END, '')) {dir},
               email_norm {dir}, rid {dir} LIMIT :limit OFFSET :offset",
            where_clause(&f, timed, status)
        ))?;
        bind(&mut st, &b, &[(":limit", &limit), (":offset", &offset)])?;
        let mut rows = st.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(r.get(0)?);
        }
        out
    } else {
        let (index, order) = sort_index(q.sort);
        let where_ = where_clause(&f, timed, status);
        match &after {
            Some(key) => walk_after(conn, &b, index, order, &where_, q.descending, key, limit)?,
            None => walk(conn, &b, index, order, &where_, q.descending, offset, limit, total)?,
        }
    };
    // A full page of a sort that walks an index says where the next page starts.
    let key = (keyset && rids.len() as i64 == limit).then(|| sort_index(q.sort).1);
    let (rows, position) = rows_by_id(conn, &b, &rids, key)?;
    let next = match position {
        Some(key) => Some(Cursor { sort: q.sort.as_str().to_string(), desc: q.descending, key }.encode()?),
        None => None,
    };
    let items = with_workspace_roles(conn, &rids, rows, now)?;
    let total = if exact_total { total } else { count_of(&counts, status) };
    let estimated = (!estimated.is_empty()).then_some(estimated);
    Ok(MemberPage { items, page: q.page, per_page: q.per_page, total, counts, estimated, next })
}

pub fn list(db: &mut Database, who: &Principal, org: &str, q: &MemberQuery, now: Timestamp) -> Result<MemberPage> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewOrganization, "members")?;
        query_roster(tx, &access.org.id, q, now)
    })
}

/// Every row of the roster matching a filter, in email order (for export and bulk actions).
pub(crate) fn all_matching(
    conn: &Connection,
    org_id: &str,
    filter: &MemberFilter,
    now: Timestamp,
) -> Result<Vec<MemberRow>> {
    rows_in_email_order(conn, org_id, filter, None, now)
}

/// The rows matching a filter and, if given, one normalized email exactly, in email order.
fn rows_in_email_order(
    conn: &Connection,
    org_id: &str,
    filter: &MemberFilter,
    email_norm: Option<&str>,
    now: Timestamp,
) -> Result<Vec<MemberRow>> {
    let f = filter.normalized()?;
    let Some((org, timed)) = roster_org(conn, org_id)? else { return Ok(vec![]) };
    let b = Binds {
        org,
        now,
        search: f.search.as_deref(),
        role: f.role.as_deref(),
        rk: f.role.as_deref().map(str::to_ascii_lowercase),
    };
    let (index, order) = sort_index(SortKey::Email);
    let order_by: Vec<String> = order.iter().chain(std::iter::once(&"rid")).map(|c| c.to_string()).collect();
    let exact = if email_norm.is_some() { " AND email_norm = :email" } else { "" };
    let mut st = conn.prepare_cached(&format!(
        "SELECT {} FROM roster INDEXED BY {index} WHERE {}{exact} ORDER BY {}",
        row_columns(),
        where_clause(&f, timed, f.status),
        order_by.join(", ")
    ))?;
    bind(&mut st, &b, &[(":email", &email_norm)])?;
    let mut rows = st.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(row_of(r)?);
    }
    Ok(out)
}

/// Every row of the organization's roster in email order, handed to `each` one at a time (an
/// export of a million members holds one row in memory, not a million); the number of rows.
pub(crate) fn each_in_email_order(
    conn: &Connection,
    org_id: &str,
    now: Timestamp,
    mut each: impl FnMut(MemberRow) -> Result<()>,
) -> Result<u64> {
    let f = MemberFilter::default().normalized()?;
    let Some((org, timed)) = roster_org(conn, org_id)? else { return Ok(0) };
    let b = Binds { org, now, search: None, role: None, rk: None };
    let (index, order) = sort_index(SortKey::Email);
    let order_by: Vec<String> = order.iter().chain(std::iter::once(&"rid")).map(|c| c.to_string()).collect();
    let mut st = conn.prepare_cached(&format!(
        "SELECT {} FROM roster INDEXED BY {index} WHERE {} ORDER BY {}",
        row_columns(),
        where_clause(&f, timed, f.status),
        order_by.join(", ")
    ))?;
    bind(&mut st, &b, &[])?;
    let mut rows = st.raw_query();
    let mut n = 0;
    while let Some(r) = rows.next()? {
        each(row_of(r)?)?;
        n += 1;
    }
    Ok(n)
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct WorkspaceAccess {
    pub workspace: String,
    pub role: String,
    pub valid_from: Option<String>,
    /// The grant's own expiry.
    pub expires_at: Option<String>,
    /// When this access really ends: the earlier of the grant's expiry and the membership's (as
    /// the access review shows it).
    pub ends_at: Option<String>,
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    let is_self = access.is_self(&account.id);
    Ok(Subject { account, membership, target: Target { is_owner, is_self } })
}

/// `subject` for many emails, in their order, with the same errors (the first email that is
/// invalid or of no member refuses), looked up a batch at a time (`memberships::of_emails`) instead
/// of three statements per email.
fn subjects(conn: &Connection, access: &OrgAccess, emails: &[String]) -> Result<Vec<Subject>> {
    let norms: Vec<Result<String>> = emails.iter().map(|e| validate::email("email", e).map(|(_, n)| n)).collect();
    let valid: Vec<String> = norms.iter().filter_map(|n| n.as_ref().ok().cloned()).collect();
    let found = memberships::of_emails(conn, &access.org.id, &valid)?;
    let mut out = Vec::with_capacity(emails.len());
    for (email, norm) in emails.iter().zip(norms) {
        let norm = norm?;
        // A person named twice is one subject twice (the caller skips the repeat).
        let (account, membership, is_owner) = match found.get(&norm) {
            Some(hit) => hit.clone(),
            None => return Err(Error::not_found(format!("{} is not a member of {}", email.trim(), access.org.slug))),
        };
        let is_self = access.is_self(&account.id);
        out.push(Subject { account, membership, target: Target { is_owner, is_self } });
    }
    Ok(out)
}

pub fn show(db: &mut Database, who: &Principal, org: &str, email: &str, now: Timestamp) -> Result<MemberDetails> {
    // Validated before anything, so that a refusal never audits raw input (rule 8).
    let (_, email_norm) = validate::email("email", email)?;
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewOrganization, &email_norm)?;
        let row = rows_in_email_order(tx, &access.org.id, &MemberFilter::default(), Some(&email_norm), now)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::not_found(format!("{} is neither a member of {} nor invited", email.trim(), access.org.slug))
            })?;
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
                                ends_at: rfc3339_opt(super::review::earliest(g.expires_at, m.access_expires_at)),
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
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let s = subject(tx, &access, email)?;
        let role = roles::by_name(tx, &access.org.id, role.trim())?.ok_or_else(|| {
            Error::invalid("role", format!("no role '{}' in {}", validate::shorten(role), access.org.slug))
        })?;
        // What the target holds now: a change of one's own role may only lower it (rule 9).
        let target_rights = if s.target.is_self {
            rights::of_account(tx, &access.org.id, &s.account.id, None, now)?
        } else {
            crate::policy::Rights::none()
        };
        access.require(
            &Action::AssignRole {
                target: s.target,
                current_is_owner: s.target.is_owner,
                role: &role.rights(),
                target_rights: &target_rights,
            },
            &s.account.email,
        )?;
        let before = rights::lasting_owners(tx, &access.org.id, now)?;
        let current: Vec<grants::Grant> = grants::of_subject(tx, grants::Subject::Membership(&s.membership.id))?
            .into_iter()
            .filter(|g| g.workspace.is_none())
            .collect();
        // Stepping down never extends: the lower role ends when the first current one would have.
        let expires_at = if s.target.is_self {
            current.iter().filter(|g| g.is_current(now)).filter_map(|g| g.expires_at).min()
        } else {
            None
        };
        let old: Vec<String> = current.into_iter().map(|g| g.role_name).collect();
        grants::delete_org_scope(tx, &s.membership.id)?;
        grants::insert(
            tx,
            &grants::NewGrant {
                expires_at,
                ..grants::NewGrant::organization_role(
                    &access.org.id,
                    grants::Subject::Membership(&s.membership.id),
                    &role.id,
                    Some(&access.actor()),
                )
            },
            now,
        )?;
        keep_an_owner(tx, &access.org.id, before, now, "this role change")?;
        access.audit(
            tx,
            AuditAction::MembersRoleChanged,
            &s.account.email,
            serde_json::json!({"from": old, "to": role.name}),
        )
    })
}

/// Set (`Some`) or clear (`None`) a member's access expiry.
pub fn set_expiry(
    db: &mut Database,
    who: &Principal,
    org: &str,
    email: &str,
    when: Option<Timestamp>,
    now: Timestamp,
) -> Result<()> {
    let when = require_future("when", when, now)?;
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let s = subject(tx, &access, email)?;
        let extends = match (s.membership.access_expires_at, when) {
            (_, None) => s.membership.access_expires_at.is_some(),
            (None, Some(_)) => false,
            (Some(old), Some(new)) => new > old,
        };
        access.require(
            &Action::ChangeMember { target: s.target, change: MemberChange::SetExpiry { extends } },
            &s.account.email,
        )?;
        let before = rights::lasting_owners(tx, &access.org.id, now)?;
        memberships::set_expiry(tx, &s.membership.id, when)?;
        keep_an_owner(tx, &access.org.id, before, now, "an access expiry on the last owner")?;
        let action = if when.is_some() { AuditAction::MembersExpirySet } else { AuditAction::MembersExpiryCleared };
        access.audit(
            tx,
            action,
            &s.account.email,
            serde_json::json!({"from": rfc3339_opt(s.membership.access_expires_at), "to": rfc3339_opt(when)}),
        )
    })
}

/// Which memberships a bulk enable/disable acts on.
#[derive(Debug, Clone)]
pub enum Selection {
    Emails(Vec<String>),
    AllMatching(MemberFilter),
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct RowOutcome {
    pub email: String,
    /// `enabled`, `disabled`, `unchanged` or `skipped`.
    pub result: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct BulkReport {
    pub rows: Vec<RowOutcome>,
    #[ts(type = "number")]
    pub changed: i64,
    #[ts(type = "number")]
    pub skipped: i64,
    /// `true` for a preview (`--dry-run`): the rows say what would be done; nothing was written.
    /// Absent otherwise (the reply of a real run keeps its shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub dry_run: Option<bool>,
}

/// How far a long command has got: `done` of `total` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Progress {
    #[ts(type = "number")]
    pub done: u64,
    #[ts(type = "number")]
    pub total: u64,
}

/// Enable or disable members, all in one transaction (rule 5). Oneself and owners the caller may
/// not act on are skipped and reported; so is the last owner among "all matching" rows, while the
/// last owner named by email refuses the whole command (`last_owner`). An unknown email fails the
/// whole command.
pub fn set_enabled(
    db: &mut Database,
    who: &Principal,
    org: &str,
    selection: &Selection,
    enabled: bool,
    now: Timestamp,
) -> Result<BulkReport> {
    set_enabled_watched(db, who, org, selection, enabled, now, &mut |_| true)
}

/// `set_enabled`, telling `watch` how far it has got before each row and once at the end. When
/// `watch` answers `false` the command stops and rolls back: nothing is written, and the error is
/// `conflict` `cancelled`.
pub fn set_enabled_watched(
    db: &mut Database,
    who: &Principal,
    org: &str,
    selection: &Selection,
    enabled: bool,
    now: Timestamp,
    watch: &mut dyn FnMut(Progress) -> bool,
) -> Result<BulkReport> {
    db.write_in(now, &Scope::org(org), |tx| bulk_enabled(tx, who, org, selection, enabled, now, true, watch))
}

/// What `set_enabled` would do, row by row, with the same rules, in a read transaction: nothing
/// is written and no write lock is taken. The rows say `enabled`/`disabled` for the changes that
/// would be made; a refusal of the whole command (forbidden, not found, `last_owner`) is the same.
pub fn preview_set_enabled(
    db: &mut Database,
    who: &Principal,
    org: &str,
    selection: &Selection,
    enabled: bool,
    now: Timestamp,
) -> Result<BulkReport> {
    db.read(now, |tx| bulk_enabled(tx, who, org, selection, enabled, now, false, &mut |_| true))
}

#[allow(clippy::too_many_arguments)]
fn bulk_enabled(
    tx: &Connection,
    who: &Principal,
    org: &str,
    selection: &Selection,
    enabled: bool,
    now: Timestamp,
    apply: bool,
    watch: &mut dyn FnMut(Progress) -> bool,
) -> Result<BulkReport> {
    let change = if enabled { MemberChange::Enable } else { MemberChange::Disable };
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
            .filter(|r| r.status.is_membership())
            .map(|r| r.email)
            .collect(),
    };
    let explicit = matches!(selection, Selection::Emails(_));
    // Every email named must be someone here before any row is decided: an unknown one refuses
    // the command as not_found whatever the rows before it would have met. All rows are looked up
    // here, a batch at a time.
    let mut named = subjects(tx, &access, &emails)?.into_iter();
    // Rule 3 by counting: the lasting owners once, then one less for each lasting owner disabled
    // (a row asks only about its own grants, so the cost of a row does not grow with the
    // organization). The tables are checked again at the end.
    let owners_before = rights::lasting_owners(tx, &access.org.id, now)?;
    let mut owners = owners_before;
    let total = emails.len() as u64;
    let mut report = BulkReport { rows: vec![], changed: 0, skipped: 0, dry_run: (!apply).then_some(true) };
    let mut done = std::collections::HashSet::new();
    // The changes are written a batch at a time (one UPDATE of many memberships, events many to an
    // INSERT, the chain's head once), in row order; a cancel or an error rolls them all back.
    let mut chain = if apply { Some(crate::store::audit::Appender::start(tx, &access.org.id)?) } else { None };
    let mut pending: Vec<String> = Vec::new();
    let action = if enabled { AuditAction::MembersEnabled } else { AuditAction::MembersDisabled };
    for i in 0..emails.len() {
        if !watch(Progress { done: i as u64, total }) {
            return Err(Error::conflict(ConflictReason::Cancelled, "cancelled; nothing was changed"));
        }
        let s = named.next().expect("one subject per email");
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
            let loses_owner =
                !enabled && s.target.is_owner && rights::is_lasting_owner_grant(tx, &s.membership.id, now)?;
            if loses_owner && owners == 1 {
                let message = "disabling would leave the organization without an owner; make someone else owner first";
                if explicit {
                    return Err(Error::conflict(
                        ConflictReason::LastOwner,
                        format!("{} is the last owner: {message}", s.account.email),
                    ));
                }
                outcome.result = "skipped".into();
                outcome.reason = Some(format!("last_owner: {message}"));
            } else {
                if loses_owner {
                    owners -= 1;
                }
                if let Some(chain) = chain.as_mut() {
                    pending.push(s.membership.id.clone());
                    if pending.len() >= memberships::ENABLE_BATCH {
                        memberships::set_enabled_many(tx, &pending, enabled)?;
                        pending.clear();
                    }
                    chain.append(tx, &access.actor(), action, &s.account.email, &serde_json::json!({}), access.now)?;
                }
                outcome.result = if enabled { "enabled".into() } else { "disabled".into() };
            }
        }
        match outcome.result.as_str() {
            "enabled" | "disabled" => report.changed += 1,
            "skipped" => report.skipped += 1,
            _ => {}
        }
        report.rows.push(outcome);
    }
    if !watch(Progress { done: total, total }) {
        return Err(Error::conflict(ConflictReason::Cancelled, "cancelled; nothing was changed"));
    }
    if let Some(chain) = chain {
        memberships::set_enabled_many(tx, &pending, enabled)?;
        chain.finish(tx)?;
        keep_an_owner(tx, &access.org.id, owners_before, now, "disabling")?;
    }
    Ok(report)
}

/// Remove a member: the membership and its grants go; audit events, invitations and service
/// accounts they created stay (rule 6).
pub fn remove(db: &mut Database, who: &Principal, org: &str, email: &str, now: Timestamp) -> Result<()> {
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let s = subject(tx, &access, email)?;
        access.require(&Action::ChangeMember { target: s.target, change: MemberChange::Remove }, &s.account.email)?;
        let before = rights::lasting_owners(tx, &access.org.id, now)?;
        memberships::delete(tx, &s.membership.id)?;
        keep_an_owner(tx, &access.org.id, before, now, "removing this member")?;
        access.audit(tx, AuditAction::MembersRemoved, &s.account.email, serde_json::json!({}))
    })
}

/// Leave an organization oneself; the last owner cannot.
pub fn leave(db: &mut Database, who: &Principal, org: &str, now: Timestamp) -> Result<()> {
    db.write_in(now, &Scope::org(org), |tx| {
        let org_row = super::access::organization(tx, org)?;
        let account = who.account_id().ok_or_else(|| Error::Forbidden {
            message: "a service account cannot leave an organization".into(),
            denial: Some(Box::new(crate::error::Denial {
                organization_id: org_row.id.clone(),
                actor: who.label(),
                action: "members.leave".into(),
                target: who.label(),
                outsider: !matches!(who, Principal::ServiceAccount { organization_id, .. } if *organization_id == org_row.id),
            })),
        })?;
        let membership = memberships::of(tx, &org_row.id, account)?
            .ok_or_else(|| Error::not_found(format!("you are not a member of {}", org_row.slug)))?;
        let before = rights::lasting_owners(tx, &org_row.id, now)?;
        memberships::delete(tx, &membership.id)?;
        keep_an_owner(tx, &org_row.id, before, now, "leaving").map_err(|_| {
            Error::conflict(
                ConflictReason::LastOwner,
                "you are the last owner; make someone else owner before you leave",
            )
        })?;
        crate::store::audit::append(
            tx,
            &org_row.id,
            &who.label(),
            AuditAction::MembersLeft,
            &who.label(),
            &serde_json::json!({}),
            now,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_what_they_print() {
        for st in MemberStatus::ALL {
            assert_eq!(MemberStatus::parse("status", st.as_str()).unwrap(), st);
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
        }
        // The JSON of a roster row is unchanged: the names are those of the CLI and of stored data.
        let names: Vec<&str> = MemberStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["active", "disabled", "expired", "pending", "rejected", "invitation_expired"]);
        assert_eq!(MemberStatus::parse("status", "enabled").unwrap_err().field(), Some("status"));
        let bad = MemberFilter { status: Some("Active".into()), ..MemberFilter::default() };
        assert_eq!(bad.normalized().unwrap_err().field(), Some("status"));
        let all = MemberFilter { status: Some(" all ".into()), ..MemberFilter::default() };
        assert_eq!(all.normalized().unwrap().status, None);
    }

    #[test]
    fn status_order_is_every_status_in_the_order_of_its_name() {
        let mut sorted = MemberStatus::ALL;
        sorted.sort_by_key(|s| s.as_str());
        assert_eq!(STATUS_ORDER, sorted);
    }

    #[test]
    fn sort_keys_read_back_what_they_print() {
        for k in SortKey::ALL {
            assert_eq!(SortKey::parse(k.as_str()).unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(serde_json::from_value::<SortKey>(serde_json::json!(k.as_str())).unwrap(), k);
        }
        let names: Vec<&str> = SortKey::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, ["email", "name", "role", "status", "created", "last_login", "expires"]);
        assert_eq!(SortKey::parse("lastlogin").unwrap_err().field(), Some("sort"));
    }
}
