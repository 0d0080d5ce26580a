//! Black-box tests of rule 12 through the built `gatehouse`: the files it writes (exports and
//! backups: never over an existing path, never through a symbolic link, 0600) and `restore` (who
//! may restore, what a backup must be, a refused restore changes nothing). Issue 8 items 2 and 6,
//! each attack with its exact input.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

const MALLORY: &str = "mallory@x.io";

fn add_member(db: &Path, email: &str, role: &str) {
    let out = ok(db, &["invites", "create", "--org", ORG, "--emails", email, "--role", role]);
    let token = out["invitations"][0]["token"].as_str().unwrap().to_string();
    let (code, _, err) = gh(db, None, PW, &["invites", "accept", &token, "--name", "Test Person"]);
    assert_eq!(code, 0, "accept: {err}");
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every command that writes a file named on the command line.
fn writers(out: &Path) -> Vec<Vec<String>> {
    let out = s(out).to_string();
    [
        vec!["members", "export", "--org", ORG, "--format", "csv", "--out", &out],
        vec!["members", "export", "--org", ORG, "--format", "json", "--out", &out],
        vec!["audit", "export", "--org", ORG, "--format", "csv", "--out", &out],
        vec!["audit", "export", "--org", ORG, "--format", "jsonl", "--out", &out],
        vec!["backup", &out],
    ]
    .into_iter()
    .map(|a| a.into_iter().map(String::from).collect())
    .collect()
}

/// The attack of issue 8: a plain member exported the roster over the database.
#[test]
fn a_member_cannot_overwrite_the_database_with_an_export() {
    let (_dir, db) = setup();
    add_member(&db, MALLORY, "member");
    let roster = || ok(&db, &["members", "list", "--org", ORG])["total"].clone();
    let before = roster();
    let args = ["members", "export", "--org", ORG, "--format", "csv", "--out", s(&db)];
    let msg = contract_error(&args, gh(&db, Some(MALLORY), PW, &args), 6, "conflict");
    assert!(msg.contains(s(&db)), "names the path: {msg}");
    // Still the database, intact (its bytes move with every sign-in, so compare what it holds).
    assert!(std::fs::read(&db).unwrap().starts_with(b"SQLite format 3\0"), "the database was overwritten");
    assert_eq!(roster(), before);
    ok(&db, &["audit", "verify", "--org", ORG]);
}

#[test]
fn exports_and_backups_refuse_existing_files_and_symbolic_links() {
    let (dir, db) = setup();
    let existing = dir.path().join("existing.txt");
    let target = dir.path().join("target.txt");
    std::fs::write(&existing, "keep me").unwrap();
    std::fs::write(&target, "keep me too").unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let nowhere = dir.path().join("nowhere.csv");
    let dangling = dir.path().join("dangling.csv");
    std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();

    for path in [&existing, &link, &dangling] {
        for args in writers(path) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let msg = contract_error(&args, gh(&db, Some(OWNER), PW, &args), 6, "conflict");
            assert!(msg.contains(s(path)), "{args:?} names the path: {msg}");
        }
    }
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me too");
    assert!(!nowhere.exists(), "a dangling link's target was created");
    assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
}

#[test]
fn every_file_written_is_readable_by_its_user_alone() {
    let (dir, db) = setup();
    for (i, args) in writers(&dir.path().join("placeholder")).into_iter().enumerate() {
        let path = dir.path().join(format!("out-{i}"));
        let args: Vec<String> =
            args.into_iter().map(|a| if a.ends_with("placeholder") { s(&path).to_string() } else { a }).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&db, &args);
        assert_eq!(mode(&path), 0o600, "{args:?}");
        assert!(std::fs::metadata(&path).unwrap().len() > 0, "{args:?}");
    }
    // A refused export leaves no file behind.
    add_member(&db, MALLORY, "member");
    let out = dir.path().join("refused.csv");
    fails(&db, Some(MALLORY), &["audit", "export", "--org", ORG, "--format", "csv", "--out", s(&out)], 4, "forbidden");
    assert!(!out.exists());
}

// ---------------------------------------------------------------------------------------------
// restore

fn backup(db: &Path, name: &str) -> std::path::PathBuf {
    let path = db.with_file_name(name);
    ok(db, &["backup", s(&path)]);
    path
}

fn tamper(path: &Path, sql: &str) {
    rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap();
}

/// What a refused restore must leave as it was: the file's rows (read through the CLI) and the
/// folder's names (no kept copy, no staged copy).
fn snapshot(db: &Path) -> (Value, Vec<String>) {
    let mut members = ok(db, &["members", "list", "--org", ORG, "--per-page", "500"]);
    for m in members["items"].as_array_mut().unwrap() {
        m.as_object_mut().unwrap().remove("last_login_at");
    }
    let mut names: Vec<String> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let audit = ok(db, &["audit", "verify", "--org", ORG]);
    (serde_json::json!({"members": members, "audit": audit}), names)
}

#[track_caller]
fn restore_refused(db: &Path, who: &str, file: &Path, exit: i32, code: &str) -> String {
    let before = snapshot(db);
    let msg = fails(db, Some(who), &["restore", s(file)], exit, code);
    assert_eq!(snapshot(db), before, "a refused restore changed something: {msg}");
    msg
}

