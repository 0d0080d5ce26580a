//! The JSON documents that the front doors return where a use case itself returns a list or
//! nothing: the CLI prints them under `--json`, the service (`gatehouse serve`) answers with them,
//! so the two cannot drift apart. Use cases that return a value of their own (a `MemberPage`, a
//! `RoleView`…) are sent as they are.

use serde::Serialize;
use ts_rs::TS;

/// A list: `{"items":[…]}` (`orgs list`, `roles list`, `audit list`, `review`, `members export`…).
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Items<T> {
    pub items: Vec<T>,
}

impl<T> From<Vec<T>> for Items<T> {
    fn from(items: Vec<T>) -> Self {
        Items { items }
    }
}

/// `members role`: the member and the organization role they now hold.
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct RoleChanged {
    pub email: String,
    pub role: String,
}

/// `members expire`: the member's access expiry now (null: never).
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct ExpiryChanged {
    pub email: String,
    pub access_expires_at: Option<String>,
}

/// `members remove`: who was removed.
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Removed {
    pub removed: String,
}

/// `members leave`: the organization left.
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Left {
    pub left: String,
}

/// `invites revoke`: whose invitation was withdrawn.
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Revoked {
    pub revoked: String,
}

/// `workspaces revoke`: whose access to which workspace was taken away.
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct WorkspaceRevoked {
    pub workspace: String,
    pub revoked: String,
}

/// `roles delete`: the role deleted.
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Deleted {
    pub deleted: String,
}

/// A failure, as the CLI prints it on stderr under `--json` and the service answers it:
/// `{"error":{"code","message","field"?,"reason"?}}`.
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct ErrorReply {
    pub error: crate::ErrorBody,
}
