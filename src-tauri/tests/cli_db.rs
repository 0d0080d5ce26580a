//! Black-box tests of the database file as the `gatehouse` binary meets it (issue 8 items 10 and
//! 11, issue 9 "under contention"): what --db may point at, who may create a database, the
//! permissions of the files, and the faults of the machine — each pinned as the error JSON a
//! script sees. Faults that need root (a tmpfs, a read-only mount, an immutable file, another
//! user) run in a private mount namespace or under `setpriv`, and are skipped with a note when the
//! tests do not run as root.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tempfile::TempDir;

mod common;
use common::*;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("gatehouse")
}

/// `gatehouse --db DB --json [--as OWNER] ARGS` with extra environment; (exit, stdout, stderr, time).
fn run(db: &Path, who: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> (i32, Value, Value, Duration) {
    let mut cmd = Command::new(bin());
    cmd.env_remove("GATEHOUSE_TOKEN").env_remove("GATEHOUSE_DB").env_remove("GATEHOUSE_BUSY_TIMEOUT");
    cmd.env("GATEHOUSE_PASSWORD", PW).arg("--db").arg(db).arg("--json");
    if let Some(who) = who {
        cmd.arg("--as").arg(who);
    }
    cmd.args(args).envs(env.iter().copied());
    let started = Instant::now();
    let out = cmd.output().unwrap();
    (out.status.code().unwrap_or(-1), parse(&out.stdout), parse(&out.stderr), started.elapsed())
}

/// The error document of a failed command: `{"error":{"code","message",…}}`, exit code checked.
#[track_caller]
fn error_of(got: (i32, Value, Value, Duration), exit: i32, code: &str) -> Value {
    let (c, out, err, _) = got;
    assert_eq!(c, exit, "expected exit {exit}; stdout {out}; stderr {err}");
    assert_eq!(err["error"]["code"], code, "{err}");
    err["error"].clone()
}

fn message(e: &Value) -> &str {
    e["message"].as_str().unwrap_or_else(|| panic!("no message in {e}"))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A private mount namespace works here (root, or a user namespace allowed).
fn can_unshare_mounts() -> bool {
    Command::new("unshare").args(["-m", "true"]).status().is_ok_and(|s| s.success())
}

/// Run `gatehouse --db DB --json --as OWNER ARGS` after `setup` (a shell snippet, e.g. a mount)
/// in a private mount namespace, so the mount is gone when the command ends.
fn run_in_namespace(setup: &str, db: &Path, args: &[&str]) -> (i32, Value, Value, Duration) {
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "sh", "-c", &format!("{setup} && exec \"$@\""), "sh"]);
    cmd.arg(bin()).arg("--db").arg(db).args(["--json", "--as", OWNER]).args(args);
    cmd.env_remove("GATEHOUSE_TOKEN").env_remove("GATEHOUSE_DB").env("GATEHOUSE_PASSWORD", PW);
    let started = Instant::now();
    let out = cmd.output().unwrap();
    (out.status.code().unwrap_or(-1), parse(&out.stdout), parse(&out.stderr), started.elapsed())
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `chattr +i` on a path for the life of the guard (root on a file system that supports it).
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Option<Immutable> {
        let ok = Command::new("chattr").arg("+i").arg(path).status().is_ok_and(|s| s.success());
        ok.then(|| Immutable(path.to_path_buf()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

// ---------------------------------------------------------------------------------------------
// what --db may point at (issue 8.10)

/// A FIFO used to hang forever (the open waited for a writer); a folder and a device are no
/// database either. Each is refused at once as `invalid_input` naming --db and the path.
#[test]
fn db_that_is_a_fifo_a_folder_or_a_device_is_refused_at_once() {
    let dir = TempDir::new().unwrap();
    let fifo = dir.path().join("fifo.db");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let folder = dir.path().join("folder.db");
    std::fs::create_dir(&folder).unwrap();
    for (path, what) in [(fifo.as_path(), "FIFO"), (folder.as_path(), "folder"), (Path::new("/dev/null"), "device")] {
        let mut cmd = assert_cmd::Command::cargo_bin("gatehouse").unwrap();
        cmd.env("GATEHOUSE_PASSWORD", PW).env_remove("GATEHOUSE_TOKEN").timeout(Duration::from_secs(20));
        let out = cmd.arg("--db").arg(path).args(["--json", "--as", OWNER, "orgs", "list"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{what}: {out:?}");
        let err = parse(&out.stderr);
        assert_eq!(err["error"]["code"], "invalid_input", "{err}");
        assert_eq!(err["error"]["field"], "db", "{err}");
        let msg = message(&err["error"]);
        assert!(msg.contains(&path.display().to_string()) && msg.contains(what), "{what}: {msg}");
    }
}

/// A mistyped --db used to create its folders and a new empty database. Only `init` creates one:
/// every other command exits 5 `not_found` naming the path, and leaves nothing behind.
#[test]
fn a_mistyped_db_path_is_not_found_and_creates_nothing() {
    let dir = TempDir::new().unwrap();
    let typo = dir.path().join("no-such-folder").join("gatehouse.db");
    for args in [&["orgs", "list"][..], &["members", "list", "--org", ORG], &["backup", "/tmp/never.db"]] {
        let e = error_of(run(&typo, Some(OWNER), args, &[]), 5, "not_found");
        assert!(message(&e).contains(&typo.display().to_string()), "{e}");
    }
    let e = error_of(run(&typo, None, &["invites", "accept", "ghi_x", "--name", "A B"], &[]), 5, "not_found");
    assert!(message(&e).contains("no Gatehouse database"), "{e}");
    assert!(!dir.path().join("no-such-folder").exists(), "a folder was created");

    // An empty file is no database either (and stays as it was).
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let e = error_of(run(&empty, Some(OWNER), &["orgs", "list"], &[]), 5, "not_found");
    assert!(message(&e).contains("is empty"), "{e}");
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);

    // `init` creates the database, and the folders it needs, owner-only.
    let fresh = dir.path().join("new").join("deeper").join("gatehouse.db");
    let (code, out, err, _) =
        run(&fresh, None, &["init", "--org", "Acme", "--email", OWNER, "--name", "Ada Lovelace"], &[]);
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(mode(&fresh), 0o600);
    assert_eq!(mode(&dir.path().join("new")), 0o700);
    assert_eq!(mode(&dir.path().join("new").join("deeper")), 0o700);
    assert_eq!(run(&fresh, Some(OWNER), &["orgs", "list"], &[]).0, 0);
}

/// `--db` and `$GATEHOUSE_DB` take a PostgreSQL URL: a server that cannot be reached is exit 7
/// `unavailable` naming the server (without the password), for reads and writes alike.
#[test]
fn a_postgres_server_that_cannot_be_reached_is_unavailable_exit_7() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let url = Path::new("postgres://gh:secret@127.0.0.1:1/gatehouse");
    for args in [&["orgs", "list"][..], &["members", "disable", "--org", ORG, "x@acme.io"]] {
        let e = error_of(run(url, Some(OWNER), args, &[]), 7, "unavailable");
        assert!(message(&e).contains("127.0.0.1:1"), "{e}");
        assert!(!message(&e).contains("secret"), "the password is shown: {e}");
    }
    // The same URL from $GATEHOUSE_DB, without --db.
    let out = Command::new(bin())
        .env_remove("GATEHOUSE_TOKEN")
        .env("GATEHOUSE_PASSWORD", PW)
        .env("GATEHOUSE_DB", url)
        .args(["--json", "--as", OWNER, "orgs", "list"])
        .output()
        .unwrap();
    let got = (out.status.code().unwrap_or(-1), parse(&out.stdout), parse(&out.stderr), Duration::ZERO);
    let e = error_of(got, 7, "unavailable");
    assert!(message(&e).contains("127.0.0.1:1"), "{e}");
}

/// A pre-existing empty file (made by `touch` or `mktemp`, mode 0644) used to keep its mode after
/// it held password hashes. Every file Gatehouse writes ends up 0600: the database, its -wal and
/// its -shm, whoever made them.
#[test]
fn database_files_end_up_owner_only_whoever_made_them() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("made-by-touch.db");
    std::fs::write(&db, b"").unwrap();
    set_mode(&db, 0o644);
    let (code, _, err, _) = run(&db, None, &["init", "--org", "Acme", "--email", OWNER, "--name", "Ada Lovelace"], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&db), 0o600, "the database after init");

    // A connection kept open here keeps the -wal and -shm files alive between commands.
    let keep = rusqlite::Connection::open(&db).unwrap();
    let _: i64 = keep.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
    for file in [db.clone(), sidecar(&db, "-wal"), sidecar(&db, "-shm")] {
        assert!(file.exists(), "{}", file.display());
        set_mode(&file, 0o644);
    }
    assert_eq!(run(&db, Some(OWNER), &["workspaces", "create", "--org", ORG, "Ops"], &[]).0, 0);
    for file in [db.clone(), sidecar(&db, "-wal"), sidecar(&db, "-shm")] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

/// A file that is not a Gatehouse database is `invalid_input` naming --db, and is left untouched
/// (not migrated, not chmod-ed): text, and another program's SQLite database.
#[test]
fn a_file_that_is_not_a_gatehouse_database_is_invalid_input_and_left_alone() {
    let dir = TempDir::new().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "dear diary\n".repeat(100)).unwrap();
    set_mode(&text, 0o644);
    let other = dir.path().join("other-app.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE songs (title TEXT); PRAGMA user_version = 3;")
        .unwrap();
    set_mode(&other, 0o644);
    for (path, why) in [(&text, "not a SQLite file"), (&other, "another program")] {
        let before = std::fs::read(path).unwrap();
        let e = error_of(run(path, Some(OWNER), &["orgs", "list"], &[]), 2, "invalid_input");
        assert_eq!(e["field"], "db", "{e}");
        assert!(message(&e).contains(&path.display().to_string()) && message(&e).contains(why), "{e}");
        assert_eq!(std::fs::read(path).unwrap(), before, "{} was changed", path.display());
        assert_eq!(mode(path), 0o644, "{} was chmod-ed", path.display());
    }
    // `init` refuses them the same way: it creates a database only in an empty or new file.
    let e = error_of(
        run(&other, None, &["init", "--org", "A", "--email", OWNER, "--name", "A B"], &[]),
        2,
        "invalid_input",
    );
    assert_eq!(e["field"], "db");
}

// ---------------------------------------------------------------------------------------------
// faults of the machine: `unavailable`, exit 7, with the path and the cause in words (issue 8.11)

/// The JSON of an `unavailable` error: code, exit 7, the path and the cause; no raw SQLite text.
#[track_caller]
fn unavailable(got: (i32, Value, Value, Duration), db: &Path, cause: &str) -> String {
    let e = error_of(got, 7, "unavailable");
    let msg = message(&e).to_string();
    assert!(msg.starts_with(&format!("cannot use the database {}: ", db.display())), "{msg}");
    assert!(msg.contains(cause), "expected {cause:?} in {msg:?}");
    for raw in ["database is locked", "disk I/O", "attempt to write a readonly", "unable to open", "SQLITE"] {
        assert!(!msg.contains(raw), "raw SQLite text in {msg:?}");
    }
    assert_eq!(e.as_object().unwrap().len(), 2, "only code and message: {e}");
    msg
}

#[test]
fn a_schema_newer_than_the_binary_is_unavailable() {
    let (_dir, db) = setup();
    rusqlite::Connection::open(&db).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let msg = unavailable(run(&db, Some(OWNER), &["orgs", "list"], &[]), &db, "schema version 99, newer than");
    assert!(msg.contains("upgrade Gatehouse"), "{msg}");
}

/// Another process holds `BEGIN EXCLUSIVE` (WAL mode: the write lock). Reads answer at once from
/// their snapshot — sign-in by password and by token included, whose bookkeeping writes are
/// skipped rather than waited for — and a writer waits up to $GATEHOUSE_BUSY_TIMEOUT, then exits 7.
#[test]
fn reads_answer_while_another_process_writes_and_a_writer_gives_up_after_the_bound() {
    let (_dir, db) = setup();
    let sa = ok(&db, &["service-accounts", "create", "--org", ORG, "reader", "--role", "member"]);
    let token = sa["token"].as_str().unwrap().to_string();

    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE; UPDATE organizations SET name = name;").unwrap();
    let patient = [("GATEHOUSE_BUSY_TIMEOUT", "60")];
    let check = ["check", "--org", ORG, "--user", OWNER, "--permission", "org.view"];
    let (code, out, err, took) = run(&db, Some(OWNER), &check, &patient);
    assert_eq!((code, &out["allowed"]), (0, &Value::Bool(true)), "check by password: {err}");
    assert!(took < Duration::from_secs(10), "check by password waited {took:?}");
    let mut by_token = Command::new(bin());
    by_token.env("GATEHOUSE_TOKEN", &token).env_remove("GATEHOUSE_PASSWORD").env("GATEHOUSE_BUSY_TIMEOUT", "60");
    let started = Instant::now();
    let out = by_token.arg("--db").arg(&db).arg("--json").args(check).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "check by token: {}", String::from_utf8_lossy(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(10), "check by token waited {:?}", started.elapsed());
    for args in [&["members", "list", "--org", ORG][..], &["audit", "verify", "--org", ORG], &["orgs", "list"]] {
        let (code, _, err, took) = run(&db, Some(OWNER), args, &patient);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(took < Duration::from_secs(10), "{args:?} waited {took:?}");
    }

    let (code, out, err, took) =
        run(&db, Some(OWNER), &["workspaces", "create", "--org", ORG, "Ops"], &[("GATEHOUSE_BUSY_TIMEOUT", "1")]);
    let msg = unavailable((code, out, err, took), &db, "another process holds its write lock");
    assert!(msg.contains("within 1 s"), "{msg}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(15), "gave up after {took:?}");

    // Once the lock is free, the same write goes through.
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(run(&db, Some(OWNER), &["workspaces", "create", "--org", ORG, "Ops"], &[]).0, 0);
}

/// On a terminal, a writer that waits says why (and scripts, without a terminal, see nothing but
/// the contract). `script` gives the command a pseudo-terminal.
#[test]
fn a_waiting_writer_says_why_on_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to give the command a terminal");
        return;
    }
    let (_dir, db) = setup();
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let line = format!(
        "GATEHOUSE_PASSWORD={PW} GATEHOUSE_BUSY_TIMEOUT=1 '{}' --db '{}' --as {OWNER} workspaces create --org {ORG} Ops",
        bin().display(),
        db.display()
    );
    let out = Command::new("script").args(["-qec", &line, "/dev/null"]).output().unwrap();
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(seen.contains("waiting for another Gatehouse process to finish writing to"), "{seen}");
    assert!(seen.contains("error (unavailable)"), "{seen}");
    assert!(!seen.contains("SQLITE") && !seen.contains("error (internal)"), "{seen}");
}

/// After an upgrade of Gatehouse, the first command upgrades the schema and, on a terminal, shows
/// its steps; then it does its work. Without a terminal nothing but the contract is printed.
#[test]
fn a_schema_upgrade_shows_its_progress_on_a_terminal() {
    use gatehouse_core::db::MIGRATIONS;
    let old_database = || {
        let dir = TempDir::new().unwrap();
        let db = dir.path().join("old.db");
        let conn = rusqlite::Connection::open(&db).unwrap();
        for (i, (_, sql)) in MIGRATIONS.iter().enumerate().take(MIGRATIONS.len() - 1) {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", (i + 1) as i64).unwrap();
        }
        (dir, db)
    };
    let (_dir, db) = old_database();
    let (code, out, err, _) =
        run(&db, None, &["init", "--org", "Acme", "--email", OWNER, "--name", "Ada Lovelace"], &[]);
    assert_eq!(code, 0, "{out} {err}");
    let version: i64 =
        rusqlite::Connection::open(&db).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, MIGRATIONS.len() as i64);

    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped the terminal part: no `script`");
        return;
    }
    let (_dir, db) = old_database();
    let line = format!(
        "GATEHOUSE_PASSWORD={PW} '{}' --db '{}' init --org Acme --email {OWNER} --name 'Ada Lovelace'",
        bin().display(),
        db.display()
    );
    let out = Command::new("script").args(["-qec", &line, "/dev/null"]).output().unwrap();
    let seen = String::from_utf8_lossy(&out.stdout);
    let last = MIGRATIONS[MIGRATIONS.len() - 1].0;
    assert!(seen.contains(&format!("upgrading the database {}", db.display())), "{seen}");
    assert!(seen.contains(&format!("step 1 of 1: {last}")), "{seen}");
    assert!(seen.contains("database upgraded in"), "{seen}");
    assert!(seen.contains("Created organization Acme"), "{seen}");
}

