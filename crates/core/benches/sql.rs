//! The SQL facade's cost over raw rusqlite, on the two shapes of query `check` is made of: a point
//! query (an account by email) and the rights join (memberships ⋈ grants ⋈ roles ⋈ permissions),
//! on `demo` data in a real file ($GATEHOUSE_BENCH_MEMBERS, default 100000). The same two queries
//! through the facade on PostgreSQL when $GATEHOUSE_TEST_PG names a server (loopback latency).

use criterion::{criterion_group, criterion_main, Criterion};
use gatehouse_core::sql::{params, Connection, OptionalExtension};
use gatehouse_core::usecases::{demo, orgs};
use gatehouse_core::Database;
use std::hint::black_box;
use std::time::Duration;

const NOW: i64 = 1_800_000_000;

const POINT: &str =
    "SELECT id, email, given_name, family_name, password_hash, email_confirmed, created_at, last_login_at
                     FROM accounts WHERE email_norm = ?1";

const RIGHTS: &str = "SELECT r.is_owner, rp.permission FROM memberships m
     JOIN access_grants g ON g.membership_id = m.id
     JOIN roles r ON r.id = g.role_id
     LEFT JOIN role_permissions rp ON rp.role_id = r.id
     WHERE m.organization_id = ?1 AND m.account_id = ?2 AND m.enabled = 1
       AND (m.access_expires_at IS NULL OR m.access_expires_at > ?3)
       AND (g.workspace_id IS NULL OR g.workspace_id = ?4)
       AND (g.valid_from IS NULL OR g.valid_from <= ?3)
       AND (g.expires_at IS NULL OR g.expires_at > ?3)";

type Account = (String, String, String, String, Option<String>, bool, i64, Option<i64>);

fn raw_point(conn: &rusqlite::Connection, email: &str) -> Option<Account> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(POINT)
        .unwrap()
        .query_row([email], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
        })
        .optional()
        .unwrap()
}

fn facade_point(conn: &Connection, email: &str) -> Option<Account> {
    conn.prepare_cached(POINT)
        .unwrap()
        .query_row([email], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
        })
        .optional()
        .unwrap()
}

