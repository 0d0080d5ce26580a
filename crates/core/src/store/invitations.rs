//! `invitations`. Only the SHA-256 of a token is stored; the token is shown once.

use crate::error::{Error, Result};
use crate::sql::{params, Connection, OptionalExtension, Row};
use crate::sql::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use crate::time::Timestamp;
use serde::Serialize;
use ts_rs::TS;

/// What the `status` column holds: where an invitation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Open,
    Accepted,
    Rejected,
    Revoked,
}

impl InvitationState {
    const ALL: [InvitationState; 4] =
        [InvitationState::Open, InvitationState::Accepted, InvitationState::Rejected, InvitationState::Revoked];

    pub fn as_str(self) -> &'static str {
        match self {
            InvitationState::Open => "open",
            InvitationState::Accepted => "accepted",
            InvitationState::Rejected => "rejected",
            InvitationState::Revoked => "revoked",
        }
    }

    /// Open or rejected: an invitation that can be resent or revoked, and that the member list shows.
    pub fn can_be_resent(self) -> bool {
        match self {
            InvitationState::Open | InvitationState::Rejected => true,
            InvitationState::Accepted | InvitationState::Revoked => false,
        }
    }
}

impl ToSql for InvitationState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for InvitationState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        InvitationState::ALL.into_iter().find(|st| st.as_str() == s).ok_or(FromSqlError::InvalidType)
    }
}

/// An invitation's status as shown (`invites list`, the Invitations screen): its state, with an
/// open invitation past its `valid_until` shown as expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum InvitationStatus {
    Pending,
    InvitationExpired,
    Rejected,
    Accepted,
    Revoked,
}

impl InvitationStatus {
    pub const ALL: [InvitationStatus; 5] = [
        InvitationStatus::Pending,
        InvitationStatus::InvitationExpired,
        InvitationStatus::Rejected,
        InvitationStatus::Accepted,
        InvitationStatus::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::InvitationExpired => "invitation_expired",
            InvitationStatus::Rejected => "rejected",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Revoked => "revoked",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<InvitationStatus> {
        let s = s.trim();
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|st| st.as_str()).collect();
            Error::invalid(
                field,
                format!("'{}' is not an invitation status; use {}", crate::validate::shorten(s), names.join(", ")),
            )
        })
    }
}

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: String,
    pub organization_id: String,
    pub email: String,
    pub email_norm: String,
    /// None once the role was deleted (only a closed invitation can outlive its role).
    pub role_id: Option<String>,
    /// The role's name; for a deleted role, the name it had.
    pub role_name: String,
    /// The workspace of an invitation to one workspace only (id, name); None: to the organization.
    pub workspace: Option<(String, String)>,
    pub access_expires_at: Option<Timestamp>,
    pub valid_until: Timestamp,
    pub status: InvitationState,
    pub invited_by: Option<String>,
    pub created_at: Timestamp,
    pub last_sent_at: Timestamp,
    pub times_sent: i64,
    pub responded_at: Option<Timestamp>,
}

impl Invitation {
    /// The status as shown at `now`.
    pub fn shown_status(&self, now: Timestamp) -> InvitationStatus {
        match self.status {
            InvitationState::Open if self.valid_until <= now => InvitationStatus::InvitationExpired,
            InvitationState::Open => InvitationStatus::Pending,
            InvitationState::Rejected => InvitationStatus::Rejected,
            InvitationState::Accepted => InvitationStatus::Accepted,
            InvitationState::Revoked => InvitationStatus::Revoked,
        }
    }
}

const COLUMNS: &str =
    "i.id, i.organization_id, i.email, i.email_norm, i.role_id, coalesce(r.name, i.role_name, ''), i.access_expires_at, i.valid_until,
    i.status, i.invited_by, i.created_at, i.last_sent_at, i.times_sent, i.responded_at, i.workspace_id, w.name";

