//! What an audit event records as its action ("members.disabled", "org.created", …): one enum for
//! every writer (each use case names its event with a variant), for `audit list --action`, and for
//! the page (ts-rs), matched without a catch-all arm. `as_str` is the text stored in
//! `audit_events.action` and hashed into the chain: it must never change for an existing variant.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub enum AuditAction {
    #[serde(rename = "org.created")]
    OrgCreated,
    #[serde(rename = "org.updated")]
    OrgUpdated,
    #[serde(rename = "org.renamed")]
    OrgRenamed,
    #[serde(rename = "demo.created")]
    DemoCreated,
    #[serde(rename = "roles.created")]
    RolesCreated,
    #[serde(rename = "roles.updated")]
    RolesUpdated,
    #[serde(rename = "roles.deleted")]
    RolesDeleted,
    #[serde(rename = "permissions.created")]
    PermissionsCreated,
    #[serde(rename = "invites.created")]
    InvitesCreated,
    #[serde(rename = "invites.resent")]
    InvitesResent,
    #[serde(rename = "invites.revoked")]
    InvitesRevoked,
    #[serde(rename = "invites.accepted")]
    InvitesAccepted,
    #[serde(rename = "invites.rejected")]
    InvitesRejected,
    #[serde(rename = "members.role_changed")]
    MembersRoleChanged,
    #[serde(rename = "members.expiry_set")]
    MembersExpirySet,
    #[serde(rename = "members.expiry_cleared")]
    MembersExpiryCleared,
    #[serde(rename = "members.enabled")]
    MembersEnabled,
    #[serde(rename = "members.disabled")]
    MembersDisabled,
    #[serde(rename = "members.removed")]
    MembersRemoved,
    #[serde(rename = "members.left")]
    MembersLeft,
    #[serde(rename = "access.expired")]
    AccessExpired,
    #[serde(rename = "access.denied")]
    AccessDenied,
    #[serde(rename = "workspaces.created")]
    WorkspacesCreated,
    #[serde(rename = "workspaces.granted")]
    WorkspacesGranted,
    #[serde(rename = "workspaces.revoked")]
    WorkspacesRevoked,
    #[serde(rename = "service_accounts.created")]
    ServiceAccountsCreated,
    #[serde(rename = "service_accounts.revoked")]
    ServiceAccountsRevoked,
    #[serde(rename = "session.created")]
    SessionCreated,
    #[serde(rename = "session.revoked")]
    SessionRevoked,
    #[serde(rename = "signin.failed")]
    SigninFailed,
    #[serde(rename = "signin.refused")]
    SigninRefused,
    #[serde(rename = "token.refused")]
    TokenRefused,
    #[serde(rename = "database.restored")]
    DatabaseRestored,
    #[serde(rename = "database.migrated")]
    DatabaseMigrated,
}

impl AuditAction {
    pub const ALL: [AuditAction; 34] = [
        AuditAction::OrgCreated,
        AuditAction::OrgUpdated,
        AuditAction::OrgRenamed,
        AuditAction::DemoCreated,
        AuditAction::RolesCreated,
        AuditAction::RolesUpdated,
        AuditAction::RolesDeleted,
        AuditAction::PermissionsCreated,
        AuditAction::InvitesCreated,
        AuditAction::InvitesResent,
        AuditAction::InvitesRevoked,
        AuditAction::InvitesAccepted,
        AuditAction::InvitesRejected,
        AuditAction::MembersRoleChanged,
        AuditAction::MembersExpirySet,
        AuditAction::MembersExpiryCleared,
        AuditAction::MembersEnabled,
        AuditAction::MembersDisabled,
        AuditAction::MembersRemoved,
        AuditAction::MembersLeft,
        AuditAction::AccessExpired,
        AuditAction::AccessDenied,
        AuditAction::WorkspacesCreated,
        AuditAction::WorkspacesGranted,
        AuditAction::WorkspacesRevoked,
        AuditAction::ServiceAccountsCreated,
        AuditAction::ServiceAccountsRevoked,
        AuditAction::SessionCreated,
        AuditAction::SessionRevoked,
        AuditAction::SigninFailed,
        AuditAction::SigninRefused,
        AuditAction::TokenRefused,
        AuditAction::DatabaseRestored,
        AuditAction::DatabaseMigrated,
    ];

