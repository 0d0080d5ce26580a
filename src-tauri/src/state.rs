//! What the shell keeps between commands: the open database and who is signed in.
//!
//! The database is opened off the main thread once the window exists (`AppState::open`), so that
//! the page can show why the start takes long — another process holds the lock, or the schema of
//! a large database is being upgraded — instead of a window that never appears. The page asks
//! `database_status` and listens to the `database-status` event; commands called meanwhile wait
//! until the database is ready.

use crate::settings::{DatabaseChoice, Places, Settings};
use gatehouse_core::db::{Notice, OpenOptions, WaitReason};
use gatehouse_core::usecases::audit;
use gatehouse_core::{time, Database, Error, ErrorBody, Principal, Result, Timestamp};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use ts_rs::TS;

/// The event the page hears whenever `DatabaseStatus` changes.
pub const DATABASE_STATUS_EVENT: &str = "database-status";

/// Where the app's database stands, for the page to show ("upgrading the database…").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DatabaseStatus {
    pub state: DatabaseState,
    /// A sentence for the user: the file, why it waits, the step of an upgrade, the error.
    pub message: String,
    /// During an upgrade: the step being applied (from 1) and how many there are.
    pub step: Option<u32>,
    pub steps: Option<u32>,
    /// During a long upgrade: how long it has run so far (updated about once a second).
    pub elapsed_seconds: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DatabaseState {
    /// Opening and checking the file (usually a few milliseconds).
    Opening,
    /// Another process holds the write lock (another Gatehouse command, or an upgrade it runs).
    Waiting,
    /// This app is upgrading the schema of the database to its own version.
    Upgrading,
    Ready,
    /// The database cannot be used; `message` says why. Every command answers with that error.
    Failed,
    /// The first run: no database yet and none chosen; `choose_database` says which.
    Choosing,
}

impl DatabaseStatus {
    fn new(state: DatabaseState, message: impl Into<String>) -> Self {
        DatabaseStatus { state, message: message.into(), step: None, steps: None, elapsed_seconds: None }
    }
}

/// The status a notice of the core leads to (`None`: no change worth telling).
fn status_after(notice: &Notice, current: &DatabaseStatus, path: &str) -> Option<DatabaseStatus> {
    match notice {
        Notice::Waiting { reason: WaitReason::Write, .. } => Some(DatabaseStatus::new(
            DatabaseState::Waiting,
            format!("Waiting for another Gatehouse process to finish writing to {path}…"),
        )),
        Notice::Waiting { reason: WaitReason::Upgrade, .. } => Some(DatabaseStatus::new(
            DatabaseState::Waiting,
            format!("Waiting for another Gatehouse process, which is upgrading the database {path}…"),
        )),
        Notice::DoneWaiting => Some(DatabaseStatus::new(DatabaseState::Opening, format!("Opening {path}…"))),
        Notice::Upgrading { from, to } => Some(DatabaseStatus::new(
            DatabaseState::Upgrading,
            format!("Upgrading the database {path} from schema {from} to {to}…"),
        )),
        Notice::UpgradeStep { step, steps, name } => Some(DatabaseStatus {
            state: DatabaseState::Upgrading,
            message: format!("Upgrading the database {path}: step {step} of {steps} ({name})…"),
            step: Some(*step as u32),
            steps: Some(*steps as u32),
            elapsed_seconds: current.elapsed_seconds,
        }),
        Notice::StillUpgrading { elapsed } => {
            Some(DatabaseStatus { elapsed_seconds: Some(elapsed.as_secs() as u32), ..current.clone() })
        }
        Notice::Upgraded { .. } => None,
    }
}

/// The window's Database settings: where the data is now, and whether it may be changed here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DatabaseSettings {
    /// The database in use (a server's URL without its password); none before the first choice.
    pub current: Option<DatabaseChoice>,
    /// The database as a person reads it: the file's path, or `postgres://user@host:port/db`.
    pub shown: String,
    /// The file "This computer" means.
    pub this_computer: String,
    /// Why the database cannot be changed from the window (`$GATEHOUSE_DB` names it); none when it can.
    pub fixed: Option<String>,
}

pub type StatusListener = Arc<dyn Fn(&DatabaseStatus) + Send + Sync>;

