//! `accounts` and `signin_attempts`.

use crate::error::Result;
use crate::sql::{params, Connection, OptionalExtension, Row};
use crate::time::Timestamp;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub password_hash: Option<String>,
    pub email_confirmed: bool,
    pub created_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
}

impl Account {
    pub fn full_name(&self) -> String {
        full_name(&self.given_name, &self.family_name)
    }
}

pub fn full_name(given: &str, family: &str) -> String {
    if family.is_empty() {
        given.to_string()
    } else {
        format!("{given} {family}")
    }
}

const COLUMNS: &str = "id, email, given_name, family_name, password_hash, email_confirmed, created_at, last_login_at";
/// `COLUMNS` of an `accounts` table named `a` in a join, in `from_row`'s order.
pub(crate) const COLUMNS_OF_A: &str =
    "a.id, a.email, a.given_name, a.family_name, a.password_hash, a.email_confirmed, a.created_at, a.last_login_at";

/// An account from the first eight columns of a row, in `COLUMNS`' order.
pub(crate) fn from_row(r: &Row) -> crate::sql::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        email: r.get(1)?,
        given_name: r.get(2)?,
        family_name: r.get(3)?,
        password_hash: r.get(4)?,
        email_confirmed: r.get(5)?,
        created_at: r.get(6)?,
        last_login_at: r.get(7)?,
    })
}

pub fn by_email(conn: &Connection, email_norm: &str) -> Result<Option<Account>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM accounts WHERE email_norm = ?1"))?;
    Ok(st.query_row([email_norm], from_row).optional()?)
}

pub fn by_id(conn: &Connection, id: &str) -> Result<Option<Account>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"))?;
    Ok(st.query_row([id], from_row).optional()?)
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?)
}

#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &Connection,
    email: &str,
    email_norm: &str,
    given: &str,
    family: &str,
    password_hash: Option<&str>,
    confirmed: bool,
    now: Timestamp,
) -> Result<String> {
    let id = super::new_id();
    let sort_name = full_name(given, family).to_lowercase();
    conn.prepare_cached(
        "INSERT INTO accounts (id, email, email_norm, given_name, family_name, sort_name, password_hash, email_confirmed, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![id, email, email_norm, given, family, sort_name, password_hash, confirmed, now])?;
    Ok(id)
}

pub fn record_login(conn: &Connection, id: &str, now: Timestamp) -> Result<()> {
    conn.prepare_cached("UPDATE accounts SET last_login_at = ?2 WHERE id = ?1")?.execute(params![id, now])?;
    Ok(())
}

/// The lockout state of an email: (consecutive failures, locked until).
pub fn attempts(conn: &Connection, email_norm: &str) -> Result<(i64, Option<Timestamp>)> {
    Ok(conn
        .prepare_cached("SELECT failures, locked_until FROM signin_attempts WHERE email_norm = ?1")?
        .query_row([email_norm], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, None)))
}

pub fn set_attempts(
    conn: &Connection,
    email_norm: &str,
    failures: i64,
    locked_until: Option<Timestamp>,
    now: Timestamp,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO signin_attempts (email_norm, failures, locked_until, last_failure_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (email_norm) DO UPDATE SET failures = ?2, locked_until = ?3, last_failure_at = ?4",
    )?
    .execute(params![email_norm, failures, locked_until, now])?;
    Ok(())
}

pub fn clear_attempts(conn: &Connection, email_norm: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM signin_attempts WHERE email_norm = ?1")?.execute([email_norm])?;
    Ok(())
}
