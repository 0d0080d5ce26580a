//! Gatehouse core: the whole domain of organizations, members, roles, invitations, access grants,
//! service accounts and the audit log, over one SQLite file. No Tauri, no terminal: front doors
//! (the CLI crate, the desktop shell) resolve who is calling, pass `now`, call one use case and
//! show its result or its `Error`.

mod answers;
pub mod audit_actions;
pub mod auth;
pub mod catalogue;
pub mod db;
pub mod error;
pub mod files;
pub mod formats;
pub mod policy;
pub mod replies;
pub mod sql;
pub mod store;
pub mod time;
pub mod transfer;
pub mod usecases;
pub mod validate;

pub use auth::Principal;
pub use db::Database;
pub use error::{ConflictReason, Error, ErrorBody, ErrorCode, Result};
pub use time::Timestamp;
