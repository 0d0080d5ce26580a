//! `invitations`. Only the SHA-256 of a token is stored; the token is shown once.

use crate::error::Result;
use crate::time::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: String,
    pub organization_id: String,
    pub email: String,
    pub email_norm: String,
    pub role_id: String,
    pub role_name: String,
    /// The workspace of an invitation to one workspace only (id, name); None: to the organization.
    pub workspace: Option<(String, String)>,
    pub access_expires_at: Option<Timestamp>,
    pub valid_until: Timestamp,
    pub status: String,
    pub invited_by: Option<String>,
    pub created_at: Timestamp,
    pub last_sent_at: Timestamp,
    pub times_sent: i64,
    pub responded_at: Option<Timestamp>,
}

impl Invitation {
    /// The status as shown: pending, invitation_expired, rejected, accepted or revoked.
    pub fn shown_status(&self, now: Timestamp) -> &'static str {
        match self.status.as_str() {
            "open" if self.valid_until <= now => "invitation_expired",
            "open" => "pending",
            "rejected" => "rejected",
            "accepted" => "accepted",
            _ => "revoked",
        }
    }
}

const COLUMNS: &str =
    "i.id, i.organization_id, i.email, i.email_norm, i.role_id, r.name, i.access_expires_at, i.valid_until,
    i.status, i.invited_by, i.created_at, i.last_sent_at, i.times_sent, i.responded_at, i.workspace_id, w.name";

/// The tables `COLUMNS` reads.
const FROM: &str = "invitations i JOIN roles r ON r.id = i.role_id LEFT JOIN workspaces w ON w.id = i.workspace_id";

fn from_row(r: &Row) -> rusqlite::Result<Invitation> {
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

/// Invitations of an organization by status group (`open`, `rejected`, … or all), newest first.
pub fn list(conn: &Connection, org_id: &str, status: Option<&str>) -> Result<Vec<Invitation>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM}
         WHERE i.organization_id = ?1 AND (?2 IS NULL OR i.status = ?2) ORDER BY i.created_at DESC, i.email_norm"
    ))?;
    let rows = st.query_map(params![org_id, status], from_row)?.collect::<rusqlite::Result<_>>()?;
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

pub fn set_status(conn: &Connection, id: &str, status: &str, now: Timestamp) -> Result<()> {
    conn.prepare_cached("UPDATE invitations SET status = ?2, responded_at = ?3 WHERE id = ?1")?
        .execute(params![id, status, now])?;
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