    /// The stored text of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::OrgCreated => "org.created",
            AuditAction::OrgUpdated => "org.updated",
            AuditAction::OrgRenamed => "org.renamed",
            AuditAction::DemoCreated => "demo.created",
            AuditAction::RolesCreated => "roles.created",
            AuditAction::RolesUpdated => "roles.updated",
            AuditAction::RolesDeleted => "roles.deleted",
            AuditAction::PermissionsCreated => "permissions.created",
            AuditAction::InvitesCreated => "invites.created",
            AuditAction::InvitesResent => "invites.resent",
            AuditAction::InvitesRevoked => "invites.revoked",
            AuditAction::InvitesAccepted => "invites.accepted",
            AuditAction::InvitesRejected => "invites.rejected",
            AuditAction::MembersRoleChanged => "members.role_changed",
            AuditAction::MembersExpirySet => "members.expiry_set",
            AuditAction::MembersExpiryCleared => "members.expiry_cleared",
            AuditAction::MembersEnabled => "members.enabled",
            AuditAction::MembersDisabled => "members.disabled",
            AuditAction::MembersRemoved => "members.removed",
            AuditAction::MembersLeft => "members.left",
            AuditAction::AccessExpired => "access.expired",
            AuditAction::AccessDenied => "access.denied",
            AuditAction::WorkspacesCreated => "workspaces.created",
            AuditAction::WorkspacesGranted => "workspaces.granted",
            AuditAction::WorkspacesRevoked => "workspaces.revoked",
            AuditAction::ServiceAccountsCreated => "service_accounts.created",
            AuditAction::ServiceAccountsRevoked => "service_accounts.revoked",
            AuditAction::SessionCreated => "session.created",
            AuditAction::SessionRevoked => "session.revoked",
            AuditAction::SigninFailed => "signin.failed",
            AuditAction::SigninRefused => "signin.refused",
            AuditAction::TokenRefused => "token.refused",
            AuditAction::DatabaseRestored => "database.restored",
            AuditAction::DatabaseMigrated => "database.migrated",
        }
    }

    /// The part before the dot ("members" of "members.disabled"): `audit list --action members`
    /// lists every action of that area.
    pub fn area(self) -> &'static str {
        let s = self.as_str();
        s.split_once('.').map_or(s, |(area, _)| area)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = Error;

    /// An action as stored; anything else is `invalid_input` naming `action`.
    fn from_str(s: &str) -> Result<AuditAction> {
        let s = s.trim();
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| unknown(s))
    }
}

fn unknown(s: &str) -> Error {
    Error::invalid(
        "action",
        format!(
            "'{}' is not an audit action; use one such as members.disabled, or an area such as members",
            crate::validate::shorten(s)
        ),
    )
}

/// `audit list --action A` checked: one action as stored, or an area naming several (`members`).
/// Anything else is `invalid_input` naming `action`. Returns the text to filter on (trimmed).
pub fn parse_action_filter(s: &str) -> Result<&str> {
    let s = s.trim();
    if AuditAction::ALL.iter().any(|a| a.as_str() == s || a.area() == s) {
        return Ok(s);
    }
    Err(unknown(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_back_what_they_store() {
        for a in AuditAction::ALL {
            assert_eq!(a.as_str().parse::<AuditAction>().unwrap(), a);
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
            assert_eq!(parse_action_filter(a.as_str()).unwrap(), a.as_str());
            assert_eq!(parse_action_filter(a.area()).unwrap(), a.area());
        }
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len(), "two actions store the same text");
    }

    #[test]
    fn unknown_actions_are_invalid_input_naming_action() {
        for bad in ["members.disable", "nope", "members.", "", "org.created.x"] {
            assert_eq!(bad.parse::<AuditAction>().unwrap_err().field(), Some("action"), "{bad}");
            assert_eq!(parse_action_filter(bad).unwrap_err().field(), Some("action"), "{bad}");
        }
    }
}
