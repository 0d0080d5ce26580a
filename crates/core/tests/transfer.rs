//! Copies between the engines (issue 12): `migrate --to postgres://…` from a SQLite file, and
//! `backup FILE` from PostgreSQL into a SQLite file that `restore` accepts. The tests that need a
//! server run when `$GATEHOUSE_TEST_PG` names one (`scripts/pg start`); the others run anywhere.

mod common;

use common::*;
use gatehouse_core::auth::sign_in;
use gatehouse_core::catalogue::{MEMBERS_MANAGE, ORG_VIEW};
use gatehouse_core::sql::{Backend, Connection};
use gatehouse_core::transfer::{migrate_to_postgres, Progress};
use gatehouse_core::usecases::invitations::{self, Invitee};
use gatehouse_core::usecases::members::{self, MemberQuery, Selection};
use gatehouse_core::usecases::{audit, check::check, demo, orgs, restore, roles, service_accounts, workspaces};
use gatehouse_core::{ConflictReason, Database, Error, ErrorCode, Principal};
use std::path::Path;

const PEOPLE: [&str; 5] = ["ann@acme.test", "bob@acme.test", "cat@acme.test", "dan@acme.test", "eve@acme.test"];

/// A database with a little of everything: members of several roles, one disabled, one with an
/// expiry; an open, a rejected and a revoked invitation; a custom permission and role; a workspace
/// grant; a service account; a second organization; refusals in the chains.
fn seed(db: &mut Database) -> Principal {
    orgs::init(db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(db, OWNER, PW, T0).unwrap();
    add(db, &o, PEOPLE[0], "admin", None, T0);
    let bob = add(db, &o, PEOPLE[1], "member", None, T0);
    add(db, &o, PEOPLE[2], "member", Some(T0 + 86_400), T0);
    add(db, &o, PEOPLE[3], "member", None, T0);
    members::set_enabled(db, &o, ORG, &Selection::Emails(vec![PEOPLE[3].into()]), false, T0 + 1).unwrap();
    let invite = |db: &mut Database, email: &str| {
        let invitee = Invitee { email: email.into(), role: "member".into(), access_expires_at: None, workspace: None };
        invitations::create(db, &o, ORG, &[invitee], None, T0 + 2).unwrap().invitations.remove(0).token
    };
    invite(db, PEOPLE[4]);
    let rejected = invite(db, "rex@acme.test");
    invitations::reject(db, &rejected, T0 + 3).unwrap();
    invite(db, "rob@acme.test");
    invitations::revoke(db, &o, ORG, "rob@acme.test", T0 + 3).unwrap();
    roles::create_permission(db, &o, ORG, "billing.access", "Billing", T0 + 4).unwrap();
    roles::create(db, &o, ORG, "Billing", &[ORG_VIEW.into(), "billing.access".into()], "Pays", T0 + 4).unwrap();
    members::set_role(db, &o, ORG, PEOPLE[1], "Billing", T0 + 5).unwrap();
    workspaces::create(db, &o, ORG, "Production", T0 + 5).unwrap();
    workspaces::grant(db, &o, ORG, "Production", PEOPLE[0], "member", Some(T0 + 90_000), T0 + 5).unwrap();
    service_accounts::create(db, &o, ORG, "ci", "member", None, T0 + 6).unwrap();
    orgs::create(db, &o, "Beta", None, T0 + 6).unwrap();
    // A failed sign-in (the system chain) and a refusal (Acme's chain).
    assert!(sign_in(db, OWNER, "not the password", T0 + 7).is_err());
    assert!(members::set_role(db, &bob, ORG, OWNER, "member", T0 + 7).is_err());
    o
}

/// A seeded SQLite file in `dir`.
fn seeded_file(dir: &Path) -> (Database, Principal) {
    let mut db = Database::open(dir.join("gatehouse.db")).unwrap();
    let o = seed(&mut db);
    (db, o)
}

/// What the front doors answer about a database: member pages in every sort, checks of everyone
/// for a few permissions, the chains.
fn answers(db: &mut Database, o: &Principal, now: i64) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for sort in ["email", "name", "role", "status", "created", "expires"] {
        let q = MemberQuery { sort: members::SortKey::parse(sort).unwrap(), ..MemberQuery::default() };
        let page = members::list(db, o, ORG, &q, now).unwrap();
        out.insert(format!("members by {sort}"), serde_json::to_value(page).unwrap());
    }
    let mut checks = Vec::new();
    for who in PEOPLE.iter().chain([&OWNER]) {
        for permission in [ORG_VIEW, MEMBERS_MANAGE, "billing.access"] {
            for workspace in [None, Some("Production")] {
                let a = check(db, o, ORG, who, permission, workspace, now).unwrap();
                checks.push(serde_json::json!([who, permission, workspace, a.allowed]));
            }
        }
    }
    out.insert("checks".into(), checks.into());
    for org in [ORG, "beta"] {
        let report = audit::verify(db, o, org, now).unwrap();
        out.insert(format!("verify {org}"), serde_json::to_value(report).unwrap());
    }
    out.insert("roles".into(), serde_json::to_value(roles::list(db, o, ORG, now).unwrap()).unwrap());
    out.insert(
        "service accounts".into(),
        serde_json::to_value(service_accounts::list(db, o, ORG, now).unwrap()).unwrap(),
    );
    out.into()
}