fn raw_rights(conn: &rusqlite::Connection, org: &str, account: &str) -> usize {
    let mut st = conn.prepare_cached(RIGHTS).unwrap();
    let rows = st
        .query_map(rusqlite::params![org, account, NOW, Option::<&str>::None], |r| {
            Ok((r.get::<_, bool>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .unwrap();
    rows.map(|r| r.unwrap()).count()
}

fn facade_rights(conn: &Connection, org: &str, account: &str) -> usize {
    let mut st = conn.prepare_cached(RIGHTS).unwrap();
    let rows = st
        .query_map(params![org, account, NOW, Option::<&str>::None], |r| {
            Ok((r.get::<_, bool>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .unwrap();
    rows.map(|r| r.unwrap()).count()
}

fn open_raw(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "cache_size", -65_536).unwrap();
    conn.set_prepared_statement_cache_capacity(64);
    conn
}

fn benches(c: &mut Criterion) {
    let n: i64 = std::env::var("GATEHOUSE_BENCH_MEMBERS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    {
        let mut db = Database::open(&path).unwrap();
        orgs::init(&mut db, "Bench", "owner@bench.io", "Owner Bench", "bench-password", NOW).unwrap();
        let who = gatehouse_core::auth::sign_in(&mut db, "owner@bench.io", "bench-password", NOW).unwrap();
        demo::demo(&mut db, &who, "demo", n, NOW).unwrap();
    }
    let raw = open_raw(&path);
    let facade = Connection::sqlite(open_raw(&path));
    let email = "ada.abbott.0@demo.example";
    let (org, account): (String, String) = raw
        .query_row(
            "SELECT m.organization_id, a.id FROM accounts a JOIN memberships m ON m.account_id = a.id WHERE a.email_norm = ?1",
            [email],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(raw_point(&raw, email), facade_point(&facade, email));
    assert_eq!(raw_rights(&raw, &org, &account), facade_rights(&facade, &org, &account));
    assert!(raw_rights(&raw, &org, &account) > 0);

    let mut g = c.benchmark_group(format!("sqlite_{n}"));
    g.measurement_time(Duration::from_secs(4));
    // Interleaved pairs, so that the machine's load falls on both alike.
    g.bench_function("point_raw", |b| b.iter(|| raw_point(&raw, black_box(email))));
    g.bench_function("point_facade", |b| b.iter(|| facade_point(&facade, black_box(email))));
    g.bench_function("rights_join_raw", |b| b.iter(|| raw_rights(&raw, black_box(&org), &account)));
    g.bench_function("rights_join_facade", |b| b.iter(|| facade_rights(&facade, black_box(&org), &account)));
    g.finish();

    if let Ok(url) = std::env::var("GATEHOUSE_TEST_PG") {
        bench_postgres(c, &url, &raw);
    }
}

/// The same two queries on PostgreSQL over loopback, on a copy of the bench organization's members.
fn bench_postgres(c: &mut Criterion, url: &str, source: &rusqlite::Connection) {
    let admin = Connection::postgres(url).unwrap();
    let name = format!("gh_bench_{}", std::process::id());
    admin.execute_batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE); CREATE DATABASE {name}")).unwrap();
    let mut options = gatehouse_core::sql::PgOptions::from_url(url).unwrap();
    options.config.dbname(&name);
    let pg = Connection::postgres_with(options).unwrap();
    gatehouse_core::sql::migrate_postgres(&pg).unwrap();
    // The tables the two queries read, copied row by row through the facade (one transaction).
    pg.write(|tx| -> gatehouse_core::sql::Result<()> {
        for (table, cols) in [
            ("accounts", "id, email, email_norm, given_name, family_name, sort_name, password_hash, email_confirmed, created_at, last_login_at"),
            ("organizations", "id, name, slug, created_at"),
            ("roles", "id, organization_id, name, description, is_owner, created_at"),
            ("role_permissions", "role_id, permission"),
            ("workspaces", "id, organization_id, name, created_at"),
            ("memberships", "id, organization_id, account_id, enabled, access_expires_at, expiry_recorded, joined_at"),
            ("access_grants", "id, organization_id, membership_id, role_id, workspace_id, valid_from, expires_at, granted_at"),
        ] {
            let count = cols.split(',').count();
            let marks: Vec<String> = (1..=count).map(|i| format!("?{i}")).collect();
            let mut ins = tx.prepare_cached(&format!("INSERT INTO {table} ({cols}) VALUES ({})", marks.join(", ")))?;
            let mut st = source.prepare(&format!("SELECT {cols} FROM {table}")).unwrap();
            let mut rows = st.query([]).unwrap();
            while let Some(r) = rows.next().unwrap() {
                let values: Vec<rusqlite::types::Value> = (0..count).map(|i| r.get(i).unwrap()).collect();
                let refs: Vec<&dyn gatehouse_core::sql::ToSql> = values.iter().map(|v| v as _).collect();
                ins.execute(&refs[..])?;
            }
        }
        Ok(())
    })
    .unwrap();
    pg.execute_batch("ANALYZE").unwrap();
    let email = "ada.abbott.0@demo.example";
    let (org, account): (String, String) = pg
        .query_row(
            "SELECT m.organization_id, a.id FROM accounts a JOIN memberships m ON m.account_id = a.id WHERE a.email_norm = ?1",
            [email],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(facade_point(&pg, email).map(|a| a.0), Some(account.clone()));
    let mut g = c.benchmark_group("postgres_loopback");
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("point_facade", |b| b.iter(|| facade_point(&pg, black_box(email))));
    g.bench_function("rights_join_facade", |b| b.iter(|| facade_rights(&pg, black_box(&org), &account)));
    g.finish();
    drop(pg);
    let _ = admin.execute_batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}

criterion_group!(sql, benches);
criterion_main!(sql);
