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
//! Transactions: `begin_write_in(scope)` serializes writers (SQLite `BEGIN IMMEDIATE`, one writer
//! per file; PostgreSQL READ COMMITTED after the advisory locks of the organizations the write
//! names (`Scope`), taken first so that every later statement sees what the previous writer of
//! those organizations committed; `begin_write` is a write of the whole database), `begin_read` takes a snapshot (SQLite's deferred read; PostgreSQL
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
//! - the pragmas of `db.rs` (its connection settings, `Database::bulk_load_settings`) are SQLite's
//!   (`pragma_update` does nothing on PostgreSQL; the bulk-load guard sets nothing there).

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
    /// A text value holding NUL, which PostgreSQL's text cannot: bad input, never sent.
    Nul,
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
            Error::Nul => write!(f, "a text value holds the character NUL"),
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
            Error::Column(_) | Error::Invalid(_) | Error::Nul => ErrorKind::Other,
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
            // What the caller gave, looked up or written as given (validation refuses control
            // characters in what is stored; a name that is only looked up may still hold one).
            Error::Nul => E::invalid("text", "must not contain the character NUL (\\0)"),
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
    /// The organizations ('' the system) whose locks the open write transaction holds; `None`:
    /// all of them (SQLite's one write lock, a whole-database write, a read, no transaction).
    held: std::cell::RefCell<Option<Vec<String>>>,
    /// The organizations whose locks the open write took late (`lock_org`): a new attempt of the
    /// same write names them up front.
    late: std::cell::RefCell<Vec<String>>,
    /// Of the organizations the open write holds, those BEGIN found with an expiry due (a write
    /// that asked, on PostgreSQL: `write_in_sweeping`); `None`: not asked.
    due: std::cell::RefCell<Option<Vec<String>>>,
    /// The `now` of the expiries the open write records first (`write_in_sweeping`, on
    /// PostgreSQL): a lock it takes late asks whether that organization has any due.
    sweep_at: Cell<Option<i64>>,
}

/// What a write transaction will change, named before it begins, so that PostgreSQL can serialize
/// writers per organization instead of per database (SQLite has one write lock per file, and
/// ignores the scope). Organizations are named by slug (what use cases are given) or by id; the
/// system is what belongs to no organization (accounts, sessions, sign-in bookkeeping, the system
/// chain). `whole`: the entire database (restore, demo, migrations, and any write that names
/// nothing: `Connection::write`, `Database::write`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub(crate) whole: bool,
    pub(crate) slugs: Vec<String>,
    pub(crate) ids: Vec<String>,
    pub(crate) system: bool,
}

impl Scope {
    /// Everything: waits for every other writer, and they for it.
    pub fn whole() -> Scope {
        Scope { whole: true, ..Scope::default() }
    }

    /// The organization with this slug (none, if no organization has it).
    pub fn org(slug: &str) -> Scope {
        Scope { slugs: vec![slug.trim().to_string()], ..Scope::default() }
    }

    /// The organization with this id ('' is the system).
    pub fn org_id(id: &str) -> Scope {
        Scope::default().and_org_id(id)
    }

    /// The organizations with these ids.
    pub fn org_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Scope {
        ids.into_iter().fold(Scope::default(), Scope::and_org_id)
    }

    /// Accounts, sessions and the system chain, and no organization.
    pub fn system() -> Scope {
        Scope { system: true, ..Scope::default() }
    }

    pub fn and_org(mut self, slug: &str) -> Scope {
        self.slugs.push(slug.trim().to_string());
        self
    }

    pub fn and_org_id(mut self, id: &str) -> Scope {
        if id.is_empty() {
            self.system = true;
        } else {
            self.ids.push(id.to_string());
        }
        self
    }

    pub fn and_system(mut self) -> Scope {
        self.system = true;
        self
    }
}

enum Inner {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::PgConnection),
}

/// How many times `write`/`read` run a closure that hit a serialization failure or deadlock.
pub const ATTEMPTS: u32 = 5;

