//! Copying a whole Gatehouse database from one engine to the other, in one transaction on the
//! receiving side: `gatehouse migrate --to postgres://…` (a SQLite file into an empty PostgreSQL
//! database) and `gatehouse backup FILE` from PostgreSQL (into a new SQLite file that `restore`
//! accepts).
//!
//! What is copied are the base tables, row for row and column for column, read in primary-key
//! order from one snapshot of the source, a page at a time (memory stays bounded whatever the
//! size). The roster (`roster`, `roster_counts`, `roster_orgs`) is derived data: the receiving
//! side's own triggers make `roster_orgs` as organizations arrive, the organizations are deferred
//! (`store::roster::defer`) while their members arrive, and `store::roster::rebuild` writes each
//! roster set-based at the end. Audit events keep their `seq`, which `audit_heads` names;
//! PostgreSQL's identity sequences are then set past the copied ids.
//!
//! Every audit chain is verified on the source, in the snapshot copied, before anything is
//! written; and again on the receiving side, inside its transaction, before it commits, with the
//! same number of events; every table must hold as many rows as the source's. Anything that
//! fails rolls the receiving side back: it is left as it was.

use crate::audit_actions::AuditAction;
use crate::error::{ConflictReason, Error, Result};
use crate::sql::{Backend, Connection, Value, ValueRef};
use crate::store::{audit, roster};
use serde::Serialize;
use std::collections::BTreeMap;

/// The base tables, in an order that satisfies every foreign key, each with its primary key (the
/// order rows are read in). The schema of both engines has exactly these, besides the roster.
pub const TABLES: [(&str, &[&str]); 14] = [
    ("accounts", &["id"]),
    ("signin_attempts", &["email_norm"]),
    ("organizations", &["id"]),
    ("workspaces", &["id"]),
    ("custom_permissions", &["organization_id", "name"]),
    ("roles", &["id"]),
    ("role_permissions", &["role_id", "permission"]),
    ("memberships", &["id"]),
    ("service_accounts", &["id"]),
    ("access_grants", &["id"]),
    ("invitations", &["id"]),
    ("audit_events", &["seq"]),
    ("audit_heads", &["organization_id"]),
    ("sessions", &["id"]),
];

/// The derived tables, written on the receiving side by its triggers and `roster::rebuild`.
pub const DERIVED_TABLES: [&str; 3] = ["roster_orgs", "roster", "roster_counts"];

/// Rows read from the source per query.
const PAGE: usize = 2_000;

/// How far a copy is: rows copied so far, of all the source's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// What a copy copied (the JSON reply of `migrate`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CopyReport {
    /// Rows per base table.
    pub tables: BTreeMap<String, i64>,
    pub organizations: i64,
    pub accounts: i64,
    pub memberships: i64,
    pub audit_events: i64,
    /// Audit chains verified on both sides (every organization's, and the system chain if it has events).
    pub chains_verified: i64,
}

/// `n` and the noun, singular for one: "1 organization", "2 organizations".
pub fn counted(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl CopyReport {
    /// What was copied, as the CLI prints it: "1 organization, 4 accounts, 4 memberships, 12 audit
    /// events (1 chain verified on both sides)".
    pub fn summary(&self) -> String {
        format!(
            "{}, {}, {}, {} ({} on both sides)",
            counted(self.organizations, "organization", "organizations"),
            counted(self.accounts, "account", "accounts"),
            counted(self.memberships, "membership", "memberships"),
            counted(self.audit_events, "audit event", "audit events"),
            counted(self.chains_verified, "chain verified", "chains verified"),
        )
    }
}

/// The names of a table's columns, in the order the schema declares them.
fn columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let sql = match conn.backend() {
        Backend::Sqlite => "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position"
        }
    };
    let names = conn.prepare(sql)?.query_map([table], |r| r.get(0))?.collect::<crate::sql::Result<Vec<String>>>()?;
    Ok(names)
}