/// A bad $GATEHOUSE_BUSY_TIMEOUT is bad input naming it.
#[test]
fn a_bad_busy_timeout_is_invalid_input() {
    let (_dir, db) = setup();
    let e =
        error_of(run(&db, Some(OWNER), &["orgs", "list"], &[("GATEHOUSE_BUSY_TIMEOUT", "soon")]), 2, "invalid_input");
    assert_eq!(e["field"], "GATEHOUSE_BUSY_TIMEOUT");
}

#[test]
fn a_full_disk_is_unavailable() {
    if !can_unshare_mounts() {
        eprintln!("skipped: needs root for a private tmpfs");
        return;
    }
    let dir = TempDir::new().unwrap();
    let mnt = dir.path().join("tiny");
    std::fs::create_dir(&mnt).unwrap();
    let db = mnt.join("gatehouse.db");
    let setup = format!("mount -t tmpfs -o size=64k tmpfs '{}'", mnt.display());
    let got = run_in_namespace(&setup, &db, &["init", "--org", "Acme", "--email", OWNER, "--name", "Ada Lovelace"]);
    unavailable(got, &db, "the disk is full");
}

#[test]
fn a_read_only_file_folder_or_mount_is_unavailable() {
    let (dir, db) = setup();
    let write = ["workspaces", "create", "--org", ORG, "Ops"];
    // The file. Root ignores permission bits: make it immutable instead.
    if is_root() {
        match Immutable::set(&db) {
            Some(_guard) => {
                unavailable(run(&db, Some(OWNER), &write, &[]), &db, "read-only");
            }
            None => eprintln!("skipped the read-only file: chattr +i is not supported here"),
        }
    } else {
        set_mode(&db, 0o400);
        unavailable(run(&db, Some(OWNER), &write, &[]), &db, "read-only");
        set_mode(&db, 0o600);
    }
    // The folder: SQLite cannot create the -wal and -shm files beside the database. (The failed
    // writes above left empty ones behind: nothing was written into them.)
    for file in [sidecar(&db, "-wal"), sidecar(&db, "-shm")] {
        let _ = std::fs::remove_file(file);
    }
    if is_root() {
        match Immutable::set(dir.path()) {
            Some(_guard) => {
                unavailable(run(&db, Some(OWNER), &write, &[]), &db, "its folder is read-only");
            }
            None => eprintln!("skipped the read-only folder: chattr +i is not supported here"),
        }
    } else {
        set_mode(dir.path(), 0o500);
        unavailable(run(&db, Some(OWNER), &write, &[]), &db, "its folder is read-only");
        set_mode(dir.path(), 0o700);
    }
    // The file system.
    if can_unshare_mounts() {
        let d = dir.path().display();
        let setup = format!("mount --bind '{d}' '{d}' && mount -o remount,bind,ro '{d}'");
        unavailable(run_in_namespace(&setup, &db, &write), &db, "its file system is mounted read-only");
    } else {
        eprintln!("skipped the read-only mount: needs root");
    }
    // Nothing of the above broke the database.
    assert_eq!(run(&db, Some(OWNER), &write, &[]).0, 0);
}

#[test]
fn permission_denied_is_unavailable() {
    let (dir, db) = setup();
    if is_root() {
        // As another user: first the folder (0700, root's) cannot be entered, then the file
        // (0600, root's) cannot be opened.
        let as_nobody = |db: &Path| {
            let mut cmd = Command::new("setpriv");
            cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(bin());
            cmd.arg("--db").arg(db).args(["--json", "--as", OWNER, "orgs", "list"]).env("GATEHOUSE_PASSWORD", PW);
            let out = cmd.output().unwrap();
            (out.status.code().unwrap_or(-1), parse(&out.stdout), parse(&out.stderr), Duration::ZERO)
        };
        if Command::new("setpriv").arg("--version").output().is_err() {
            eprintln!("skipped: no setpriv to run as another user");
            return;
        }
        set_mode(dir.path(), 0o700);
        unavailable(as_nobody(&db), &db, "permission denied");
        set_mode(dir.path(), 0o755);
        unavailable(as_nobody(&db), &db, "permission denied");
    } else {
        set_mode(&db, 0o000);
        unavailable(run(&db, Some(OWNER), &["orgs", "list"], &[]), &db, "permission denied");
        set_mode(&db, 0o600);
    }
}
