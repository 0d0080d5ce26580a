//! The SQL facade: one connection type over two engines, SQLite (rusqlite, the default) and
//! PostgreSQL (the `postgres` crate), with the part of rusqlite's API that the store and the use
//! cases use, so that moving them onto it is a change of imports (`use crate::sql::{params,
//! Connection, OptionalExtension}`).
//!
//! The value model is SQLite's: parameters are `rusqlite::ToSql` values and columns are read through
//! `rusqlite::types::FromSql`, so a Rust type converts the same way on both engines; the PostgreSQL
//! backend maps its values onto SQLite's five storage classes (`pgvalue`). SQL is written in SQLite's
//! dialect and translated for PostgreSQL once per distinct statement (`translate`).
//!
//! On SQLite every call goes straight to rusqlite: parameters pass through as rusqlite's own
//! `Params`, rusqlite's statement cache is used, and a row is rusqlite's row seen through the
//! object-safe `RowValues` (a fat pointer, no copy).
//!
//! Transactions: `begin_write` serializes writers (SQLite `BEGIN IMMEDIATE`; PostgreSQL READ
//! COMMITTED after `pg_advisory_xact_lock`, taken first so that every later statement sees what the
//! previous writer committed), `begin_read` takes a snapshot (SQLite's deferred read; PostgreSQL
//! `REPEATABLE READ READ ONLY`). `write` and `read` run a closure in one and retry it, a bounded number
//! of times, when the engine reports a serialization failure or a deadlock.
//!
//! What the store's SQL must still change for PostgreSQL, found while building this facade; none of
//! it can be translated safely without knowing the schema:
//! - a BIGINT flag used as a condition (`CASE WHEN m.enabled THEN`, `WHERE enabled`) must compare
//!   (`m.enabled <> 0`); an `EXISTS (…)` stored into a BIGINT column must be `CASE WHEN EXISTS (…)
//!   THEN 1 ELSE 0 END` (PostgreSQL has no implicit boolean-to-integer cast);
//! - `last_insert_rowid()` is `SELECT lastval()` on PostgreSQL, right only when no trigger inserted
//!   into another table with a sequence since: prefer `INSERT … RETURNING seq` on both engines;
//! - a statement that fails inside a PostgreSQL transaction aborts it (SQLite carries on): a use case
//!   that expects a statement to fail and goes on must test first or use a SAVEPOINT;
//! - a closure that retries must be `FnMut` (`Database::write` takes an `FnOnce` today);
//! - the pragmas of `db.rs` and `demo` are SQLite's (`pragma_update` does nothing on PostgreSQL).

mod pgconfig;
mod pgvalue;
mod postgres;
mod translate;

pub use pgconfig::{is_postgres_url, password_from_file, PgOptions, Tls};
pub use postgres::{migrate_postgres, migrate_postgres_in, schema_version as pg_schema_version, PG_MIGRATIONS};
pub use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, Value, ValueRef};
pub use rusqlite::{named_params, params, ToSql};
pub use translate::{translate, Translation};

use std::cell::Cell;
use std::time::Duration;

/// Which engine a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An error of either engine, or of the facade.
#[derive(Debug)]
pub enum Error {
    /// `query_row` found no row (`optional()` makes it `None`).
    NoRows,
    Sqlite(rusqlite::Error),
    Postgres(::postgres::Error),
    /// The server cannot be reached, refused the connection, or the connection was lost.
    Unavailable(String),
    /// A column that does not convert to the type asked for, or does not exist.
    Column(String),
    /// A misuse: wrong parameters, a URL that does not parse.
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoRows => write!(f, "query returned no rows"),
            Error::Sqlite(e) => write!(f, "{e}"),
            Error::Postgres(e) => match e.as_db_error() {
                Some(db) => write!(f, "{} ({})", db.message(), db.code().code()),
                None => write!(f, "{e}"),
            },
            Error::Unavailable(m) | Error::Column(m) | Error::Invalid(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => Error::NoRows,
            e => Error::Sqlite(e),
        }
    }
}