/// Equal answers, or the first that differs (the whole of them is too long to read).
#[track_caller]
fn assert_same(got: serde_json::Value, want: serde_json::Value) {
    for (key, value) in want.as_object().unwrap() {
        assert_eq!(got.get(key), Some(value), "{key} differs");
    }
    assert_eq!(got, want);
}

fn rows(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

/// How many tables the target's public schema holds.
fn table_count(url: &str) -> i64 {
    let c = Connection::postgres(url).unwrap();
    c.query_row("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", [], |r| r.get(0))
        .unwrap()
}

fn no_progress() -> impl FnMut(Progress) {
    |_| {}
}

#[test]
fn a_target_that_is_not_a_postgres_url_names_the_field_to() {
    let dir = tempfile::tempdir().unwrap();
    let (mut db, _) = seeded_file(dir.path());
    for bad in ["/tmp/other.db", "postgres://gh@127.0.0.1:notaport/x", ""] {
        match migrate_to_postgres(&mut db, bad, T0 + 10, &mut no_progress()) {
            Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "to", "{bad}"),
            other => panic!("{bad}: expected invalid input on to, got {other:?}"),
        }
    }
}

#[test]
fn an_unreachable_target_is_unavailable_exit_7() {
    let dir = tempfile::tempdir().unwrap();
    let (mut db, _) = seeded_file(dir.path());
    let err =
        migrate_to_postgres(&mut db, "postgres://gh@127.0.0.1:1/x?connect_timeout=5", T0 + 10, &mut no_progress())
            .err()
            .unwrap();
    assert_eq!(err.code(), ErrorCode::Unavailable, "{err:?}");
    assert_eq!(err.code().exit_code(), 7);
}

/// Everything arrives: every table has the source's rows, the roster (rebuilt there) gives the
/// same pages in every sort, the same `check` answers, the same intact chains; and the copy is a
/// working database: a write continues each chain and the identity sequences (audit `seq`) past
/// the copied ids.
#[test]
fn migrate_copies_every_table_and_the_target_answers_as_the_source() {
    let Some(server) = pg_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut src, o) = seeded_file(dir.path());
    let url = fresh_pg_url(&server);
    let mut seen = Vec::new();
    let report = migrate_to_postgres(&mut src, &url, T0 + 10, &mut |p| seen.push(p)).unwrap();
    assert_eq!(report.copied.organizations, 2);
    assert_eq!(report.copied.chains_verified, 3, "Acme, Beta and the system chain: {report:?}");
    let last = seen.last().unwrap();
    assert_eq!((last.done, last.total), (last.total, report.copied.tables.values().sum::<i64>() as u64));

    let mut pg = Database::open_existing(&url).unwrap();
    assert_eq!(pg.backend(), Backend::Postgres);
    for (table, n) in &report.copied.tables {
        assert_eq!(rows(src.connection(), table), *n, "{table} on SQLite");
        // One event more there: database.migrated, in the server's system chain.
        let extra = i64::from(table == "audit_events");
        assert_eq!(rows(pg.connection(), table), *n + extra, "{table} on PostgreSQL");
    }
    let (actor, details): (String, String) = pg
        .connection()
        .query_row(
            "SELECT actor, details FROM audit_events WHERE organization_id = '' AND action = 'database.migrated'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(actor, "gh", "the database role of the URL");
    assert!(details.contains("\"organizations\":2"), "{details}");
    let o_pg = sign_in(&mut pg, OWNER, PW, T0 + 10).unwrap();
    assert!(audit::verify_system(&mut pg, &o_pg, T0 + 10).unwrap().ok, "the system chain verifies with it");
    // The roster, rebuilt on the target, has the source's rows and counters (a counter that fell
    // to zero stays as a row on the source; a rebuild makes none).
    let roster = |c: &Connection| -> Vec<String> {
        let mut lines = Vec::new();
        for sql in [
            "SELECT o.organization_id || ' ' || r.entry_id || ' ' || r.roles_key || ' ' || r.cls || ' ' || coalesce(r.until, 0)
             FROM roster r JOIN roster_orgs o ON o.org = r.org",
            "SELECT o.organization_id || ' ' || c.roles_key || ' ' || c.cls || ' ' || c.n
             FROM roster_counts c JOIN roster_orgs o ON o.org = c.org WHERE c.n > 0",
        ] {
            let part: Vec<String> = c.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
            lines.extend(part);
        }
        lines.sort();
        lines
    };
    assert_eq!(roster(pg.connection()), roster(src.connection()));
    // Signing in writes the last login: on both sides alike.
    let o = sign_in(&mut src, OWNER, PW, T0 + 10).unwrap_or(o);
    assert_same(answers(&mut pg, &o_pg, T0 + 11), answers(&mut src, &o, T0 + 11));

    // A working database: the next events get new seq numbers and the chains stay intact.
    let events_before = audit::verify(&mut pg, &o_pg, ORG, T0 + 12).unwrap().events;
    add(&mut pg, &o_pg, "new@acme.test", "member", None, T0 + 12);
    let after = audit::verify(&mut pg, &o_pg, ORG, T0 + 13).unwrap();
    assert!(after.ok && after.events > events_before, "{after:?}");
    let max_seq =
        |c: &Connection| -> i64 { c.query_row("SELECT max(seq) FROM audit_events", [], |r| r.get(0)).unwrap() };
    assert!(max_seq(pg.connection()) > max_seq(src.connection()));
}

