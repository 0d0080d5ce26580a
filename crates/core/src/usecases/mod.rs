//! The use cases: one function per command, the same for every front door (CLI, desktop UI).
//! Each opens one transaction, computes the caller's rights afresh, asks the policy, writes the
//! change and its audit event, and commits, or rolls everything back.

pub mod access;
pub mod audit;
pub mod check;
pub mod demo;
pub mod invitations;
pub mod members;
pub mod orgs;
pub mod restore;
pub mod review;
pub mod roles;
pub mod service_accounts;
pub mod sessions;
pub mod workspaces;
