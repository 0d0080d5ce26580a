//! The PostgreSQL backend: one `postgres::Client` (synchronous; the core is), reconnected when a
//! transaction begins after the server went away, a cache of translated statements and of prepared
//! ones per combination of parameter types, the transactions of the facade, and the schema's
//! migrations (`migrations/postgres/`, applied each with its version in `gatehouse_schema`, under
//! the write lock, atomically: PostgreSQL's DDL is transactional).

use super::pgconfig::{PgOptions, Tls};
use super::pgvalue::{declared_type, tag, Arg, Column};
use super::translate::{translate, Translation};
use super::{value_of, Connection, Error, ErrorKind, Inner, Params, Result, Row, RowValues, ToSql, Value, ValueRef};
use postgres::types::Type;
use postgres::{Client, NoTls};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

/// The schema, in order; append-only like SQLite's. Their numbers are their own: 0001 here is the
/// whole SQLite schema of the version named at its top.
pub const PG_MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../../../migrations/postgres/0001_init.sql")),
    (
        "0002_roster_counts_per_statement",
        include_str!("../../../../migrations/postgres/0002_roster_counts_per_statement.sql"),
    ),
    (
        "0003_pending_expiry_per_organization",
        include_str!("../../../../migrations/postgres/0003_pending_expiry_per_organization.sql"),
    ),
];

/// What BEGIN of a write found: the organizations ('' the system) whose locks it holds (`None`:
/// all of them), and, when it was asked to look (`expiries_at`), those of them with an expiry due
/// and not yet recorded.
#[derive(Debug, Default)]
pub struct Begun {
    pub held: Option<Vec<String>>,
    pub due: Option<Vec<String>>,
}

/// Prepared statements kept per connection before the cache starts over.
const PREPARED_CAPACITY: usize = 512;
/// Translations kept per connection before that cache starts over (the store's SQL is a few
/// hundred distinct statements; SQL with values written into it would grow without end).
const TRANSLATED_CAPACITY: usize = 2048;

pub struct PgConnection {
    options: PgOptions,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    client: RefCell<Option<Client>>,
    translations: RefCell<HashMap<String, Arc<Translation>>>,
    /// By translated SQL: the statements prepared for each combination of parameter kinds.
    prepared: RefCell<HashMap<String, Vec<(Vec<u8>, postgres::Statement)>>>,
    prepared_count: Cell<usize>,
    /// A statement failed with a serialization failure or deadlock since `retry` was cleared.
    pub(super) retry: Cell<bool>,
    in_transaction: Cell<bool>,
    /// A statement failed inside the open transaction: PostgreSQL has aborted it.
    failed: Cell<bool>,
    /// Requests that waited for the server's answer (`Connection::round_trips`).
    round_trips: Cell<u64>,
}

/// What an error of the driver means.
pub fn kind_of(e: &postgres::Error) -> ErrorKind {
    if let Some(code) = e.code() {
        let code = code.code();
        return match code {
            "40001" | "40P01" => ErrorKind::Retry,
            // Shut down, crashed, starting up, too many connections, no such database.
            "57P01" | "57P02" | "57P03" | "53300" | "3D000" => ErrorKind::Unavailable,
            c if c.starts_with("23") => ErrorKind::Constraint,
            // Connection exceptions and refused logins.
            c if c.starts_with("08") || c.starts_with("28") => ErrorKind::Unavailable,
            _ => ErrorKind::Other,
        };
    }
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        ErrorKind::Unavailable
    } else {
        ErrorKind::Other
    }
}

fn unavailable(options: &PgOptions, e: &dyn std::fmt::Display) -> Error {
    Error::Unavailable(format!("cannot reach the database server {}: {e}", options.shown))
}

impl PgConnection {
    pub fn connect(options: PgOptions) -> Result<PgConnection> {
        let tls = match options.tls {
            Tls::Disable => None,
            Tls::Prefer | Tls::VerifyFull => Some(tokio_postgres_rustls::MakeRustlsConnect::new(options.tls_config()?)),
        };
        let conn = PgConnection {
            options,
            tls,
            client: RefCell::new(None),
            translations: RefCell::new(HashMap::new()),
            prepared: RefCell::new(HashMap::new()),
            prepared_count: Cell::new(0),
            retry: Cell::new(false),
            in_transaction: Cell::new(false),
            failed: Cell::new(false),
            round_trips: Cell::new(0),
        };
        conn.client.replace(Some(conn.open()?));
        Ok(conn)
    }

