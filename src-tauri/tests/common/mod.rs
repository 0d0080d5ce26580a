//! Helpers of the black-box CLI tests: run the built `gatehouse` with a database, an identity and
//! `--json`, and check results against the CLI contract (PRODUCT.md §3).
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

pub const PW: &str = "correct-horse-battery";
pub const OWNER: &str = "ada@acme.io";
pub const ORG: &str = "acme";

pub fn parse(b: &[u8]) -> Value {
    let s = String::from_utf8_lossy(b);
    if s.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&s).unwrap_or_else(|_| Value::String(s.into_owned()))
    }
}

/// Run `gatehouse --db DB --json [--as EMAIL] ARGS` with GATEHOUSE_PASSWORD=password.
/// Returns (exit code, stdout as JSON, stderr as JSON).
pub fn gh(db: &Path, as_email: Option<&str>, password: &str, args: &[&str]) -> (i32, Value, Value) {
    let mut cmd = Command::cargo_bin("gatehouse").unwrap();
    cmd.env_remove("GATEHOUSE_TOKEN").env_remove("GATEHOUSE_DB").env("GATEHOUSE_PASSWORD", password);
    cmd.arg("--db").arg(db).arg("--json");
    if let Some(e) = as_email {
        cmd.arg("--as").arg(e);
    }
    cmd.args(args);
    let out = cmd.output().unwrap();
    (out.status.code().unwrap_or(-1), parse(&out.stdout), parse(&out.stderr))
}

/// Run `gatehouse --db DB --json ARGS` as a service account: GATEHOUSE_TOKEN=token, no --as.
pub fn gh_token(db: &Path, token: &str, args: &[&str]) -> (i32, Value, Value) {
    let out = Command::cargo_bin("gatehouse")
        .unwrap()
        .env_remove("GATEHOUSE_PASSWORD")
        .env_remove("GATEHOUSE_DB")
        .env("GATEHOUSE_TOKEN", token)
        .arg("--db")
        .arg(db)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), parse(&out.stdout), parse(&out.stderr))
}

/// A command run as `as_email` without --json (for text and CSV output): exit code, stdout, stderr.
pub fn gh_text(db: &Path, as_email: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("gatehouse")
        .unwrap()
        .env_remove("GATEHOUSE_TOKEN")
        .env_remove("GATEHOUSE_DB")
        .env("GATEHOUSE_PASSWORD", PW)
        .arg("--db")
        .arg(db)
        .arg("--as")
        .arg(as_email)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The raw stdout of a command run as `as_email`, without --json (for text and CSV output).
pub fn gh_raw(db: &Path, as_email: &str, args: &[&str]) -> (i32, String) {
    let (code, out, _) = gh_text(db, as_email, args);
    (code, out)
}

/// Acting as the owner.
pub fn ok(db: &Path, args: &[&str]) -> Value {
    ok_as(db, OWNER, args)
}

pub fn ok_as(db: &Path, who: &str, args: &[&str]) -> Value {
    let (code, out, err) = gh(db, Some(who), PW, args);
    assert_eq!(code, 0, "{args:?} as {who} failed: {err}");
    out
}

/// Check an error against the contract: exit code, `{"error":{"code","message"}}`; returns the message.
#[track_caller]
pub fn contract_error(args: &[&str], got: (i32, Value, Value), exit: i32, code: &str) -> String {
    let (c, out, err) = got;
    assert_eq!(c, exit, "{args:?}: expected exit {exit}, got {c}; stdout {out}; stderr {err}");
    assert_eq!(err["error"]["code"], code, "{args:?}: {err}");
    let msg = err["error"]["message"].as_str().unwrap_or_else(|| panic!("no message in {err}")).to_string();
    assert!(!msg.is_empty());
    msg
}

#[track_caller]
pub fn fails(db: &Path, who: Option<&str>, args: &[&str], exit: i32, code: &str) -> String {
    contract_error(args, gh(db, who, PW, args), exit, code)
}

#[track_caller]
pub fn token_fails(db: &Path, token: &str, args: &[&str], exit: i32, code: &str) -> String {
    contract_error(args, gh_token(db, token, args), exit, code)
}

/// A fresh database with organization "Acme" (slug acme) owned by Ada: a file in a temporary
/// folder, or, when `$GATEHOUSE_TEST_PG` names a PostgreSQL server, a new database of its own on
/// that server (its URL as the "path" `--db` takes).
pub fn setup() -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let db = match std::env::var("GATEHOUSE_TEST_PG").ok().filter(|s| !s.trim().is_empty()) {
        Some(server) => PathBuf::from(fresh_pg_url(&server)),
        None => dir.path().join("gatehouse.db"),
    };
    let (code, _, err) = gh(&db, None, PW, &["init", "--org", "Acme", "--email", OWNER, "--name", "Ada Lovelace"]);
    assert_eq!(code, 0, "init: {err}");
    (dir, db)
}

pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect()
}

pub fn set(ks: &[&str]) -> BTreeSet<String> {
    ks.iter().map(|s| s.to_string()).collect()
}

pub fn is_rfc3339_utc(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok() && s.ends_with('Z')
}

/// The URL of a new, empty database (`gh_c_PID_N`) on the server at `url`. Those of test
/// processes that have ended are dropped when the next one is made.
pub fn fresh_pg_url(url: &str) -> String {
    use gatehouse_core::sql::Connection;
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = Connection::postgres(url).unwrap();
    let names: Vec<String> = admin
        .prepare("SELECT datname FROM pg_database WHERE datname LIKE 'gh\\_c\\_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<gatehouse_core::sql::Result<_>>()
        .unwrap();
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| p != std::process::id() && !Path::new(&format!("/proc/{p}")).exists()) {
            let _ = admin.execute_batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
    let name = format!("gh_c_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    admin.execute_batch(&format!("CREATE DATABASE {name}")).unwrap();
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}
