//! The one error type of the core, with the stable codes that the CLI's exit codes and the UI's
//! `{code, message}` are made from. Raw SQLite errors never reach a user (rule 10): a fault of the
//! machine (disk full, read-only, permission denied, locked past the busy timeout) becomes
//! `Unavailable` with the cause in words, a constraint violation becomes a `Conflict` with a stable
//! reason and a sentence, and anything else `Internal`; the raw text goes to the `log` facade,
//! which each front door sends somewhere a person can find it (the README says where).

use serde::Serialize;
use ts_rs::TS;

/// The stable error codes of the CLI contract (PRODUCT.md §3). Never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    InvalidInput,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    /// The database cannot be reached or opened: a file locked past the busy timeout, a full or
    /// read-only disk, a shared server that is down. Not a bug, so not `Internal`.
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The process exit code the CLI returns for this error.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorCode::InvalidInput => 2,
            ErrorCode::Unauthenticated => 3,
            ErrorCode::Forbidden => 4,
            ErrorCode::NotFound => 5,
            ErrorCode::Conflict => 6,
            ErrorCode::Unavailable => 7,
            ErrorCode::Internal => 1,
        }
    }
}

/// Which invariant a `Conflict` protects; shown to scripts as `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ConflictReason {
    LastOwner,
    AlreadyMember,
    OpenInvitation,
    TokenUsed,
    TokenExpired,
    TokenRevoked,
    AlreadyExists,
    /// A name that looks like an existing one (Unicode confusables, rule 2).
    LookAlike,
    InUse,
    ChainBroken,
    NotOpen,
    /// A long command stopped by its caller; it rolled back.
    Cancelled,
}

/// A refused attempt, kept so the store can audit it after rolling the attempt back.
#[derive(Debug, Clone)]
pub struct Denial {
    pub organization_id: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// The caller has no membership in the organization (or is another organization's service
    /// account): the refusal goes to the system chain, naming the organization in its details, so
    /// that outsiders cannot flood an organization's own chain (rule 8).
    pub outsider: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{message}")]
    Forbidden { message: String, denial: Option<Box<Denial>> },
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict { reason: ConflictReason, message: String },
    /// The database cannot be reached or opened; the message names the path or server and the cause.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidInput { .. } => ErrorCode::InvalidInput,
            Error::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Error::Forbidden { .. } => ErrorCode::Forbidden,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict { .. } => ErrorCode::Conflict,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::InvalidInput { field: field.to_string(), message: message.into() }
    }

    pub fn conflict(reason: ConflictReason, message: impl Into<String>) -> Self {
        Error::Conflict { reason, message: message.into() }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden { message: message.into(), denial: None }
    }

    /// The field an `InvalidInput` names, for front doors that highlight it.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidInput { field, .. } => Some(field),
            _ => None,
        }
    }

    pub fn conflict_reason(&self) -> Option<ConflictReason> {
        match self {
            Error::Conflict { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}

/// How an `Unavailable` message about the database starts before `Database` knows which file it is;
/// `Database` puts the path in (`cannot use the database /path/gatehouse.db: the disk is full`).
pub(crate) const CANNOT_USE_DATABASE: &str = "cannot use the database: ";
/// The cause of a lock wait that ran out; `Database` adds the path and how long it waited.
pub(crate) const LOCKED_CAUSE: &str = "another process holds its write lock";

/// SQLite's "unable to open database file", which `Database` refines by asking the system why.
pub(crate) const CANNOT_OPEN_CAUSE: &str =
    "it cannot be opened (its folder may be missing, read-only or not accessible)";

/// The words for a fault of the machine or the file, by SQLite's primary result code; `None` when
/// the code means something else (a bug, a constraint).
pub(crate) fn fault_cause(code: rusqlite::ErrorCode) -> Option<&'static str> {
    use rusqlite::ErrorCode as C;
    match code {
        C::DatabaseBusy | C::DatabaseLocked => Some(LOCKED_CAUSE),
        C::DiskFull => Some("the disk is full"),
        C::ReadOnly => Some("it is read-only (the file, its folder or its file system)"),
        C::PermissionDenied | C::AuthorizationForStatementDenied => Some("permission denied"),
        C::CannotOpen => Some(CANNOT_OPEN_CAUSE),
        C::SystemIoFailure => Some("the system reported an input/output error reading or writing it"),
        C::DatabaseCorrupt => Some("the file is damaged (restore it from a backup)"),
        C::NotADatabase => Some("it is not a Gatehouse database (not a SQLite file)"),
        C::OutOfMemory => Some("the system is out of memory"),
        C::NoLargeFileSupport | C::TooBig => Some("the file or a value in it is too large"),
        C::FileLockingProtocolFailed => Some("the file system does not support the locks SQLite needs"),
        // A bug, a constraint (mapped on its own), or a code newer than this list.
        _ => None,
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        // The raw text is for whoever debugs this, never for the message a user sees.
        log::warn!("database: {e}");
        if let rusqlite::Error::SqliteFailure(f, message) = &e {
            if f.code == rusqlite::ErrorCode::ConstraintViolation {
                return constraint_violation(f.extended_code, message.as_deref());
            }
            if let Some(cause) = fault_cause(f.code) {
                return Error::Unavailable(format!("{CANNOT_USE_DATABASE}{cause}"));
            }
        }
        Error::Internal("a database operation failed unexpectedly (a bug; the detail is in the log)".into())
    }
}

/// A constraint the schema enforces was violated. The use cases check these invariants first and
/// answer in their own words; this is the safety net (a race, or a check we missed), so it names
/// what collided from SQLite's own description of the constraint (`UNIQUE constraint failed:
/// roles.organization_id, roles.name`, or `… index 'roles_one_owner'`).
fn constraint_violation(extended_code: std::ffi::c_int, message: Option<&str>) -> Error {
    use rusqlite::ffi;
    let what = message.and_then(|m| m.split_once(": ")).map(|(_, w)| w).unwrap_or("");
    let table = what.split(['.', ' ']).next().unwrap_or("");
    match extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => unique_conflict(table, what),
        // An ON DELETE RESTRICT reference is checked at once and reported with the code of a
        // trigger; a deferred one at commit with its own code. Both say "FOREIGN KEY".
        code if code == ffi::SQLITE_CONSTRAINT_FOREIGNKEY || message.is_some_and(|m| m.starts_with("FOREIGN KEY")) => {
            reference_conflict()
        }
        // CHECK, NOT NULL, triggers: the use cases validate every value first, so reaching one is a bug.
        _ => inconsistent_change(),
    }
}