#[test]
fn restore_takes_only_a_sound_backup_from_an_owner_in_it_and_records_it() {
    let (dir, db) = setup();
    add_member(&db, MALLORY, "member");
    let good = backup(&db, "good.db");

    // Zero owners.
    let no_owner = backup(&db, "no-owner.db");
    tamper(&no_owner, "DELETE FROM access_grants WHERE role_id IN (SELECT id FROM roles WHERE is_owner = 1)");
    let msg = restore_refused(&db, OWNER, &no_owner, 6, "conflict");
    assert!(msg.contains("no lasting owner"), "{msg}");

    // The attacker as sole owner: the owner of the live database is no owner there.
    let planted = backup(&db, "planted.db");
    tamper(
        &planted,
        &format!(
            "UPDATE access_grants SET membership_id = (SELECT m.id FROM memberships m JOIN accounts a
               ON a.id = m.account_id WHERE a.email_norm = '{MALLORY}')
             WHERE role_id IN (SELECT id FROM roles WHERE is_owner = 1)"
        ),
    );
    restore_refused(&db, OWNER, &planted, 4, "forbidden");
    // A plain member of a genuine backup, with the right password.
    restore_refused(&db, MALLORY, &good, 4, "forbidden");
    // A wrong password, and no person at all (a token cannot restore).
    let before = snapshot(&db);
    let (code, _, err) = gh(&db, Some(OWNER), "wrong password", &["restore", s(&good)]);
    assert_eq!((code, err["error"]["code"].as_str()), (3, Some("unauthenticated")), "{err}");
    let (code, _, err) = gh_token(&db, "ghs_whatever", &["restore", s(&good)]);
    assert_eq!((code, err["error"]["code"].as_str()), (3, Some("unauthenticated")), "{err}");
    assert_eq!(snapshot(&db), before);

    // A trigger that silently undoes `members disable`.
    let undo = backup(&db, "undo.db");
    tamper(
        &undo,
        "CREATE TRIGGER undo_disable AFTER UPDATE OF enabled ON memberships WHEN NEW.enabled = 0
         BEGIN UPDATE memberships SET enabled = 1 WHERE id = NEW.id; END;",
    );
    let msg = restore_refused(&db, OWNER, &undo, 2, "invalid_input");
    assert!(msg.contains("undo_disable"), "{msg}");

    // A stub with one table, and a file that is not a Gatehouse database.
    let stub = dir.path().join("stub.db");
    tamper(&stub, "CREATE TABLE audit_events (x); PRAGMA user_version = 3;");
    restore_refused(&db, OWNER, &stub, 2, "invalid_input");
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "not a database at all\n".repeat(200)).unwrap();
    restore_refused(&db, OWNER, &text, 2, "invalid_input");
    // Every command still works after all that.
    ok(&db, &["members", "list", "--org", ORG]);

    // The genuine backup, by its owner: restored, and recorded in the chain.
    ok(&db, &["members", "disable", "--org", ORG, MALLORY]);
    let r = ok(&db, &["restore", s(&good)]);
    assert_eq!(r["organizations"], serde_json::json!([ORG]), "{r}");
    assert_eq!(r["restored_by"], OWNER, "{r}");
    let kept = Path::new(r["previous_kept_at"].as_str().unwrap()).to_path_buf();
    assert_eq!(mode(&kept), 0o600);
    let last = &ok(&db, &["audit", "list", "--org", ORG, "--action", "database"])["items"][0];
    assert_eq!((last["action"].as_str(), last["actor"].as_str()), (Some("database.restored"), Some(OWNER)), "{last}");
    ok(&db, &["audit", "verify", "--org", ORG]);
    // Mallory is enabled again, as in the backup.
    ok_as(&db, MALLORY, &["orgs", "list"]);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("restoring"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

/// A reader that stops reading (`gatehouse … | head`) is not a failure: every command that prints
/// to standard output ends as it would have, silently, instead of panicking ("failed printing to
/// stdout: Broken pipe", exit 101, seen with `audit list --json | head -c 10`) or calling the
/// closed pipe an error (exports: exit 7 from CSV, exit 1 `internal` from JSON). The read end is
/// closed before the command starts, so every write it makes finds the pipe broken.
#[test]
fn a_reader_that_stops_reading_is_not_a_failure() {
    let (_dir, db) = setup();
    for args in [
        vec!["members", "list", "--org", ORG],
        vec!["--json", "members", "list", "--org", ORG],
        vec!["--json", "audit", "list", "--org", ORG],
        vec!["review", "--org", ORG, "--format", "csv"],
        vec!["review", "--org", ORG, "--format", "json"],
        vec!["members", "export", "--org", ORG, "--format", "csv"],
        vec!["members", "export", "--org", ORG, "--format", "json"],
        vec!["audit", "export", "--org", ORG, "--format", "jsonl"],
    ] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("gatehouse"))
            .env_remove("GATEHOUSE_TOKEN")
            .env_remove("GATEHOUSE_DB")
            .env("GATEHOUSE_PASSWORD", PW)
            .arg("--db")
            .arg(&db)
            .arg("--as")
            .arg(OWNER)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} wrote to stderr: {err}");
    }
}
