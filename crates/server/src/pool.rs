//! The connections the service works on: a set of reader connections and a set of writer
//! connections, each a `Database` of its own. A job takes a free connection of the kind it
//! needs (waiting, in order of arrival, while none is free) and runs on tokio's blocking pool,
//! because every core call is synchronous database work; a job whose request was dropped
//! (deadline, client gone) still runs to its end, so a transaction either commits or rolls
//! back, never stops half-way.
//!
//! On a SQLite file: several readers beside **one** writer. WAL lets readers run beside the
//! writer, and SQLite has one write lock per file, so a second writer connection would only
//! wait for it (with `SQLITE_BUSY` and sleeps) where a queue here waits in order.
//!
//! On PostgreSQL: several writers too. Writers serialize in the database (each write
//! transaction takes its lock first, `sql::postgres`), across every process that shares it, so
//! a queue here would not serialize anything that matters; several writer connections let a
//! write run while another waits for its lock or its argon2 sign-in, and keep serving when
//! another `serve` process holds the lock. They are a separate set, a quarter of the
//! connections, so writes waiting for the lock can never take the connections questions need.
//!
//! Why `Database` handles and not a pool crate (r2d2, deadpool): a connection here is a whole
//! `Database` (its statement caches, its migrations checked at open, its retry of serialization
//! failures), and a `Database` on PostgreSQL already replaces a session the server ended: at the
//! next BEGIN (`PgConnection::begin`), never reusing it broken, and while the server is down
//! every job fails `unavailable` (HTTP 503) at once and the next one after it is back connects.
//! A pool crate would add a second layer of the same checks (a test query per checkout costs a
//! round trip on every `check`).

use gatehouse_core::{Database, Error, Result};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Pool {
    readers: Set,
    writers: Set,
}

/// How many connections of each kind the service keeps open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub readers: usize,
    pub writers: usize,
}

/// Connections of one kind: the free ones, and a permit for each.
struct Set {
    free: Mutex<Vec<Database>>,
    permits: Arc<Semaphore>,
    size: u32,
}

impl Set {
    fn new(connections: Vec<Database>) -> Set {
        Set {
            permits: Arc::new(Semaphore::new(connections.len())),
            size: connections.len() as u32,
            free: Mutex::new(connections),
        }
    }
}

/// Which connection a job needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    Read,
    Write,
}

impl Pool {
    /// Open the connections with `open` (the first one migrates the schema, so the others find
    /// it current): the writers first, then the readers.
    pub fn open(sizes: Sizes, open: impl Fn() -> Result<Database>) -> Result<Arc<Pool>> {
        let writers = (0..sizes.writers.max(1)).map(|_| open()).collect::<Result<Vec<_>>>()?;
        let readers = (0..sizes.readers.max(1)).map(|_| open()).collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(Pool { readers: Set::new(readers), writers: Set::new(writers) }))
    }

    fn set(&self, conn: Conn) -> &Set {
        match conn {
            Conn::Read => &self.readers,
            Conn::Write => &self.writers,
        }
    }

    /// Run `job` on a connection of the kind asked for, off the async threads.
    pub async fn run<T, F>(self: &Arc<Self>, conn: Conn, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Database) -> T + Send + 'static,
    {
        let set = self.set(conn);
        let permit = set.permits.clone().acquire_owned().await.map_err(closed)?;
        let db = lock(&set.free).pop().ok_or_else(|| Error::Internal("no free connection".into()))?;
        let mut lease = Lease { db: Some(db), conn, pool: self.clone(), _permit: permit };
        tokio::task::spawn_blocking(move || job(lease.db.as_mut().expect("a leased connection")))
            .await
            .map_err(|e| Error::Internal(format!("a request's job failed: {e}")))
    }

    /// Wait until no write is running (for shutdown: a bulk change finishes before the process
    /// ends).
    pub async fn quiesce(&self) {
        drop(self.writers.permits.acquire_many(self.writers.size).await);
    }
}

/// A connection on loan; it goes back to its set however the job ends, panics included (a
/// transaction dropped unfinished rolls back).
struct Lease {
    db: Option<Database>,
    conn: Conn,
    pool: Arc<Pool>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            lock(&self.pool.set(self.conn).free).push(db);
        }
    }
}

fn closed(_: tokio::sync::AcquireError) -> Error {
    Error::Unavailable("the service is shutting down".into())
}

/// A poisoned lock only means a job panicked while holding the list; the connections in it are
/// whole, so carry on with them.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
