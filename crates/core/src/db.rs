//! The one SQLite file: opening it (refusing what is not a regular file or not a Gatehouse
//! database, creating it only when asked, owner-only permissions), the embedded migrations, the
//! transaction wrappers every use case runs in, and waiting for another process's write lock.
//!
//! Writes take `BEGIN IMMEDIATE`, so two processes never both read-then-write the same state; a
//! refused attempt is rolled back and then audited. Reads take no write lock: in WAL mode they
//! answer from a snapshot while another process writes. A writer that finds the lock taken waits
//! (telling the front door's observer, so a terminal can say why), up to a bound, and then fails
//! `unavailable`; SQLite's "database is locked" never reaches a user.

use crate::audit_actions::AuditAction;
use crate::error::{Denial, Error, Result, CANNOT_OPEN_CAUSE, CANNOT_USE_DATABASE, LOCKED_CAUSE};
use crate::sql::{self, Transaction};
use crate::time::Timestamp;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The migrations, embedded at build time, applied in order; the schema version is `user_version`.
/// Append-only: a released migration is never edited.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../../migrations/0001_init.sql")),
    ("0002_member_list", include_str!("../../../migrations/0002_member_list.sql")),
    ("0003_roster", include_str!("../../../migrations/0003_roster.sql")),
    ("0004_roster_portable", include_str!("../../../migrations/0004_roster_portable.sql")),
    ("0005_workspace_scopes", include_str!("../../../migrations/0005_workspace_scopes.sql")),
    ("0005b_invitation_role_history", include_str!("../../../migrations/0005b_invitation_role_history.sql")),
    ("0006_sessions", include_str!("../../../migrations/0006_sessions.sql")),
    ("0007_check_covering_grants", include_str!("../../../migrations/0007_check_covering_grants.sql")),
    (
        "0008_memberships_without_org_enabled",
        include_str!("../../../migrations/0008_memberships_without_org_enabled.sql"),
    ),
    ("0009_check_covering_accounts", include_str!("../../../migrations/0009_check_covering_accounts.sql")),
];

/// Tables every Gatehouse schema has had since 0001: how a SQLite file is recognised as ours.
const OUR_TABLES: [&str; 3] = ["accounts", "organizations", "audit_events"];

/// The page cache of each connection, in KiB (as a negative `cache_size`).
pub(crate) const CACHE_KIB: i64 = -65_536;

/// How much of the file each connection maps (`PRAGMA mmap_size`): SQLite's own upper bound.
pub(crate) const MMAP_BYTES: i64 = 2_147_418_112;

/// What a bulk load (`Database::bulk_load_settings`, `demo`) sets on a SQLite connection, as
/// (pragma, value). A 1 GiB page cache (taken only as used): every row loaded goes into each
/// roster index at a random place, and a cache that holds those indexes for the one transaction
/// keeps that from becoming a disk read and write per row. Temporary files allowed (`temp_store`
/// 1, FILE) and 2 sorter threads: the indexes built after the load go through SQLite's sorter.
/// With temporary files kept in memory (the connection's setting) the sorter takes no memory
/// budget: it holds every key as a record allocated on its own and sorts them in one list. With
/// temporary files allowed it packs the keys into contiguous memory up to the cache's size
/// (spilling sorted runs to a file, which helper threads may sort and merge, past that). A
/// 1M-member `demo`'s seven wide roster indexes took 25.1 s of CPU one way and 16.6 s (FILE) or
/// 14.9 s (FILE, 2 threads) the other, in single runs at load 8-9 (`examples/demo_load.rs`).
const BULK_LOAD_SETTINGS: [(&str, i64); 3] = [("cache_size", -1_048_576), ("temp_store", 1), ("threads", 2)];

/// How long a writer waits for another process's write lock before failing `unavailable`, unless
/// the front door says otherwise (`OpenOptions::lock_wait`).
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(30);

/// Waits shorter than this are not worth a word: another command's write usually takes a few ms.
const QUIET_WAIT: Duration = Duration::from_millis(300);

/// What a front door may want to show while the database makes it wait (a terminal line, a
/// "upgrading the database" screen). The core only reports; it never prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Another process holds the write lock; this one waits for at most `bound`.
    Waiting {
        reason: WaitReason,
        bound: Duration,
    },
    /// The wait announced by `Waiting` is over (the lock was taken, or the wait gave up).
    DoneWaiting,
    /// This process is upgrading the schema of an existing database.
    Upgrading {
        from: i64,
        to: i64,
    },
    /// One migration of the upgrade (`step` counts from 1).
    UpgradeStep {
        step: usize,
        steps: usize,
        name: &'static str,
    },
    /// A long migration is still running (about once a second).
    StillUpgrading {
        elapsed: Duration,
    },
    Upgraded {
        from: i64,
        to: i64,
        elapsed: Duration,
    },
}

/// Why this process waits for the write lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// To write; another process is writing.
    Write,
    /// To upgrade the schema, which this binary needs first; another process is most likely
    /// upgrading it already (the waiter will find it done and carry on).
    Upgrade,
}

/// Receives the notices of one database; set by the front door.
pub type Observer = Arc<dyn Fn(&Notice) + Send + Sync>;

/// How to open the database file.
#[derive(Clone)]
pub struct OpenOptions {
    /// Create the file (and its folder) when it does not exist, and accept an empty file: only
    /// `init` and the desktop app's first run do. Every other command refuses a missing or empty
    /// file (`not_found`, naming the path), so a mistyped path never makes a new database.
    pub create: bool,
    /// How long a writer waits for another process's write lock.
    pub lock_wait: Duration,
    pub observer: Option<Observer>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { create: false, lock_wait: DEFAULT_LOCK_WAIT, observer: None }
    }
}

