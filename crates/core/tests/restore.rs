//! Restore (rule 12): only a sound Gatehouse backup, only by an owner of every organization in it
//! (password as it stands in the backup), recorded in each chain; a refused restore changes
//! nothing. Each attack of issue 8 item 2 is a test here, with the exact tampering.

mod common;

use common::*;
use gatehouse_core::auth::sign_in;
use gatehouse_core::usecases::audit::{self, AuditQuery};
use gatehouse_core::usecases::{orgs, restore};
use gatehouse_core::{ConflictReason, Database, Error, ErrorCode, Result};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const BOB: &str = "bob@acme.test";
const MALLORY: &str = "mallory@acme.test";

/// A database file with Acme (owner Olivia, admin Bob, member Mallory), a second organization
/// Beta owned by Olivia, and a backup of it.
struct Setup {
    dir: TempDir,
    live: Database,
    backup: PathBuf,
}

fn setup() -> Setup {
    let dir = TempDir::new().unwrap();
    let mut live = Database::open(dir.path().join("gatehouse.db")).unwrap();
    orgs::init(&mut live, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut live, OWNER, PW, T0).unwrap();
    add(&mut live, &o, BOB, "admin", None, T0);
    add(&mut live, &o, MALLORY, "member", None, T0);
    orgs::create(&mut live, &o, "Beta", None, T0).unwrap();
    let backup = dir.path().join("backup.db");
    live.backup_to(&backup).unwrap();
    Setup { dir, live, backup }
}