    fn open(&self) -> Result<Client> {
        let client = match &self.tls {
            None => self.options.config.connect(NoTls),
            Some(tls) => self.options.config.connect(tls.clone()),
        };
        let client = client.map_err(|e| match e.as_db_error() {
            Some(db) => unavailable(&self.options, &db.message()),
            None => unavailable(&self.options, &e),
        })?;
        Ok(client)
    }

    /// Run `f` on the client; outside a transaction, first reconnect if the connection was lost.
    /// A session that the server ended is replaced here (outside a transaction), and the
    /// statements prepared on it are forgotten with it.
    fn connected(&self) -> Result<std::cell::RefMut<'_, Option<Client>>> {
        let mut slot = self.client.borrow_mut();
        let lost = slot.as_ref().is_none_or(Client::is_closed);
        if lost {
            if self.in_transaction.get() {
                self.failed.set(true);
                return Err(Error::Unavailable(format!(
                    "the connection to the database server {} was lost; nothing of this command was saved",
                    self.options.shown
                )));
            }
            *slot = None;
            self.prepared.borrow_mut().clear();
            self.prepared_count.set(0);
            *slot = Some(self.open()?);
        }
        Ok(slot)
    }

    fn with_client<T>(&self, f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>) -> Result<T> {
        let mut slot = self.connected()?;
        let client = slot.as_mut().ok_or_else(|| Error::Unavailable("no connection".into()))?;
        // Each call of the synchronous client sends its messages and waits for the answer: one
        // round trip (a prepare is one of its own; COPY streams its data before its one wait).
        self.round_trips.set(self.round_trips.get() + 1);
        f(client).map_err(|e| {
            if self.in_transaction.get() {
                self.failed.set(true);
            }
            match kind_of(&e) {
                ErrorKind::Retry => self.retry.set(true),
                ErrorKind::Unavailable if e.code().is_none() => {
                    return unavailable(&self.options, &"the connection was lost");
                }
                _ => {}
            }
            Error::Postgres(e)
        })
    }

    /// The client found its session ended (`with_client` connects anew on the next request).
    pub fn is_closed(&self) -> bool {
        self.client.borrow().as_ref().is_none_or(Client::is_closed)
    }

    /// Round trips to the server so far on this connection (connecting not counted).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.get()
    }

    pub fn statement(&self, sql: &str) -> PgStatement<'_> {
        let cached = self.translations.borrow().get(sql).cloned();
        let translation = cached.unwrap_or_else(|| {
            let t = Arc::new(translate(sql));
            let mut translations = self.translations.borrow_mut();
            if translations.len() >= TRANSLATED_CAPACITY {
                translations.clear();
            }
            translations.insert(sql.to_string(), t.clone());
            t
        });
        PgStatement { conn: self, translation, bound: Vec::new() }
    }

    /// The statement prepared for these kinds of parameter values.
    fn prepared(&self, t: &Translation, args: &[ValueRef<'_>]) -> Result<postgres::Statement> {
        // First the session: a statement taken from the cache of a session the server ended
        // while it sat idle, then run on its replacement, is "prepared statement … does not
        // exist" (26000), as the first read of a `serve` writer after `pg_terminate_backend` was.
        drop(self.connected()?);
        let tags: Vec<u8> = args.iter().map(tag).collect();
        if let Some(list) = self.prepared.borrow().get(&t.sql) {
            if let Some((_, st)) = list.iter().find(|(k, _)| *k == tags) {
                return Ok(st.clone());
            }
        }
        let mut types: Vec<Type> = args.iter().map(declared_type).collect();
        let untyped_null_test =
            (0..types.len()).any(|i| t.null_test_first.get(i).copied().unwrap_or(false) && types[i] == Type::UNKNOWN);
        if untyped_null_test {
            // Ask the server what the other uses of those parameters make them.
            let described = self.describe(t)?;
            for (i, ty) in types.iter_mut().enumerate() {
                if *ty == Type::UNKNOWN {
                    if let Some(d) = described.params().get(i) {
                        *ty = d.clone();
                    }
                }
            }
        }
        let st = self.prepare_typed(&t.sql, &mut types)?;
        if self.prepared_count.get() >= PREPARED_CAPACITY {
            self.prepared.borrow_mut().clear();
            self.prepared_count.set(0);
        }
        self.prepared.borrow_mut().entry(t.sql.clone()).or_default().push((tags, st.clone()));
        self.prepared_count.set(self.prepared_count.get() + 1);
        Ok(st)
    }

    /// The statement with its parameters typed by the server, from the variant in which the
    /// `IS NULL` tests name no parameter; a parameter used in nothing else is text.
    fn describe(&self, t: &Translation) -> Result<postgres::Statement> {
        let sql = t.describe.as_deref().unwrap_or(&t.sql);
        let mut types: Vec<Type> =
            t.null_test_only.iter().map(|only| if *only { Type::TEXT } else { Type::UNKNOWN }).collect();
        self.prepare_typed(sql, &mut types)
    }

    /// Prepare; a parameter whose type the server cannot determine (used only where any type
    /// does) is made text and the statement prepared again.
    fn prepare_typed(&self, sql: &str, types: &mut [Type]) -> Result<postgres::Statement> {
        for _ in 0..=types.len() {
            match self.with_client(|c| c.prepare_typed(sql, types)) {
                Err(Error::Postgres(e)) if e.code().is_some_and(|c| c.code() == "42P18") => {
                    let n = e
                        .as_db_error()
                        .and_then(|db| db.message().rsplit('$').next()?.trim().parse::<usize>().ok())
                        .filter(|n| (1..=types.len()).contains(n));
                    let Some(n) = n else { return Err(Error::Postgres(e)) };
                    if types[n - 1] == Type::TEXT {
                        return Err(Error::Postgres(e));
                    }
                    types[n - 1] = Type::TEXT;
                    // The failed prepare aborted nothing outside a transaction; inside one it did.
                    if self.in_transaction.get() {
                        return Err(Error::Postgres(e));
                    }
                }
                other => return other,
            }
        }
        Err(Error::Invalid(format!("cannot type the parameters of: {sql}")))
    }

    fn run_query(&self, t: &Translation, args: &[ValueRef<'_>]) -> Result<Vec<postgres::Row>> {
        refuse_nul(args)?;
        let st = self.prepared(t, args)?;
        let pg: Vec<Arg<'_>> = args.iter().map(|v| Arg(*v)).collect();
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = pg.iter().map(|a| a as _).collect();
        self.with_client(|c| c.query(&st, &refs))
    }

    fn run_execute(&self, t: &Translation, args: &[ValueRef<'_>]) -> Result<usize> {
        refuse_nul(args)?;
        let st = self.prepared(t, args)?;
        let pg: Vec<Arg<'_>> = args.iter().map(|v| Arg(*v)).collect();
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = pg.iter().map(|a| a as _).collect();
        self.with_client(|c| c.execute(&st, &refs)).map(|n| n as usize)
    }

    /// Statements as written, in one round trip; the prepared statements start over, since a
    /// schema change may have changed what they return.
    pub fn batch(&self, sql: &str) -> Result<()> {
        self.with_client(|c| c.batch_execute(sql))?;
        self.prepared.borrow_mut().clear();
        self.prepared_count.set(0);
        Ok(())
    }

    /// Savepoint statements (`Transaction::attempt`): unlike `batch`, they change no schema, so the
    /// prepared statements stay. After `ROLLBACK TO SAVEPOINT` the transaction works again.
    pub fn savepoint(&self, sql: &str) -> Result<()> {
        self.with_client(|c| c.batch_execute(sql))?;
        if sql.starts_with("ROLLBACK TO") {
            self.failed.set(false);
        }
        Ok(())
    }

    /// `COPY … FROM STDIN` with `data` in COPY's text format: a bulk load in one round trip,
    /// where one INSERT per row would wait for the server once per row.
    pub fn copy_in(&self, sql: &str, data: &[u8]) -> Result<u64> {
        let (rows, written) = self.with_client(|c| {
            let mut writer = c.copy_in(sql)?;
            // A write that fails leaves the connection broken; `finish` then reports the server's error.
            let written = std::io::Write::write_all(&mut writer, data);
            Ok((writer.finish()?, written))
        })?;
        written.map_err(|e| unavailable(&self.options, &e))?;
        Ok(rows)
    }

    /// Begin a transaction. A write first takes its locks (`super::Scope`), in the same round trip
    /// as BEGIN: READ COMMITTED then gives every later statement a snapshot taken after the
    /// previous writer of the same organizations committed, so they run as if one after another.
    /// `Ok(None)`: a `try_` write found a lock taken and began nothing. `Ok(Some(begun))`: the
    /// organizations the transaction holds (`Begun::held`, `None`: all of them).
    ///
    /// `expiries_at`: a write that records the expiries due at that time first (the sweep of
    /// `Database::write`) also asks, in the same round trip and after its locks are taken, which
    /// of the organizations it locks have one due (`Begun::due`), so that a write with nothing to
    /// record waits for the server no more than one without the sweep.
    pub fn begin(&self, write: Option<&super::Scope>, try_: bool, expiries_at: Option<i64>) -> Result<Option<Begun>> {
        let sql = match write {
            None => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_string(),
            Some(scope) => {
                let probe = expiries_at.map(|now| due_sql(scope, now)).unwrap_or_default();
                format!("BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; {}{probe}", lock_sql(scope, try_))
            }
        };
        self.failed.set(false);
        let mut begun = self.with_client(|c| c.simple_query(&sql));
        if begun.is_err() && self.client.borrow().as_ref().is_none_or(Client::is_closed) {
            // The server ended this session while it sat idle (a restart, `pg_terminate_backend`,
            // an idle timeout, a proxy): the client learns it only now, at BEGIN, and nothing of
            // the command has run. Connect anew (`with_client` replaces a closed client) and
            // begin once more; a server that is really gone fails this second attempt.
            begun = self.with_client(|c| c.simple_query(&sql));
        }
        let messages = match begun {
            Ok(messages) => messages,
            Err(e) => {
                // BEGIN may have run before the lock failed: leave no transaction open behind.
                if let Some(client) = self.client.borrow_mut().as_mut() {
                    let _ = client.batch_execute("ROLLBACK");
                }
                return Err(e);
            }
        };
        self.in_transaction.set(true);
        let mut held = Vec::new();
        let mut due = Vec::new();
        let mut all_taken = true;
        for m in &messages {
            if let postgres::SimpleQueryMessage::Row(row) = m {
                if row.get(1) == Some(DUE) {
                    due.extend(row.get(0).map(str::to_string));
                    continue;
                }
                // (id, taken): '' is the system's lock; `taken` is "false" when a try found it held.
                if let Some(id) = row.get(0) {
                    held.push(id.to_string());
                }
                if row.get(1) == Some("false") {
                    all_taken = false;
                }
            }
        }
        if try_ && !all_taken {
            self.end(false)?;
            return Ok(None);
        }
        let held = match write {
            Some(scope) if !scope.whole => Some(held),
            _ => None,
        };
        // Only what it holds: an organization made since the locks were taken is not its to sweep.
        due.retain(|id| held.as_ref().is_none_or(|held| held.contains(id)));
        Ok(Some(Begun { held, due: expiries_at.map(|_| due) }))
    }

    /// Take organization `id`'s lock ('' the system's) inside the open write transaction: for an
    /// organization the transaction did not name up front (one created since, or a use case that
    /// names too little). Waits; a deadlock with another such late lock is 40P01, retried. In a
    /// write that records the expiries due at `expiries_at` (`Begun::due`), the same round trip
    /// then asks whether this organization has any (`due_sql`, after the lock: what it reads is
    /// what the lock's previous holder committed); `true` if it has.
    pub fn lock_late(&self, id: &str, expiries_at: Option<i64>) -> Result<bool> {
        let probe = match (expiries_at, literal(id)) {
            (Some(now), Some(id_literal)) if !id.is_empty() => Some((now, id_literal)),
            _ => None,
        };
        let Some((now, id_literal)) = probe else {
            self.with_client(|c| c.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key_text(id)]))?;
            return Ok(false);
        };
        let sql = format!(
            "SELECT NULL, pg_advisory_xact_lock(hashtextextended('gatehouse org ' || {id_literal}, 0))::text{}",
            due_sql(&super::Scope::org_id(id), now)
        );
        let messages = self.with_client(|c| c.simple_query(&sql))?;
        Ok(messages.iter().any(|m| matches!(m, postgres::SimpleQueryMessage::Row(row) if row.get(1) == Some(DUE))))
    }

    pub fn end(&self, commit: bool) -> Result<()> {
        let failed = self.failed.get();
        let result = if commit && !failed {
            self.with_client(|c| c.batch_execute("COMMIT"))
        } else {
            let lost = self.client.borrow().as_ref().is_none_or(Client::is_closed);
            // A lost connection has rolled back on the server already.
            if lost {
                Ok(())
            } else {
                self.with_client(|c| c.batch_execute("ROLLBACK"))
            }
        };
        self.in_transaction.set(false);
        self.failed.set(false);
        if commit && failed {
            // PostgreSQL answers COMMIT of an aborted transaction with a silent ROLLBACK.
            return Err(Error::Invalid("a statement of this transaction failed; nothing of it was saved".into()));
        }
        result
    }
}