/// How long the busy handler sleeps before try `count` (0, 1, …) of one wait: doubling from 1 ms
/// to at most `MAX_BUSY_PAUSE` (most writes hold the lock for milliseconds), each pause scaled by
/// a factor between 0.5 and 1.5 (`jitter` in [0, 1)) so waiting processes do not wake in step.
/// It was 1, 2, 5, 10, 20, 50 ms, then a steady 100 ms, the same in every process: a writer that
/// had waited 200 ms slept on through the free lock for up to 100 ms more, and writers' p99 at 8
/// processes was near 0.9 s (`scripts/stress`: writers slept 70 ms per command on average).
fn busy_pause(count: i32, jitter: f64) -> Duration {
    let base = Duration::from_millis(1u64 << count.clamp(0, 10)).min(MAX_BUSY_PAUSE);
    base.mul_f64(0.5 + jitter.clamp(0.0, 1.0))
}

/// The longest sleep of the busy handler, before its jitter.
const MAX_BUSY_PAUSE: Duration = Duration::from_millis(16);

/// What the SQLite busy handler of a connection shares with its `Database`: how long to wait,
/// why, and whether the observer has been told.
struct LockWait {
    bound: Duration,
    /// Set for one attempt by `try_write`: give up at once.
    no_wait: AtomicBool,
    reason: AtomicU8,
    started: Mutex<Option<Instant>>,
    told: AtomicBool,
    observer: Option<Observer>,
}

impl LockWait {
    fn new(bound: Duration, observer: Option<Observer>) -> Self {
        LockWait {
            bound,
            no_wait: AtomicBool::new(false),
            reason: AtomicU8::new(0),
            started: Mutex::new(None),
            told: AtomicBool::new(false),
            observer,
        }
    }

    fn notify(&self, notice: Notice) {
        if let Some(observer) = &self.observer {
            observer(&notice);
        }
    }

    fn set_reason(&self, reason: WaitReason) {
        self.reason.store(
            match reason {
                WaitReason::Write => 0,
                WaitReason::Upgrade => 1,
            },
            Ordering::Relaxed,
        );
    }

    fn reason(&self) -> WaitReason {
        match self.reason.load(Ordering::Relaxed) {
            0 => WaitReason::Write,
            _ => WaitReason::Upgrade,
        }
    }

    /// SQLite calls this while the lock it needs is held elsewhere (`count` = how many times for
    /// this one wait). Sleep a little and try again, until the bound; then SQLite returns BUSY,
    /// which becomes `unavailable`.
    fn on_busy(&self, count: i32) -> bool {
        if self.no_wait.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        let started = {
            let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
            if count == 0 || started.is_none() {
                *started = Some(now);
            }
            started.unwrap_or(now)
        };
        let waited = now.duration_since(started);
        if waited >= self.bound {
            return false;
        }
        if waited >= QUIET_WAIT && !self.told.swap(true, Ordering::Relaxed) {
            self.notify(Notice::Waiting { reason: self.reason(), bound: self.bound });
        }
        std::thread::sleep(busy_pause(count, rand::random::<f64>()).min(self.bound - waited));
        true
    }

    /// After an operation that may have waited: tell the observer the wait is over.
    fn settle(&self) {
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if self.told.swap(false, Ordering::Relaxed) {
            self.notify(Notice::DoneWaiting);
        }
    }
}

pub struct Database {
    pub(crate) conn: sql::Connection,
    path: Option<PathBuf>,
    lock: Arc<LockWait>,
    /// `check`'s answers, while the file and the time are as they were (`answers.rs`; SQLite only).
    pub(crate) answers: crate::answers::Answers,
    keep_answers: bool,
}

fn is_busy(e: &sql::Error) -> bool {
    match e {
        sql::Error::Sqlite(e) => matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ),
        _ => false,
    }
}

/// Put the path (and, for a lock wait, the bound) into an `unavailable` message made without them.
fn locate(e: Error, path: Option<&Path>, bound: Duration) -> Error {
    match e {
        Error::Unavailable(message) => match message.strip_prefix(CANNOT_USE_DATABASE) {
            Some(cause) => {
                let place = path.map(|p| format!(" {}", p.display())).unwrap_or_default();
                if cause == LOCKED_CAUSE {
                    Error::Unavailable(format!(
                        "cannot use the database{place}: another process holds its write lock and did not release it \
                         within {} s; try again when that process is done",
                        bound.as_secs_f64()
                    ))
                } else {
                    Error::Unavailable(format!("cannot use the database{place}: {cause}"))
                }
            }
            None => Error::Unavailable(message),
        },
        e => e,
    }
}

/// An error of the file system about the database file, in words.
fn file_error(path: &Path, e: &std::io::Error) -> Error {
    use std::io::ErrorKind as K;
    log::warn!("{}: {e}", path.display());
    let cause = match e.kind() {
        K::PermissionDenied => "permission denied".to_string(),
        K::ReadOnlyFilesystem => "it is read-only (the file, its folder or its file system)".to_string(),
        K::StorageFull | K::QuotaExceeded => "the disk is full".to_string(),
        K::NotADirectory => {
            return Error::invalid("db", format!("{}: a part of this path is not a folder", path.display()))
        }
        K::IsADirectory => return Error::invalid("db", format!("{} is a folder, not a database file", path.display())),
        _ => format!("the system refused to open it ({e})"),
    };
    Error::Unavailable(format!("cannot use the database {}: {cause}", path.display()))
}

/// Refuse a FIFO, a folder, a device or a socket at once: opening a FIFO would wait forever for a
/// writer, and none of them can hold a database.
fn refuse_unless_regular(path: &Path, file_type: std::fs::FileType) -> Result<()> {
    if file_type.is_file() {
        return Ok(());
    }
    let what = if file_type.is_dir() {
        "a folder"
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if file_type.is_fifo() {
                "a FIFO (named pipe)"
            } else if file_type.is_char_device() || file_type.is_block_device() {
                "a device"
            } else if file_type.is_socket() {
                "a socket"
            } else {
                "not a regular file"
            }
        }
        #[cfg(not(unix))]
        {
            "not a regular file"
        }
    };
    Err(Error::invalid("db", format!("{} is {what}, not a database file", path.display())))
}

/// Create a new file (and its missing folders) readable by its owner alone, before SQLite opens it;
/// SQLite gives the `-wal` and `-shm` files the permissions of the database file. Never follows a
/// symbolic link and never opens an existing file: `AlreadyExists` if anything is at `path`.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32);
    }
    options.open(path)?;
    Ok(())
}

