//! The connections the service works on. SQLite in WAL mode lets many readers run beside the one
//! writer, so reads (check above all) take one of a few reader connections and never queue behind
//! each other or behind a write; changes go through the one writer connection, one at a time, as
//! they would from one process. Each job runs on tokio's blocking pool, because every core call is
//! synchronous SQLite work; a job whose request was dropped (deadline, client gone) still runs to
//! its end, so a transaction either commits or rolls back, never stops half-way.

use gatehouse_core::{Database, Error, Result};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::{Mutex as AsyncMutex, OwnedSemaphorePermit, Semaphore};

pub struct Pool {
    readers: Mutex<Vec<Database>>,
    free_readers: Arc<Semaphore>,
    writer: Arc<AsyncMutex<Database>>,
}

/// Which connection a job needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    Read,
    Write,
}

impl Pool {
    /// Open the writer (which migrates the file) and then `readers` reader connections.
    pub fn open(path: &Path, readers: usize) -> Result<Arc<Pool>> {
        let writer = Database::open(path)?;
        let readers = (0..readers.max(1)).map(|_| Database::open(path)).collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(Pool {
            free_readers: Arc::new(Semaphore::new(readers.len())),
            readers: Mutex::new(readers),
            writer: Arc::new(AsyncMutex::new(writer)),
        }))
    }

    /// Run `job` on a connection of the kind asked for, off the async threads.
    pub async fn run<T, F>(self: &Arc<Self>, conn: Conn, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Database) -> T + Send + 'static,
    {
        let handle = match conn {
            Conn::Read => {
                let permit = self.free_readers.clone().acquire_owned().await.map_err(closed)?;
                let db =
                    lock(&self.readers).pop().ok_or_else(|| Error::Internal("no free reader connection".into()))?;
                let mut lease = Lease { db: Some(db), pool: self.clone(), _permit: permit };
                tokio::task::spawn_blocking(move || job(lease.db.as_mut().expect("a leased connection")))
            }
            Conn::Write => {
                let mut writer = self.writer.clone().lock_owned().await;
                tokio::task::spawn_blocking(move || job(&mut writer))
            }
        };
        handle.await.map_err(|e| Error::Internal(format!("a request's job failed: {e}")))
    }

    /// Wait until no write is running (for shutdown: a bulk change finishes before the process
    /// ends).
    pub async fn quiesce(&self) {
        drop(self.writer.lock().await);
    }
}

/// A reader connection on loan; it goes back to the pool however the job ends, panics included
/// (rusqlite rolls back a transaction that was dropped unfinished).
struct Lease {
    db: Option<Database>,
    pool: Arc<Pool>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            lock(&self.pool.readers).push(db);
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
