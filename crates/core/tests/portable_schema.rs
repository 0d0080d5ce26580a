//! PRODUCT.md rule 12: the database stays readable by the `sqlite3` of current LTS distributions
//! (3.37 and later; Debian 12 ships 3.40). Users inspect and back up their one file with such tools,
//! and a schema object they cannot parse makes them refuse the whole file ("malformed database
//! schema"). This test opens a database made by `demo` (every table filled) with the system's
//! `sqlite3` (installed by `scripts/setup`) and asks it for an integrity check and every table.

use gatehouse_core::auth::sign_in;
use gatehouse_core::usecases::{demo, orgs};
use gatehouse_core::Database;
use std::process::Command;

const T0: i64 = 1_800_000_000;
const PW: &str = "correct horse battery";

fn system_sqlite3(db: &std::path::Path, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .arg("-batch")
        .arg("-bail")
        .arg(db)
        .arg(sql)
        .output()
        .expect("the system's sqlite3 is missing: run scripts/setup (apt-get install sqlite3)");
    assert!(
        out.status.success(),
        "sqlite3 failed on `{sql}`: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_system_sqlite3_reads_every_table_of_a_demo_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    let tables: Vec<String> = {
        let mut db = Database::open(&path).unwrap();
        orgs::init(&mut db, "Acme", "owner@acme.test", "Olivia Owner", PW, T0).unwrap();
        let o = sign_in(&mut db, "owner@acme.test", PW, T0).unwrap();
        demo::demo(&mut db, &o, "demo", 300, T0).unwrap();
        let conn = db.sqlite_connection().unwrap();
        let names = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        names
    };
    let version = system_sqlite3(&path, "SELECT sqlite_version()");
    eprintln!("system sqlite3 {}", version.trim());
    assert_eq!(system_sqlite3(&path, "PRAGMA integrity_check").trim(), "ok");
    assert_eq!(system_sqlite3(&path, "PRAGMA foreign_key_check").trim(), "");
    for table in &tables {
        let n: i64 =
            system_sqlite3(&path, &format!("SELECT count(*) FROM (SELECT * FROM \"{table}\")")).trim().parse().unwrap();
        eprintln!("{table}: {n} rows");
    }
    // The tables `demo` fills are not empty as the system's SQLite reads them.
    for table in ["accounts", "memberships", "access_grants", "invitations", "roster", "audit_events"] {
        assert!(tables.iter().any(|t| t == table), "{table} is gone");
        let n: i64 = system_sqlite3(&path, &format!("SELECT count(*) FROM {table}")).trim().parse().unwrap();
        assert!(n > 0, "{table} is empty");
    }
    // The roles of a member as the system's SQLite's triggers write them: a write through the
    // triggers of the schema, not only a read.
    system_sqlite3(
        &path,
        "UPDATE access_grants SET expires_at = 1900000000 WHERE rowid = (SELECT min(rowid) FROM access_grants WHERE membership_id IS NOT NULL)",
    );
    assert_eq!(system_sqlite3(&path, "PRAGMA integrity_check").trim(), "ok");
}