/// A target that holds a Gatehouse database with rows, or another application's table, is
/// refused naming `to` (exit 2), and left exactly as it was.
#[test]
fn a_non_empty_target_is_refused_naming_to_and_left_unchanged() {
    let Some(server) = pg_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut src, _) = seeded_file(dir.path());

    let url = fresh_pg_url(&server);
    {
        let mut other = Database::open(&url).unwrap();
        orgs::init(&mut other, "Zeta", "zed@zeta.test", "Zed Zeta", PW, T0).unwrap();
    }
    let before = (rows(&Connection::postgres(&url).unwrap(), "audit_events"), table_count(&url));
    let err = migrate_to_postgres(&mut src, &url, T0 + 10, &mut no_progress()).err().unwrap();
    assert_eq!(err.field(), Some("to"), "{err:?}");
    assert_eq!(err.code().exit_code(), 2);
    assert!(err.to_string().contains("not empty"), "{err}");
    let c = Connection::postgres(&url).unwrap();
    assert_eq!((rows(&c, "audit_events"), table_count(&url)), before);
    assert_eq!(rows(&c, "organizations"), 1, "the target's own organization only");

    let url = fresh_pg_url(&server);
    Connection::postgres(&url)
        .unwrap()
        .execute_batch("CREATE TABLE invoices (n int); INSERT INTO invoices VALUES (1)")
        .unwrap();
    let err = migrate_to_postgres(&mut src, &url, T0 + 10, &mut no_progress()).err().unwrap();
    assert_eq!(err.field(), Some("to"), "{err:?}");
    assert!(err.to_string().contains("invoices"), "the message names the table: {err}");
    assert_eq!(table_count(&url), 1, "only the other application's table");
}

/// A chain edited in the SQLite file is found before anything is written: `conflict`
/// `chain_broken` naming the organization, and the target has not even the schema.
#[test]
fn a_tampered_source_chain_is_refused_and_nothing_is_written() {
    let Some(server) = pg_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut src, _) = seeded_file(dir.path());
    src.sqlite_connection()
        .unwrap()
        .execute_batch(
            "UPDATE audit_events SET details = '{}' WHERE seq = (SELECT min(seq) FROM audit_events
               WHERE organization_id = (SELECT id FROM organizations WHERE slug = 'acme') AND action <> 'org.created')",
        )
        .unwrap();
    let url = fresh_pg_url(&server);
    let err = migrate_to_postgres(&mut src, &url, T0 + 10, &mut no_progress()).err().unwrap();
    assert_eq!(err.conflict_reason(), Some(ConflictReason::ChainBroken), "{err:?}");
    assert!(err.to_string().contains("acme") && err.to_string().contains("SQLite"), "{err}");
    assert_eq!(table_count(&url), 0, "a refused migrate left tables behind");
}

