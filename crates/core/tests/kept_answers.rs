//! `check` keeps its answers per `Database` (SQLite; `answers.rs`) and gives one back only while
//! the file and the time are as they were: a commit by any connection or process, or the time
//! reaching an expiry or a grant's start of the person asked or of the caller, is seen by the very
//! next check. Each test first shows the answer *is* reused (so it could go stale), then changes
//! something and asks again.

mod common;

use common::*;
use gatehouse_core::auth::sign_in;
use gatehouse_core::usecases::check::check;
use gatehouse_core::usecases::members::{self, Selection};
use gatehouse_core::usecases::orgs;
use gatehouse_core::Database;

fn file_world() -> (tempfile::TempDir, std::path::PathBuf, Database, gatehouse_core::Principal) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let mut db = Database::open(&path).unwrap();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    (dir, path, db, o)
}

/// Ask twice at `now`: the second answer must come from the kept ones.
fn ask_twice(db: &mut Database, who: &gatehouse_core::Principal, user: &str, permission: &str, now: i64) -> bool {
    let first = check(db, who, ORG, user, permission, None, now).unwrap();
    let before = db.check_answers_reused();
    let second = check(db, who, ORG, user, permission, None, now).unwrap();
    assert_eq!(db.check_answers_reused(), before + 1, "the second ask reuses the first answer");
    assert_eq!(first, second);
    first.allowed
}

#[test]
fn a_change_through_another_connection_is_seen_by_the_very_next_check() {
    let (_dir, path, mut db, o) = file_world();
    add(&mut db, &o, "m@acme.test", "admin", None, T0);
    assert!(ask_twice(&mut db, &o, "m@acme.test", "members.invite", T0 + 1));

    // Another Database on the file (another connection, as another process would be) demotes m.
    let mut other = Database::open_existing(&path).unwrap();
    let o2 = sign_in(&mut other, OWNER, PW, T0 + 1).unwrap();
    members::set_role(&mut other, &o2, ORG, "m@acme.test", "member", T0 + 1).unwrap();
    let answer = check(&mut db, &o, ORG, "m@acme.test", "members.invite", None, T0 + 1).unwrap();
    assert!(!answer.allowed, "{answer:?}");

    // A plain SQL write by yet another connection, bypassing Gatehouse, is seen the same way.
    assert!(!ask_twice(&mut db, &o, "m@acme.test", "members.invite", T0 + 1));
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE access_grants SET role_id = (SELECT id FROM roles WHERE name = 'admin')
         WHERE membership_id = (SELECT m.id FROM memberships m JOIN accounts a ON a.id = m.account_id
                                WHERE a.email_norm = 'm@acme.test')",
        [],
    )
    .unwrap();
    drop(raw);
    assert!(check(&mut db, &o, ORG, "m@acme.test", "members.invite", None, T0 + 1).unwrap().allowed);

    // And a change through this very Database.
    assert!(ask_twice(&mut db, &o, "m@acme.test", "org.view", T0 + 2));
    members::set_enabled(&mut db, &o, ORG, &Selection::Emails(vec!["m@acme.test".into()]), false, T0 + 2).unwrap();
    let answer = check(&mut db, &o, ORG, "m@acme.test", "org.view", None, T0 + 2).unwrap();
    assert_eq!(answer.reason, "membership disabled");
}

#[test]
fn crossing_an_expiry_with_no_write_flips_the_answer() {
    let (_dir, _path, mut db, o) = file_world();
    add(&mut db, &o, "m@acme.test", "member", Some(T0 + 100), T0);
    assert!(ask_twice(&mut db, &o, "m@acme.test", "org.view", T0 + 99));
    let answer = check(&mut db, &o, ORG, "m@acme.test", "org.view", None, T0 + 100).unwrap();
    assert!(!answer.allowed, "{answer:?}");
    assert!(answer.reason.starts_with("access expired at"), "{answer:?}");
    // An earlier moment is computed afresh too, not served from a later one.
    assert!(check(&mut db, &o, ORG, "m@acme.test", "org.view", None, T0 + 50).unwrap().allowed);
}

#[test]
fn the_callers_own_expiry_ends_the_kept_answers_too() {
    let (_dir, _path, mut db, o) = file_world();
    // An admin whose access ends at T0 + 100 asks about someone with no expiry.
    let a = add(&mut db, &o, "a@acme.test", "admin", Some(T0 + 100), T0);
    add(&mut db, &o, "m@acme.test", "member", None, T0);
    assert!(ask_twice(&mut db, &a, "m@acme.test", "org.view", T0 + 10));
    // Past it the admin may not ask at all: a refusal (audited), not the kept answer.
    let refused = check(&mut db, &a, ORG, "m@acme.test", "org.view", None, T0 + 100);
    assert_eq!(code(refused), gatehouse_core::ErrorCode::Forbidden);
}

/// `fresh_db`: in memory on SQLite; with $GATEHOUSE_TEST_PG, PostgreSQL, where nothing is kept.
#[test]
fn an_in_memory_database_sees_its_own_writes_and_postgresql_keeps_nothing() {
    let (mut db, o) = world();
    add(&mut db, &o, "m@acme.test", "admin", None, T0);
    if on_postgres() {
        for _ in 0..3 {
            assert!(check(&mut db, &o, ORG, "m@acme.test", "members.invite", None, T0 + 1).unwrap().allowed);
        }
        assert_eq!(db.check_answers_reused(), 0);
    } else {
        assert!(ask_twice(&mut db, &o, "m@acme.test", "members.invite", T0 + 1));
    }
    members::set_role(&mut db, &o, ORG, "m@acme.test", "member", T0 + 1).unwrap();
    assert!(!check(&mut db, &o, ORG, "m@acme.test", "members.invite", None, T0 + 1).unwrap().allowed);
}

