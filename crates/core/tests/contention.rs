//! Several connections on one database file (issue 9, "under contention"): reads and sign-in never
//! wait for a writer, bookkeeping writes are rare and never waited for, a writer waits with a
//! notice and gives up as `unavailable`, expiries a read could not record are recorded by the next
//! write first (rule 9), and a schema upgrade reports its progress.

use gatehouse_core::auth::{authenticate_token, sign_in};
use gatehouse_core::db::{Notice, OpenOptions, WaitReason, MIGRATIONS};
use gatehouse_core::store::{accounts, service_accounts};
use gatehouse_core::usecases::{audit, check, members, orgs, service_accounts as sa, workspaces};
use gatehouse_core::{Database, Error, ErrorCode, Principal};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

mod common;
use common::*;

/// A database file with organization "acme" owned by Olivia (signed in at T0).
fn file_world() -> (TempDir, PathBuf, Database, Principal) {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("gatehouse.db");
    let mut db = Database::open(&path).unwrap();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    (dir, path, db, o)
}

/// Another process's long write: the write lock taken and held, with a change in flight.
fn hold_write_lock(path: &Path) -> rusqlite::Connection {
    let holder = rusqlite::Connection::open(path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE; UPDATE organizations SET name = name;").unwrap();
    holder
}

fn open_waiting(path: &Path, lock_wait: Duration, notices: Option<Arc<Mutex<Vec<Notice>>>>) -> Database {
    let observer = notices
        .map(|seen| Arc::new(move |n: &Notice| seen.lock().unwrap().push(n.clone())) as gatehouse_core::db::Observer);
    Database::open_with(path, OpenOptions { create: false, lock_wait, observer }).unwrap()
}

#[test]
fn reads_and_sign_ins_answer_while_another_process_holds_the_write_lock() {
    let (_dir, path, mut db, o) = file_world();
    let m = add(&mut db, &o, "m@acme.test", "member", Some(T0 + 10), T0);
    let token = sa::create(&mut db, &o, ORG, "reader", "member", None, T0).unwrap().token;
    drop((db, m));

    let _holder = hold_write_lock(&path);
    // Any wait for the lock would take the whole minute.
    let mut db = open_waiting(&path, Duration::from_secs(60), None);
    let started = Instant::now();
    let later = T0 + 3_600; // last login and last use are stale: bookkeeping would want a write
    let o = sign_in(&mut db, OWNER, PW, later).unwrap();
    let bot = authenticate_token(&mut db, &token, later).unwrap();
    assert!(check::check(&mut db, &bot, ORG, OWNER, "org.view", None, later).unwrap().allowed);
    assert!(check::check(&mut db, &o, ORG, "m@acme.test", "org.view", None, later).is_ok());
    assert!(members::list(&mut db, &o, ORG, &members::MemberQuery::default(), later).is_ok());
    // m's access expired at T0+10 and is not recorded yet: the sweep of a read does not wait.
    assert_eq!(audit::try_record_expiries(&mut db, later).unwrap(), None);
    assert!(started.elapsed() < Duration::from_secs(10), "reads waited {:?}", started.elapsed());

    // A writer waits up to its bound, then fails `unavailable` naming the file.
    let mut writer = open_waiting(&path, Duration::from_millis(500), None);
    let started = Instant::now();
    let e = workspaces::create(&mut writer, &o, ORG, "Ops", later).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unavailable, "{e}");
    assert!(e.to_string().contains(&path.display().to_string()) && e.to_string().contains("write lock"), "{e}");
    assert!(started.elapsed() >= Duration::from_millis(450), "gave up after {:?}", started.elapsed());
    // A wrong password must be counted, so it waits too, and says so the same way.
    let e = sign_in(&mut writer, OWNER, "wrong password", later).unwrap_err();
    assert!(matches!(e, Error::Unavailable(_)), "{e:?}");
}

#[test]
fn expiries_a_read_skipped_are_recorded_by_the_next_write_before_its_change() {
    let (_dir, path, mut db, o) = file_world();
    add(&mut db, &o, "m@acme.test", "member", Some(T0 + 10), T0);
    let holder = hold_write_lock(&path);
    assert_eq!(audit::try_record_expiries(&mut db, T0 + 20).unwrap(), None);
    // Rights never depend on the record: m is already refused.
    assert!(!check::check(&mut db, &o, ORG, "m@acme.test", "org.view", None, T0 + 20).unwrap().allowed);
    drop(holder);

    workspaces::create(&mut db, &o, ORG, "Ops", T0 + 30).unwrap();
    let events = events(&mut db, &o, T0 + 31);
    let expired = events.iter().position(|e| e.action == "access.expired").expect("access.expired recorded");
    let created = events.iter().position(|e| e.action == "workspaces.created").unwrap();
    assert!(events[expired].seq < events[created].seq, "{events:?}");
    assert_eq!(events[expired].at, gatehouse_core::time::rfc3339(T0 + 10));
    assert_eq!(audit::record_expiries(&mut db, T0 + 31).unwrap(), 0);
    assert!(audit::verify(&mut db, &o, ORG, T0 + 31).unwrap().ok);
}