/// The tables `COLUMNS` reads.
const FROM: &str =
    "invitations i LEFT JOIN roles r ON r.id = i.role_id LEFT JOIN workspaces w ON w.id = i.workspace_id";

fn from_row(r: &Row) -> crate::sql::Result<Invitation> {
    Ok(Invitation {
        id: r.get(0)?,
        organization_id: r.get(1)?,
        email: r.get(2)?,
        email_norm: r.get(3)?,
        role_id: r.get(4)?,
        role_name: r.get(5)?,
        access_expires_at: r.get(6)?,
        valid_until: r.get(7)?,
        status: r.get(8)?,
        invited_by: r.get(9)?,
        created_at: r.get(10)?,
        last_sent_at: r.get(11)?,
        times_sent: r.get(12)?,
        responded_at: r.get(13)?,
        workspace: match (r.get::<_, Option<String>>(14)?, r.get::<_, Option<String>>(15)?) {
            (Some(id), Some(name)) => Some((id, name)),
            _ => None,
        },
    })
}

pub fn by_token_hash(conn: &Connection, hash: &[u8]) -> Result<Option<Invitation>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE i.token_hash = ?1"))?;
    Ok(st.query_row([hash], from_row).optional()?)
}

/// The newest invitation of an email in an organization, whatever its status.
pub fn latest_for(conn: &Connection, org_id: &str, email_norm: &str) -> Result<Option<Invitation>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM}
         WHERE i.organization_id = ?1 AND i.email_norm = ?2 ORDER BY i.created_at DESC, i.id DESC LIMIT 1"
    ))?;
    Ok(st.query_row(params![org_id, email_norm], from_row).optional()?)
}

/// The open invitation of an email, if any (expired or not).
pub fn open_for(conn: &Connection, org_id: &str, email_norm: &str) -> Result<Option<Invitation>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM}
         WHERE i.organization_id = ?1 AND i.email_norm = ?2 AND i.status = 'open'"
    ))?;
    Ok(st.query_row(params![org_id, email_norm], from_row).optional()?)
}

/// What stands in the way of inviting each of many normalized emails, as `open_for` and
/// `supersede_rejected` find it one by one: its open invitation (id, valid until) and whether a
/// rejected one is listed. Emails with neither are absent. One statement per 500 emails.
pub fn standing_of(
    conn: &Connection,
    org_id: &str,
    email_norms: &[String],
) -> Result<std::collections::HashMap<String, Standing>> {
    let mut out: std::collections::HashMap<String, Standing> = Default::default();
    for chunk in email_norms.chunks(500) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 2)).collect();
        let sql = format!(
            "SELECT email_norm, status, id, valid_until FROM invitations
             WHERE organization_id = ?1 AND email_norm IN ({}) AND status IN ('open', 'rejected')",
            list.join(", ")
        );
        let mut values: Vec<&dyn crate::sql::ToSql> = vec![&org_id];
        values.extend(chunk.iter().map(|e| e as &dyn crate::sql::ToSql));
        let mut st = if chunk.len() == 500 { conn.prepare_cached(&sql)? } else { conn.prepare(&sql)? };
        let mut rows = st.query(values.as_slice())?;
        while let Some(r) = rows.next()? {
            let entry = out.entry(r.get(0)?).or_default();
            let status: String = r.get(1)?;
            if status == "open" {
                entry.open = Some((r.get(2)?, r.get(3)?));
            } else {
                entry.rejected = true;
            }
        }
    }
    Ok(out)
}

/// See `standing_of`.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    /// The open invitation: id and valid until.
    pub open: Option<(String, Timestamp)>,
    pub rejected: bool,
}

/// Invitations of an organization in one state (or all), newest first.
pub fn list(conn: &Connection, org_id: &str, status: Option<InvitationState>) -> Result<Vec<Invitation>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM}
         WHERE i.organization_id = ?1 AND (?2 IS NULL OR i.status = ?2) ORDER BY i.created_at DESC, i.email_norm"
    ))?;
    let rows = st.query_map(params![org_id, status], from_row)?.collect::<crate::sql::Result<_>>()?;
    Ok(rows)
}

