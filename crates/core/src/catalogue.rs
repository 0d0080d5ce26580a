//! The built-in permission catalogue and the roles every new organization starts with
//! (PRODUCT.md §1). Custom permissions are rows of `custom_permissions`; these never change.

pub const ORG_VIEW: &str = "org.view";
pub const ORG_MANAGE: &str = "org.manage";
pub const MEMBERS_INVITE: &str = "members.invite";
pub const MEMBERS_MANAGE: &str = "members.manage";
pub const OWNERS_MANAGE: &str = "owners.manage";
pub const ROLES_MANAGE: &str = "roles.manage";
pub const WORKSPACES_MANAGE: &str = "workspaces.manage";
pub const SERVICE_ACCOUNTS_MANAGE: &str = "service_accounts.manage";
pub const AUDIT_VIEW: &str = "audit.view";

/// Every built-in permission with what it allows, in catalogue order.
pub const BUILT_IN_PERMISSIONS: [(&str, &str); 9] = [
    (ORG_VIEW, "See the organization and its member list"),
    (ORG_MANAGE, "Rename, delete and change organization settings"),
    (MEMBERS_INVITE, "Create, resend and revoke invitations"),
    (MEMBERS_MANAGE, "Change non-owner roles, enable/disable, set access expiry, remove"),
    (OWNERS_MANAGE, "Grant or take away the owner role, act on owners"),
    (ROLES_MANAGE, "Create, edit and delete custom roles and custom permissions"),
    (WORKSPACES_MANAGE, "Create, rename, delete workspaces and grant workspace access"),
    (SERVICE_ACCOUNTS_MANAGE, "Create and revoke service accounts and their tokens"),
    (AUDIT_VIEW, "Read and export the audit log"),
];

pub const OWNER_ROLE: &str = "owner";
pub const ADMIN_ROLE: &str = "admin";
pub const MEMBER_ROLE: &str = "member";

/// The permissions `admin` starts with.
pub const ADMIN_PERMISSIONS: [&str; 7] =
    [ORG_VIEW, MEMBERS_INVITE, MEMBERS_MANAGE, ROLES_MANAGE, WORKSPACES_MANAGE, SERVICE_ACCOUNTS_MANAGE, AUDIT_VIEW];

/// The permissions `member` starts with.
pub const MEMBER_PERMISSIONS: [&str; 1] = [ORG_VIEW];

pub fn is_built_in(permission: &str) -> bool {
    BUILT_IN_PERMISSIONS.iter().any(|(p, _)| *p == permission)
}

/// The default roles of a new organization: (name, description, is_owner, permissions).
pub fn default_roles() -> [(&'static str, &'static str, bool, &'static [&'static str]); 3] {
    [
        (OWNER_ROLE, "Every permission, always; cannot be edited or deleted", true, &[]),
        (ADMIN_ROLE, "Manages members, invitations, roles, workspaces and service accounts", false, &ADMIN_PERMISSIONS),
        (MEMBER_ROLE, "Sees the organization and its members", false, &MEMBER_PERMISSIONS),
    ]
}