/// The server goes away in the middle of the copy (its session is ended from outside, as a restart
/// or a network cut would): `unavailable`, and the target holds nothing, not even the schema.
#[test]
fn the_server_gone_mid_migrate_leaves_the_target_empty() {
    let Some(server) = pg_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut src, o) = seeded_file(dir.path());
    demo::demo(&mut src, &o, "big", 20_000, T0 + 8).unwrap();
    let url = fresh_pg_url(&server);
    let name = url.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();

    // End the copy's session once it has written a good part of the rows.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let killer = {
        let (server, name, done, written) = (server.clone(), name.clone(), done.clone(), written.clone());
        std::thread::spawn(move || {
            let admin = Connection::postgres(&server).unwrap();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if written.load(std::sync::atomic::Ordering::Relaxed) >= 10_000 {
                    if end_writing_sessions(&admin, &name) > 0 {
                        return true;
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            false
        })
    };
    let result = migrate_to_postgres(&mut src, &url, T0 + 10, &mut |p: Progress| {
        written.store(p.done, std::sync::atomic::Ordering::Relaxed);
        // Give the other thread its moment between pages.
        std::thread::sleep(std::time::Duration::from_millis(2));
    });
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(killer.join().unwrap(), "the copy ended before its session could be ended");
    let err = result.err().expect("a migrate whose session was ended succeeded");
    assert_eq!(err.code(), ErrorCode::Unavailable, "{err:?}");
    assert_eq!(table_count(&url), 0, "part of the migrate was kept");

    // The same migrate, run again, completes.
    let report = migrate_to_postgres(&mut src, &url, T0 + 11, &mut no_progress()).unwrap();
    assert_eq!(report.copied.organizations, 3);
}

/// `backup FILE` from PostgreSQL writes a SQLite file of this binary's schema version, owner-only,
/// with every chain intact, that opens as a Gatehouse database and answers as the server does,
/// and that `restore` accepts onto a SQLite database.
#[test]
fn backup_from_postgres_writes_a_sqlite_file_that_restore_accepts() {
    let Some(server) = pg_url() else { return };
    let mut pg = Database::open(fresh_pg_url(&server)).unwrap();
    let o = seed(&mut pg);
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    pg.backup_to(&backup).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names, ["backup.db"], "nothing beside the backup (no -wal, -journal)");

    let mut file = Database::open_existing(&backup).unwrap();
    assert_eq!(file.schema_version().unwrap(), gatehouse_core::db::MIGRATIONS.len() as i64);
    let version: i64 =
        rusqlite::Connection::open(&backup).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, gatehouse_core::db::MIGRATIONS.len() as i64);
    let o_file = sign_in(&mut file, OWNER, PW, T0 + 10).unwrap();
    let o = sign_in(&mut pg, OWNER, PW, T0 + 10).unwrap_or(o);
    assert_same(answers(&mut file, &o_file, T0 + 11), answers(&mut pg, &o, T0 + 11));
    drop(file);

    // `restore` accepts it (every check of rule 12) onto another database file.
    let mut live = Database::open(dir.path().join("live.db")).unwrap();
    orgs::init(&mut live, "Other", "x@other.test", "Xavier Other", PW, T0).unwrap();
    let staged = restore::stage(&backup, dir.path(), OWNER, PW, T0 + 20).unwrap();
    let done = restore::apply(&mut live, staged).unwrap();
    assert_eq!(done.organizations, ["acme", "beta"]);
    let o_live = sign_in(&mut live, OWNER, PW, T0 + 21).unwrap();
    assert!(audit::verify(&mut live, &o_live, ORG, T0 + 21).unwrap().ok);
}

/// A backup never overwrites: an existing file is refused (`conflict` `already_exists`) on
/// PostgreSQL as on SQLite, and left as it was.
#[test]
fn backup_from_postgres_refuses_an_existing_file() {
    let Some(server) = pg_url() else { return };
    let mut pg = Database::open(fresh_pg_url(&server)).unwrap();
    seed(&mut pg);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("taken.db");
    std::fs::write(&dest, b"mine").unwrap();
    let err = pg.backup_to(&dest).err().unwrap();
    assert_eq!(err.conflict_reason(), Some(ConflictReason::AlreadyExists), "{err:?}");
    assert_eq!(std::fs::read(&dest).unwrap(), b"mine");
}

/// A backup from PostgreSQL of a server whose chain was edited is refused, and leaves no file.
#[test]
fn backup_from_postgres_with_a_broken_chain_leaves_no_file() {
    let Some(server) = pg_url() else { return };
    let mut pg = Database::open(fresh_pg_url(&server)).unwrap();
    seed(&mut pg);
    pg.connection().execute_batch("UPDATE audit_events SET actor = 'someone else' WHERE seq = 2").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("b.db");
    let err = pg.backup_to(&dest).err().unwrap();
    assert_eq!(err.conflict_reason(), Some(ConflictReason::ChainBroken), "{err:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "a refused backup left a file");
}

/// `migrate` copies from a SQLite file only.
#[test]
fn migrate_from_postgres_is_refused_naming_db() {
    let Some(server) = pg_url() else { return };
    let mut pg = Database::open(fresh_pg_url(&server)).unwrap();
    let err = migrate_to_postgres(&mut pg, &fresh_pg_url(&server), T0, &mut no_progress()).err().unwrap();
    assert_eq!(err.field(), Some("db"), "{err:?}");
}