pub struct AppState {
    /// `None` while the database is being opened; then the database, or why it cannot be used.
    db: Mutex<Option<Result<Database, ErrorBody>>>,
    opened: Condvar,
    status: Arc<Mutex<DatabaseStatus>>,
    session: Mutex<Option<Principal>>,
    /// The token of a `gatehouse://invite/…` link the app was opened with, until the page takes it.
    pending_invite: Mutex<Option<String>>,
    /// The cancel flags of the long commands running now (a bulk enable/disable).
    jobs: JobFlags,
    /// Where the choice of database is kept, for `choose`; `None` where nothing may be chosen.
    places: Mutex<Option<Places>>,
}

/// Cancel flags by the name the page gave each job.
type JobFlags = Arc<Mutex<HashMap<String, Arc<AtomicBool>>>>;

/// A long command the page may cancel, registered under its name while it runs.
pub struct RunningJob {
    name: String,
    cancelled: Arc<AtomicBool>,
    jobs: JobFlags,
}

impl RunningJob {
    /// Whether the page asked to stop it.
    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

impl Drop for RunningJob {
    fn drop(&mut self) {
        lock(&self.jobs).remove(&self.name);
    }
}

impl AppState {
    /// A state whose database is still to be opened with `open`.
    pub fn opening() -> AppState {
        AppState {
            db: Mutex::new(None),
            opened: Condvar::new(),
            status: Arc::new(Mutex::new(DatabaseStatus::new(DatabaseState::Opening, "Opening the database…"))),
            session: Mutex::new(None),
            pending_invite: Mutex::new(None),
            jobs: Arc::default(),
            places: Mutex::new(None),
        }
    }

    /// The first run: no database until the page calls `choose_database`.
    pub fn choosing(places: Places) -> AppState {
        let state = AppState::opening();
        *lock(&state.status) = DatabaseStatus::new(DatabaseState::Choosing, "Choose where Gatehouse keeps its data.");
        state.set_places(places);
        state
    }

    /// Let the user choose the database (again, when it cannot be opened) with `choose`.
    pub fn set_places(&self, places: Places) {
        *lock(&self.places) = Some(places);
    }

    /// Use `choice` from now on: on the first run, after the database failed to open, or from the
    /// window's Database settings. The database is opened (created when it has no Gatehouse schema
    /// yet) before anything is saved: a server that cannot be reached, a URL that does not parse
    /// or a file that cannot be made answers why (naming `url` for a server), and the choice is not
    /// kept. Refused when `$GATEHOUSE_DB` names the database (it would win again at the next start).
    /// Whoever was signed in is signed out: accounts belong to a database.
    pub fn choose(&self, choice: DatabaseChoice) -> Result<DatabaseStatus, ErrorBody> {
        blocking(|| self.choose_here(choice))
    }

    fn choose_here(&self, choice: DatabaseChoice) -> Result<DatabaseStatus, ErrorBody> {
        let refuse = |e: Error| ErrorBody::from(&e);
        let places = lock(&self.places)
            .clone()
            .ok_or_else(|| refuse(Error::invalid("database", "this window's database cannot be chosen here")))?;
        let state = self.database_status().state;
        if let Some(why) = places.fixed_by_environment() {
            // On a first run $GATEHOUSE_DB may name a file still to be made: "this computer" is it.
            if state != DatabaseState::Choosing || places.forced_url.is_some() {
                return Err(refuse(Error::invalid("database", why)));
            }
        }
        if matches!(state, DatabaseState::Opening | DatabaseState::Waiting | DatabaseState::Upgrading) {
            return Err(refuse(Error::invalid(
                "database",
                "the database is still being opened; try again when it is ready",
            )));
        }
        let choice = match choice {
            DatabaseChoice::TeamServer { url } => {
                let url = url.trim().to_string();
                if !gatehouse_core::sql::is_postgres_url(&url) {
                    return Err(refuse(Error::invalid(
                        "url",
                        "give the server as a postgres:// URL (postgres://USER@HOST:PORT/DATABASE)",
                    )));
                }
                DatabaseChoice::TeamServer { url }
            }
            other => other,
        };
        let path = places.database_of(&choice);
        let server = matches!(choice, DatabaseChoice::TeamServer { .. });
        let options = OpenOptions { create: true, ..OpenOptions::default() };
        let db = Database::open_with(&path, options).map_err(|e| match e {
            // The page's field is the URL: a URL that does not parse, or a server that does not answer.
            Error::InvalidInput { field, message } if server && field == "db" => refuse(Error::invalid("url", message)),
            e if server => ErrorBody { field: Some("url".into()), ..refuse(e) },
            e => refuse(e),
        })?;
        places.save(&Settings { database: Some(choice) }).map_err(|e| refuse(e))?;
        // Waits for a command that is using the old database to finish with it.
        let mut slot = lock(&self.db);
        self.set_principal(None);
        let ready = DatabaseStatus::new(DatabaseState::Ready, "");
        *lock(&self.status) = ready.clone();
        *slot = Some(Ok(db));
        drop(slot);
        self.opened.notify_all();
        Ok(ready)
    }

