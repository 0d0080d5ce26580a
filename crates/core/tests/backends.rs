//! `Database` on a `postgres://` URL (issue 12): what opening one does, on any machine (an
//! unreachable server, a URL that does not parse) and, when `$GATEHOUSE_TEST_PG` names a server, on
//! a fresh database of that server.

use gatehouse_core::auth::sign_in;
use gatehouse_core::catalogue::ORG_VIEW;
use gatehouse_core::db::OpenOptions;
use gatehouse_core::sql::Backend;
use gatehouse_core::usecases::check::check;
use gatehouse_core::usecases::{members, orgs};
use gatehouse_core::{Database, Error, ErrorCode};

mod common;
use common::*;

#[test]
fn an_unreachable_server_is_unavailable_exit_7() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let err = Database::open_existing("postgres://gh@127.0.0.1:1/gatehouse?connect_timeout=5").err().unwrap();
    assert_eq!(err.code(), ErrorCode::Unavailable, "{err:?}");
    assert_eq!(err.code().exit_code(), 7);
    assert!(err.to_string().contains("127.0.0.1:1"), "the message names the server: {err}");
}

#[test]
fn a_url_that_does_not_parse_names_the_db_field() {
    let err = Database::open_existing("postgres://gh@127.0.0.1:notaport/gatehouse").err().unwrap();
    match err {
        Error::InvalidInput { field, .. } => assert_eq!(field, "db"),
        other => panic!("expected invalid input on db, got {other:?}"),
    }
}

#[test]
fn an_empty_postgres_database_is_not_found_unless_created_and_nothing_is_made_in_it() {
    let Some(server) = pg_url() else { return };
    let url = fresh_pg_url(&server);
    let err = Database::open_existing(&url).err().unwrap();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err:?}");
    assert!(err.to_string().contains("gatehouse init"), "{err}");
    let admin = gatehouse_core::sql::Connection::postgres(&url).unwrap();
    let tables: i64 = admin
        .query_row("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0, "a refused open created tables");
    // `init` (create) makes the schema, once: a second open finds it at the current version.
    let db = Database::open_with(&url, OpenOptions { create: true, ..OpenOptions::default() }).unwrap();
    assert_eq!(db.backend(), Backend::Postgres);
    assert_eq!(db.schema_version().unwrap(), gatehouse_core::sql::PG_MIGRATIONS.len() as i64);
    drop(db);
    let again = Database::open_existing(&url).unwrap();
    assert_eq!(again.schema_version().unwrap(), gatehouse_core::sql::PG_MIGRATIONS.len() as i64);
}

#[test]
fn two_processes_on_one_server_see_each_others_writes() {
    let Some(server) = pg_url() else { return };
    let url = fresh_pg_url(&server);
    let mut a = Database::open(&url).unwrap();
    orgs::init(&mut a, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut a, OWNER, PW, T0).unwrap();
    let mut b = Database::open_existing(&url).unwrap();
    let ob = sign_in(&mut b, OWNER, PW, T0).unwrap();
    add(&mut a, &o, "m@acme.test", "member", None, T0);
    assert!(check(&mut b, &ob, ORG, "m@acme.test", ORG_VIEW, None, T0).unwrap().allowed);
    let page = members::list(&mut b, &ob, ORG, &members::MemberQuery::default(), T0).unwrap();
    assert_eq!(page.total, 2);
    members::remove(&mut b, &ob, ORG, "m@acme.test", T0).unwrap();
    assert!(!check(&mut a, &o, ORG, "m@acme.test", ORG_VIEW, None, T0).unwrap().allowed);
}

