//! Black-box tests of `gatehouse migrate --to postgres://…` and of `backup` from PostgreSQL
//! (issue 12), through the built binary as a script runs it. The ones that need a server run when
//! `$GATEHOUSE_TEST_PG` names one (`scripts/pg start`); the refusals of a bad `--to` run anywhere.

use serde_json::Value;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

mod common;
use common::*;

fn pg_server() -> Option<String> {
    std::env::var("GATEHOUSE_TEST_PG").ok().filter(|s| !s.trim().is_empty())
}

/// A SQLite file (always a file, whatever `$GATEHOUSE_TEST_PG` says) with Acme owned by Ada, an
/// admin, a member with an expiry, a disabled member, a custom role, a pending and a rejected
/// invitation, a service account and a refused attempt.
fn seeded_file() -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("gatehouse.db");
    let (code, _, err) = gh(&db, None, PW, &["init", "--org", "Acme", "--email", OWNER, "--name", "Ada Lovelace"]);
    assert_eq!(code, 0, "init: {err}");
    let invite = |emails: &str, role: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec!["invites", "create", "--org", ORG, "--emails", emails, "--role", role];
        args.extend_from_slice(extra);
        ok(&db, &args)["invitations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["token"].as_str().unwrap().to_string())
            .collect()
    };
    let accept = |token: &str, name: &str| {
        let (code, _, err) = gh(&db, None, PW, &["invites", "accept", token, "--name", name]);
        assert_eq!(code, 0, "accept: {err}");
    };
    let admins = invite("bob@x.io", "admin", &[]);
    accept(&admins[0], "Bob Jones");
    let members = invite("carl@y.io, dora@z.io", "member", &["--access-expires", "90d"]);
    accept(&members[0], "Carl Young");
    accept(&members[1], "Dora Zed");
    ok(&db, &["members", "disable", "--org", ORG, "dora@z.io"]);
    ok(&db, &["permissions", "create", "--org", ORG, "billing.access"]);
    ok(&db, &["roles", "create", "--org", ORG, "Billing", "--permissions", "org.view,billing.access"]);
    ok(&db, &["members", "role", "--org", ORG, "carl@y.io", "Billing"]);
    invite("eve@x.io", "member", &[]);
    let rejected = invite("rex@x.io", "member", &[]);
    let (code, _, _) = gh(&db, None, PW, &["invites", "reject", &rejected[0]]);
    assert_eq!(code, 0);
    ok(&db, &["service-accounts", "create", "--org", ORG, "ci", "--role", "member"]);
    // A refusal: Carl (Billing) may not invite; the attempt is audited.
    let (code, _, _) =
        gh(&db, Some("carl@y.io"), PW, &["invites", "create", "--org", ORG, "--emails", "z@z.io", "--role", "member"]);
    assert_eq!(code, 4);
    (dir, db)
}

/// What a script sees of a database: the member list in two sorts, `check` for every person and a
/// few permissions, `audit verify`.
fn answers(db: &Path) -> Value {
    let mut out = serde_json::Map::new();
    for sort in ["email", "name"] {
        out.insert(format!("members by {sort}"), ok(db, &["members", "list", "--org", ORG, "--sort", sort]));
    }
    for user in [OWNER, "bob@x.io", "carl@y.io", "dora@z.io", "eve@x.io"] {
        for permission in ["org.view", "members.manage", "billing.access"] {
            let answer = ok(db, &["check", "--org", ORG, "--user", user, "--permission", permission]);
            out.insert(format!("check {user} {permission}"), answer);
        }
    }
    out.insert("audit verify".into(), ok(db, &["audit", "verify", "--org", ORG]));
    out.into()
}

