//! Transactions of the facade: writers one at a time (the last two owners demoting each other
//! leave one), retries of serialization failures and deadlocks, a lost server mid-transaction, and
//! migrations applied once.

use crate::engines::{engines, postgres, Engine, Schema};
use gatehouse_core::sql::{params, Connection, ErrorKind};
use gatehouse_core::{Error, ErrorCode};
use std::sync::{Arc, Barrier};
use std::time::Duration;

const T0: i64 = 1_800_000_000;

/// The count of `store::rights::lasting_owners`, as raw SQL.
const LASTING_OWNERS: &str = "SELECT count(DISTINCT m.id) FROM memberships m
     JOIN access_grants g ON g.membership_id = m.id AND g.workspace_id IS NULL
     JOIN roles r ON r.id = g.role_id AND r.is_owner = 1
     WHERE m.organization_id = ?1 AND m.enabled = 1 AND m.access_expires_at IS NULL
       AND (g.valid_from IS NULL OR g.valid_from <= ?2) AND g.expires_at IS NULL";

/// Organization `o` with two owners, `m-a` and `m-b`, and a member role.
fn two_owners(conn: &Connection, round: usize) {
    let o = format!("o{round}");
    conn.execute("INSERT INTO organizations (id, name, slug, created_at) VALUES (?1, ?1, ?1, ?2)", params![o, T0])
        .unwrap();
    for (role, owner) in [("owner", 1), ("member", 0)] {
        conn.execute(
            "INSERT INTO roles (id, organization_id, name, is_owner, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![format!("{o}-{role}"), o, role, owner, T0],
        )
        .unwrap();
    }
    for who in ["a", "b"] {
        let account = format!("{o}-acc-{who}");
        conn.execute(
            "INSERT INTO accounts (id, email, email_norm, given_name, family_name, sort_name, created_at)
             VALUES (?1, ?2, ?2, ?3, '', ?3, ?4)",
            params![account, format!("{who}@{o}.test"), who, T0],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO memberships (id, organization_id, account_id, joined_at) VALUES (?1, ?2, ?3, ?4)",
            params![format!("{o}-m-{who}"), o, account, T0],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO access_grants (id, organization_id, membership_id, role_id, granted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![format!("{o}-g-{who}"), o, format!("{o}-m-{who}"), format!("{o}-owner"), T0],
        )
        .unwrap();
    }
}

/// In one transaction: if at least two lasting owners are left, demote `target` to member (after a
/// pause that lets the other writer read the same count, if it can).
fn demote(tx: &Connection, o: &str, target: &str) -> gatehouse_core::Result<bool> {
    let owners: i64 = tx.prepare_cached(LASTING_OWNERS)?.query_row(params![o, T0], |r| r.get(0))?;
    if owners < 2 {
        return Ok(false);
    }
    std::thread::sleep(Duration::from_millis(60));
    tx.execute("DELETE FROM access_grants WHERE membership_id = ?1 AND workspace_id IS NULL", [target])?;
    tx.execute(
        "INSERT INTO access_grants (id, organization_id, membership_id, role_id, granted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![format!("{target}-demoted"), o, target, format!("{o}-member"), T0],
    )?;
    Ok(true)
}

/// Two writers on two connections, each demoting the other owner, `rounds` times; the owners left.
fn race(e: &Engine, rounds: usize, locked: bool) -> Vec<i64> {
    let setup = e.open();
    let mut left = Vec::new();
    for round in 0..rounds {
        two_owners(&setup, round);
        let o = format!("o{round}");
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = [("a", "b"), ("b", "a")]
            .into_iter()
            .map(|(_, target)| {
                let conn = e.open();
                let (o, target, barrier) = (o.clone(), format!("{o}-m-{target}"), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    if locked {
                        conn.write(|tx| demote(tx, &o, &target)).unwrap()
                    } else {
                        // What a write transaction without the lock would do.
                        conn.execute_batch("BEGIN ISOLATION LEVEL READ COMMITTED").unwrap();
                        let done = demote(&conn, &o, &target).unwrap();
                        conn.execute_batch("COMMIT").unwrap();
                        done
                    }
                })
            })
            .collect();
        let demoted: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let owners: i64 = setup.query_row(LASTING_OWNERS, params![o, T0], |r| r.get(0)).unwrap();
        assert_eq!(demoted.iter().filter(|d| **d).count() as i64, 2 - owners);
        left.push(owners);
    }
    left
}