/// What an engine's error means to the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NoRows,
    /// A unique, foreign-key, check or not-null constraint refused the write.
    Constraint,
    /// A serialization failure or a deadlock: running the transaction again may succeed.
    Retry,
    Unavailable,
    Other,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NoRows => ErrorKind::NoRows,
            Error::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => match f.code {
                rusqlite::ErrorCode::ConstraintViolation => ErrorKind::Constraint,
                _ => ErrorKind::Other,
            },
            Error::Sqlite(_) => ErrorKind::Other,
            Error::Postgres(e) => postgres::kind_of(e),
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Column(_) | Error::Invalid(_) => ErrorKind::Other,
        }
    }
}

impl From<Error> for crate::error::Error {
    fn from(e: Error) -> Self {
        use crate::error::Error as E;
        match e {
            // SQLite's errors keep the core's own mapping of them.
            Error::Sqlite(e) => E::from(e),
            Error::NoRows => E::from(rusqlite::Error::QueryReturnedNoRows),
            Error::Postgres(ref pg) => {
                // The raw text is for whoever debugs this, never for the message a user sees.
                log::warn!("database: {e}");
                if pg.code().is_some_and(|c| c.code() == "42501") {
                    // insufficient_privilege: the server, not Gatehouse, is in the way (as a file
                    // that may not be written is on SQLite). PostgreSQL 15 lets only a database's
                    // owner create tables in its schema public.
                    let what =
                        pg.as_db_error().map_or_else(|| "permission denied".to_string(), |d| d.message().to_string());
                    return E::Unavailable(format!(
                        "the database server refused: {what}; connect as a role that owns the database \
                         (createdb -O ROLE DATABASE), or grant that role CREATE on its schema public"
                    ));
                }
                match postgres::kind_of(pg) {
                    ErrorKind::Constraint => {
                        let db = pg.as_db_error();
                        match pg.code().map(|c| c.code()) {
                            Some("23505") => crate::error::unique_conflict(
                                db.and_then(|d| d.table()).unwrap_or(""),
                                db.and_then(|d| d.constraint()).unwrap_or(""),
                            ),
                            Some("23503") => crate::error::reference_conflict(),
                            _ => crate::error::inconsistent_change(),
                        }
                    }
                    ErrorKind::Unavailable => E::Unavailable(format!("the database server is unavailable: {e}")),
                    ErrorKind::Retry => E::Unavailable("the database is busy; try again".into()),
                    ErrorKind::NoRows | ErrorKind::Other => {
                        E::Internal("a database operation failed unexpectedly (a bug; the detail is in the log)".into())
                    }
                }
            }
            Error::Unavailable(m) => E::Unavailable(m),
            Error::Column(_) | Error::Invalid(_) => {
                log::warn!("database: {e}");
                E::Internal("a database operation failed unexpectedly (a bug; the detail is in the log)".into())
            }
        }
    }
}

/// `query_row(…).optional()`: no row is `None`, as with rusqlite.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

// ---------------------------------------------------------------------------------------- parameters

/// Parameters of a statement: rusqlite's own (so SQLite gets them untouched), which the PostgreSQL
/// backend reads as values.
pub trait Params: rusqlite::Params {
    /// The values in order, each with its name when the parameters are named.
    fn values(&self) -> Result<Vec<(Option<&str>, ToSqlOutput<'_>)>>;
}

impl Params for [&(dyn ToSql + Send + Sync); 0] {
    fn values(&self) -> Result<Vec<(Option<&str>, ToSqlOutput<'_>)>> {
        Ok(Vec::new())
    }
}

impl Params for () {
    fn values(&self) -> Result<Vec<(Option<&str>, ToSqlOutput<'_>)>> {
        Ok(Vec::new())
    }
}

impl Params for &[&dyn ToSql] {
    fn values(&self) -> Result<Vec<(Option<&str>, ToSqlOutput<'_>)>> {
        self.iter().map(|p| Ok((None, p.to_sql()?))).collect()
    }
}

impl<T: ToSql> Params for &[(&str, T)] {
    fn values(&self) -> Result<Vec<(Option<&str>, ToSqlOutput<'_>)>> {
        self.iter().map(|(name, p)| Ok((Some(*name), p.to_sql()?))).collect()
    }
}

macro_rules! array_params {
    ($($n:literal)+) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn values(&self) -> Result<Vec<(Option<&str>, ToSqlOutput<'_>)>> {
                self.iter().map(|p| Ok((None, p.to_sql()?))).collect()
            }
        }
    )+};
}
array_params!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);