/// Make the database and its `-wal`/`-shm` files owner-only (0600) when they are not: a file made
/// by someone else (`touch`, `mktemp`, an older version) keeps its mode otherwise, and would hold
/// password hashes readable by every user. Best effort: a file of another owner or on a read-only
/// file system stays as it is (the writes will fail and say why).
fn make_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut names = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            names.push(PathBuf::from(name));
        }
        for name in names {
            if let Ok(meta) = std::fs::metadata(&name) {
                if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
                    if let Err(e) = std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o600)) {
                        log::warn!("cannot make {} private: {e}", name.display());
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// SQLite says only "unable to open database file" when it cannot open the file or create the
/// `-wal`/`-shm` files beside it; ask the system which it is, in words.
fn why_not_openable(path: &Path) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use rustix::fs::{access, Access};
        use rustix::io::Errno;
        let words = |errno: Errno, read_only: &'static str| match errno {
            Errno::ROFS => Some("its file system is mounted read-only"),
            Errno::PERM => Some(read_only),
            Errno::ACCESS => Some("permission denied"),
            _ => None,
        };
        if let Err(errno) = access(path, Access::READ_OK | Access::WRITE_OK) {
            return words(errno, "the file is read-only (immutable)");
        }
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if let Err(errno) = access(dir, Access::WRITE_OK | Access::EXEC_OK) {
            return match errno {
                Errno::PERM | Errno::ACCESS => Some(
                    "its folder is read-only or not writable (SQLite must create its -wal and -shm files beside it)",
                ),
                other => words(other, ""),
            };
        }
        None
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