/// The advisory lock every PostgreSQL write transaction takes first: exclusive for a write of the
/// whole database (`Scope::whole`), shared for a write of some organizations, which then take each
/// organization's own lock ("Gatehous" in ASCII).
pub const WRITE_LOCK: i64 = 0x4761_7465_686f_7573;

impl Connection {
    /// Wrap an open SQLite connection (its pragmas already set).
    pub fn sqlite(conn: rusqlite::Connection) -> Connection {
        Connection {
            inner: Inner::Sqlite(conn),
            in_transaction: Cell::new(false),
            held: Default::default(),
            due: Default::default(),
            late: Default::default(),
            sweep_at: Cell::new(None),
        }
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
            held: Default::default(),
            due: Default::default(),
            late: Default::default(),
            sweep_at: Cell::new(None),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// PostgreSQL: the requests this connection sent and waited for the server to answer (a
    /// statement prepared, a statement run, BEGIN, COMMIT…), from its start; what a command costs
    /// over a network is counted in these (`tests/prepared.rs`). SQLite, in process: `None`.
    pub fn round_trips(&self) -> Option<u64> {
        match &self.inner {
            Inner::Sqlite(_) => None,
            Inner::Postgres(c) => Some(c.round_trips()),
        }
    }

    /// PostgreSQL: the session was found ended (the next request connects anew). SQLite: false.
    pub fn is_closed(&self) -> bool {
        match &self.inner {
            Inner::Sqlite(_) => false,
            Inner::Postgres(c) => c.is_closed(),
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

    /// Open a write transaction of the whole database: writers run one at a time.
    pub fn begin_write(&self) -> Result<Transaction<'_>> {
        self.begin_write_in(&Scope::whole())
    }

    /// Open a write transaction of `scope`: on PostgreSQL it waits for the writers of the same
    /// organizations only (see `Scope`); on SQLite for every writer.
    pub fn begin_write_in(&self, scope: &Scope) -> Result<Transaction<'_>> {
        self.begin(Some(scope), false, None)?.ok_or_else(|| Error::Invalid("a lock was not taken".into()))
    }

    /// `begin_write_in` that waits for no lock on PostgreSQL: `None` when one is held elsewhere.
    /// (SQLite's busy handler decides how long its own waits.)
    pub fn try_begin_write_in(&self, scope: &Scope) -> Result<Option<Transaction<'_>>> {
        self.begin(Some(scope), true, None)
    }