/// The roster's counters follow statements, not rows (migration postgres/0002): 0001's row
/// triggers updated the same counter rows once per roster row, and `demo` of 100k members took
/// 402 s. A demo's counters still equal a count of its roster rows (the roster suite compares them
/// after every kind of change).
#[test]
fn the_rosters_counters_follow_statements_not_rows() {
    let Some(server) = pg_url() else { return };
    let mut db = Database::open(fresh_pg_url(&server)).unwrap();
    let row_level: Vec<String> = db
        .connection()
        .prepare(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'roster'::regclass AND NOT tgisinternal
               AND tgtype & 1 = 1 ORDER BY 1",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<gatehouse_core::sql::Result<_>>()
        .unwrap();
    assert!(row_level.is_empty(), "row triggers on roster: {row_level:?}");
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    gatehouse_core::usecases::demo::demo(&mut db, &o, "demo", 300, T0).unwrap();
    let differing: i64 = db
        .connection()
        .query_row(
            "SELECT count(*) FROM (SELECT org, roles_key, cls, count(*) AS n FROM roster GROUP BY 1, 2, 3) r
             FULL JOIN (SELECT * FROM roster_counts WHERE n <> 0) c USING (org, roles_key, cls)
             WHERE r.n IS DISTINCT FROM c.n",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(differing, 0, "counters that differ from the roster");
}

/// `restore` replaces a SQLite file; onto PostgreSQL it is refused naming `db`, pointing at
/// `migrate --to` (which loads a backup into an empty server), and the server is left as it was.
/// (`backup` from PostgreSQL works: `tests/transfer.rs`.)
#[test]
fn restore_onto_postgres_is_refused_naming_db() {
    use gatehouse_core::usecases::restore;
    let Some(server) = pg_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("b.db");
    {
        let mut file = Database::open(dir.path().join("g.db")).unwrap();
        orgs::init(&mut file, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
        file.backup_to(&backup).unwrap();
    }
    let mut db = Database::open(fresh_pg_url(&server)).unwrap();
    orgs::init(&mut db, "Zeta", "zed@zeta.test", "Zed Zeta", PW, T0).unwrap();
    let staged = restore::stage(&backup, dir.path(), OWNER, PW, T0 + 1).unwrap();
    match restore::apply(&mut db, staged) {
        Err(Error::InvalidInput { field, message }) => {
            assert_eq!(field, "db");
            assert!(message.contains("migrate --to"), "{message}");
        }
        other => panic!("expected invalid input on db, got {other:?}"),
    }
    let orgs: i64 = db.connection().query_row("SELECT count(*) FROM organizations", [], |r| r.get(0)).unwrap();
    assert_eq!(orgs, 1, "the server was changed by a refused restore");
}

/// The server goes away in the middle of a bulk invite (its session is ended from outside, as a
/// restart or a network cut would): the command fails `unavailable` (exit 7), none of its
/// invitations is kept, and the next command on the same `Database` reconnects and works.
#[test]
fn the_server_gone_mid_bulk_invite_leaves_nothing_and_the_next_command_works() {
    use gatehouse_core::usecases::invitations::{self, Invitee};
    let Some(server) = pg_url() else { return };
    let url = fresh_pg_url(&server);
    let name = url.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    let mut db = Database::open(&url).unwrap();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    let invitations_now = |url: &str| -> i64 {
        let c = gatehouse_core::sql::Connection::postgres(url).unwrap();
        c.query_row("SELECT count(*) FROM invitations", [], |r| r.get(0)).unwrap()
    };
    let invitees: Vec<Invitee> = (0..5_000)
        .map(|i| Invitee {
            email: format!("p{i}@acme.test"),
            role: "member".into(),
            access_expires_at: None,
            workspace: None,
        })
        .collect();

    // Watch for the bulk's transaction to have written, then end its session.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let (server, name, done) = (server.clone(), name.clone(), done.clone());
        std::thread::spawn(move || {
            let admin = gatehouse_core::sql::Connection::postgres(&server).unwrap();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if end_writing_sessions(&admin, &name) > 0 {
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            false
        })
    };
    let result = invitations::create(&mut db, &o, ORG, &invitees, None, T0 + 1);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let ended = killer.join().unwrap();
    assert!(ended, "the bulk invite finished before its session could be ended (result {:?})", result.is_ok());
    let err = result.err().expect("a bulk invite whose session was ended succeeded");
    assert_eq!(err.code(), ErrorCode::Unavailable, "{err:?}");
    assert_eq!(err.code().exit_code(), 7);
    assert_eq!(invitations_now(&url), 0, "part of the bulk invite was kept");

    // The next command reconnects and works.
    let again = invitations::create(&mut db, &o, ORG, &invitees[..3], None, T0 + 2).unwrap();
    assert_eq!(again.invitations.len(), 3);
    assert_eq!(invitations_now(&url), 3);
}

/// The server ends a session while it sits idle (a restart, `pg_terminate_backend`, an idle
/// timeout, a proxy): the client learns it only at its next statement. Nothing of the next
/// command had run then, so it connects anew and runs: neither a read nor a write fails, and a
/// long-lived `Database` (the service's pool, the desktop app) never hands out a broken session.
#[test]
fn a_session_ended_while_idle_is_replaced_and_the_next_command_works() {
    let Some(server) = pg_url() else {
        eprintln!("skipped: set GATEHOUSE_TEST_PG to a PostgreSQL server (scripts/pg start) to run this test");
        return;
    };
    let url = fresh_pg_url(&server);
    let name = url.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    let mut db = Database::open(&url).unwrap();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    let admin = gatehouse_core::sql::Connection::postgres(&server).unwrap();
    let end_sessions = || -> i64 {
        admin
            .query_row(
                // With a timeout, pg_terminate_backend waits until the session has ended.
                "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity
                 WHERE datname = ?1 AND pid <> pg_backend_pid()",
                [&name],
                |r| r.get(0),
            )
            .unwrap()
    };
    let before = db_pid(&db);
    assert_eq!(end_sessions(), 1, "the test's one session was not found");
    // A read first (check), then a write (an invitation), each after its session was ended.
    assert!(check(&mut db, &o, ORG, OWNER, ORG_VIEW, None, T0).unwrap().allowed);
    assert_ne!(db_pid(&db), before, "the read ran on the ended session");
    assert_eq!(end_sessions(), 1);
    add(&mut db, &o, "m@acme.test", "member", None, T0 + 1);
    assert!(check(&mut db, &o, ORG, "m@acme.test", ORG_VIEW, None, T0 + 1).unwrap().allowed);
}

/// The server process id of the session a `Database` holds.
fn db_pid(db: &Database) -> i64 {
    db.connection().query_row("SELECT pg_backend_pid()", [], |r| r.get::<_, i64>(0)).unwrap()
}
