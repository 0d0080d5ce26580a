//! The store: one module per table, each holding that table's SQL and nothing else. Functions take
//! a `&Connection` (a transaction derefs to one) and never decide who may do what.

pub mod accounts;
pub mod audit;
pub mod grants;
pub mod invitations;
pub mod memberships;
pub mod organizations;
pub mod permissions;
pub mod rights;
pub mod roles;
pub mod roster;
pub mod service_accounts;
pub mod sessions;
pub mod workspaces;

/// A fresh UUID v7: time-ordered, so new rows append to the end of the primary-key B-tree.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