/// A statement of the PostgreSQL backend: its translation, and the values `raw_bind_parameter` set.
pub struct PgStatement<'c> {
    conn: &'c PgConnection,
    translation: Arc<Translation>,
    bound: Vec<Value>,
}

impl PgStatement<'_> {
    /// The values of `params` in placeholder order.
    fn arrange<'p>(&self, values: &'p [(Option<&str>, super::ToSqlOutput<'p>)]) -> Result<Vec<ValueRef<'p>>> {
        let t = &self.translation;
        let mut args = vec![ValueRef::Null; t.count];
        if values.iter().any(|(name, _)| name.is_some()) {
            for (name, out) in values {
                let name = name.unwrap_or_default();
                let i =
                    t.index_of(name).ok_or_else(|| Error::Invalid(format!("the statement has no parameter {name}")))?;
                args[i - 1] = value_of(out)?;
            }
        } else {
            if values.len() != t.count {
                return Err(Error::Invalid(format!(
                    "{} parameters given to a statement that has {}",
                    values.len(),
                    t.count
                )));
            }
            for (slot, (_, out)) in args.iter_mut().zip(values) {
                *slot = value_of(out)?;
            }
        }
        Ok(args)
    }

    pub fn execute<P: Params>(&mut self, params: &P) -> Result<usize> {
        let values = params.values()?;
        let args = self.arrange(&values)?;
        self.conn.run_execute(&self.translation, &args)
    }

    pub fn query<P: Params>(&mut self, params: &P) -> Result<PgRows> {
        let values = params.values()?;
        let args = self.arrange(&values)?;
        Ok(PgRows { rows: self.conn.run_query(&self.translation, &args)?, next: 0, error: None })
    }

    pub fn parameter_index(&self, name: &str) -> Option<usize> {
        self.translation.index_of(name)
    }

    pub fn bind<T: ToSql>(&mut self, index: usize, value: &T) -> Result<()> {
        let count = self.translation.count;
        if index == 0 || index > count {
            return Err(Error::Invalid(format!("parameter {index} of a statement that has {count}")));
        }
        if self.bound.len() < count {
            self.bound.resize(count, Value::Null);
        }
        let out = value.to_sql()?;
        self.bound[index - 1] =
            Value::try_from(value_of(&out)?).map_err(|e| Error::Invalid(format!("parameter {index}: {e}")))?;
        Ok(())
    }

    pub fn raw_query(&mut self) -> PgRows {
        let mut args: Vec<ValueRef<'_>> = self.bound.iter().map(ValueRef::from).collect();
        args.resize(self.translation.count, ValueRef::Null);
        match self.conn.run_query(&self.translation, &args) {
            Ok(rows) => PgRows { rows, next: 0, error: None },
            Err(e) => PgRows { rows: Vec::new(), next: 0, error: Some(e) },
        }
    }

    pub fn column_count(&mut self) -> Result<usize> {
        Ok(self.conn.describe(&self.translation)?.columns().len())
    }
}

/// The rows of a PostgreSQL query: all of them, as the server sent them.
pub struct PgRows {
    rows: Vec<postgres::Row>,
    next: usize,
    error: Option<Error>,
}

impl PgRows {
    pub fn next(&mut self) -> Result<Option<&Row<'_>>> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let row = self.rows.get(self.next);
        self.next += 1;
        Ok(row.map(|r| r as &Row<'_>))
    }
}

impl RowValues for postgres::Row {
    fn value(&self, idx: usize) -> Result<ValueRef<'_>> {
        self.try_get::<_, Column<'_>>(idx)
            .map(|c| c.0)
            .map_err(|e| Error::Column(format!("column {idx}: {}", std::error::Error::source(&e).unwrap_or(&e))))
    }

    fn column_index(&self, name: &str) -> Result<usize> {
        self.columns()
            .iter()
            .position(|c| c.name() == name)
            .ok_or_else(|| Error::Column(format!("no column named {name}")))
    }

    fn column_count(&self) -> usize {
        self.len()
    }

    fn column_name(&self, idx: usize) -> Result<&str> {
        self.columns().get(idx).map(|c| c.name()).ok_or_else(|| Error::Column(format!("no column {idx}")))
    }
}

/// PostgreSQL's text cannot hold NUL, and a statement given one fails on the server (22021), which
/// would surface as `internal`. SQLite compares such text like any other (a name looked up is not
/// found); here it is bad input (`rules::rule10_a_nul_in_a_name_looked_up_…`), before it is sent.
fn refuse_nul(args: &[ValueRef<'_>]) -> Result<()> {
    match args.iter().any(|v| matches!(v, ValueRef::Text(t) if t.contains(&0))) {
        true => Err(Error::Nul),
        false => Ok(()),
    }
}

/// The text whose hash (`hashtextextended(text, 0)`) is organization `id`'s lock ('' the system's:
/// accounts, sessions, the system chain).
fn key_text(id: &str) -> String {
    if id.is_empty() {
        "gatehouse system".to_string()
    } else {
        format!("gatehouse org {id}")
    }
}

/// The longest slug or id that BEGIN's statements name (ids are 36 characters, slugs are cut
/// from names): a longer one (only a hand-made database could have it) is locked late.
const MAX_NAMED_BYTES: usize = 1024;

/// `s` as an SQL text expression for BEGIN's statements, which are sent as text: a plain literal
/// when it is letters, digits, `-` and `_` (every slug and id Gatehouse makes), and anything else
/// as its UTF-8 bytes in hex, `convert_from(decode('…', 'hex'), 'UTF8')`, which carries no quote,
/// backslash or dollar whatever the server's settings: a slug that looks like SQL is text, and
/// names no organization. (Such ids and slugs were left out, and their organizations were locked
/// only late: `tests/org_locks.rs`, `an_organization_id_with_any_characters_is_locked_at_begin_…`.)
/// `None` for what no organization has: the empty string, NUL (PostgreSQL's text has none), and
/// more than `MAX_NAMED_BYTES`.
fn literal(s: &str) -> Option<String> {
    if s.is_empty() || s.len() > MAX_NAMED_BYTES || s.contains('\0') {
        return None;
    }
    if s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
        Some(format!("'{s}'"))
    } else {
        Some(format!("convert_from(decode('{}', 'hex'), 'UTF8')", hex::encode(s)))
    }
}

/// The statements that take a write's locks, after its BEGIN. A whole-database write takes
/// `WRITE_LOCK` exclusively. Any other takes it shared, then each organization it names
/// (resolved from slugs and ids on the server, in the same round trip) and the system's lock when
/// it asks for it, in one order for every transaction (by key): no two writers can each hold a
/// lock the other waits for. One row per lock taken: (organization id or '', taken).
fn lock_sql(scope: &super::Scope, try_: bool) -> String {
    let (lock, shared) = if try_ {
        ("pg_try_advisory_xact_lock", "pg_try_advisory_xact_lock_shared")
    } else {
        ("pg_advisory_xact_lock", "pg_advisory_xact_lock_shared")
    };
    if scope.whole {
        let whole = if try_ { "pg_try_advisory_xact_lock" } else { "pg_advisory_xact_lock" };
        return format!("SELECT NULL, {whole}({})::text", super::WRITE_LOCK);
    }
    let list = |items: &[String]| items.iter().filter_map(|s| literal(s)).collect::<Vec<_>>().join(", ");
    let system = if scope.system { "TRUE" } else { "FALSE" };
    // The lock functions are volatile: PostgreSQL calls them after the sort, in key order.
    format!(
        "SELECT NULL, {shared}({write})::text;
         SELECT id, {lock}(key)::text FROM (
             SELECT id, hashtextextended('gatehouse org ' || id, 0) AS key FROM organizations
              WHERE slug = ANY (ARRAY[{slugs}]::text[]) OR id = ANY (ARRAY[{ids}]::text[])
             UNION ALL SELECT '', hashtextextended('gatehouse system', 0) WHERE {system}
         ) k ORDER BY key",
        write = super::WRITE_LOCK,
        slugs = list(&scope.slugs),
        ids = list(&scope.ids),
    )
}

/// The second column of `due_sql`'s rows, which sets them apart from the locks' rows.
const DUE: &str = "expiry due";

/// The statement that finds, after a write's locks, the organizations it locks that have a
/// membership's or a grant's expiry due at `now` and not yet recorded: one row (id, `DUE`) each.
/// Sent as text with `now` written in, so it is planned for that `now` every time. (As a prepared
/// statement, `expires_at <= $1` got a generic plan after five uses: PostgreSQL guessed a third of
/// the pending grants due, found a sequential scan of `access_grants` the cheaper way to the first
/// of them, and read the whole table to find none: 26-39 ms a write at 100k, against 0.03 ms.)
/// An organization's earliest pending expiry is the first entry of its range in the
/// `*_org_pending_expiry` indexes, whatever any other organization has waiting. A whole-database
/// write sweeps every organization: the `*_pending_expiry` indexes, by time.
fn due_sql(scope: &super::Scope, now: i64) -> String {
    if scope.whole {
        return format!(
            "; SELECT organization_id, '{DUE}' FROM access_grants
                WHERE expires_at IS NOT NULL AND expiry_recorded = 0 AND expires_at <= {now}
             UNION SELECT organization_id, '{DUE}' FROM memberships
                WHERE access_expires_at IS NOT NULL AND expiry_recorded = 0 AND access_expires_at <= {now}"
        );
    }
    let list = |items: &[String]| items.iter().filter_map(|s| literal(s)).collect::<Vec<_>>().join(", ");
    if scope.slugs.is_empty() && scope.ids.is_empty() {
        return String::new();
    }
    format!(
        "; SELECT o.id, '{DUE}' FROM organizations o
            WHERE (o.slug = ANY (ARRAY[{slugs}]::text[]) OR o.id = ANY (ARRAY[{ids}]::text[]))
              AND ((SELECT min(g.expires_at) FROM access_grants g
                     WHERE g.organization_id = o.id AND g.expires_at IS NOT NULL AND g.expiry_recorded = 0) <= {now}
                OR (SELECT min(m.access_expires_at) FROM memberships m
                     WHERE m.organization_id = o.id AND m.access_expires_at IS NOT NULL AND m.expiry_recorded = 0) <= {now})",
        slugs = list(&scope.slugs),
        ids = list(&scope.ids),
    )
}

/// The advisory lock that migrations take besides the write lock ("GhSchema").
const MIGRATION_LOCK: i64 = 0x4768_5363_6865_6d61;

/// Apply every migration of `PG_MIGRATIONS` not yet applied, each in one transaction with its
/// version, so that a failure leaves the schema at a whole version and two processes starting at
/// once apply each migration once.
pub fn migrate_postgres(conn: &Connection) -> crate::error::Result<()> {
    let Inner::Postgres(_) = &conn.inner else {
        return Err(crate::error::Error::Internal("migrate_postgres on a SQLite connection".into()));
    };
    // Up to date (every open but the first after an upgrade): nothing to lock. Each migration
    // takes the whole database's write lock, which would wait for every write in progress.
    if schema_version(conn)? >= PG_MIGRATIONS.len() as i64 {
        return Ok(());
    }
    for i in 0..PG_MIGRATIONS.len() {
        let tx = conn.begin_write()?;
        apply_migration(&tx, i)?;
        tx.commit()?;
    }
    Ok(())
}

/// Apply every migration not yet applied inside the caller's open write transaction (`migrate
/// --to`: the schema and the data it copies commit together, or neither does).
pub fn migrate_postgres_in(tx: &Connection) -> crate::error::Result<()> {
    let Inner::Postgres(_) = &tx.inner else {
        return Err(crate::error::Error::Internal("migrate_postgres_in on a SQLite connection".into()));
    };
    for i in 0..PG_MIGRATIONS.len() {
        apply_migration(tx, i)?;
    }
    Ok(())
}

/// Migration `i` (from 0), in the open write transaction, unless the schema has it already.
fn apply_migration(tx: &Connection, i: usize) -> crate::error::Result<()> {
    let (name, sql) = PG_MIGRATIONS[i];
    let version = i as i64 + 1;
    tx.execute_batch(&format!(
        "SELECT pg_advisory_xact_lock({MIGRATION_LOCK});
         CREATE TABLE IF NOT EXISTS gatehouse_schema (
             version     BIGINT PRIMARY KEY,
             name        TEXT NOT NULL,
             applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
         );"
    ))?;
    let current: i64 = tx.query_row("SELECT coalesce(max(version), 0) FROM gatehouse_schema", [], |r| r.get(0))?;
    if current > PG_MIGRATIONS.len() as i64 {
        return Err(crate::error::Error::Internal(format!(
            "this database has schema version {current}, newer than this Gatehouse knows ({}); upgrade Gatehouse",
            PG_MIGRATIONS.len()
        )));
    }
    if current >= version {
        return Ok(());
    }
    tx.execute_batch(sql)?;
    tx.execute("INSERT INTO gatehouse_schema (version, name) VALUES (?1, ?2)", super::params![version, name])?;
    Ok(())
}

/// The schema version of a PostgreSQL database (0 before any migration).
pub fn schema_version(conn: &Connection) -> Result<i64> {
    let exists: bool = conn.query_row("SELECT to_regclass('gatehouse_schema') IS NOT NULL", [], |r| r.get(0))?;
    if !exists {
        return Ok(0);
    }
    conn.query_row("SELECT coalesce(max(version), 0) FROM gatehouse_schema", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::literal;

    /// What BEGIN's statements write of a slug or id: Gatehouse's own as they are, anything else
    /// as hex, with no character that could end the literal (no server needed to see it).
    #[test]
    fn a_slug_or_id_is_written_into_sql_as_a_literal_or_as_hex() {
        assert_eq!(literal("acme").as_deref(), Some("'acme'"));
        assert_eq!(literal("0193-ab_C").as_deref(), Some("'0193-ab_C'"));
        let odd = "x'); SELECT pg_sleep(60); -- $$ \\ é";
        let written = literal(odd).unwrap();
        assert_eq!(written, format!("convert_from(decode('{}', 'hex'), 'UTF8')", hex::encode(odd)));
        let inside = written.trim_start_matches("convert_from(decode('").trim_end_matches("', 'hex'), 'UTF8')");
        assert!(inside.bytes().all(|b| b.is_ascii_hexdigit()), "{written}");
        for none in ["", "a\0b"] {
            assert_eq!(literal(none), None, "{none:?}");
        }
        assert_eq!(literal(&"a".repeat(super::MAX_NAMED_BYTES + 1)), None);
        assert!(literal(&"a".repeat(super::MAX_NAMED_BYTES)).is_some());
    }
}
