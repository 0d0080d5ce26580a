//! The one error type of the core, with the stable codes that the CLI's exit codes and the UI's
//! `{code, message}` are made from. Raw SQLite errors never reach a user: they become `Internal`,
//! except the constraint violations that mean an invariant, which become `Conflict`.

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
    InUse,
    ChainBroken,
    NotOpen,
}

/// A refused attempt, kept so the store can audit it after rolling the attempt back.
#[derive(Debug, Clone)]
pub struct Denial {
    pub organization_id: String,
    pub actor: String,
    pub action: String,
    pub target: String,
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

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::ConstraintViolation {
                return Error::conflict(ConflictReason::AlreadyExists, "that already exists");
            }
        }
        Error::Internal(format!("database: {e}"))
    }
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