pub struct NewInvitation<'a> {
    pub organization_id: &'a str,
    pub email: &'a str,
    pub email_norm: &'a str,
    pub role_id: &'a str,
    pub access_expires_at: Option<Timestamp>,
    pub valid_until: Timestamp,
    pub token_hash: &'a [u8],
    pub invited_by: &'a str,
    pub workspace_id: Option<&'a str>,
}

pub fn insert(conn: &Connection, n: &NewInvitation, now: Timestamp) -> Result<String> {
    let id = super::new_id();
    conn.prepare_cached(
        "INSERT INTO invitations (id, organization_id, email, email_norm, role_id, access_expires_at, valid_until,
                                  token_hash, status, invited_by, created_at, last_sent_at, times_sent, workspace_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'open', ?9, ?10, ?10, 1, ?11)",
    )?
    .execute(params![
        id,
        n.organization_id,
        n.email,
        n.email_norm,
        n.role_id,
        n.access_expires_at,
        n.valid_until,
        n.token_hash,
        n.invited_by,
        now,
        n.workspace_id
    ])?;
    Ok(id)
}

/// The columns `insert_many` writes, in order.
const INSERT_COLUMNS: [&str; 14] = [
    "id",
    "organization_id",
    "email",
    "email_norm",
    "role_id",
    "access_expires_at",
    "valid_until",
    "token_hash",
    "status",
    "invited_by",
    "created_at",
    "last_sent_at",
    "times_sent",
    "workspace_id",
];

/// Invitations inserted by one statement of `insert_many` on SQLite (14 values each).
pub const INSERT_BATCH: usize = 100;

/// Many new open invitations (a bulk invite whose rows were all decided before writing): on
/// SQLite `INSERT_BATCH` to a multi-row INSERT, on PostgreSQL all in one COPY (one round trip
/// instead of one per row). Ids are made here, in row order.
pub fn insert_many(conn: &Connection, rows: &[NewInvitation], now: Timestamp) -> Result<()> {
    let ids: Vec<String> = rows.iter().map(|_| super::new_id()).collect();
    if conn.backend() == crate::sql::Backend::Postgres {
        let mut copy = crate::sql::BulkRows::new(conn, "invitations", &INSERT_COLUMNS)?;
        for (n, id) in rows.iter().zip(&ids) {
            copy.add(params![
                id,
                n.organization_id,
                n.email,
                n.email_norm,
                n.role_id,
                n.access_expires_at,
                n.valid_until,
                n.token_hash,
                "open",
                n.invited_by,
                now,
                now,
                1,
                n.workspace_id
            ])?;
        }
        return Ok(copy.flush()?);
    }
    for (chunk, ids) in rows.chunks(INSERT_BATCH).zip(ids.chunks(INSERT_BATCH)) {
        // ?1 is `now`; each invitation's ten values follow.
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = 2 + 10 * i;
                let q: Vec<String> = (p..p + 10).map(|k| format!("?{k}")).collect();
                format!("({}, {}, 'open', {}, ?1, ?1, 1, {})", q[..7].join(", "), q[7], q[8], q[9])
            })
            .collect();
        let sql = format!("INSERT INTO invitations ({}) VALUES {}", INSERT_COLUMNS.join(", "), values.join(", "));
        let mut params: Vec<&dyn crate::sql::ToSql> = vec![&now];
        for (n, id) in chunk.iter().zip(ids) {
            params.extend([
                id as &dyn crate::sql::ToSql,
                &n.organization_id,
                &n.email,
                &n.email_norm,
                &n.role_id,
                &n.access_expires_at,
                &n.valid_until,
                &n.token_hash,
                &n.invited_by,
                &n.workspace_id,
            ]);
        }
        let mut st = if chunk.len() == INSERT_BATCH { conn.prepare_cached(&sql)? } else { conn.prepare(&sql)? };
        st.execute(params.as_slice())?;
    }
    Ok(())
}