/// A parameter's value as SQLite would store it.
fn value_of<'a>(out: &'a ToSqlOutput<'a>) -> Result<ValueRef<'a>> {
    match out {
        ToSqlOutput::Borrowed(v) => Ok(*v),
        ToSqlOutput::Owned(v) => Ok(ValueRef::from(v)),
        _ => Err(Error::Invalid("a parameter of a kind only SQLite knows (zeroblob, array)".into())),
    }
}

// ---------------------------------------------------------------------------------------------- rows

/// A row of a result: `get` a column by position or name as any `FromSql` type.
pub type Row<'a> = dyn RowValues + 'a;

/// What a row of either engine offers; `Row` is this seen as one type.
pub trait RowValues {
    /// The column's value as SQLite's storage classes.
    fn value(&self, idx: usize) -> Result<ValueRef<'_>>;
    fn column_index(&self, name: &str) -> Result<usize>;
    fn column_count(&self) -> usize;
    fn column_name(&self, idx: usize) -> Result<&str>;
}

impl RowValues for rusqlite::Row<'_> {
    #[inline]
    fn value(&self, idx: usize) -> Result<ValueRef<'_>> {
        Ok(self.get_ref(idx)?)
    }
    fn column_index(&self, name: &str) -> Result<usize> {
        Ok(self.as_ref().column_index(name)?)
    }
    fn column_count(&self) -> usize {
        self.as_ref().column_count()
    }
    fn column_name(&self, idx: usize) -> Result<&str> {
        Ok(self.as_ref().column_name(idx)?)
    }
}

/// A column by position (from 0) or by name.
pub trait RowIndex: Copy + std::fmt::Debug {
    fn index(self, row: &Row<'_>) -> Result<usize>;
}

impl RowIndex for usize {
    #[inline]
    fn index(self, _: &Row<'_>) -> Result<usize> {
        Ok(self)
    }
}

impl RowIndex for &str {
    fn index(self, row: &Row<'_>) -> Result<usize> {
        row.column_index(self)
    }
}

impl<'a> dyn RowValues + 'a {
    /// The column converted as rusqlite converts it (`get::<_, T>(idx)`, as with rusqlite).
    #[inline]
    pub fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        let i = idx.index(self)?;
        let v = self.value(i)?;
        T::column_result(v).map_err(|e| {
            let name = self.column_name(i).unwrap_or("?");
            Error::Column(format!("column {i} ({name}): {e} (a {} value)", v.data_type()))
        })
    }

    pub fn get_ref<I: RowIndex>(&self, idx: I) -> Result<ValueRef<'_>> {
        let i = idx.index(self)?;
        self.value(i)
    }
}

/// The rows of a query, one at a time.
pub struct Rows<'s> {
    inner: RowsInner<'s>,
}

enum RowsInner<'s> {
    Sqlite(rusqlite::Rows<'s>),
    Postgres(postgres::PgRows),
}

impl<'s> Rows<'s> {
    #[inline]
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<&Row<'_>>> {
        match &mut self.inner {
            RowsInner::Sqlite(rows) => match rows.next() {
                Ok(Some(r)) => Ok(Some(r as &Row<'_>)),
                Ok(None) => Ok(None),
                Err(e) => Err(e.into()),
            },
            RowsInner::Postgres(rows) => rows.next(),
        }
    }
}

/// `query_map`'s iterator: each row through the closure.
pub struct MappedRows<'s, F> {
    rows: Rows<'s>,
    f: F,
}