/// A unique constraint of `table` (or, for SQLite, the word `index`) was violated; `what` names the
/// constraint or index. Shared by both engines (the PostgreSQL backend of `sql` names the table and
/// the constraint), so the same collision reads the same on either.
pub(crate) fn unique_conflict(table: &str, what: &str) -> Error {
    let table = if what.contains("roles_one_owner") || what.contains("invitations_one_open") { "index" } else { table };
    let (reason, sentence) = match table {
        "accounts" => (ConflictReason::AlreadyExists, "an account with this email already exists"),
        "organizations" => {
            (ConflictReason::AlreadyExists, "an organization with this name (the same slug) already exists")
        }
        "roles" => (ConflictReason::AlreadyExists, "a role with this name already exists in the organization"),
        "custom_permissions" => {
            (ConflictReason::AlreadyExists, "a permission with this name already exists in the organization")
        }
        "workspaces" => {
            (ConflictReason::AlreadyExists, "a workspace with this name already exists in the organization")
        }
        "service_accounts" => {
            (ConflictReason::AlreadyExists, "a service account with this name already exists in the organization")
        }
        "memberships" => (ConflictReason::AlreadyMember, "this person is already a member of the organization"),
        "invitations" => (ConflictReason::OpenInvitation, "this email already has an open invitation"),
        "index" if what.contains("roles_one_owner") => {
            (ConflictReason::AlreadyExists, "the organization already has its owner role")
        }
        "index" if what.contains("invitations_one_open") => {
            (ConflictReason::OpenInvitation, "this email already has an open invitation")
        }
        _ => (ConflictReason::AlreadyExists, "a record with the same unique values already exists"),
    };
    Error::conflict(reason, sentence)
}