/// `set_status(Revoked)` for many invitations at once, 500 to a statement.
pub fn revoke_many(conn: &Connection, ids: &[String], now: Timestamp) -> Result<()> {
    for chunk in ids.chunks(500) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 2)).collect();
        let sql =
            format!("UPDATE invitations SET status = 'revoked', responded_at = ?1 WHERE id IN ({})", list.join(", "));
        let mut values: Vec<&dyn crate::sql::ToSql> = vec![&now];
        values.extend(chunk.iter().map(|e| e as &dyn crate::sql::ToSql));
        conn.prepare(&sql)?.execute(values.as_slice())?;
    }
    Ok(())
}

/// `supersede_rejected` for many emails at once, 500 to a statement.
pub fn supersede_rejected_many(conn: &Connection, org_id: &str, email_norms: &[String]) -> Result<()> {
    for chunk in email_norms.chunks(500) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 2)).collect();
        let sql = format!(
            "UPDATE invitations SET status = 'revoked'
             WHERE organization_id = ?1 AND email_norm IN ({}) AND status = 'rejected'",
            list.join(", ")
        );
        let mut values: Vec<&dyn crate::sql::ToSql> = vec![&org_id];
        values.extend(chunk.iter().map(|e| e as &dyn crate::sql::ToSql));
        conn.prepare(&sql)?.execute(values.as_slice())?;
    }
    Ok(())
}

/// Before a role is deleted: its closed invitations keep its name (their `role_id` then becomes
/// NULL, migration 0005b), so the history still says what each invitation offered.
pub fn keep_role_name(conn: &Connection, role_id: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE invitations SET role_name = (SELECT name FROM roles WHERE id = ?1) WHERE role_id = ?1",
    )?
    .execute([role_id])?;
    Ok(())
}

pub fn set_status(conn: &Connection, id: &str, status: InvitationState, now: Timestamp) -> Result<()> {
    conn.prepare_cached("UPDATE invitations SET status = ?2, responded_at = ?3 WHERE id = ?1")?
        .execute(params![id, status, now])?;
    Ok(())
}

/// Close the rejected invitations of an email, which a new invitation replaces: the member list
/// shows each person once, and their old tokens stay refused. The rejection itself stays in the
/// audit log; `responded_at` keeps its moment.
pub fn supersede_rejected(conn: &Connection, org_id: &str, email_norm: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE invitations SET status = 'revoked' WHERE organization_id = ?1 AND email_norm = ?2 AND status = 'rejected'",
    )?
    .execute(params![org_id, email_norm])?;
    Ok(())
}

/// A new token for an invitation: the old one stops working at once; it is open again.
pub fn reissue(conn: &Connection, id: &str, token_hash: &[u8], valid_until: Timestamp, now: Timestamp) -> Result<()> {
    conn.prepare_cached(
        "UPDATE invitations SET token_hash = ?2, valid_until = ?3, last_sent_at = ?4, times_sent = times_sent + 1,
                status = 'open', responded_at = NULL WHERE id = ?1",
    )?
    .execute(params![id, token_hash, valid_until, now])?;
    Ok(())
}

pub fn by_id(conn: &Connection, id: &str) -> Result<Option<Invitation>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE i.id = ?1"))?;
    Ok(st.query_row([id], from_row).optional()?)
}

/// Every open invitation to one email, in every organization, newest first. No index leads by the
/// email (invitations are looked up per organization everywhere else), so this reads the table;
/// it runs when a signed-in person opens the organization switcher, not per row of anything.
pub fn open_addressed_to(conn: &Connection, email_norm: &str) -> Result<Vec<Invitation>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM}
         WHERE i.email_norm = ?1 AND i.status = 'open' ORDER BY i.created_at DESC, i.id"
    ))?;
    let rows = st.query_map([email_norm], from_row)?.collect::<crate::sql::Result<_>>()?;
    Ok(rows)
}