    /// What the window's Database settings show: the database in use and whether it may change.
    pub fn database_settings(&self) -> DatabaseSettings {
        let places = lock(&self.places).clone();
        let Some(places) = places else {
            return DatabaseSettings {
                current: None,
                shown: String::new(),
                this_computer: String::new(),
                fixed: Some("this window's database cannot be chosen here".into()),
            };
        };
        let current = places.database_to_open().map(|path| match path.to_str() {
            Some(url) if gatehouse_core::sql::is_postgres_url(url) => {
                DatabaseChoice::TeamServer { url: url.to_string() }
            }
            _ => DatabaseChoice::ThisComputer,
        });
        let shown = match &current {
            Some(DatabaseChoice::TeamServer { url }) => crate::settings::shown_url(url),
            Some(DatabaseChoice::ThisComputer) => places.local_db.display().to_string(),
            None => String::new(),
        };
        // The page never receives a password: a server is named by its shown form.
        let current = current.map(|c| match c {
            DatabaseChoice::TeamServer { .. } => DatabaseChoice::TeamServer { url: shown.clone() },
            other => other,
        });
        DatabaseSettings {
            current,
            shown,
            this_computer: places.local_db.display().to_string(),
            fixed: places.fixed_by_environment(),
        }
    }

    pub fn with_database(db: Database) -> AppState {
        let state = AppState::opening();
        *lock(&state.status) = DatabaseStatus::new(DatabaseState::Ready, "");
        *lock(&state.db) = Some(Ok(db));
        state
    }

    /// Open (creating it on the first run) the database at `path`, telling `listener` every change
    /// of status; commands waiting for it go on when it is done. Blocks: call it off the main thread.
    pub fn open(&self, path: &Path, listener: StatusListener) {
        let shown = path.display().to_string();
        let status = Arc::clone(&self.status);
        let tell = {
            let listener = Arc::clone(&listener);
            move |next: DatabaseStatus| {
                *lock(&status) = next.clone();
                listener(&next);
            }
        };
        tell(DatabaseStatus::new(DatabaseState::Opening, format!("Opening {shown}…")));
        let observer = {
            let status = Arc::clone(&self.status);
            let tell = tell.clone();
            let shown = shown.clone();
            Arc::new(move |notice: &Notice| {
                let current = lock(&status).clone();
                if let Some(next) = status_after(notice, &current, &shown) {
                    tell(next);
                }
            })
        };
        let options = OpenOptions { create: true, observer: Some(observer), ..OpenOptions::default() };
        let opened = Database::open_with(path, options).map_err(|e| ErrorBody::from(&e));
        tell(match &opened {
            Ok(_) => DatabaseStatus::new(DatabaseState::Ready, ""),
            Err(e) => DatabaseStatus::new(DatabaseState::Failed, e.message.clone()),
        });
        *lock(&self.db) = Some(opened);
        self.opened.notify_all();
    }