/// Change the backup the way an attacker would, with SQL straight on the file.
fn tamper(backup: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(backup).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn restore_as(s: &mut Setup, backup: &Path, email: &str, password: &str) -> Result<restore::Restored> {
    let staged = restore::stage(backup, s.dir.path(), email, password, T0 + 100)?;
    restore::apply(&mut s.live, staged)
}

/// Every row of every table, to show that a refused restore changed nothing.
fn contents(db: &Database) -> String {
    let conn = db.sqlite_connection().unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut out = String::new();
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows: Vec<String> = st
            .query_map([], |r| Ok((0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect::<Vec<_>>().join("|")))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        rows.sort();
        out += &format!("{t}\n{}\n", rows.join("\n"));
    }
    out
}

/// Only the database, its backup and what the test made are in the folder: no staged copy left.
fn no_staged_copy_left(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("restoring"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[track_caller]
fn refused_untouched(s: &mut Setup, backup: &Path, email: &str, password: &str) -> Error {
    let before = contents(&s.live);
    let e = restore_as(s, backup, email, password).expect_err("the restore must be refused");
    assert_eq!(contents(&s.live), before, "a refused restore changed the live database ({e})");
    no_staged_copy_left(s.dir.path());
    e
}

#[test]
fn an_owner_restores_a_sound_backup_and_each_chain_records_it() {
    let mut s = setup();
    let b = s.backup.clone();
    let o = sign_in(&mut s.live, OWNER, PW, T0).unwrap();
    add(&mut s.live, &o, "late@acme.test", "member", None, T0 + 10);

    let done = restore_as(&mut s, &b, OWNER, PW).unwrap();
    assert_eq!(done.organizations, ["acme", "beta"]);
    assert_eq!(done.restored_by, OWNER);
    no_staged_copy_left(s.dir.path());
    // The backup's state: the person who joined after it is gone.
    assert_eq!(code(sign_in(&mut s.live, "late@acme.test", PW, T0 + 200)), ErrorCode::Unauthenticated);
    let o = sign_in(&mut s.live, OWNER, PW, T0 + 200).unwrap();
    for org in ["acme", "beta"] {
        let events = audit::list(&mut s.live, &o, org, &AuditQuery::default(), T0 + 200).unwrap();
        let last = events.iter().max_by_key(|e| e.seq).unwrap();
        assert_eq!(
            (last.action.as_str(), last.actor.as_str(), last.target.as_str()),
            ("database.restored", OWNER, org)
        );
        assert!(audit::verify(&mut s.live, &o, org, T0 + 200).is_ok(), "{org}");
    }
}

#[test]
fn a_backup_with_zero_owners_is_refused() {
    let mut s = setup();
    let b = s.backup.clone();
    tamper(&s.backup, "DELETE FROM access_grants WHERE role_id IN (SELECT id FROM roles WHERE is_owner = 1)");
    let e = refused_untouched(&mut s, &b, OWNER, PW);
    assert_eq!(e.conflict_reason(), Some(ConflictReason::LastOwner), "{e}");
}

/// The attacker (a plain member) made themselves sole owner of Acme in a copy. The owner of the
/// live database is no owner in it, so cannot restore it by mistake; and a plain member of a
/// genuine backup cannot restore it either.
#[test]
fn only_an_owner_in_the_backup_restores_it() {
    let mut s = setup();
    let b = s.backup.clone();
    let planted = s.dir.path().join("planted.db");
    std::fs::copy(&s.backup, &planted).unwrap();
    tamper(
        &planted,
        &format!(
            "UPDATE access_grants SET membership_id = (SELECT m.id FROM memberships m JOIN accounts a ON a.id = m.account_id
               JOIN organizations o ON o.id = m.organization_id WHERE a.email_norm = '{MALLORY}' AND o.slug = 'acme')
             WHERE role_id IN (SELECT r.id FROM roles r JOIN organizations o ON o.id = r.organization_id
               WHERE r.is_owner = 1 AND o.slug = 'acme')"
        ),
    );
    let e = refused_untouched(&mut s, &planted, OWNER, PW);
    assert_eq!(e.code(), ErrorCode::Forbidden, "{e}");
    assert!(e.to_string().contains("not an owner of acme in the backup"), "{e}");

    // A plain member, with the right password, of a genuine backup.
    let e = refused_untouched(&mut s, &b, MALLORY, PW);
    assert_eq!(e.code(), ErrorCode::Forbidden, "{e}");
    // An admin is not an owner either.
    assert_eq!(refused_untouched(&mut s, &b, BOB, PW).code(), ErrorCode::Forbidden);
    // The owner's password is checked against the backup.
    let e = refused_untouched(&mut s, &b, OWNER, "not the password");
    assert_eq!(e.code(), ErrorCode::Unauthenticated, "{e}");
    assert_eq!(refused_untouched(&mut s, &b, "nobody@x.test", PW).code(), ErrorCode::Unauthenticated);
}

/// Any schema object that a fresh database of the same version does not have, or has otherwise.
#[test]
fn a_backup_with_a_schema_object_gatehouse_did_not_make_is_refused() {
    let undo_disable = "CREATE TRIGGER undo_disable AFTER UPDATE OF enabled ON memberships WHEN NEW.enabled = 0
         BEGIN UPDATE memberships SET enabled = 1 WHERE id = NEW.id; END;";
    let cases = [
        (undo_disable.to_string(), "undo_disable"),
        ("CREATE VIEW everyone AS SELECT * FROM accounts;".into(), "everyone"),
        ("CREATE TABLE extra (x);".into(), "extra"),
        ("CREATE INDEX sneaky ON accounts (created_at);".into(), "sneaky"),
        // An escape sequence in a name reaches no terminal.
        ("CREATE TABLE \"evil\x1b[2J\" (x);".into(), "evil\\u{1b}[2J"),
    ];
    for (sql, name) in cases {
        let mut s = setup();
        let b = s.backup.clone();
        tamper(&s.backup, &sql);
        let e = refused_untouched(&mut s, &b, OWNER, PW);
        assert_eq!(e.field(), Some("file"), "{e}");
        assert!(e.to_string().contains(name) && !e.to_string().contains('\x1b'), "{e}");
    }
    // An existing trigger replaced by one of the same name that does something else.
    let mut s = setup();
    let b = s.backup.clone();
    let (name, sql): (String, String) = rusqlite::Connection::open(&s.backup)
        .unwrap()
        .query_row("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let altered = sql.replacen("BEGIN", "BEGIN UPDATE memberships SET enabled = 1;", 1);
    assert_ne!(altered, sql);
    tamper(&s.backup, &format!("DROP TRIGGER \"{name}\"; {altered};"));
    let e = refused_untouched(&mut s, &b, OWNER, PW);
    assert!(e.to_string().contains("differs"), "{e}");
    // A missing index.
    let mut s = setup();
    let b = s.backup.clone();
    tamper(&s.backup, &format!("DROP INDEX {};", first_index(&s.backup)));
    let e = refused_untouched(&mut s, &b, OWNER, PW);
    assert!(e.to_string().contains("missing"), "{e}");
}

fn first_index(path: &Path) -> String {
    let name: String = rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    format!("\"{name}\"")
}

#[test]
fn a_stub_a_foreign_file_and_nothing_at_all_are_refused() {
    let mut s = setup();
    let dir = s.dir.path().to_path_buf();
    // A SQLite file with one table and a plausible version (the attack that broke every command).
    let stub = dir.join("stub.db");
    tamper(&stub, "CREATE TABLE audit_events (x); PRAGMA user_version = 7;");
    let e = refused_untouched(&mut s, &stub, OWNER, PW);
    assert_eq!(e.field(), Some("file"), "{e}");
    // A SQLite database of another program.
    let other = dir.join("other.db");
    tamper(&other, "CREATE TABLE notes (body TEXT);");
    assert_eq!(refused_untouched(&mut s, &other, OWNER, PW).field(), Some("file"));
    // Not SQLite at all.
    let text = dir.join("notes.txt");
    std::fs::write(&text, "definitely not a database\n".repeat(100)).unwrap();
    let e = refused_untouched(&mut s, &text, OWNER, PW);
    assert_eq!(e.field(), Some("file"), "{e}");
    // Missing; a folder.
    assert_eq!(refused_untouched(&mut s, &dir.join("missing.db"), OWNER, PW).field(), Some("file"));
    assert_eq!(refused_untouched(&mut s, &dir, OWNER, PW).field(), Some("file"));
}

#[test]
fn a_backup_with_a_broken_chain_or_a_dangling_reference_is_refused() {
    let mut s = setup();
    let b = s.backup.clone();
    tamper(&s.backup, "UPDATE audit_events SET target = 'someone else' WHERE seq = 2");
    let e = refused_untouched(&mut s, &b, OWNER, PW);
    assert_eq!(e.conflict_reason(), Some(ConflictReason::ChainBroken), "{e}");

    let mut s = setup();
    let b = s.backup.clone();
    tamper(&s.backup, &format!("PRAGMA foreign_keys = OFF; DELETE FROM accounts WHERE email_norm = '{BOB}';"));
    let e = refused_untouched(&mut s, &b, OWNER, PW);
    assert!(e.field() == Some("file") && e.to_string().contains("foreign keys"), "{e}");
}

/// Every connection `Database` opens maps the file (`PRAGMA mmap_size`, `db::configure`). A
/// restore of a smaller backup shrinks the file under another connection that mapped it whole, as
/// under a running `serve` or window: a read that was under way when the restore committed reads
/// its old snapshot to the end, the checkpoint truncates the file only once no reader holds an
/// older snapshot, and the next reads see the restored database, with no access beyond the end
/// of the file (which would be SIGBUS, ending this test process) and nothing reported damaged.
#[test]
fn a_restore_shrinks_the_file_under_a_connection_that_mapped_it_and_that_connection_reads_on() {
    let mut s = setup();
    let o = sign_in(&mut s.live, OWNER, PW, T0).unwrap();
    gatehouse_core::usecases::demo::demo(&mut s.live, &o, "big", 3000, T0).unwrap();
    let path = s.dir.path().join("gatehouse.db");
    let live = s.live.sqlite_connection().unwrap();
    live.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    let large = std::fs::metadata(&path).unwrap().len();

    let mut other = Database::open_existing(&path).unwrap();
    let mapped: i64 = other.sqlite_connection().unwrap().pragma_query_value(None, "mmap_size", |r| r.get(0)).unwrap();
    assert!(mapped as u64 >= large, "the connection maps {mapped} bytes of a {large}-byte file");
    let integrity = |db: &Database| -> String {
        db.sqlite_connection().unwrap().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
    };
    // Every page of the large file, read through the mapping.
    assert_eq!(integrity(&other), "ok");
    let o_other = sign_in(&mut other, OWNER, PW, T0).unwrap();
    let asked = |db: &mut Database, who: &gatehouse_core::Principal, org: &str| {
        gatehouse_core::usecases::check::check(db, who, org, BOB, "org.view", None, T0 + 200)
    };
    assert!(asked(&mut other, &o_other, "big").is_ok());

    // A read under way on the other connection while the restore commits and a checkpoint runs.
    let reader = other.sqlite_connection().unwrap();
    let mut under_way = reader.prepare("SELECT email_norm FROM roster ORDER BY rid").unwrap();
    let mut rows = under_way.query([]).unwrap();
    let first: String = rows.next().unwrap().unwrap().get(0).unwrap();
    let backup = s.backup.clone();
    restore_as(&mut s, &backup, OWNER, PW).unwrap();
    let live = s.live.sqlite_connection().unwrap();
    live.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), large, "not truncated under a reader of the old snapshot");
    let mut rest = 1;
    while let Some(row) = rows.next().unwrap() {
        let _: String = row.get(0).unwrap();
        rest += 1;
    }
    assert!(rest > 3000, "the old snapshot read to its end ({rest} rows after {first})");
    drop(rows);
    drop(under_way);

    live.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    let small = std::fs::metadata(&path).unwrap().len();
    assert!(small * 2 < large, "the restore shrank the file: {large} -> {small} bytes");
    assert_eq!(integrity(&other), "ok");
    let err = asked(&mut other, &o_other, "big").unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(asked(&mut other, &o_other, "acme").unwrap().allowed);
}

/// Whether this process maps the database file at `path` now (`/proc/self/maps`).
#[cfg(target_os = "linux")]
fn mapped_now(path: &Path) -> bool {
    let path = path.canonicalize().unwrap();
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().any(|l| l.ends_with(path.to_str().unwrap()))
}

/// Exports read every page of a table once: they read with `pread` into the bounded page cache,
/// not through the mapping every other read uses, so a `members export` or `audit export` of a
/// large organization does not leave the whole roster or log in the process's resident set.
#[cfg(target_os = "linux")]
#[test]
fn exports_read_the_file_unmapped_and_other_reads_mapped() {
    let s = setup();
    drop(s.live);
    let path = s.dir.path().join("gatehouse.db");
    let mut db = Database::open_existing(&path).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    assert!(gatehouse_core::usecases::check::check(&mut db, &o, "acme", BOB, "org.view", None, T0).unwrap().allowed);
    assert!(mapped_now(&path), "a check reads through the mapping");
    let mut rows = 0;
    gatehouse_core::usecases::review::export_members_each(&mut db, &o, "acme", T0, |_| {
        assert!(!mapped_now(&path), "the members export reads unmapped");
        rows += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(rows, 3);
    let mut events = 0;
    audit::export_each(&mut db, &o, "acme", T0, |_| {
        assert!(!mapped_now(&path), "the audit export reads unmapped");
        events += 1;
        Ok(())
    })
    .unwrap();
    assert!(events > 0);
    // Another question (the first one's answer is kept and reads nothing).
    assert!(
        gatehouse_core::usecases::check::check(&mut db, &o, "acme", MALLORY, "org.view", None, T0).unwrap().allowed
    );
    assert!(mapped_now(&path), "mapped again after the exports");
}