fn table_count(url: &str) -> i64 {
    let c = gatehouse_core::sql::Connection::postgres(url).unwrap();
    c.query_row("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn migrate_to_something_other_than_a_postgres_url_exits_2_naming_to() {
    let (_dir, db) = seeded_file();
    for bad in ["/tmp/elsewhere.db", "postgres://gh@127.0.0.1:notaport/x"] {
        let args = ["migrate", "--to", bad];
        let (code, out, err) = gh(&db, None, PW, &args);
        contract_error(&args, (code, out, err.clone()), 2, "invalid_input");
        assert_eq!(err["error"]["field"], "to", "{err}");
    }
    let args = ["migrate", "--to", "postgres://gh@127.0.0.1:1/x?connect_timeout=5"];
    let msg = contract_error(&args, gh(&db, None, PW, &args), 7, "unavailable");
    assert!(msg.contains("127.0.0.1:1"), "the message names the server: {msg}");
}

/// Without --json, migrate says what it copied in words: one organization is singular (it printed
/// "1 organizations").
#[test]
fn migrate_in_words_says_1_organization() {
    let Some(server) = pg_server() else { return };
    let (_dir, db) = seeded_file();
    let url = fresh_pg_url(&server);
    let (code, text, err) = gh_text(&db, OWNER, &["migrate", "--to", &url]);
    assert!(code == 0, "{text} {err}");
    assert!(text.contains(": 1 organization, 4 accounts, 4 memberships, "), "{text}");
}

/// A seeded SQLite database migrated: the JSON reply counts what was copied, and then `check`,
/// `members list` and `audit verify` with `--db URL` answer exactly as they do on the file. A
/// `backup` from the server is a file that answers the same, and that `restore` accepts.
#[test]
fn migrated_database_answers_as_the_sqlite_file_and_backs_up_to_a_file_restore_accepts() {
    let Some(server) = pg_server() else { return };
    let (dir, db) = seeded_file();
    let url = fresh_pg_url(&server);
    let report = ok(&db, &["migrate", "--to", &url]);
    assert_eq!(
        keys(&report),
        set(&["migrated_to", "tables", "organizations", "accounts", "memberships", "audit_events", "chains_verified"])
    );
    assert_eq!(report["organizations"], 1);
    assert_eq!(report["accounts"], 4);
    assert_eq!(report["memberships"], 4);
    assert!(!report["migrated_to"].as_str().unwrap().contains("postgres://"), "{report}");
    let target = PathBuf::from(&url);
    let on_sqlite = answers(&db);
    assert_eq!(answers(&target), on_sqlite);
    assert_eq!(on_sqlite["audit verify"]["ok"], true);
    assert_eq!(on_sqlite["check carl@y.io billing.access"]["allowed"], true);

    // The server's system chain records the migration: which file, by which database role, and
    // what came over; it verifies. The file's own system chain has no such event.
    let migrated = |db: &Path| -> Vec<Value> {
        let list = ok(db, &["audit", "list", "--system", "--action", "database.migrated"]);
        list["items"].as_array().unwrap_or_else(|| panic!("{list}")).clone()
    };
    let events = migrated(&target);
    assert_eq!(events.len(), 1, "{events:?}");
    let file = std::fs::canonicalize(&db).unwrap().display().to_string();
    assert_eq!(
        (events[0]["actor"].as_str(), events[0]["target"].as_str()),
        (Some("gh"), Some(file.as_str())),
        "{events:?}"
    );
    assert_eq!(events[0]["details"]["organizations"], 1, "{events:?}");
    assert_eq!(events[0]["details"]["audit_events"], report["audit_events"], "{events:?}");
    assert_eq!(ok(&target, &["audit", "verify", "--system"])["ok"], true);
    assert!(migrated(&db).is_empty());

    // The server keeps working: a new member, a chain that grows and verifies.
    let tokens = ok(&target, &["invites", "create", "--org", ORG, "--emails", "new@x.io", "--role", "member"]);
    let token = tokens["invitations"][0]["token"].as_str().unwrap();
    let (code, _, err) = gh(&target, None, PW, &["invites", "accept", token, "--name", "New Person"]);
    assert_eq!(code, 0, "{err}");
    let verified = ok(&target, &["audit", "verify", "--org", ORG]);
    assert!(verified["events"].as_i64() > on_sqlite["audit verify"]["events"].as_i64(), "{verified}");

    // backup FILE from PostgreSQL: a SQLite file that answers as the server does.
    let backup = dir.path().join("from-postgres.db");
    ok(&target, &["backup", backup.to_str().unwrap()]);
    assert_eq!(answers(&backup), answers(&target));
    // … and that `restore` accepts (an owner of every organization in it, with its password).
    let live = dir.path().join("live.db");
    let (code, _, err) = gh(&live, None, PW, &["init", "--org", "Other", "--email", "o@o.io", "--name", "O Other"]);
    assert_eq!(code, 0, "{err}");
    let restored = ok(&live, &["restore", backup.to_str().unwrap()]);
    assert_eq!(restored["organizations"], serde_json::json!([ORG]));
    assert_eq!(ok(&live, &["audit", "verify", "--org", ORG])["ok"], true);
}

/// A target that already holds a Gatehouse database is refused, exit 2 naming `to`, and keeps
/// exactly what it had.
#[test]
fn migrate_into_a_non_empty_target_exits_2_naming_to_and_changes_nothing() {
    let Some(server) = pg_server() else { return };
    let (_dir, db) = seeded_file();
    let url = fresh_pg_url(&server);
    ok(&db, &["migrate", "--to", &url]);
    let target = PathBuf::from(&url);
    let before = answers(&target);
    ok(&db, &["invites", "create", "--org", ORG, "--emails", "late@x.io", "--role", "member"]);
    let args = ["migrate", "--to", url.as_str()];
    let (code, out, err) = gh(&db, None, PW, &args);
    let msg = contract_error(&args, (code, out, err.clone()), 2, "invalid_input");
    assert_eq!(err["error"]["field"], "to", "{err}");
    assert!(msg.contains("not empty"), "{msg}");
    assert_eq!(answers(&target), before, "a refused migrate changed the target");
}

/// An audit event edited in the SQLite file: migrate exits 6 `conflict` and the target has not
/// even the schema.
#[test]
fn migrate_of_a_tampered_chain_exits_6_and_writes_nothing() {
    let Some(server) = pg_server() else { return };
    let (_dir, db) = seeded_file();
    let edited = rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE audit_events SET target = 'someone else' WHERE seq = (SELECT min(seq) + 3 FROM audit_events)",
            [],
        )
        .unwrap();
    assert_eq!(edited, 1);
    let url = fresh_pg_url(&server);
    let args = ["migrate", "--to", url.as_str()];
    let msg = contract_error(&args, gh(&db, None, PW, &args), 6, "conflict");
    assert!(msg.contains("acme"), "{msg}");
    assert_eq!(table_count(&url), 0, "a refused migrate wrote to the target");
}

/// A target database the connecting role may not create tables in (PostgreSQL 15 gives CREATE on
/// schema public to the database's owner only): exit 7 `unavailable` saying so and how to fix it,
/// nothing written. It was exit 1 `internal`, "a bug".
#[test]
fn migrate_as_a_role_that_may_not_create_tables_exits_7_saying_why() {
    let Some(server) = pg_server() else { return };
    let (_dir, db) = seeded_file();
    let url = fresh_pg_url(&server);
    let role = format!("gh_c_guest_{}", std::process::id());
    let admin = gatehouse_core::sql::Connection::postgres(&server).unwrap();
    admin.execute_batch(&format!("CREATE ROLE {role} LOGIN")).unwrap();
    let as_guest = url.replacen("gh@", &format!("{role}@"), 1);
    assert_ne!(as_guest, url);
    let args = ["migrate", "--to", as_guest.as_str()];
    let msg = contract_error(&args, gh(&db, None, PW, &args), 7, "unavailable");
    assert!(msg.contains("permission denied for schema public") && msg.contains("createdb -O"), "{msg}");
    assert_eq!(table_count(&url), 0, "a refused migrate wrote to the target");
    admin.execute_batch(&format!("DROP ROLE {role}")).unwrap();
}