impl<T, F: FnMut(&Row<'_>) -> Result<T>> Iterator for MappedRows<'_, F> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Result<T>> {
        match self.rows.next() {
            Ok(Some(row)) => Some((self.f)(row)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

// ----------------------------------------------------------------------------------------- statements

/// A prepared statement.
pub struct Statement<'c> {
    inner: StatementInner<'c>,
}

enum StatementInner<'c> {
    SqliteCached(rusqlite::CachedStatement<'c>),
    Sqlite(rusqlite::Statement<'c>),
    Postgres(postgres::PgStatement<'c>),
}

impl<'c> Statement<'c> {
    #[inline]
    fn sqlite(&mut self) -> Option<&mut rusqlite::Statement<'c>> {
        match &mut self.inner {
            StatementInner::SqliteCached(st) => Some(st),
            StatementInner::Sqlite(st) => Some(st),
            StatementInner::Postgres(_) => None,
        }
    }

    /// Run a statement that returns no rows; the number of rows changed.
    #[inline]
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        match &mut self.inner {
            StatementInner::SqliteCached(st) => Ok(st.execute(params)?),
            StatementInner::Sqlite(st) => Ok(st.execute(params)?),
            StatementInner::Postgres(st) => st.execute(&params),
        }
    }

    #[inline]
    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        let inner = match &mut self.inner {
            StatementInner::SqliteCached(st) => RowsInner::Sqlite(st.query(params)?),
            StatementInner::Sqlite(st) => RowsInner::Sqlite(st.query(params)?),
            StatementInner::Postgres(st) => RowsInner::Postgres(st.query(&params)?),
        };
        Ok(Rows { inner })
    }

    /// The first row through `f`; `Error::NoRows` when there is none.
    #[inline]
    pub fn query_row<T, P: Params, F: FnOnce(&Row<'_>) -> Result<T>>(&mut self, params: P, f: F) -> Result<T> {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(row) => f(row),
            None => Err(Error::NoRows),
        }
    }

    #[inline]
    pub fn query_map<T, P: Params, F: FnMut(&Row<'_>) -> Result<T>>(
        &mut self,
        params: P,
        f: F,
    ) -> Result<MappedRows<'_, F>> {
        Ok(MappedRows { rows: self.query(params)?, f })
    }

    /// The position (from 1) of a named parameter, given with its prefix (`:now`).
    pub fn parameter_index(&self, name: &str) -> Result<Option<usize>> {
        match &self.inner {
            StatementInner::SqliteCached(st) => Ok(st.parameter_index(name)?),
            StatementInner::Sqlite(st) => Ok(st.parameter_index(name)?),
            StatementInner::Postgres(st) => Ok(st.parameter_index(name)),
        }
    }

    /// Bind one parameter (from 1) for `raw_query`.
    #[inline]
    pub fn raw_bind_parameter<T: ToSql>(&mut self, index: usize, value: T) -> Result<()> {
        match &mut self.inner {
            StatementInner::SqliteCached(st) => Ok(st.raw_bind_parameter(index, value)?),
            StatementInner::Sqlite(st) => Ok(st.raw_bind_parameter(index, value)?),
            StatementInner::Postgres(st) => st.bind(index, &value),
        }
    }

    /// Run with the parameters bound by `raw_bind_parameter` (unbound ones are NULL).
    pub fn raw_query(&mut self) -> Rows<'_> {
        let inner = match &mut self.inner {
            StatementInner::SqliteCached(st) => RowsInner::Sqlite(st.raw_query()),
            StatementInner::Sqlite(st) => RowsInner::Sqlite(st.raw_query()),
            StatementInner::Postgres(st) => RowsInner::Postgres(st.raw_query()),
        };
        Rows { inner }
    }

    pub fn column_count(&mut self) -> Result<usize> {
        match &mut self.inner {
            StatementInner::SqliteCached(st) => Ok(st.column_count()),
            StatementInner::Sqlite(st) => Ok(st.column_count()),
            StatementInner::Postgres(st) => st.column_count(),
        }
    }

    /// The underlying rusqlite statement, for what only SQLite has.
    pub fn as_sqlite(&mut self) -> Option<&mut rusqlite::Statement<'c>> {
        self.sqlite()
    }
}

// ---------------------------------------------------------------------------------------- connection

/// One connection to either engine. Not `Sync`: one thread uses it at a time, as with rusqlite.
pub struct Connection {
    inner: Inner,
    /// Set while a transaction of this facade is open.
    in_transaction: Cell<bool>,
}

enum Inner {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::PgConnection),
}

/// How many times `write`/`read` run a closure that hit a serialization failure or deadlock.
pub const ATTEMPTS: u32 = 5;

/// The advisory lock every PostgreSQL write transaction takes first: one per database, as SQLite's
/// write lock is one per file ("Gatehous" in ASCII).
pub const WRITE_LOCK: i64 = 0x4761_7465_686f_7573;