/// A reference (foreign key) refused the change; shared by both engines.
pub(crate) fn reference_conflict() -> Error {
    Error::conflict(
        ConflictReason::InUse,
        "other records still refer to it (grants, invitations or service accounts), or what it refers to no longer exists",
    )
}

/// A CHECK or NOT NULL constraint refused the change: the use cases validate every value first.
pub(crate) fn inconsistent_change() -> Error {
    Error::Internal("the database refused an inconsistent change (a bug; the detail is in the log)".into())
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("json: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Internal(format!("file: {e}"))
    }
}

/// The error as the UI and `--json` show it.
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<ConflictReason>,
}

impl From<&Error> for ErrorBody {
    fn from(e: &Error) -> Self {
        ErrorBody {
            code: e.code(),
            message: e.to_string(),
            field: e.field().map(str::to_string),
            reason: e.conflict_reason(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Database;

    fn violate(db: &Database, sql: &str) -> Error {
        Error::from(db.connection().execute_batch(sql).unwrap_err())
    }

    /// A constraint violation used to become "that already exists" whatever it was. Each now has
    /// its stable reason and its own sentence, and no SQLite text.
    #[test]
    fn constraint_violations_map_to_a_reason_and_a_sentence() {
        let mut db = Database::open_in_memory().unwrap();
        crate::usecases::orgs::init(&mut db, "Acme", "ann@acme.io", "Ann Smith", "a long password", 1_000).unwrap();
        let org = "(SELECT id FROM organizations)";
        let cases = [
            (
                "INSERT INTO accounts (id, email, email_norm, given_name, family_name, sort_name, email_confirmed, created_at) VALUES ('x', 'ann@acme.io', 'ann@acme.io', 'A', 'B', 'a b', 1, 0)".to_string(),
                ConflictReason::AlreadyExists,
                "an account with this email already exists",
            ),
            (
                format!("INSERT INTO roles (id, organization_id, name, created_at) VALUES ('r', {org}, 'ADMIN', 0)"),
                ConflictReason::AlreadyExists,
                "a role with this name already exists",
            ),
            (
                "INSERT INTO memberships (id, organization_id, account_id, enabled, joined_at) SELECT 'm2', organization_id, account_id, 1, 0 FROM memberships".to_string(),
                ConflictReason::AlreadyMember,
                "already a member",
            ),
            (
                "DELETE FROM roles WHERE is_owner = 1".to_string(),
                ConflictReason::InUse,
                "other records still refer to it",
            ),
        ];
        for (sql, reason, words) in cases {
            let e = violate(&db, &sql);
            assert_eq!(e.conflict_reason(), Some(reason), "{sql}: {e:?}");
            assert!(e.to_string().contains(words), "{sql}: {e}");
            assert!(!e.to_string().contains("constraint failed"), "{e}");
        }
        // A CHECK constraint means a value the use cases should have refused: a bug, said in words.
        let e = violate(&db, "INSERT INTO access_grants (id, organization_id, role_id, granted_at) SELECT 'g', organization_id, id, 0 FROM roles LIMIT 1");
        assert_eq!(e.code(), ErrorCode::Internal, "{e:?}");
        assert!(!e.to_string().contains("CHECK"), "{e}");
    }

    #[test]
    fn faults_of_the_machine_are_unavailable_in_words() {
        for (code, words) in [
            (rusqlite::ffi::SQLITE_FULL, "the disk is full"),
            (rusqlite::ffi::SQLITE_READONLY, "read-only"),
            (rusqlite::ffi::SQLITE_BUSY, LOCKED_CAUSE),
            (rusqlite::ffi::SQLITE_PERM, "permission denied"),
            (rusqlite::ffi::SQLITE_IOERR, "input/output error"),
        ] {
            let raw = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some("raw sqlite text".into()));
            let e = Error::from(raw);
            assert_eq!(e.code(), ErrorCode::Unavailable, "{e:?}");
            assert!(e.to_string().contains(words) && !e.to_string().contains("raw sqlite text"), "{e}");
        }
        let e =
            Error::from(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE), None));
        assert_eq!(e.code(), ErrorCode::Internal);
    }
}