/// The chains to verify: every organization's, and the system chain ('') when it has events.
fn chains(conn: &Connection) -> Result<Vec<(String, String)>> {
    let rows = conn
        .prepare(
            "SELECT id, slug FROM organizations
             UNION SELECT organization_id, organization_id FROM audit_heads
                   WHERE organization_id NOT IN (SELECT id FROM organizations)
             ORDER BY 1",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<crate::sql::Result<Vec<(String, String)>>>()?;
    Ok(rows)
}

fn chain_name(id: &str, slug: &str) -> String {
    if id.is_empty() {
        "the system chain".into()
    } else {
        format!("the audit chain of organization {slug}")
    }
}

/// Verify every chain; the number of events of each, by organization id.
fn verify_chains(conn: &Connection, side: &str) -> Result<BTreeMap<String, i64>> {
    let mut counts = BTreeMap::new();
    for (id, slug) in chains(conn)? {
        match audit::verify(conn, &id)? {
            audit::ChainState::Intact { events } => {
                counts.insert(id, events);
            }
            audit::ChainState::Broken { why, .. } => {
                return Err(Error::conflict(
                    ConflictReason::ChainBroken,
                    format!("{} is broken on the {side} side ({why}); nothing was copied", chain_name(&id, &slug)),
                ))
            }
        }
    }
    Ok(counts)
}

fn count(conn: &Connection, table: &str) -> Result<i64> {
    Ok(conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| r.get(0))?)
}

/// The receiving side's schema has the tables and columns of the source's.
fn same_columns(src: &Connection, dst: &Connection, table: &str) -> Result<Vec<String>> {
    let from = columns(src, table)?;
    let mut to = columns(dst, table)?;
    let mut sorted = from.clone();
    sorted.sort();
    to.sort();
    if sorted != to {
        return Err(Error::Internal(format!(
            "the table {table} has columns ({}) on one side and ({}) on the other",
            from.join(", "),
            to.join(", ")
        )));
    }
    Ok(from)
}