/// The attack a review found: a caller who may ask (any member with org.view, any service account)
/// asks about a 1 MiB permission that names nothing, each time a different one. The deny was kept
/// with the whole question as its key, so 4,096 of them held ~4 GiB per connection (measured
/// 49 → 322 MB for 300). Such a question is answered every time and never kept; an ordinary
/// unknown permission still is.
#[test]
fn an_oversized_question_is_answered_and_not_kept() {
    let (_dir, _path, mut db, o) = file_world();
    add(&mut db, &o, "m@acme.test", "member", None, T0);
    assert!(!ask_twice(&mut db, &o, "m@acme.test", "no.such.permission", T0 + 1));
    let huge = "p".repeat(1 << 20);
    for _ in 0..2 {
        let before = db.check_answers_reused();
        let answer = check(&mut db, &o, ORG, "m@acme.test", &huge, None, T0 + 1).unwrap();
        assert!(!answer.allowed, "{answer:?}");
        assert!(answer.reason.len() < 200, "the reason shortens what was asked: {} bytes", answer.reason.len());
        assert_eq!(db.check_answers_reused(), before, "an oversized question is never kept");
    }
    // The person asked is bounded before anything is read (an email is at most 254 characters).
    let huge_person = format!("{}@acme.test", "m".repeat(4096));
    let refused = check(&mut db, &o, ORG, &huge_person, "org.view", None, T0 + 1);
    assert_eq!(code(refused), gatehouse_core::ErrorCode::InvalidInput);
}

/// What the injected commit needs from inside SQLite's progress callback.
struct Inject {
    /// Callbacks so far, and the one at which to commit (0: never, only count).
    calls: u64,
    at: u64,
    other: rusqlite::Connection,
}

extern "C" fn inject(data: *mut std::ffi::c_void) -> std::ffi::c_int {
    // SAFETY: `data` is the `Inject` of `a_commit_at_any_step_of_a_check_is_seen_whole_or_not_at_all`,
    // alive while the handler is set; the callback runs on that test's thread, inside its check.
    let state = unsafe { &mut *(data as *mut Inject) };
    state.calls += 1;
    if state.calls == state.at {
        // Both memberships, in one transaction of another connection.
        state
            .other
            .execute_batch(
                "UPDATE memberships SET enabled = 0 WHERE enabled = 1 AND id IN
             (SELECT m.id FROM memberships m JOIN accounts a ON a.id = m.account_id
              WHERE a.email_norm IN ('a@acme.test', 'm@acme.test'))",
            )
            .unwrap();
    }
    0
}

/// `check` reads with one statement and no transaction around it (`Database::read_one`): SQLite
/// holds one read snapshot from that statement's first step to its end, so a commit made by
/// another connection at any moment of a check is seen whole or not at all. Here the commit
/// disables both the caller (an admin) and the person asked, from SQLite's progress callback
/// after every single VM step of the check in turn (the probe of the data version included).
/// Before it: allowed. After it: the caller is refused. A mix (the caller's rights from before,
/// the person from after) would answer "membership disabled"; two statements in autocommit
/// would give that mix for a commit between them.
#[test]
fn a_commit_at_any_step_of_a_check_is_seen_whole_or_not_at_all() {
    let (_dir, path, mut db, o) = file_world();
    let a = add(&mut db, &o, "a@acme.test", "admin", None, T0);
    add(&mut db, &o, "m@acme.test", "member", None, T0);
    let other = rusqlite::Connection::open(&path).unwrap();
    other.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let mut state = Box::new(Inject { calls: 0, at: 0, other });
    // SAFETY: only handed to sqlite3_progress_handler, while `db` lives.
    let handle = unsafe { db.sqlite_connection().unwrap().handle() };
    let set = |state: &mut Inject| unsafe {
        // SAFETY: the handle is `db`'s, alive for the whole test; the handler is removed below.
        rusqlite::ffi::sqlite3_progress_handler(handle, 1, Some(inject), state as *mut Inject as *mut _)
    };
    let unset = || unsafe { rusqlite::ffi::sqlite3_progress_handler(handle, 0, None, std::ptr::null_mut()) };
    // How many steps a check takes (answers kept, as by default: the probe, then the question).
    db.keep_check_answers(true);
    set(&mut state);
    assert!(check(&mut db, &a, ORG, "m@acme.test", "org.view", None, T0 + 1).unwrap().allowed);
    unset();
    let steps = state.calls;
    assert!(steps > 20, "a check takes {steps} steps");
    let (mut before, mut after) = (0, 0);
    for at in 1..=steps + 1 {
        // Nothing kept: each check computes its answer.
        db.keep_check_answers(true);
        let now = T0 + 2;
        state.calls = 0;
        state.at = at;
        set(&mut state);
        let answer = check(&mut db, &a, ORG, "m@acme.test", "org.view", None, now);
        unset();
        match answer {
            Ok(answer) => {
                assert!(answer.allowed, "commit at step {at} of {steps}: a mixed answer {answer:?}");
                before += 1;
            }
            Err(e) => {
                assert_eq!(e.code(), gatehouse_core::ErrorCode::Forbidden, "step {at}: {e:?}");
                after += 1;
            }
        }
        state.other.execute_batch("UPDATE memberships SET enabled = 1 WHERE enabled = 0").unwrap();
    }
    // The commit landed both before the snapshot and inside it (or after the check's end).
    assert!(before > 0 && after > 0, "{before} answers from before the commit, {after} after");
}