    pub fn database_status(&self) -> DatabaseStatus {
        lock(&self.status).clone()
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

    /// Register the job `name` until the returned value is dropped. A cancel that arrived first
    /// (the page may ask before the command has started) holds: the job starts cancelled.
    pub fn start_job(&self, name: &str) -> RunningJob {
        let cancelled = Arc::clone(lock(&self.jobs).entry(name.to_string()).or_default());
        RunningJob { name: name.to_string(), cancelled, jobs: Arc::clone(&self.jobs) }
    }

    /// Ask the job `name` to stop. Answers at once: it never waits for the database, which the job
    /// holds while it runs. A name not running yet is remembered for `start_job`.
    pub fn cancel_job(&self, name: &str) {
        let mut jobs = lock(&self.jobs);
        // Bounded: only names the page cancelled before their job began can stay behind.
        if jobs.len() >= 64 && !jobs.contains_key(name) {
            jobs.retain(|_, flag| !flag.load(Ordering::SeqCst));
        }
        jobs.entry(name.to_string()).or_default().store(true, Ordering::SeqCst);
    }

    /// Run `f` on the database without a session (first run, sign-in, accepting an invitation);
    /// waits while the database is still being opened or upgraded.
    pub fn open_call<T>(&self, f: impl FnOnce(&mut Database, Timestamp) -> Result<T>) -> Result<T, ErrorBody> {
        blocking(|| self.open_call_here(f))
    }

    fn open_call_here<T>(&self, f: impl FnOnce(&mut Database, Timestamp) -> Result<T>) -> Result<T, ErrorBody> {
        let mut slot = lock(&self.db);
        while slot.is_none() {
            slot = self.opened.wait(slot).unwrap_or_else(|p| p.into_inner());
        }
        let db = match slot.as_mut() {
            Some(Ok(db)) => db,
            Some(Err(why)) => return Err(why.clone()),
            None => return Err(ErrorBody::from(&Error::Unavailable("the database is still being opened".into()))),
        };
        let now = time::now();
        // Recorded now unless another process holds the write lock; then the next write records
        // it first (`Database::write`), and a read need not wait.
        audit::try_record_expiries(db, now).map_err(|e| ErrorBody::from(&e))?;
        f(db, now).map_err(|e| ErrorBody::from(&e))
    }

    /// Run `f` as the signed-in principal; `unauthenticated` when nobody is signed in.
    pub fn call<T>(&self, f: impl FnOnce(&mut Database, &Principal, Timestamp) -> Result<T>) -> Result<T, ErrorBody> {
        let who = self.principal().ok_or_else(|| ErrorBody::from(&Error::Unauthenticated("sign in first".into())))?;
        self.open_call(|db, now| f(db, &who, now))
    }
}

/// Run blocking database work wherever a command runs. The PostgreSQL client drives a runtime of
/// its own, which may not be entered from one of the async workers that run Tauri's commands
/// (tokio panics): there the work runs in `block_in_place`, which moves the worker's other tasks
/// elsewhere meanwhile. On other threads (the opener, tests) it just runs.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// A poisoned lock only means an earlier command panicked; the data behind it is still whole
/// (every write is a transaction), so carry on with it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::db::MIGRATIONS;

    /// The page learns that the database is being upgraded, step by step, and then ready; a
    /// command called meanwhile waits for it instead of failing.
    #[test]
    fn the_page_hears_an_upgrade_and_commands_wait_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let old = rusqlite::Connection::open(&path).unwrap();
            for (i, (_, sql)) in MIGRATIONS.iter().enumerate().take(MIGRATIONS.len() - 1) {
                old.execute_batch(sql).unwrap();
                old.pragma_update(None, "user_version", (i + 1) as i64).unwrap();
            }
        }
        let state = Arc::new(AppState::opening());
        assert_eq!(state.database_status().state, DatabaseState::Opening);
        let heard = Arc::new(Mutex::new(Vec::new()));
        let listener: StatusListener = {
            let heard = Arc::clone(&heard);
            Arc::new(move |s: &DatabaseStatus| heard.lock().unwrap().push(s.clone()))
        };
        let caller = {
            let state = Arc::clone(&state);
            std::thread::spawn(move || state.open_call(|db, _| db.schema_version()))
        };
        state.open(&path, listener);
        assert_eq!(caller.join().unwrap().unwrap(), MIGRATIONS.len() as i64);
        let heard = heard.lock().unwrap().clone();
        let states: Vec<DatabaseState> = heard.iter().map(|s| s.state).collect();
        assert_eq!(
            states,
            [DatabaseState::Opening, DatabaseState::Upgrading, DatabaseState::Upgrading, DatabaseState::Ready],
            "{heard:?}"
        );
        assert_eq!((heard[2].step, heard[2].steps), (Some(1), Some(1)));
        assert!(heard[2].message.contains(MIGRATIONS[MIGRATIONS.len() - 1].0), "{heard:?}");
        assert_eq!(state.database_status().state, DatabaseState::Ready);
    }

    #[test]
    fn a_database_that_cannot_be_opened_fails_every_command_with_why() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::opening();
        state.open(dir.path(), Arc::new(|_: &DatabaseStatus| {}));
        let status = state.database_status();
        assert_eq!(status.state, DatabaseState::Failed);
        assert!(status.message.contains("is a folder"), "{status:?}");
        let e = state.open_call(|db, _| db.schema_version()).unwrap_err();
        assert_eq!(e.message, status.message);
    }
}
