//! The one SQLite file: opening it (pragmas, 0600 permissions), the embedded migrations, and the
//! transaction wrappers every use case runs in. Writes take `BEGIN IMMEDIATE`, so two processes
//! never both read-then-write the same state; a refused attempt is rolled back and then audited.

use crate::error::{Denial, Error, Result};
use crate::time::Timestamp;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The migrations, embedded at build time, applied in order; the schema version is `user_version`.
/// Append-only: a released migration is never edited.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../../migrations/0001_init.sql")),
    ("0002_member_list", include_str!("../../../migrations/0002_member_list.sql")),
    ("0003_roster", include_str!("../../../migrations/0003_roster.sql")),
    ("0005_workspace_scopes", include_str!("../../../migrations/0005_workspace_scopes.sql")),
];

/// The page cache of each connection, in KiB (as a negative `cache_size`).
pub(crate) const CACHE_KIB: i64 = -65_536;

pub struct Database {
    pub(crate) conn: Connection,
    path: Option<PathBuf>,
}

fn configure(conn: &Connection) -> Result<()> {
    // Pragmas belong to the connection, not to a migration: each connection sets them.
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "trusted_schema", "OFF")?;
    // Statement journals (every write that fires the roster triggers needs one) stay in memory,
    // and the page cache holds the working set of a large roster (64 MiB, taken only as used).
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", CACHE_KIB)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Create the database file with owner-only permissions before SQLite opens it; SQLite gives the
/// `-wal` and `-shm` files the permissions of the database file.
fn create_private_file(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?;
    Ok(())
}

/// Apply every migration newer than `user_version`, each in its own IMMEDIATE transaction
/// together with the version bump, so a crash leaves the schema at a whole version.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > MIGRATIONS.len() as i64 {
        return Err(Error::Internal(format!(
            "this database has schema version {current}, newer than this Gatehouse knows ({}); upgrade Gatehouse",
            MIGRATIONS.len()
        )));
    }
    for (i, (_, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated while this one waited for the lock.
        let now_version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now_version > i as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

impl Database {
    /// Open (creating if needed) the database at `path`, migrated to the current schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        let path = path.as_ref();
        create_private_file(path)?;
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::Internal(format!("cannot open the database {}: {e}", path.display())))?;
        configure(&conn)?;
        migrate(&mut conn)?;
        Ok(Database { conn, path: Some(path.to_path_buf()) })
    }

    /// A private in-memory database, for tests and benchmarks.
    pub fn open_in_memory() -> Result<Database> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn)?;
        migrate(&mut conn)?;
        Ok(Database { conn, path: None })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Run `f` in a `BEGIN IMMEDIATE` transaction: commit on success, roll back on error. A refusal
    /// (`Forbidden` carrying a `Denial`) is audited in a transaction of its own after the rollback,
    /// so the attempt leaves its trace and nothing else (rule 8).
    pub fn write<T>(&mut self, now: Timestamp, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        self.run(TransactionBehavior::Immediate, now, f)
    }

    /// Run `f` in a read transaction (a consistent snapshot); refusals are audited as in `write`.
    pub fn read<T>(&mut self, now: Timestamp, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        self.run(TransactionBehavior::Deferred, now, f)
    }

    fn run<T>(
        &mut self,
        behavior: TransactionBehavior,
        now: Timestamp,
        f: impl FnOnce(&Transaction) -> Result<T>,
    ) -> Result<T> {
        let tx = self.conn.transaction_with_behavior(behavior)?;
        match f(&tx) {
            Ok(value) => {
                tx.commit()?;
                Ok(value)
            }
            Err(error) => {
                drop(tx);
                if let Error::Forbidden { denial: Some(denial), message } = &error {
                    self.record_denial(denial, message, now)?;
                }
                Err(error)
            }
        }
    }

    fn record_denial(&mut self, denial: &Denial, reason: &str, now: Timestamp) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        crate::store::audit::append(
            &tx,
            &denial.organization_id,
            &denial.actor,
            "access.denied",
            &denial.target,
            &serde_json::json!({ "attempted": denial.action, "reason": reason }),
            now,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Copy the whole database into a new file with SQLite's online backup (consistent even while
    /// other processes write).
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            return Err(Error::conflict(
                crate::error::ConflictReason::AlreadyExists,
                format!("{} already exists; choose a new file name", dest.display()),
            ));
        }
        create_private_file(dest)?;
        let mut out = Connection::open(dest)?;
        {
            let backup = rusqlite::backup::Backup::new(&self.conn, &mut out)?;
            backup.run_to_completion(256, Duration::from_millis(0), None)?;
        }
        // A backup is a plain single file: leave it out of WAL mode.
        out.pragma_update(None, "journal_mode", "DELETE")?;
        Ok(())
    }

    /// Replace the contents of this database with those of a backup file, after checking that the
    /// file is a sound Gatehouse database. The replacement is one transaction on this side.
    pub fn restore_from(&mut self, source: &Path) -> Result<()> {
        let src = Database::check_backup(source)?;
        {
            let backup = rusqlite::backup::Backup::new(&src, &mut self.conn)?;
            backup.run_to_completion(256, Duration::from_millis(0), None)?;
            drop(backup);
        }
        self.after_restore()
    }

    /// Open `source` read-only and check that it is a sound Gatehouse database, without changing
    /// anything: front doors call this before they touch the current database.
    pub fn check_backup(source: &Path) -> Result<Connection> {
        if !source.is_file() {
            return Err(Error::invalid("file", format!("{} is not a file", source.display())));
        }
        let src = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|_| Error::invalid("file", "not a SQLite database"))?;
        let check: String = src
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|_| Error::invalid("file", "not a SQLite database"))?;
        if check != "ok" {
            return Err(Error::invalid("file", format!("the backup is damaged: {check}")));
        }
        let version: i64 = src.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let has_accounts: bool = src
            .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'audit_events'", [], |r| r.get(0))
            .unwrap_or(false);
        if version < 1 || version > MIGRATIONS.len() as i64 || !has_accounts {
            return Err(Error::invalid("file", "not a Gatehouse backup (unknown schema)"));
        }
        Ok(src)
    }

    fn after_restore(&mut self) -> Result<()> {
        configure(&self.conn)?;
        migrate(&mut self.conn)?;
        Ok(())
    }

    /// The raw connection, for benchmarks and tests that inspect the file.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_and_are_idempotent() {
        let db = Database::open_in_memory().unwrap();
        assert_eq!(db.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let fk: i64 = db.conn.pragma_query_value(None, "foreign_keys", |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
        // Every migration is valid SQL that leaves a sound schema.
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        let fk_errors: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(fk_errors, 0);
    }

    #[test]
    fn files_are_private_and_pragmas_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let db = Database::open(&path).unwrap();
        let mode: String = db.conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = db.conn.pragma_query_value(None, "synchronous", |r| r.get(0)).unwrap();
        assert_eq!(sync, 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for name in ["g.db", "g.db-wal"] {
                let meta = std::fs::metadata(dir.path().join(name)).unwrap();
                assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
            }
        }
    }
}