/// Copy every base table of `src` (in a read transaction: one snapshot) into `dst` (in a write
/// transaction, with the current schema and no rows), rebuild the roster there, and check the
/// result: every chain intact with as many events as the source's, every table as many rows.
/// `progress` hears after every page.
pub fn copy_all(src: &Connection, dst: &Connection, progress: &mut dyn FnMut(Progress)) -> Result<CopyReport> {
    let source_chains = verify_chains(src, side(src))?;
    let mut counts = BTreeMap::new();
    for (table, _) in TABLES {
        counts.insert(table.to_string(), count(src, table)?);
    }
    let total: u64 = counts.values().map(|n| *n as u64).sum();
    let mut done = 0u64;
    progress(Progress { done, total });

    // The roster's insert triggers are dropped on SQLite for the load (PostgreSQL's skip a deferred
    // organization) and made again after the rebuild, in this transaction.
    let triggers = roster::suspend(dst, &roster::INSERT_TRIGGERS)?;
    let mut org_ids: Vec<String> = Vec::new();
    for (table, key) in TABLES {
        let cols = same_columns(src, dst, table)?;
        let list = cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
        let order = key.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
        let key_at: Vec<usize> = key.iter().map(|k| cols.iter().position(|c| c == k).unwrap_or(0)).collect();
        let first = format!("SELECT {list} FROM \"{table}\" ORDER BY {order} LIMIT {PAGE}");
        let after = {
            let params = (1..=key.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            format!("SELECT {list} FROM \"{table}\" WHERE ({order}) > ({params}) ORDER BY {order} LIMIT {PAGE}")
        };
        let insert = match dst.backend() {
            Backend::Postgres => format!("COPY \"{table}\" ({list}) FROM STDIN"),
            Backend::Sqlite => {
                let params = (1..=cols.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
                format!("INSERT INTO \"{table}\" ({list}) VALUES ({params})")
            }
        };
        let mut last: Option<Vec<Value>> = None;
        loop {
            let page: Vec<Vec<Value>> = {
                let mut st = src.prepare(if last.is_some() { &after } else { &first })?;
                let mut rows = match &last {
                    None => st.query(())?,
                    Some(k) => {
                        let refs: Vec<&dyn crate::sql::ToSql> = k.iter().map(|v| v as &dyn crate::sql::ToSql).collect();
                        st.query(refs.as_slice())?
                    }
                };
                let mut page = Vec::with_capacity(PAGE);
                while let Some(row) = rows.next()? {
                    let mut values = Vec::with_capacity(cols.len());
                    for i in 0..cols.len() {
                        values
                            .push(Value::try_from(row.get_ref(i)?).map_err(|e| {
                                Error::Internal(format!("{table}: a value that cannot be copied: {e}"))
                            })?);
                    }
                    page.push(values);
                }
                page
            };
            if page.is_empty() {
                break;
            }
            match dst.backend() {
                Backend::Postgres => {
                    let mut data = Vec::with_capacity(page.len() * 128);
                    for row in &page {
                        for (i, v) in row.iter().enumerate() {
                            if i > 0 {
                                data.push(b'\t');
                            }
                            crate::sql::copy_text(&mut data, ValueRef::from(v));
                        }
                        data.push(b'\n');
                    }
                    dst.copy_in(&insert, &data)?;
                }
                Backend::Sqlite => {
                    let mut st = dst.prepare_cached(&insert)?;
                    for row in &page {
                        let refs: Vec<&dyn crate::sql::ToSql> =
                            row.iter().map(|v| v as &dyn crate::sql::ToSql).collect();
                        st.execute(refs.as_slice())?;
                    }
                }
            }
            done += page.len() as u64;
            progress(Progress { done, total });
            let full = page.len() == PAGE;
            let tail = page.into_iter().last().unwrap_or_default();
            last = Some(key_at.iter().map(|i| tail[*i].clone()).collect());
            if !full {
                break;
            }
        }
        if table == "organizations" {
            // Their members arrive next: the roster is written once per organization at the end.
            org_ids = dst
                .prepare("SELECT id FROM organizations ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<crate::sql::Result<Vec<String>>>()?;
            for id in &org_ids {
                roster::defer(dst, id)?;
            }
        }
    }
    // PostgreSQL's roster counters follow each statement (migration 0002): a rebuild's one INSERT
    // of an organization's rows changes each counter once, so nothing is turned off here (0001's
    // row triggers updated the same few counter rows once per row, and the rebuild of 100k
    // members took minutes).
    for id in &org_ids {
        roster::rebuild(dst, id)?;
    }
    triggers.restore(dst)?;
    if dst.backend() == Backend::Postgres {
        set_identities_past_copied_ids(dst)?;
    }

    // The copy, checked on the receiving side before its transaction commits.
    for (table, n) in &counts {
        let there = count(dst, table)?;
        if there != *n {
            return Err(Error::Internal(format!("the copy of {table} has {there} rows instead of {n}")));
        }
    }
    let copied_chains = verify_chains(dst, side(dst))?;
    if copied_chains != source_chains {
        return Err(Error::Internal("the copied audit chains differ from the source's in their events".into()));
    }
    let n = |t: &str| counts.get(t).copied().unwrap_or(0);
    Ok(CopyReport {
        organizations: n("organizations"),
        accounts: n("accounts"),
        memberships: n("memberships"),
        audit_events: n("audit_events"),
        chains_verified: source_chains.len() as i64,
        tables: counts,
    })
}

fn side(conn: &Connection) -> &'static str {
    match conn.backend() {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

/// After rows were copied with their ids: each identity column's sequence continues after the
/// largest id, so the next row written gets a new one.
fn set_identities_past_copied_ids(conn: &Connection) -> Result<()> {
    let identities = conn
        .prepare(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY 1, 2",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<crate::sql::Result<Vec<(String, String)>>>()?;
    for (table, column) in identities {
        // Names from the catalogue, not from input; quoted anyway.
        conn.execute_batch(&format!(
            "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'),
                           coalesce((SELECT max(\"{column}\") FROM \"{table}\"), 0) + 1, false)"
        ))?;
    }
    Ok(())
}

/// What a PostgreSQL database holds besides an empty Gatehouse schema: `None` when it is empty
/// (no table at all, or Gatehouse's tables without a row), else the words for what is there.
pub fn contents_of_target(conn: &Connection) -> Result<Option<String>> {
    let tables = conn
        .prepare(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() ORDER BY 1",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<crate::sql::Result<Vec<String>>>()?;
    let ours =
        |t: &str| t == "gatehouse_schema" || TABLES.iter().any(|(name, _)| *name == t) || DERIVED_TABLES.contains(&t);
    let foreign: Vec<&String> = tables.iter().filter(|t| !ours(t)).collect();
    if !foreign.is_empty() {
        let shown: Vec<&str> = foreign.iter().take(5).map(|t| t.as_str()).collect();
        return Ok(Some(format!(
            "it holds tables of another application ({}{})",
            shown.join(", "),
            if foreign.len() > 5 { ", …" } else { "" }
        )));
    }
    let mut held = Vec::new();
    for table in tables.iter().filter(|t| t.as_str() != "gatehouse_schema") {
        let any: bool = conn.query_row(&format!("SELECT EXISTS (SELECT 1 FROM \"{table}\")"), [], |r| r.get(0))?;
        if any {
            held.push(table.clone());
        }
    }
    if held.is_empty() {
        return Ok(None);
    }
    let n = |t: &str| if tables.iter().any(|x| x == t) { count(conn, t) } else { Ok(0) };
    Ok(Some(format!(
        "it already holds a Gatehouse database ({}, {}, {})",
        counted(n("organizations")?, "organization", "organizations"),
        counted(n("accounts")?, "account", "accounts"),
        counted(n("audit_events")?, "audit event", "audit events")
    )))
}

/// The JSON reply of `migrate --to`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MigrateReport {
    /// The server and database copied into (the URL without its password).
    pub migrated_to: String,
    #[serde(flatten)]
    pub copied: CopyReport,
}

/// `gatehouse migrate --to URL`: copy the SQLite database `src` into the empty PostgreSQL database
/// at `url`, schema and rows in one transaction there. Refused, with nothing written: a `url`
/// that is not a `postgres://` URL or does not parse (`invalid_input` naming `to`); a target that
/// holds rows or another application's tables (the same); a broken audit chain in `src`
/// (`conflict` `chain_broken`). An unreachable server, or one that goes away during the copy, is
/// `unavailable`, and leaves the target as it was.
pub fn migrate_to_postgres(
    src: &mut crate::Database,
    url: &str,
    now: crate::Timestamp,
    progress: &mut dyn FnMut(Progress),
) -> Result<MigrateReport> {
    if src.backend() != Backend::Sqlite {
        return Err(Error::invalid(
            "db",
            "migrate copies a SQLite database file (--db FILE) into PostgreSQL; this --db is a PostgreSQL server already",
        ));
    }
    if !crate::sql::is_postgres_url(url) {
        return Err(Error::invalid("to", "give the target as a postgres:// URL (postgres://USER@HOST:PORT/DATABASE)"));
    }
    let options = crate::sql::PgOptions::from_url(url).map_err(|e| Error::invalid("to", e.to_string()))?;
    let shown = options.shown.clone();
    let role = options.config.get_user().unwrap_or_default().to_string();
    let from = src.path().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string());
    let target = Connection::postgres_with(options)?;
    let copied = src.read(now, |source| {
        target.write(|tx| {
            if let Some(what) = contents_of_target(tx)? {
                return Err(Error::invalid(
                    "to",
                    format!(
                        "{shown} is not empty: {what}; migrate copies into an empty database only, and wrote nothing"
                    ),
                ));
            }
            crate::sql::migrate_postgres_in(tx)?;
            let copied = copy_all(source, tx, &mut *progress)?;
            // The server's system chain says where its data came from, when, and by which
            // database role (migrate needs no sign-in: the file's permissions guard it, as for
            // `backup`). After the verification above, in the same transaction: the organizations'
            // chains stay exactly the file's.
            audit::append(
                tx,
                "",
                &role,
                AuditAction::DatabaseMigrated,
                from.as_deref().unwrap_or(""),
                &serde_json::json!({
                    "from": from,
                    "organizations": copied.organizations,
                    "accounts": copied.accounts,
                    "audit_events": copied.audit_events,
                }),
                now,
            )?;
            Ok(copied)
        })
    })?;
    Ok(MigrateReport { migrated_to: shown, copied })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `gatehouse migrate` printed "1 organizations": one of anything is singular.
    #[test]
    fn a_summary_says_one_organization_not_one_organizations() {
        let report = |orgs, chains| CopyReport {
            tables: BTreeMap::new(),
            organizations: orgs,
            accounts: 4,
            memberships: 1,
            audit_events: 12,
            chains_verified: chains,
        };
        assert_eq!(
            report(1, 1).summary(),
            "1 organization, 4 accounts, 1 membership, 12 audit events (1 chain verified on both sides)"
        );
        assert_eq!(
            report(2, 3).summary(),
            "2 organizations, 4 accounts, 1 membership, 12 audit events (3 chains verified on both sides)"
        );
        assert_eq!(counted(0, "account", "accounts"), "0 accounts");
    }
}
