//! Helpers of the core integration tests: an in-memory database with organization "acme" owned by
//! Olivia, people added through real invitations, and error matchers.
#![allow(dead_code)]

use gatehouse_core::auth::sign_in;
use gatehouse_core::usecases::audit::{self, AuditEventView, AuditQuery};
use gatehouse_core::usecases::invitations::{self, Acceptor, Invitee};
use gatehouse_core::usecases::orgs;
use gatehouse_core::{Database, Error, ErrorCode, Principal, Result};

/// The moment every test starts at (time is a parameter of the core).
pub const T0: i64 = 1_800_000_000;
pub const PW: &str = "correct horse battery";
pub const ORG: &str = "acme";
pub const OWNER: &str = "owner@acme.test";

/// The PostgreSQL server the suites run on instead of SQLite, when `$GATEHOUSE_TEST_PG` names one
/// (`export GATEHOUSE_TEST_PG=$(scripts/pg start)`).
pub fn pg_url() -> Option<String> {
    std::env::var("GATEHOUSE_TEST_PG").ok().filter(|s| !s.trim().is_empty())
}

/// A fresh, empty Gatehouse database: in memory on SQLite, or, when `$GATEHOUSE_TEST_PG` is set, a
/// database of its own on that server (`gh_t_PID_N`). One test body, two stores. The databases of
/// test processes that have ended are dropped when the next one is made (nextest runs each test
/// in a process of its own, and a `Database` has no hook at exit).
pub fn fresh_db() -> Database {
    match pg_url() {
        None => Database::open_in_memory().unwrap(),
        Some(url) => Database::open(fresh_pg_url(&url)).unwrap(),
    }
}

/// The URL of a new, empty database on the server at `url`.
pub fn fresh_pg_url(url: &str) -> String {
    use gatehouse_core::sql::Connection;
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = Connection::postgres(url).unwrap();
    let names: Vec<String> = admin
        .prepare("SELECT datname FROM pg_database WHERE datname LIKE 'gh\\_t\\_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<gatehouse_core::sql::Result<_>>()
        .unwrap();
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| p != std::process::id() && !std::path::Path::new(&format!("/proc/{p}")).exists()) {
            let _ = admin.execute_batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
    let name = format!("gh_t_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    admin.execute_batch(&format!("CREATE DATABASE {name}")).unwrap();
    let (base, _) = url.split_once('?').unwrap_or((url, ""));
    let server = base.rsplit_once('/').map(|(s, _)| s).unwrap_or(base);
    match url.split_once('?') {
        Some((_, query)) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// Whether the suites run on PostgreSQL (`$GATEHOUSE_TEST_PG`).
pub fn on_postgres() -> bool {
    pg_url().is_some()
}

/// The tables of the store (SQLite's own and the schema's bookkeeping left out), by name.
pub fn tables(db: &Database) -> Vec<String> {
    let sql = if on_postgres() {
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name <> 'gatehouse_schema' ORDER BY 1"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    };
    db.connection()
        .prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<gatehouse_core::sql::Result<_>>()
        .unwrap()
}

pub fn world() -> (Database, Principal) {
    let mut db = fresh_db();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    (db, o)
}

/// Invite, accept with a new account, sign in.
pub fn add(db: &mut Database, who: &Principal, email: &str, role: &str, expires: Option<i64>, now: i64) -> Principal {
    let invitee = Invitee { email: email.into(), role: role.into(), access_expires_at: expires, workspace: None };
    let token = invitations::create(db, who, ORG, &[invitee], None, now).unwrap().invitations.remove(0).token;
    invitations::accept(db, &token, Acceptor::NewAccount { full_name: "Test Person", password: PW }, now).unwrap();
    sign_in(db, email, PW, now).unwrap()
}

#[track_caller]
pub fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
    match r {
        Err(e) => e.code(),
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
    }
}

#[track_caller]
pub fn invalid_field<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(Error::InvalidInput { field, .. }) => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

pub fn events(db: &mut Database, who: &Principal, now: i64) -> Vec<AuditEventView> {
    audit::list(db, who, ORG, &AuditQuery::default(), now).unwrap()
}

/// Ends (`pg_terminate_backend`) every session of database `name` that is inside a writing
/// transaction, as a server going away mid-command would; how many were ended.
pub fn end_writing_sessions(admin: &gatehouse_core::sql::Connection, name: &str) -> i64 {
    admin
        .query_row(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = ?1 AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
            [&name],
            |r| r.get(0),
        )
        .unwrap()
}

/// The text of every statement `body` starts on the SQLite connection, in order: its own `BEGIN`
/// and `COMMIT`, what `execute_batch` prepares and runs once, and what triggers run (SQLite reports
/// those with a leading `--`). SQLite's statement trace; removed before this returns.
pub fn statements_started(db: &mut Database, body: impl FnOnce(&mut Database)) -> Vec<String> {
    static STARTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    unsafe extern "C" fn on_trace(
        _kind: std::os::raw::c_uint,
        _ctx: *mut std::os::raw::c_void,
        _stmt: *mut std::os::raw::c_void,
        sql: *mut std::os::raw::c_void,
    ) -> std::os::raw::c_int {
        // SAFETY: for SQLITE_TRACE_STMT the last argument is the statement's text, NUL-terminated.
        let text = unsafe { std::ffi::CStr::from_ptr(sql as *const std::os::raw::c_char) }.to_string_lossy();
        STARTED.lock().unwrap().push(text.into_owned());
        0
    }
    STARTED.lock().unwrap().clear();
    // SAFETY: the handle stays valid while `db` lives; the callback only records, and is removed
    // before this returns.
    let handle = unsafe { db.sqlite_connection().unwrap().handle() };
    unsafe {
        rusqlite::ffi::sqlite3_trace_v2(
            handle,
            rusqlite::ffi::SQLITE_TRACE_STMT as u32,
            Some(on_trace),
            std::ptr::null_mut(),
        );
    }
    body(db);
    unsafe { rusqlite::ffi::sqlite3_trace_v2(handle, 0, None, std::ptr::null_mut()) };
    std::mem::take(&mut *STARTED.lock().unwrap())
}