    /// Open a read transaction: one consistent snapshot.
    pub fn begin_read(&self) -> Result<Transaction<'_>> {
        self.begin(None, false, None)?.ok_or_else(|| Error::Invalid("a read was not begun".into()))
    }

    fn begin(&self, write: Option<&Scope>, try_: bool, expiries_at: Option<i64>) -> Result<Option<Transaction<'_>>> {
        if self.in_transaction.get() {
            return Err(Error::Invalid("a transaction is already open on this connection".into()));
        }
        let begun = match &self.inner {
            // Cached: parsing BEGIN and COMMIT again on every transaction was a tenth of a `check`.
            Inner::Sqlite(c) => {
                c.prepare_cached(if write.is_some() { "BEGIN IMMEDIATE" } else { "BEGIN DEFERRED" })?.execute([])?;
                postgres::Begun::default()
            }
            Inner::Postgres(c) => match c.begin(write, try_, expiries_at)? {
                Some(begun) => begun,
                None => return Ok(None),
            },
        };
        *self.held.borrow_mut() = begun.held;
        self.sweep_at.set(begun.due.as_ref().and(expiries_at));
        *self.due.borrow_mut() = begun.due;
        self.in_transaction.set(true);
        Ok(Some(Transaction { conn: self, open: true, attempt_open: Cell::new(false) }))
    }

    /// Whether the open write transaction holds organization `id`'s lock ('' the system's):
    /// always on SQLite and in a whole-database write.
    pub fn holds(&self, id: &str) -> bool {
        self.held.borrow().as_ref().is_none_or(|held| held.iter().any(|h| h == id))
    }

    /// The organizations ('' the system) whose locks the open write transaction holds; `None`:
    /// all of them (SQLite, a whole-database write).
    pub fn held(&self) -> Option<Vec<String>> {
        self.held.borrow().clone()
    }

    /// Of the organizations the open write holds, those with a membership's or grant's expiry due
    /// and not yet recorded, as BEGIN found them in its round trip (`write_in_sweeping` on
    /// PostgreSQL); `None` when it did not look (SQLite, reads, other writes): ask the tables.
    pub fn expiries_due(&self) -> Option<Vec<String>> {
        self.due.borrow().clone()
    }

    /// Take organization `id`'s lock ('' the system's) in the open write transaction if it does
    /// not hold it yet (an organization created since it began, or a write that named too
    /// little); `true` if it had to, and then what was read of that organization before must be
    /// read again, and its expiries due recorded first (`late_expiries`). Outside a scoped
    /// PostgreSQL write, nothing to do.
    pub fn lock_org(&self, id: &str) -> Result<bool> {
        if self.holds(id) {
            return Ok(false);
        }
        if let Inner::Postgres(c) = &self.inner {
            self.late.borrow_mut().push(id.to_string());
            if c.lock_late(id, self.sweep_at.get())? {
                if let Some(due) = self.due.borrow_mut().as_mut() {
                    due.push(id.to_string());
                }
            }
        }
        if let Some(held) = self.held.borrow_mut().as_mut() {
            held.push(id.to_string());
        }
        Ok(true)
    }

    /// After `lock_org` took organization `id`'s lock late in a write that records expiries
    /// first: the `now` to record them at, if its lock's round trip found any due there (once).
    pub fn late_expiries(&self, id: &str) -> Option<i64> {
        let mut due = self.due.borrow_mut();
        let due = due.as_mut()?;
        let at = due.iter().position(|d| d == id)?;
        due.remove(at);
        self.sweep_at.get()
    }

    /// Run `f` in a write transaction of the whole database and commit; on error roll back. A
    /// serialization failure or deadlock anywhere in it (commit included) runs `f` again, at most
    /// `ATTEMPTS` times in all.
    pub fn write<T, E: From<Error>>(&self, f: impl FnMut(&Transaction<'_>) -> Result<T, E>) -> Result<T, E> {
        self.run(Some(&Scope::whole()), f)
    }

    /// `write` in a transaction of `scope` (`begin_write_in`).
    pub fn write_in<T, E: From<Error>>(
        &self,
        scope: &Scope,
        f: impl FnMut(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run(Some(scope), f)
    }

    /// `write_in` of a write that first records the expiries due at `now` (`Database::write`):
    /// on PostgreSQL its BEGIN also finds, in the same round trip, which of the organizations it
    /// locks have any (`expiries_due`).
    pub fn write_in_sweeping<T, E: From<Error>>(
        &self,
        scope: &Scope,
        now: i64,
        f: impl FnMut(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run_at(Some(scope), Some(now), f)
    }

    /// Run `f` in a read transaction, as `write` does.
    pub fn read<T, E: From<Error>>(&self, f: impl FnMut(&Transaction<'_>) -> Result<T, E>) -> Result<T, E> {
        self.run(None, f)
    }

    fn run<T, E: From<Error>>(
        &self,
        write: Option<&Scope>,
        f: impl FnMut(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run_at(write, None, f)
    }

    fn run_at<T, E: From<Error>>(
        &self,
        write: Option<&Scope>,
        expiries_at: Option<i64>,
        mut f: impl FnMut(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut attempt = 1;
        let mut scope = write.cloned();
        loop {
            self.clear_retry();
            self.late.borrow_mut().clear();
            let tx = match self.begin(scope.as_ref(), false, expiries_at) {
                Ok(Some(tx)) => tx,
                Ok(None) => return Err(Error::Invalid("a lock was not taken".into()).into()),
                // Ended by a deadlock while taking its locks up front: another writer's late lock
                // closed the cycle, and PostgreSQL chose this one, whose wait began first. Nothing
                // of it ran: begin again (`tests/org_locks.rs`).
                Err(_) if self.retry_seen() && attempt < ATTEMPTS => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(u64::from(attempt) * 5 + rand::random::<u64>() % 10));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let result = f(&tx).and_then(|value| tx.commit().map(|()| value).map_err(E::from));
            match result {
                Ok(value) => return Ok(value),
                Err(e) if self.retry_seen() && attempt < ATTEMPTS => {
                    attempt += 1;
                    // Locks taken late can deadlock with other writers' (they were not taken in
                    // the one order): the next attempt takes them up front, in order.
                    if let Some(s) = scope.as_mut() {
                        for id in self.late.borrow_mut().drain(..) {
                            *s = std::mem::take(s).and_org_id(&id);
                        }
                    }
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
        *self.held.borrow_mut() = None;
        *self.due.borrow_mut() = None;
        self.sweep_at.set(None);
        match &self.inner {
            Inner::Sqlite(c) => {
                c.prepare_cached(if commit { "COMMIT" } else { "ROLLBACK" })?.execute([])?;
                Ok(())
            }
            Inner::Postgres(c) => c.end(commit),
        }
    }
}

/// One value in COPY's text format.
pub fn copy_text(out: &mut Vec<u8>, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => out.extend_from_slice(b"\\N"),
        ValueRef::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        ValueRef::Real(f) => out.extend_from_slice(format!("{f:?}").as_bytes()),
        ValueRef::Text(t) => {
            for &b in t {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b => out.push(b),
                }
            }
        }
        ValueRef::Blob(b) => {
            // bytea's hex input, its backslash escaped for COPY.
            out.extend_from_slice(b"\\\\x");
            out.extend_from_slice(hex::encode(b).as_bytes());
        }
    }
}

/// Many new rows of one table (`demo`): on SQLite one prepared INSERT per row; on PostgreSQL the
/// rows are kept in COPY's text format and sent by `flush`, many in one round trip (an INSERT per
/// row waits for the server once per row: 530 µs a row measured at load 11). Rows reach the table
/// only at `flush` on PostgreSQL: flush the tables a row refers to first.
pub struct BulkRows<'c> {
    conn: &'c Connection,
    insert: Option<Statement<'c>>,
    copy: String,
    data: Vec<u8>,
}

impl<'c> BulkRows<'c> {
    pub fn new(conn: &'c Connection, table: &str, columns: &[&str]) -> Result<BulkRows<'c>> {
        let list = columns.join(", ");
        let insert = match conn.backend() {
            Backend::Sqlite => {
                let params = (1..=columns.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
                Some(conn.prepare(&format!("INSERT INTO {table} ({list}) VALUES ({params})"))?)
            }
            Backend::Postgres => None,
        };
        Ok(BulkRows { conn, insert, copy: format!("COPY {table} ({list}) FROM STDIN"), data: Vec::new() })
    }

    /// One row, its values in the order of the columns.
    pub fn add<P: Params>(&mut self, values: P) -> Result<()> {
        match &mut self.insert {
            Some(st) => {
                st.execute(values)?;
            }
            None => {
                for (i, (_, v)) in values.values()?.iter().enumerate() {
                    if i > 0 {
                        self.data.push(b'\t');
                    }
                    copy_text(&mut self.data, value_of(v)?);
                }
                self.data.push(b'\n');
            }
        }
        Ok(())
    }

    /// Send the rows kept so far (PostgreSQL); nothing to do on SQLite.
    pub fn flush(&mut self) -> Result<()> {
        if !self.data.is_empty() {
            self.conn.copy_in(&self.copy, &self.data)?;
            self.data.clear();
        }
        Ok(())
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