#[test]
fn two_writers_demoting_the_last_two_owners_leave_one() {
    for e in engines(Schema::Gatehouse) {
        assert_eq!(race(&e, 5, true), vec![1; 5], "{}", e.name());
    }
}

/// The test above has teeth: on PostgreSQL, without the write lock, both demotions pass.
#[test]
fn without_the_write_lock_two_writers_leave_no_owner() {
    let Some(e) = postgres(Schema::Gatehouse) else { return };
    let left = race(&e, 3, false);
    assert!(left.contains(&0), "READ COMMITTED alone should let both pass at least once: {left:?}");
}

const COUNTER: Schema = Schema::Script {
    sqlite: "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
             INSERT INTO counter VALUES (1, 0), (2, 0);",
    postgres: "CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL);
               INSERT INTO counter VALUES (1, 0), (2, 0);",
};

const SERIALIZATION_FAILURE: &str =
    "DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = 'serialization_failure'; END $$";

#[test]
fn serialization_failures_are_retried_and_never_surface() {
    let Some(e) = postgres(COUNTER) else { return };
    let conn = e.open();
    let mut attempts = 0;
    let result: gatehouse_core::Result<i64> = conn.write(|tx| {
        attempts += 1;
        tx.execute("UPDATE counter SET n = n + 1 WHERE id = 1", [])?;
        if attempts == 1 {
            tx.execute_batch(SERIALIZATION_FAILURE)?;
        }
        Ok(tx.query_row("SELECT n FROM counter WHERE id = 1", [], |r| r.get(0))?)
    });
    assert_eq!(result.unwrap(), 1, "the first attempt's update was rolled back");
    assert_eq!(attempts, 2);

    // Failing every time: a bounded number of attempts, then "unavailable", never the raw error.
    let mut attempts = 0;
    let err = conn
        .write(|tx| -> gatehouse_core::Result<()> {
            attempts += 1;
            tx.execute_batch(SERIALIZATION_FAILURE)?;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(attempts, gatehouse_core::sql::ATTEMPTS);
    assert_eq!(err.code(), ErrorCode::Unavailable, "{err}");
    assert!(!err.to_string().contains("40001"), "{err}");
    let n: i64 = conn.query_row("SELECT n FROM counter WHERE id = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
}

/// A real deadlock (two transactions that lock two rows in opposite orders, outside the write
/// lock) is recognised as one to retry.
#[test]
fn a_deadlock_is_an_error_to_retry() {
    let Some(e) = postgres(COUNTER) else { return };
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = [(1, 2), (2, 1)]
        .into_iter()
        .map(|(first, second)| {
            let conn = e.open();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                conn.execute_batch("BEGIN; SET LOCAL deadlock_timeout = '50ms'").unwrap();
                conn.execute("UPDATE counter SET n = n + 1 WHERE id = ?1", [first]).unwrap();
                barrier.wait();
                let result = conn.execute("UPDATE counter SET n = n + 1 WHERE id = ?1", [second]).map(|_| ());
                let kind = result.as_ref().err().map(|e| e.kind());
                if result.is_ok() {
                    conn.execute_batch("COMMIT").unwrap();
                } else {
                    conn.execute_batch("ROLLBACK").unwrap();
                }
                kind
            })
        })
        .collect();
    let kinds: Vec<Option<ErrorKind>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(kinds.contains(&Some(ErrorKind::Retry)), "{kinds:?}");
    assert!(kinds.contains(&None), "{kinds:?}");
}

/// The server ends the connection in the middle of a write (as a restart or a failover does): the
/// command fails as "unavailable", nothing of it is kept, and the next one reconnects and works.
#[test]
fn a_connection_lost_mid_transaction_is_unavailable_and_leaves_nothing() {
    let Some(e) = postgres(COUNTER) else { return };
    let conn = e.open();
    let admin = e.open();
    let pid: i64 = conn.query_row("SELECT pg_backend_pid()", [], |r| r.get(0)).unwrap();
    let err = conn
        .write(|tx| -> gatehouse_core::Result<()> {
            tx.execute("UPDATE counter SET n = 100 WHERE id = 1", [])?;
            admin.query_row("SELECT pg_terminate_backend(?1::int)", [pid], |r| r.get::<_, bool>(0))?;
            tx.execute("UPDATE counter SET n = 100 WHERE id = 2", [])?;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unavailable, "{err}");
    let counts: Vec<i64> = admin
        .prepare("SELECT n FROM counter ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(counts, [0, 0], "nothing of the interrupted transaction is kept");
    conn.write(|tx| tx.execute("UPDATE counter SET n = 7 WHERE id = 1", [])).unwrap();
    let n: i64 = admin.query_row("SELECT n FROM counter WHERE id = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 7);
}

/// The same with the server itself stopped and started again (a cluster of this test's own, made by
/// scripts/pg, so that the shared one keeps serving the other tests).
#[test]
fn the_server_stopped_mid_transaction() {
    if crate::engines::pg_url().is_none() {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg");
    let dir = tempfile::tempdir().unwrap();
    // The server runs as the `postgres` user when the tests run as root: let it reach its directory.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let port = 55_000 + (std::process::id() % 5000) as u16;
    let pg = |what: &str| -> String {
        let out = std::process::Command::new(script)
            .arg(what)
            .env("GATEHOUSE_PG_DIR", dir.path().join("cluster"))
            .env("GATEHOUSE_PG_PORT", port.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "scripts/pg {what}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let url = pg("start");
    struct Stop<F: Fn(&str) -> String>(F);
    impl<F: Fn(&str) -> String> Drop for Stop<F> {
        fn drop(&mut self) {
            (self.0)("stop");
        }
    }
    let _stop = Stop(&pg);
    let conn = Connection::postgres(&url).unwrap();
    conn.execute_batch("CREATE TABLE IF NOT EXISTS counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO counter VALUES (1, 0)")
        .unwrap();
    let err = conn
        .write(|tx| -> gatehouse_core::Result<()> {
            tx.execute("UPDATE counter SET n = 100 WHERE id = 1", [])?;
            pg("stop");
            tx.execute("UPDATE counter SET n = 200 WHERE id = 1", [])?;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unavailable, "{err}");
    // While it is down, every command fails the same way, including opening a connection.
    let err = conn.write(|tx| tx.execute("UPDATE counter SET n = 1", []).map_err(Error::from)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unavailable, "{err}");
    assert_eq!(Error::from(Connection::postgres(&url).err().unwrap()).code(), ErrorCode::Unavailable);
    pg("start");
    let n: i64 = conn.read(|tx| tx.query_row("SELECT n FROM counter WHERE id = 1", [], |r| r.get(0))).unwrap();
    assert_eq!(n, 0, "nothing of the interrupted transaction is kept");
    conn.write(|tx| tx.execute("UPDATE counter SET n = 5 WHERE id = 1", [])).unwrap();
}

#[test]
fn read_transactions_are_read_only_snapshots() {
    for e in engines(COUNTER) {
        let reader = e.open();
        let writer = e.open();
        let (before, after): (i64, i64) = reader
            .read(|tx| {
                let before: i64 = tx.query_row("SELECT n FROM counter WHERE id = 1", [], |r| r.get(0))?;
                writer.write(|w| w.execute("UPDATE counter SET n = 9 WHERE id = 1", []))?;
                let after: i64 = tx.query_row("SELECT n FROM counter WHERE id = 1", [], |r| r.get(0))?;
                Ok::<_, gatehouse_core::sql::Error>((before, after))
            })
            .unwrap();
        assert_eq!((before, after), (0, 0), "{}: one snapshot for the whole read", e.name());
        if e.name() == "postgres" {
            let err = reader.read(|tx| tx.execute("UPDATE counter SET n = 1", [])).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Other, "{err}");
        }
    }
}

#[test]
fn postgres_migrations_apply_once_even_from_two_processes_at_once() {
    let Some(e) = postgres(Schema::Empty) else { return };
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let conn = e.open();
            std::thread::spawn(move || gatehouse_core::sql::migrate_postgres(&conn))
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let conn = e.open();
    gatehouse_core::sql::migrate_postgres(&conn).unwrap();
    let version = gatehouse_core::sql::pg_schema_version(&conn).unwrap();
    assert_eq!(version, gatehouse_core::sql::PG_MIGRATIONS.len() as i64);
    let rows: i64 = conn.query_row("SELECT count(*) FROM gatehouse_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, version);
}
