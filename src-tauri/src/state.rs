//! What the shell keeps between commands: the open database and who is signed in.

use gatehouse_core::usecases::audit;
use gatehouse_core::{time, Database, Error, ErrorBody, Principal, Result, Timestamp};
use std::path::Path;
use std::sync::Mutex;

pub struct AppState {
    db: Mutex<Database>,
    session: Mutex<Option<Principal>>,
    /// The token of a `gatehouse://invite/…` link the app was opened with, until the page takes it.
    pending_invite: Mutex<Option<String>>,
}

impl AppState {
    pub fn open(path: &Path) -> Result<AppState> {
        Ok(AppState::with_database(Database::open(path)?))
    }

    pub fn with_database(db: Database) -> AppState {
        AppState { db: Mutex::new(db), session: Mutex::new(None), pending_invite: Mutex::new(None) }
    }

    pub fn set_pending_invite(&self, token: String) {
        *lock(&self.pending_invite) = Some(token);
    }

    pub fn take_pending_invite(&self) -> Option<String> {
        lock(&self.pending_invite).take()
    }

    pub fn principal(&self) -> Option<Principal> {
        lock(&self.session).clone()
    }

    pub fn set_principal(&self, who: Option<Principal>) {
        *lock(&self.session) = who;
    }

    /// Run `f` on the database without a session (first run, sign-in, accepting an invitation).
    pub fn open_call<T>(&self, f: impl FnOnce(&mut Database, Timestamp) -> Result<T>) -> Result<T, ErrorBody> {
        let now = time::now();
        let mut db = lock(&self.db);
        audit::try_record_expiries(&mut db, now).map_err(|e| ErrorBody::from(&e))?;
        f(&mut db, now).map_err(|e| ErrorBody::from(&e))
    }

    /// Run `f` as the signed-in principal; `unauthenticated` when nobody is signed in.
    pub fn call<T>(&self, f: impl FnOnce(&mut Database, &Principal, Timestamp) -> Result<T>) -> Result<T, ErrorBody> {
        let who = self.principal().ok_or_else(|| ErrorBody::from(&Error::Unauthenticated("sign in first".into())))?;
        self.open_call(|db, now| f(db, &who, now))
    }
}

/// A poisoned lock only means an earlier command panicked; the data behind it is still whole
/// (every write is a transaction), so carry on with it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