impl Connection {
    /// Wrap an open SQLite connection (its pragmas already set).
    pub fn sqlite(conn: rusqlite::Connection) -> Connection {
        Connection { inner: Inner::Sqlite(conn), in_transaction: Cell::new(false) }
    }

    /// Connect to a PostgreSQL server (`postgres://…`, completed by the `PG*` variables).
    /// An unreachable server, a refused login or a missing database is `Error::Unavailable`.
    pub fn postgres(url: &str) -> Result<Connection> {
        Connection::postgres_with(PgOptions::from_url(url)?)
    }

    pub fn postgres_with(options: PgOptions) -> Result<Connection> {
        Ok(Connection {
            inner: Inner::Postgres(postgres::PgConnection::connect(options)?),
            in_transaction: Cell::new(false),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (backup, pragmas read back).
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Postgres(_) => None,
        }
    }

    pub fn as_sqlite_mut(&mut self) -> Option<&mut rusqlite::Connection> {
        match &mut self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Postgres(_) => None,
        }
    }

    /// A statement from the connection's cache (prepared on first use).
    #[inline]
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        let inner = match &self.inner {
            Inner::Sqlite(c) => StatementInner::SqliteCached(c.prepare_cached(sql)?),
            Inner::Postgres(c) => StatementInner::Postgres(c.statement(sql)),
        };
        Ok(Statement { inner })
    }

    /// A statement prepared for this use only (on PostgreSQL the cache serves it all the same).
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        let inner = match &self.inner {
            Inner::Sqlite(c) => StatementInner::Sqlite(c.prepare(sql)?),
            Inner::Postgres(c) => StatementInner::Postgres(c.statement(sql)),
        };
        Ok(Statement { inner })
    }

    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute(sql, params)?),
            Inner::Postgres(c) => c.statement(sql).execute(&params),
        }
    }

    pub fn query_row<T, P: Params, F: FnOnce(&Row<'_>) -> Result<T>>(&self, sql: &str, params: P, f: F) -> Result<T> {
        self.prepare(sql)?.query_row(params, f)
    }

    /// Run several statements with no parameters, as written: no translation on PostgreSQL (this is
    /// for schema scripts, which each engine has its own of).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Postgres(c) => c.batch(sql),
        }
    }

    /// Load rows into a table with PostgreSQL's `COPY … FROM STDIN` (`data` in COPY's text
    /// format); SQLite has no such statement.
    pub fn copy_in(&self, sql: &str, data: &[u8]) -> Result<u64> {
        match &self.inner {
            Inner::Sqlite(_) => Err(Error::Invalid("COPY is PostgreSQL's; SQLite inserts row by row".into())),
            Inner::Postgres(c) => c.copy_in(sql, data),
        }
    }

    /// The id of the row the last INSERT made. On PostgreSQL `lastval()`: the last value any
    /// sequence gave in this session, which is that row's only if no trigger inserted elsewhere since.
    pub fn last_insert_rowid(&self) -> Result<i64> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.last_insert_rowid()),
            Inner::Postgres(_) => self.query_row("SELECT lastval()", (), |r| r.get(0)),
        }
    }

    /// Set a pragma on SQLite; nothing on PostgreSQL, which has none.
    pub fn pragma_update<V: ToSql>(&self, schema: Option<&str>, name: &str, value: V) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.pragma_update(schema, name, value)?),
            Inner::Postgres(_) => Ok(()),
        }
    }

    /// Open a write transaction: writers run one at a time (see the module's header).
    pub fn begin_write(&self) -> Result<Transaction<'_>> {
        self.begin(true)
    }

    /// Open a read transaction: one consistent snapshot.
    pub fn begin_read(&self) -> Result<Transaction<'_>> {
        self.begin(false)
    }

    fn begin(&self, write: bool) -> Result<Transaction<'_>> {
        if self.in_transaction.get() {
            return Err(Error::Invalid("a transaction is already open on this connection".into()));
        }
        match &self.inner {
            // Cached: parsing BEGIN and COMMIT again on every transaction was a tenth of a `check`.
            Inner::Sqlite(c) => {
                c.prepare_cached(if write { "BEGIN IMMEDIATE" } else { "BEGIN DEFERRED" })?.execute([])?;
            }
            Inner::Postgres(c) => c.begin(write)?,
        }
        self.in_transaction.set(true);
        Ok(Transaction { conn: self, open: true, attempt_open: Cell::new(false) })
    }

    /// Run `f` in a write transaction and commit; on error roll back. A serialization failure or
    /// deadlock anywhere in it (commit included) runs `f` again, at most `ATTEMPTS` times in all.
    pub fn write<T, E: From<Error>>(&self, f: impl FnMut(&Transaction<'_>) -> Result<T, E>) -> Result<T, E> {
        self.run(true, f)
    }

    /// Run `f` in a read transaction, as `write` does.
    pub fn read<T, E: From<Error>>(&self, f: impl FnMut(&Transaction<'_>) -> Result<T, E>) -> Result<T, E> {
        self.run(false, f)
    }

    fn run<T, E: From<Error>>(&self, write: bool, mut f: impl FnMut(&Transaction<'_>) -> Result<T, E>) -> Result<T, E> {
        let mut attempt = 1;
        loop {
            self.clear_retry();
            let tx = self.begin(write)?;
            let result = f(&tx).and_then(|value| tx.commit().map(|()| value).map_err(E::from));
            match result {
                Ok(value) => return Ok(value),
                Err(e) if self.retry_seen() && attempt < ATTEMPTS => {
                    attempt += 1;
                    // Back off a little, longer each time, so the other transaction can finish.
                    std::thread::sleep(Duration::from_millis(u64::from(attempt) * 5 + rand::random::<u64>() % 10));
                    drop(e);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn clear_retry(&self) {
        if let Inner::Postgres(c) = &self.inner {
            c.retry.set(false);
        }
    }

    /// Whether a statement since the transaction began failed in a way a new attempt may not.
    fn retry_seen(&self) -> bool {
        match &self.inner {
            Inner::Sqlite(_) => false,
            Inner::Postgres(c) => c.retry.get(),
        }
    }

    /// Savepoint statements of `Transaction::attempt`, in one round trip.
    fn savepoint(&self, sql: &str) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Postgres(c) => c.savepoint(sql),
        }
    }

    fn end(&self, commit: bool) -> Result<()> {
        self.in_transaction.set(false);
        match &self.inner {
            Inner::Sqlite(c) => {
                c.prepare_cached(if commit { "COMMIT" } else { "ROLLBACK" })?.execute([])?;
                Ok(())
            }
            Inner::Postgres(c) => c.end(commit),
        }
    }
}

/// An open transaction; a `&Transaction` is a `&Connection` for the store. Dropped without
/// `commit`, it rolls back.
pub struct Transaction<'c> {
    conn: &'c Connection,
    open: bool,
    /// The savepoint of the last `attempt` that succeeded, released by the next one (or the commit).
    attempt_open: Cell<bool>,
}

impl Transaction<'_> {
    /// Run `f`, one row of a command that reports an outcome per row, so that it fails alone: when
    /// it returns an error, whatever it wrote is undone and the transaction goes on. On PostgreSQL a
    /// failed statement aborts the whole transaction (every later statement would fail with
    /// "current transaction is aborted"); a savepoint around the row keeps the rest usable. One
    /// round trip per row (the previous row's savepoint is released in the same one); one more for
    /// a row that fails.
    pub fn attempt<T, E: From<Error>>(
        &self,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let sql = if self.attempt_open.replace(false) {
            "RELEASE SAVEPOINT gh_attempt; SAVEPOINT gh_attempt"
        } else {
            "SAVEPOINT gh_attempt"
        };
        self.conn.savepoint(sql)?;
        match f() {
            Ok(value) => {
                self.attempt_open.set(true);
                Ok(value)
            }
            Err(e) => {
                // If even this fails (the connection is gone), the transaction stays failed and
                // its commit is refused: nothing is saved.
                let _ = self.conn.savepoint("ROLLBACK TO SAVEPOINT gh_attempt; RELEASE SAVEPOINT gh_attempt");
                Err(e)
            }
        }
    }

    pub fn commit(mut self) -> Result<()> {
        self.open = false;
        self.conn.end(true)
    }

    pub fn rollback(mut self) -> Result<()> {
        self.open = false;
        self.conn.end(false)
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing to report to: a rollback that fails leaves nothing committed either.
            let _ = self.conn.end(false);
        }
    }
}