fn configure(conn: &Connection) -> Result<()> {
    // Pragmas belong to the connection, not to a migration: each connection sets them.
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Already WAL (every database after its first open): asking again would need no lock, but not
    // asking is cheaper still.
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "trusted_schema", "OFF")?;
    // Statement journals (every write that fires the roster triggers needs one) stay in memory,
    // and the page cache holds the working set of a large roster (64 MiB, taken only as used).
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", CACHE_KIB)?;
    // The file's pages are read from a mapping of it (up to SQLite's 2 GiB bound, the whole file
    // at 1M members) instead of copied by `pread` into the page cache: a computed `check` about a
    // person not asked before reads a handful of pages no cache holds. Safe with WAL and other
    // processes: a page changed by a commit is read from the WAL, never the mapping; the file
    // shrinks (a checkpoint after a `restore` of a smaller backup, or after a VACUUM) only while
    // the checkpointer holds read slot 0, so no reader of an older snapshot is in a transaction,
    // and each read transaction that finds the database changed drops the mapping and maps the
    // file again at its new size. `tests/restore.rs` restores a small backup under a connection
    // that mapped a large file. Only files opened here are mapped: a backup being checked for
    // `restore`, which anyone may truncate meanwhile, is read with `pread`.
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    conn.set_prepared_statement_cache_capacity(64);
    // Plans never depend on bound values (the query planner stability guarantee). Otherwise SQLite
    // ties a statement to the values of some of its parameters — any `column = ?` it applies as a
    // filter (the "= 0 or 1 is likely true" estimate of its planner), a LIMIT, a value compared with
    // a partial index's literal, STAT4 samples after an ANALYZE — and `sqlite3_clear_bindings`
    // marks such a statement expired. rusqlite's statement cache clears the bindings of every
    // statement it takes back, so such statements were prepared afresh on every call: both of
    // `check`'s rights statements (organization, account and workspace ids are all filters in
    // some plan), 33 µs instead of 3 (`tests/prepared.rs`).
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Apply every migration newer than `user_version` (up to `upto`), each in its own IMMEDIATE
/// transaction together with the version bump, so a crash leaves the schema at a whole version.
/// `step` is told about each migration it applies (index in `MIGRATIONS`).
fn apply_migrations(conn: &Connection, upto: usize, mut step: impl FnMut(usize)) -> Result<()> {
    let current = user_version(conn)?;
    for (i, (_, sql)) in MIGRATIONS.iter().enumerate().take(upto).skip(current.max(0) as usize) {
        let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        // Another process may have migrated while this one waited for the lock.
        if user_version(&tx)? > i as i64 {
            continue;
        }
        step(i);
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Migrate a bare connection to the current schema (tests, tools). `Database` opens do this too,
/// with notices for a long upgrade.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let current = user_version(conn)?;
    if current > MIGRATIONS.len() as i64 {
        return Err(newer_schema(current));
    }
    apply_migrations(conn, MIGRATIONS.len(), |_| {})
}

fn newer_schema(version: i64) -> Error {
    Error::Unavailable(format!(
        "{CANNOT_USE_DATABASE}it has schema version {version}, newer than this Gatehouse knows ({}); upgrade \
         Gatehouse, or use the version that wrote it",
        MIGRATIONS.len()
    ))
}

/// A schema object as `sqlite_master` lists it: (type, name) → the SQL that made it (none for
/// SQLite's own automatic indexes). SQLite's statistics tables (`ANALYZE`) are left out: they
/// change query plans, never what a query answers.
type SchemaObjects = std::collections::BTreeMap<(String, String), Option<String>>;

fn schema_objects(conn: &Connection) -> Result<SchemaObjects> {
    let mut st =
        conn.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_stat%' ESCAPE '\\'")?;
    let rows = st.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Text from a file being checked, fit for a message: escaped, and at most 80 characters.
fn shown(text: &str) -> String {
    let escaped: String = text.chars().take(80).flat_map(char::escape_debug).collect();
    if text.chars().count() > 80 {
        format!("\"{escaped}…\"")
    } else {
        format!("\"{escaped}\"")
    }
}

impl Database {
    /// Open the database at `path`, creating it (and its folder) if it does not exist, migrated to
    /// the current schema. For `init`, the desktop app, tests and tools; other commands use
    /// `open_existing`.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path, OpenOptions { create: true, ..OpenOptions::default() })
    }

    /// Open an existing Gatehouse database; a missing or empty file is `not_found`, naming it.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path, OpenOptions::default())
    }

    /// Open the database at `path`: a SQLite file, or a PostgreSQL server when `path` is a
    /// `postgres://` (or `postgresql://`) URL, completed by the standard `PG*` variables.
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Database> {
        let path = path.as_ref();
        if let Some(url) = path.to_str().filter(|p| sql::is_postgres_url(p)) {
            return Database::open_postgres(url, options);
        }
        let bound = options.lock_wait;
        Database::open_file(path, options).map_err(|e| locate(e, Some(path), bound))
    }

    fn open_file(path: &Path, options: OpenOptions) -> Result<Database> {
        let create = options.create;
        match std::fs::metadata(path) {
            Ok(meta) => refuse_unless_regular(path, meta.file_type())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !create {
                    return Err(Error::not_found(format!(
                        "no Gatehouse database at {} (`gatehouse init` creates one; --db or $GATEHOUSE_DB name another)",
                        path.display()
                    )));
                }
                match create_private_file(path) {
                    Ok(()) => {}
                    // Something is there after all: a dangling symbolic link, or another process's new file.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let meta = std::fs::metadata(path).map_err(|_| {
                            Error::invalid("db", format!("{} is a symbolic link to nothing", path.display()))
                        })?;
                        refuse_unless_regular(path, meta.file_type())?;
                    }
                    Err(e) => return Err(file_error(path, &e)),
                }
            }
            Err(e) => return Err(file_error(path, &e)),
        }
        // The file exists now: SQLite must not create anything itself.
        let opened =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(Error::from)
                .and_then(|conn| {
                    let mut db = Database::wrap(conn, Some(path.to_path_buf()), options)?;
                    db.identify(path, create)?;
                    make_private(path);
                    configure(db.sqlite())?;
                    db.upgrade()?;
                    Ok(db)
                });
        opened.map_err(|e| match e {
            Error::Unavailable(m) if m.ends_with(CANNOT_OPEN_CAUSE) => match why_not_openable(path) {
                Some(cause) => Error::Unavailable(format!("{CANNOT_USE_DATABASE}{cause}")),
                None => Error::Unavailable(m),
            },
            e => e,
        })
    }

    /// Open a Gatehouse database on a PostgreSQL server, migrated to the current schema (each
    /// migration in one transaction with its version, under an advisory lock, so two processes
    /// starting at once apply it once). A server that cannot be reached, refuses the login or has
    /// no such database is `unavailable` (exit 7); a database that holds no Gatehouse schema yet
    /// is `not_found` unless `options.create` (`init`).
    fn open_postgres(url: &str, options: OpenOptions) -> Result<Database> {
        let pg = sql::PgOptions::from_url(url).map_err(|e| Error::invalid("db", e.to_string()))?;
        let shown = pg.shown.clone();
        let conn = sql::Connection::postgres_with(pg)?;
        let version = sql::pg_schema_version(&conn)?;
        if version > sql::PG_MIGRATIONS.len() as i64 {
            return Err(Error::Unavailable(format!(
                "cannot use the database {shown}: it has schema version {version}, newer than this Gatehouse knows \
                 ({}); upgrade Gatehouse, or use the version that wrote it",
                sql::PG_MIGRATIONS.len()
            )));
        }
        if version == 0 && !options.create {
            return Err(Error::not_found(format!(
                "no Gatehouse database at {shown} (`gatehouse init --db URL` makes one there)"
            )));
        }
        sql::migrate_postgres(&conn)?;
        let lock = Arc::new(LockWait::new(options.lock_wait, options.observer));
        Ok(Database { conn, path: None, lock, answers: Default::default(), keep_answers: true })
    }

    /// Which engine holds this database.
    pub fn backend(&self) -> sql::Backend {
        self.conn.backend()
    }

    /// Refuse what only a SQLite file can do (backup, restore) on PostgreSQL.
    fn require_sqlite(&self, what: &str) -> Result<()> {
        match self.conn.backend() {
            sql::Backend::Sqlite => Ok(()),
            sql::Backend::Postgres => Err(Error::invalid(
                "db",
                format!(
                    "{what} works on a SQLite database file only; to load a backup into an empty PostgreSQL \
                     database, use `gatehouse --db BACKUP migrate --to URL`"
                ),
            )),
        }
    }

    /// A private in-memory database, for tests and benchmarks.
    pub fn open_in_memory() -> Result<Database> {
        let conn = Connection::open_in_memory()?;
        let mut db = Database::wrap(conn, None, OpenOptions::default())?;
        configure(db.sqlite())?;
        db.upgrade()?;
        Ok(db)
    }

    fn wrap(mut conn: Connection, path: Option<PathBuf>, options: OpenOptions) -> Result<Database> {
        let lock = Arc::new(LockWait::new(options.lock_wait, options.observer));
        let handler = Arc::clone(&lock);
        conn.busy_handler(Some(move |count| handler.on_busy(count)))?;
        Ok(Database {
            conn: sql::Connection::sqlite(conn),
            path,
            lock,
            answers: Default::default(),
            keep_answers: true,
        })
    }

    /// The SQLite connection underneath: what only SQLite has (its file, pragmas, backup).
    fn sqlite(&self) -> &Connection {
        self.conn.as_sqlite().expect("a SQLite database")
    }

    fn sqlite_mut(&mut self) -> &mut Connection {
        self.conn.as_sqlite_mut().expect("a SQLite database")
    }

    /// Is this a Gatehouse database this binary can use? Looked at before anything is written:
    /// a file of another program is refused untouched.
    fn identify(&self, path: &Path, create: bool) -> Result<()> {
        let not_ours =
            |why: &str| Error::invalid("db", format!("{} is not a Gatehouse database ({why})", path.display()));
        let version = match self.sqlite().pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0)) {
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
                return Err(not_ours("not a SQLite file"))
            }
            other => other?,
        };
        let (objects, ours): (i64, i64) = self.sqlite().query_row(
            &format!(
                "SELECT count(*), coalesce(sum(type = 'table' AND name IN ('{}')), 0) FROM sqlite_master",
                OUR_TABLES.join("', '")
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if objects == 0 && version == 0 {
            if create {
                return Ok(());
            }
            return Err(Error::not_found(format!(
                "{} is empty: it holds no Gatehouse database yet (`gatehouse init` makes one there)",
                path.display()
            )));
        }
        if ours < OUR_TABLES.len() as i64 || version < 1 {
            return Err(not_ours("a SQLite database of another program"));
        }
        if version > MIGRATIONS.len() as i64 {
            return Err(newer_schema(version));
        }
        Ok(())
    }

    /// Bring the schema up to this binary's version. The upgrade of an existing database is
    /// announced with its steps and, during a long step, the time so far (a large database takes
    /// seconds); other processes opening it meanwhile wait for the lock with
    /// `WaitReason::Upgrade`, and find the work done when they get it. A new, empty database is
    /// just created, without announcements.
    fn upgrade(&mut self) -> Result<()> {
        let from = user_version(self.sqlite())?;
        let to = MIGRATIONS.len() as i64;
        if from > to {
            return Err(newer_schema(from));
        }
        if from == to {
            return Ok(());
        }
        let announce = from > 0;
        let started = Instant::now();
        self.lock.set_reason(WaitReason::Upgrade);
        if let Some(observer) = self.lock.observer.clone().filter(|_| announce) {
            let mut last = Instant::now();
            self.sqlite_mut().progress_handler(
                100_000,
                Some(move || {
                    if last.elapsed() >= Duration::from_secs(1) {
                        last = Instant::now();
                        observer(&Notice::StillUpgrading { elapsed: started.elapsed() });
                    }
                    false
                }),
            )?;
        }
        let lock = Arc::clone(&self.lock);
        let mut first_step: Option<usize> = None;
        let result = apply_migrations(self.conn.as_sqlite().expect("a SQLite database"), MIGRATIONS.len(), |i| {
            lock.settle();
            if !announce {
                return;
            }
            let first = *first_step.get_or_insert_with(|| {
                lock.notify(Notice::Upgrading { from: i as i64, to });
                i
            });
            lock.notify(Notice::UpgradeStep { step: i + 1 - first, steps: to as usize - first, name: MIGRATIONS[i].0 });
        });
        self.lock.settle();
        self.lock.set_reason(WaitReason::Write);
        if announce {
            self.sqlite_mut().progress_handler(0, None::<fn() -> bool>)?;
        }
        result?;
        if let Some(first) = first_step {
            self.lock.notify(Notice::Upgraded { from: first as i64, to, elapsed: started.elapsed() });
        }
        Ok(())
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn schema_version(&self) -> Result<i64> {
        match self.conn.backend() {
            sql::Backend::Sqlite => user_version(self.sqlite()),
            // In a read transaction, so that a session the server ended while idle is replaced
            // at its BEGIN (the service's /healthz asks this of a pooled connection).
            sql::Backend::Postgres => Ok(self.conn.read(|tx| sql::pg_schema_version(tx))?),
        }
    }

    fn locate(&self, e: Error) -> Error {
        locate(e, self.path.as_deref(), self.lock.bound)
    }

    /// Run `f` in a write transaction (`BEGIN IMMEDIATE`, waiting for another process's write lock
    /// up to the bound; the busy handler tells the observer once the wait grows long enough to
    /// mention): commit on success, roll back on error. A refusal (`Forbidden` carrying a `Denial`)
    /// is audited in a transaction of its own after the rollback, so the attempt leaves its trace
    /// and nothing else (rule 8). `f` may run again when the engine asks for a retry (a
    /// serialization failure or deadlock on PostgreSQL; never on SQLite), so it is `FnMut` and
    /// must not act outside the transaction.
    ///
    /// Every write first records the expiries that passed before `now` (rule 9): what a read
    /// command could not record, because another process held the lock, is recorded before any
    /// command acts on that state, in the same transaction as the change.
    pub fn write<T>(&mut self, now: Timestamp, f: impl FnMut(&Transaction) -> Result<T>) -> Result<T> {
        self.write_inner(now, &sql::Scope::whole(), true, f)
    }

    /// `write` of what `scope` names (`sql::Scope`): on PostgreSQL it waits only for the writers
    /// of the same organizations (and of the system, when it names it), and its expiry sweep
    /// records the expiries of those organizations; on SQLite it is `write`.
    pub fn write_in<T>(
        &mut self,
        now: Timestamp,
        scope: &sql::Scope,
        f: impl FnMut(&Transaction) -> Result<T>,
    ) -> Result<T> {
        self.write_inner(now, scope, true, f)
    }

    /// A write without the expiry sweep: the sweep itself.
    pub(crate) fn write_unswept<T>(
        &mut self,
        now: Timestamp,
        scope: &sql::Scope,
        f: impl FnMut(&Transaction) -> Result<T>,
    ) -> Result<T> {
        self.write_inner(now, scope, false, f)
    }

    fn write_inner<T>(
        &mut self,
        now: Timestamp,
        scope: &sql::Scope,
        sweep: bool,
        mut f: impl FnMut(&Transaction) -> Result<T>,
    ) -> Result<T> {
        let lock = Arc::clone(&self.lock);
        // The sweep (this one's, or `f` when it is the sweep) learns from BEGIN's round trip
        // whether anything it holds is due (`sql::Connection::expiries_due`).
        let result = self.conn.write_in_sweeping(scope, now, |tx| {
            lock.settle();
            if sweep {
                crate::usecases::audit::record_expiries_in(tx, now)?;
            }
            f(tx)
        });
        self.lock.settle();
        self.finish(result, now)
    }

    /// A write that is only bookkeeping (last login, a token's last use, the expiry sweep of a
    /// read command): done now if the locks of `scope` are free, skipped (`None`) if another
    /// process holds one, never waited for. It sweeps no expiries.
    pub fn try_write<T>(&mut self, scope: &sql::Scope, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<Option<T>> {
        self.lock.no_wait.store(true, Ordering::Relaxed);
        let begun = self.conn.try_begin_write_in(scope);
        self.lock.no_wait.store(false, Ordering::Relaxed);
        self.lock.settle();
        let result = match begun {
            Err(e) if is_busy(&e) => Ok(None),
            Err(e) => Err(e.into()),
            Ok(None) => Ok(None),
            Ok(Some(tx)) => f(&tx).and_then(|value| {
                tx.commit()?;
                Ok(Some(value))
            }),
        };
        result.map_err(|e| self.locate(e))
    }

    /// Run `f` in a read transaction (a consistent snapshot; no write lock, so it never waits for
    /// a writer); refusals are audited as in `write`.
    pub fn read<T>(&mut self, now: Timestamp, f: impl FnMut(&Transaction) -> Result<T>) -> Result<T> {
        let result = self.conn.read(f);
        self.finish(result, now)
    }

    /// `read` with the file not mapped for its duration (SQLite): for exports, which read every
    /// page of a table once. Read through the mapping, each of those pages would stay in the
    /// process's resident set (the 1M roster read in email order by `sqlite3`: 284 MiB peak RSS mapped, 72 MiB not),
    /// where `pread` reuses the bounded page cache. Mapped again at the next read.
    pub fn read_unmapped<T>(&mut self, now: Timestamp, f: impl FnMut(&Transaction) -> Result<T>) -> Result<T> {
        let Some(conn) = self.conn.as_sqlite() else {
            return self.read(now, f);
        };
        conn.pragma_update(None, "mmap_size", 0)?;
        let result = self.read(now, f);
        let mapped_again = self.sqlite().pragma_update(None, "mmap_size", MMAP_BYTES);
        let value = result?;
        mapped_again?;
        Ok(value)
    }

    /// A read that is one statement (`check`): sent with no BEGIN and COMMIT around it, since one
    /// statement outside a transaction reads one snapshot of its own (SQLite holds its read
    /// transaction from the statement's first step to its reset; PostgreSQL takes one snapshot per
    /// statement), so it waits for a server once instead of three times and SQLite steps one
    /// statement instead of three; a refusal is audited as in `read`. `f` must read with one
    /// statement (a prepare, the first time, is no read; `tests/kept_answers.rs` commits from
    /// another connection at every step of `check`'s and sees no mixed answer). When the server
    /// ended the session while it sat idle, the client learns it only now: `f` runs once more, on
    /// a new connection, as `begin` does for a transaction.
    pub fn read_one<T>(&mut self, now: Timestamp, mut f: impl FnMut(&sql::Connection) -> Result<T>) -> Result<T> {
        let result = match f(&self.conn) {
            Err(Error::Unavailable(_)) if self.conn.backend() == sql::Backend::Postgres && self.conn.is_closed() => {
                f(&self.conn)
            }
            other => other,
        };
        self.finish(result, now)
    }

    /// After a transaction: audit a refusal, and put the path into a fault's message.
    fn finish<T>(&mut self, result: Result<T>, now: Timestamp) -> Result<T> {
        match result {
            Ok(value) => Ok(value),
            Err(error) => {
                if let Error::Forbidden { denial: Some(denial), message } = &error {
                    self.record_denial(denial, message, now).map_err(|e| self.locate(e))?;
                }
                Err(self.locate(error))
            }
        }
    }

    fn record_denial(&mut self, denial: &Denial, reason: &str, now: Timestamp) -> Result<()> {
        let scope = if denial.outsider { sql::Scope::system() } else { sql::Scope::org_id(&denial.organization_id) };
        let tx = self.conn.begin_write_in(&scope);
        self.lock.settle();
        let tx = tx?;
        // An outsider's refusal goes to the system chain (rule 8): recorded, but not in the
        // organization's own chain, which outsiders could otherwise flood.
        let (chain, details) = if denial.outsider {
            (
                "",
                serde_json::json!({ "attempted": denial.action, "reason": reason, "organization_id": denial.organization_id }),
            )
        } else {
            (denial.organization_id.as_str(), serde_json::json!({ "attempted": denial.action, "reason": reason }))
        };
        crate::store::audit::append(
            &tx,
            chain,
            &denial.actor,
            AuditAction::AccessDenied,
            &denial.target,
            &details,
            now,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Copy the whole database into a new file with SQLite's online backup (consistent even while
    /// other processes write). The file must not exist (not even as a symbolic link, rule 12); it
    /// is made owner-only, and removed again if the copy fails.
    ///
    /// On PostgreSQL the new file is a SQLite database of this binary's schema version, filled
    /// from one snapshot of the server (`transfer::copy_all`: every audit chain verified on both
    /// sides), which `restore` accepts and `--db FILE` opens like any other.
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        self.backup_to_with(dest, &mut |_| {})
    }

    /// `backup_to`, telling `progress` how far a copy out of PostgreSQL is.
    pub fn backup_to_with(&self, dest: &Path, progress: &mut dyn FnMut(crate::transfer::Progress)) -> Result<()> {
        if self.backend() == sql::Backend::Postgres {
            return self.backup_postgres_to(dest, progress);
        }
        let file = crate::files::NewFile::create(dest, "file")?;
        // SQLite opens the file just created, and refuses if it has become a symbolic link since.
        let mut out = Connection::open_with_flags(
            dest,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NOFOLLOW | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        {
            let backup = rusqlite::backup::Backup::new(self.sqlite(), &mut out)?;
            backup.run_to_completion(256, Duration::from_millis(0), None)?;
        }
        // A backup is a plain single file: leave it out of WAL mode.
        out.pragma_update(None, "journal_mode", "DELETE")?;
        drop(out);
        file.finish()?;
        Ok(())
    }

    fn backup_postgres_to(&self, dest: &Path, progress: &mut dyn FnMut(crate::transfer::Progress)) -> Result<()> {
        let file = crate::files::NewFile::create(dest, "file")?;
        let made = (|| {
            let out = Connection::open_with_flags(
                dest,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NOFOLLOW | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            out.pragma_update(None, "foreign_keys", "ON")?;
            out.pragma_update(None, "trusted_schema", "OFF")?;
            out.pragma_update(None, "temp_store", "MEMORY")?;
            out.pragma_update(None, "cache_size", CACHE_KIB)?;
            // A backup is a plain single file (no WAL), synced once when complete (`NewFile::finish`);
            // an unfinished one is removed.
            out.pragma_update(None, "journal_mode", "DELETE")?;
            out.pragma_update(None, "synchronous", "OFF")?;
            apply_migrations(&out, MIGRATIONS.len(), |_| {})?;
            let out = sql::Connection::sqlite(out);
            self.conn.read(|source| out.write(|tx| crate::transfer::copy_all(source, tx, &mut *progress)))?;
            Ok::<_, Error>(())
        })();
        match made {
            Ok(()) => {
                file.finish()?;
                Ok(())
            }
            Err(e) => {
                // The file itself goes with `file`; a rollback journal left beside it goes too.
                let mut journal = dest.as_os_str().to_owned();
                journal.push("-journal");
                let _ = std::fs::remove_file(PathBuf::from(journal));
                Err(e)
            }
        }
    }

    /// Check that `source` is a sound Gatehouse database and copy it into `staging` (a new, empty
    /// file the caller made), upgraded to this binary's schema. Read-only on `source`; nothing
    /// else is touched. Refused (`invalid_input` naming `file`): anything that is not a regular
    /// file, not SQLite, damaged (`PRAGMA integrity_check`), of no Gatehouse schema version, whose
    /// schema objects differ in any way from those a fresh database has at that version (an
    /// extra trigger, view, table or index, a missing or altered one), or with a dangling
    /// reference (`PRAGMA foreign_key_check`). What the data must satisfy besides (owners, audit
    /// chains, who restores) is `usecases::restore`'s to check on the staged copy.
    pub(crate) fn stage_backup(source: &Path, staging: &Path) -> Result<(Database, i64)> {
        let unsound = |why: String| {
            Error::invalid("file", format!("{} is not a sound Gatehouse backup: {why}", source.display()))
        };
        match std::fs::metadata(source) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(Error::invalid("file", format!("{} is not a file", source.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::invalid("file", format!("{} does not exist", source.display())))
            }
            Err(e) => return Err(Error::invalid("file", format!("cannot read {}: {e}", source.display()))),
        }
        let src =
            Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|_| unsound("SQLite cannot open it".into()))?;
        // Nothing of the file's own schema (a function in a view or a trigger) runs while it is read.
        src.pragma_update(None, "trusted_schema", "OFF")?;
        let not_sqlite = |e: rusqlite::Error| {
            log::warn!("restore: {e}");
            unsound("it is not a SQLite database".into())
        };
        let version: i64 = src.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(not_sqlite)?;
        let problems: Vec<String> = src
            .prepare("PRAGMA integrity_check(5)")
            .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
            .map_err(not_sqlite)?;
        if problems != ["ok"] {
            return Err(unsound(format!("SQLite finds it damaged ({})", shown(&problems.join("; ")))));
        }
        if version < 1 {
            return Err(unsound("it is not a Gatehouse database (no schema version)".into()));
        }
        if version > MIGRATIONS.len() as i64 {
            return Err(unsound(format!(
                "it has schema version {version}, newer than this Gatehouse knows ({})",
                MIGRATIONS.len()
            )));
        }
        let expected = {
            let fresh = Connection::open_in_memory()?;
            apply_migrations(&fresh, version as usize, |_| {})?;
            schema_objects(&fresh)?
        };
        let found = schema_objects(&src)?;
        for (key, sql) in &found {
            match expected.get(key) {
                None => {
                    return Err(unsound(format!(
                        "its {} {} is not part of Gatehouse's schema version {version}",
                        key.0,
                        shown(&key.1)
                    )))
                }
                Some(want) if want != sql => {
                    return Err(unsound(format!(
                        "its {} {} differs from Gatehouse's schema version {version}",
                        key.0,
                        shown(&key.1)
                    )))
                }
                Some(_) => {}
            }
        }
        if let Some(key) = expected.keys().find(|k| !found.contains_key(*k)) {
            return Err(unsound(format!(
                "the {} {} of Gatehouse's schema version {version} is missing",
                key.0,
                shown(&key.1)
            )));
        }
        let dangling: i64 = src.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
        if dangling > 0 {
            return Err(unsound(format!("{dangling} rows refer to rows that do not exist (foreign keys)")));
        }

        let mut out = Connection::open_with_flags(
            staging,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NOFOLLOW | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        {
            let backup = rusqlite::backup::Backup::new(&src, &mut out)?;
            backup.run_to_completion(1024, Duration::from_millis(0), None)?;
        }
        drop(src);
        // The staged copy is a private working file: no WAL files beside it.
        out.pragma_update(None, "journal_mode", "DELETE")?;
        out.pragma_update(None, "foreign_keys", "ON")?;
        out.pragma_update(None, "trusted_schema", "OFF")?;
        out.pragma_update(None, "temp_store", "MEMORY")?;
        out.pragma_update(None, "cache_size", CACHE_KIB)?;
        let mut db = Database::wrap(out, Some(staging.to_path_buf()), OpenOptions::default())?;
        db.upgrade()?;
        Ok((db, version))
    }

    /// Replace the whole contents of this database with those of `staged` (checked by
    /// `usecases::restore`), in one write transaction on this side: other processes see the old
    /// database or the new one, never a mixture.
    pub(crate) fn replace_with(&mut self, staged: &Database) -> Result<()> {
        self.require_sqlite("restore")?;
        let copied = (|| {
            let backup = rusqlite::backup::Backup::new(staged.sqlite(), self.sqlite_mut())?;
            // All pages in one step: one transaction on this database.
            match backup.step(-1)? {
                rusqlite::backup::StepResult::Done => Ok(()),
                _ => Err(Error::Unavailable(format!("{CANNOT_USE_DATABASE}{LOCKED_CAUSE}"))),
            }
        })();
        self.lock.settle();
        // The copy commits through this connection, which changes the data version anyway.
        self.answers.clear();
        copied.map_err(|e| self.locate(e))?;
        configure(self.sqlite())
    }

    /// The connection, for benchmarks and tests that read the store directly.
    pub fn connection(&self) -> &sql::Connection {
        &self.conn
    }

    /// The SQLite connection of a SQLite database (`None` on PostgreSQL), for tests and tools
    /// that inspect the file itself.
    pub fn sqlite_connection(&self) -> Option<&Connection> {
        self.conn.as_sqlite()
    }

    /// The main database's data version, which changes with every commit by any connection in any
    /// process (`SQLITE_FCNTL_DATA_VERSION`), as of now: `PRAGMA data_version` starts (and ends) a
    /// read transaction first, which is when the pager learns of other connections' commits.
    /// `None` on PostgreSQL, and when `check`'s answers are not kept.
    pub(crate) fn data_version(&self) -> Result<Option<u32>> {
        let Some(conn) = self.conn.as_sqlite().filter(|_| self.keep_answers) else {
            return Ok(None);
        };
        let probe = || -> rusqlite::Result<u32> {
            conn.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get::<_, i64>(0))?;
            let mut version = 0;
            conn.file_control(Some(rusqlite::MAIN_DB), rusqlite::FileControl::DataVersion(&mut version))?;
            Ok(version)
        };
        Ok(Some(probe().map_err(|e| self.locate(Error::from(e)))?))
    }

    /// Keep `check`'s answers (the default) or compute every one afresh (benchmarks compare both).
    pub fn keep_check_answers(&mut self, keep: bool) {
        self.keep_answers = keep;
        self.answers.clear();
    }

    /// How many `check` answers this `Database` gave from its kept answers (tests).
    pub fn check_answers_reused(&self) -> u64 {
        self.answers.hits()
    }

    /// This database set for one bulk load until the guard is dropped, which puts back the
    /// connection's settings as they were (also when the load fails or panics): on SQLite, the
    /// pragmas of `BULK_LOAD_SETTINGS`; on PostgreSQL, nothing (the server's settings are its own).
    /// Use the guard as the `Database` for the load; take it outside `write` (SQLite may refuse to
    /// change `temp_store` inside a transaction).
    pub(crate) fn bulk_load_settings(&mut self) -> Result<BulkLoad<'_>> {
        if self.conn.as_sqlite().is_none() {
            return Ok(BulkLoad { db: self, before: None });
        }
        let mut before = BULK_LOAD_SETTINGS;
        for (name, value) in &mut before {
            *value = self.sqlite().pragma_query_value(None, name, |r| r.get(0))?;
        }
        // Built before the first change: one that fails puts back those made before it.
        let load = BulkLoad { db: self, before: Some(before) };
        let conn = load.db.sqlite();
        for (name, value) in BULK_LOAD_SETTINGS {
            conn.pragma_update(None, name, value)?;
        }
        Ok(load)
    }
}

/// A `Database` set for a bulk load (`Database::bulk_load_settings`); dropped, the connection's
/// settings are as they were before.
pub(crate) struct BulkLoad<'a> {
    db: &'a mut Database,
    /// The SQLite settings to put back, as (pragma, value); `None` on PostgreSQL.
    before: Option<[(&'static str, i64); 3]>,
}

impl std::ops::Deref for BulkLoad<'_> {
    type Target = Database;
    fn deref(&self) -> &Database {
        self.db
    }
}

impl std::ops::DerefMut for BulkLoad<'_> {
    fn deref_mut(&mut self) -> &mut Database {
        self.db
    }
}

impl Drop for BulkLoad<'_> {
    fn drop(&mut self) {
        let (Some(before), Some(conn)) = (self.before, self.db.conn.as_sqlite()) else {
            return;
        };
        for (name, value) in before.into_iter().rev() {
            if let Err(e) = conn.pragma_update(None, name, value) {
                log::warn!("putting back PRAGMA {name} = {value} after a bulk load: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_pauses_are_short_and_jittered() {
        // Doubling from 1 ms; never past 16 ms × 1.5, however long the wait.
        let middle: Vec<u128> = (0..8).map(|c| busy_pause(c, 0.5).as_millis()).collect();
        assert_eq!(middle, [1, 2, 4, 8, 16, 16, 16, 16]);
        for count in [0, 5, 100, i32::MAX] {
            assert!(busy_pause(count, 0.999) <= MAX_BUSY_PAUSE.mul_f64(1.5));
            assert!(busy_pause(count, 0.0) >= Duration::from_micros(500));
        }
        // Two waiters with different draws wake apart.
        assert_ne!(busy_pause(6, 0.1), busy_pause(6, 0.9));
    }

    /// The bulk-load guard sets its pragmas while it lives and puts back what the connection had
    /// when it is dropped: after the load, after a load that panics, and nested.
    #[test]
    fn a_bulk_load_puts_the_connection_settings_back() {
        let settings = |db: &Database| -> Vec<i64> {
            BULK_LOAD_SETTINGS
                .iter()
                .map(|(name, _)| db.sqlite().pragma_query_value(None, name, |r| r.get(0)).unwrap())
                .collect()
        };
        let bulk: Vec<i64> = BULK_LOAD_SETTINGS.iter().map(|(_, value)| *value).collect();
        let mut db = Database::open_in_memory().unwrap();
        let configured = settings(&db);
        assert_eq!(configured, [CACHE_KIB, 2, 0], "cache_size, temp_store MEMORY, no sorter threads");
        {
            let mut load = db.bulk_load_settings().unwrap();
            assert_eq!(settings(&load), bulk);
            load.write(0, |tx| Ok(tx.execute("CREATE TABLE t(x)", [])?)).unwrap();
            assert_eq!(settings(&load.bulk_load_settings().unwrap()), bulk);
            assert_eq!(settings(&load), bulk, "a nested guard puts back the outer one's settings");
        }
        assert_eq!(settings(&db), configured);
        let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _load = db.bulk_load_settings().unwrap();
            panic!("killed mid-load");
        }));
        assert!(killed.is_err());
        assert_eq!(settings(&db), configured);
    }

    #[test]
    fn migrations_apply_and_are_idempotent() {
        let db = Database::open_in_memory().unwrap();
        assert_eq!(db.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let fk: i64 = db.sqlite().pragma_query_value(None, "foreign_keys", |r| r.get(0)).unwrap();
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
        let mode: String = db.sqlite().pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = db.sqlite().pragma_query_value(None, "synchronous", |r| r.get(0)).unwrap();
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