/// Every `check --as` used to write `last_login_at`, and every `check` by token `last_used_at`:
/// a durable write per call. They now move only by more than a minute.
#[test]
fn last_login_and_last_use_are_written_at_most_once_a_minute() {
    let (mut db, o) = world();
    let last_login = |db: &mut Database| accounts::by_email(db.connection(), OWNER).unwrap().unwrap().last_login_at;
    assert_eq!(last_login(&mut db), Some(T0));
    let writes = db.sqlite_connection().unwrap().total_changes();
    sign_in(&mut db, OWNER, PW, T0 + 30).unwrap();
    assert_eq!(db.sqlite_connection().unwrap().total_changes(), writes, "a sign-in within the minute wrote something");
    assert_eq!(last_login(&mut db), Some(T0));
    sign_in(&mut db, OWNER, PW, T0 + 61).unwrap();
    assert_eq!(last_login(&mut db), Some(T0 + 61));

    let token = sa::create(&mut db, &o, ORG, "bot", "member", None, T0).unwrap().token;
    let last_use = |db: &mut Database| {
        service_accounts::by_token_hash(db.connection(), &gatehouse_core::auth::token_hash(&token))
            .unwrap()
            .unwrap()
            .last_used_at
    };
    authenticate_token(&mut db, &token, T0 + 100).unwrap();
    assert_eq!(last_use(&mut db), Some(T0 + 100));
    let writes = db.sqlite_connection().unwrap().total_changes();
    authenticate_token(&mut db, &token, T0 + 130).unwrap();
    assert_eq!(
        db.sqlite_connection().unwrap().total_changes(),
        writes,
        "a token use within the minute wrote something"
    );
    authenticate_token(&mut db, &token, T0 + 161).unwrap();
    assert_eq!(last_use(&mut db), Some(T0 + 161));
}

/// A failure after earlier failures still counts, and a success clears them (those are writes
/// that must happen, outside the argon2 run).
#[test]
fn failures_are_counted_and_cleared_outside_the_hash() {
    let (mut db, _o) = world();
    for _ in 0..3 {
        assert_eq!(code(sign_in(&mut db, OWNER, "wrong password", T0 + 1)), ErrorCode::Unauthenticated);
    }
    assert_eq!(accounts::attempts(db.connection(), OWNER).unwrap().0, 3);
    sign_in(&mut db, OWNER, PW, T0 + 2).unwrap();
    assert_eq!(accounts::attempts(db.connection(), OWNER).unwrap(), (0, None));
    for _ in 0..5 {
        let _ = sign_in(&mut db, OWNER, "wrong password", T0 + 3);
    }
    let e = sign_in(&mut db, OWNER, PW, T0 + 4).unwrap_err();
    assert!(e.to_string().contains("locked"), "{e}");
}

#[test]
fn a_writer_that_waits_tells_the_observer_why() {
    let (_dir, path, db, o) = file_world();
    drop(db);
    let notices = Arc::new(Mutex::new(Vec::new()));
    let mut db = open_waiting(&path, Duration::from_secs(20), Some(notices.clone()));
    let holder = hold_write_lock(&path);
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        holder.execute_batch("COMMIT").unwrap();
    });
    workspaces::create(&mut db, &o, ORG, "Ops", T0 + 1).unwrap();
    release.join().unwrap();
    assert_eq!(
        *notices.lock().unwrap(),
        vec![Notice::Waiting { reason: WaitReason::Write, bound: Duration::from_secs(20) }, Notice::DoneWaiting]
    );
}

/// A database of an older schema: the upgrade reports its steps; a process that opens the file
/// while another holds the lock waits and says it is for an upgrade.
#[test]
fn an_upgrade_reports_its_progress_and_others_wait_for_it() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("old.db");
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch("PRAGMA journal_mode = WAL").unwrap();
        for (i, (_, sql)) in MIGRATIONS.iter().enumerate().take(MIGRATIONS.len() - 1) {
            old.execute_batch(sql).unwrap();
            old.pragma_update(None, "user_version", (i + 1) as i64).unwrap();
        }
    }
    let from = MIGRATIONS.len() as i64 - 1;
    let to = MIGRATIONS.len() as i64;

    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        holder.execute_batch("COMMIT").unwrap();
    });
    let notices = Arc::new(Mutex::new(Vec::new()));
    let db = open_waiting(&path, Duration::from_secs(20), Some(notices.clone()));
    release.join().unwrap();
    assert_eq!(db.schema_version().unwrap(), to);
    let seen = notices.lock().unwrap().clone();
    assert_eq!(seen[0], Notice::Waiting { reason: WaitReason::Upgrade, bound: Duration::from_secs(20) }, "{seen:?}");
    assert_eq!(seen[1], Notice::DoneWaiting, "{seen:?}");
    assert_eq!(seen[2], Notice::Upgrading { from, to }, "{seen:?}");
    assert_eq!(seen[3], Notice::UpgradeStep { step: 1, steps: 1, name: MIGRATIONS[MIGRATIONS.len() - 1].0 });
    assert!(matches!(seen.last(), Some(Notice::Upgraded { from: f, to: t, .. }) if *f == from && *t == to), "{seen:?}");
    assert!(seen[4..seen.len() - 1].iter().all(|n| matches!(n, Notice::StillUpgrading { .. })), "{seen:?}");

    // A new database is created, not "upgraded": nothing to announce.
    let notices = Arc::new(Mutex::new(Vec::new()));
    let observer = {
        let seen = notices.clone();
        Arc::new(move |n: &Notice| seen.lock().unwrap().push(n.clone())) as gatehouse_core::db::Observer
    };
    Database::open_with(
        dir.path().join("new.db"),
        OpenOptions { create: true, observer: Some(observer), ..OpenOptions::default() },
    )
    .unwrap();
    assert_eq!(*notices.lock().unwrap(), vec![]);
}
