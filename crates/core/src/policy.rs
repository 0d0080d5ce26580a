//! The policy: given what a caller holds right now and what they try to do, allow or deny.
//! One exhaustive `match` over actions; no database access here (the use cases load the facts,
//! `store::rights` computes the caller's effective permissions afresh in the same transaction).

use crate::catalogue::*;
use std::collections::BTreeSet;

/// What a principal holds in one organization at one moment (rule 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rights {
    /// Holds the owner role: every permission, custom ones included.
    pub is_owner: bool,
    pub permissions: BTreeSet<String>,
}

impl Rights {
    pub fn none() -> Self {
        Rights::default()
    }

    pub fn holds(&self, permission: &str) -> bool {
        self.is_owner || self.permissions.contains(permission)
    }

    pub fn is_empty(&self) -> bool {
        !self.is_owner && self.permissions.is_empty()
    }

    /// Holds every permission of `role` (the rule of no escalation).
    pub fn covers(&self, role: &RoleRights) -> bool {
        if role.is_owner {
            return self.is_owner;
        }
        role.permissions.iter().all(|p| self.holds(p))
    }
}

/// The permissions a role would hand out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRights {
    pub name: String,
    pub is_owner: bool,
    pub permissions: BTreeSet<String>,
}

/// Facts about the member an action is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Holds the owner role at organization scope (whether or not currently active), or, for an
    /// action on workspace access, the owner role in that workspace.
    pub is_owner: bool,
    /// The caller themself, or, for a service account, the person who made it: a service account
    /// counts as its creator and may do to them only what they may do to themselves (rule 9).
    pub is_self: bool,
}

/// A change to a membership, for `Action::ChangeMember`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Enable,
    Disable,
    /// Set, change or clear the access expiry; `extends` when it moves later or is cleared.
    SetExpiry {
        extends: bool,
    },
    Remove,
    /// Grant or take away workspace access.
    WorkspaceAccess,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    ViewOrganization,
    ManageOrganization,
    /// Invite to `role`, at organization scope or (`workspace`) in one workspace only.
    Invite {
        role: &'a RoleRights,
        workspace: bool,
    },
    /// Revoke an invitation; `owner_role` when it is to the owner role.
    ManageInvitations {
        owner_role: bool,
    },
    /// Give `target` the organization role `role`. `target_rights`: what the target holds now,
    /// which a change of one's own role may not exceed (no one raises their own rights).
    AssignRole {
        target: Target,
        current_is_owner: bool,
        role: &'a RoleRights,
        target_rights: &'a Rights,
    },
    ChangeMember {
        target: Target,
        change: MemberChange,
    },
    WriteRole {
        role: &'a RoleRights,
    },
    DeleteRole,
    CreatePermission,
    ManageWorkspaces,
    GrantWorkspace {
        target: Target,
        role: &'a RoleRights,
    },
    ManageServiceAccounts {
        role: Option<&'a RoleRights>,
    },
    /// Revoke a service account; `owner_role` when it holds the owner role.
    RevokeServiceAccount {
        owner_role: bool,
    },
    ViewAudit,
    ReviewAccess,
}

impl Action<'_> {
    /// A stable name for the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            Action::ViewOrganization => "org.view",
            Action::ManageOrganization => "org.manage",
            Action::Invite { .. } => "invites.create",
            Action::ManageInvitations { .. } => "invites.manage",
            Action::AssignRole { .. } => "members.role",
            Action::ChangeMember { change, .. } => match change {
                MemberChange::Enable => "members.enable",
                MemberChange::Disable => "members.disable",
                MemberChange::SetExpiry { .. } => "members.expire",
                MemberChange::Remove => "members.remove",
                MemberChange::WorkspaceAccess => "workspaces.revoke",
            },
            Action::WriteRole { .. } => "roles.write",
            Action::DeleteRole => "roles.delete",
            Action::CreatePermission => "permissions.create",
            Action::ManageWorkspaces => "workspaces.manage",
            Action::GrantWorkspace { .. } => "workspaces.grant",
            Action::ManageServiceAccounts { .. } | Action::RevokeServiceAccount { .. } => "service_accounts.manage",
            Action::ViewAudit => "audit.view",
            Action::ReviewAccess => "review",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(String),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

fn need(rights: &Rights, permission: &str) -> Decision {
    if rights.holds(permission) {
        Decision::Allow
    } else {
        Decision::Deny(format!("you lack the permission {permission}"))
    }
}

fn grant(rights: &Rights, base: &str, role: &RoleRights) -> Decision {
    match need(rights, base) {
        Decision::Allow => {}
        deny => return deny,
    }
    if role.is_owner && !rights.holds(OWNERS_MANAGE) {
        return Decision::Deny("only holders of owners.manage may grant the owner role".into());
    }
    if !rights.covers(role) {
        let missing: Vec<&str> = role.permissions.iter().filter(|p| !rights.holds(p)).map(String::as_str).collect();
        return Decision::Deny(format!(
            "you may not hand out the role {} because you do not hold {}",
            role.name,
            if missing.is_empty() { "every permission of it".to_string() } else { missing.join(", ") }
        ));
    }
    Decision::Allow
}

/// Things that carry the owner role are for holders of owners.manage only (rule 2).
fn owner_level(rights: &Rights, what: &str) -> Decision {
    if rights.holds(OWNERS_MANAGE) {
        Decision::Allow
    } else {
        Decision::Deny(format!("only holders of owners.manage may act on {what}"))
    }
}

fn on_member(rights: &Rights, base: &str, target: Target) -> Decision {
    match need(rights, base) {
        Decision::Allow => {}
        deny => return deny,
    }
    if target.is_owner && !rights.holds(OWNERS_MANAGE) {
        return Decision::Deny("only holders of owners.manage may act on an owner".into());
    }
    Decision::Allow
}

/// Allow or deny `action` for a caller holding `rights`. Deny by default: an empty `Rights`
/// (no membership, disabled, expired) is denied everything.
pub fn decide(rights: &Rights, action: &Action) -> Decision {
    match action {
        Action::ViewOrganization => need(rights, ORG_VIEW),
        Action::ManageOrganization => need(rights, ORG_MANAGE),
        Action::Invite { role, workspace } => {
            // An invitation to a workspace hands out workspace access too.
            if *workspace {
                match need(rights, WORKSPACES_MANAGE) {
                    Decision::Allow => {}
                    deny => return deny,
                }
            }
            grant(rights, MEMBERS_INVITE, role)
        }
        Action::ManageInvitations { owner_role } => match need(rights, MEMBERS_INVITE) {
            Decision::Allow if *owner_role => owner_level(rights, "an owner invitation"),
            decision => decision,
        },
        Action::AssignRole { target, current_is_owner, role, target_rights } => {
            // Stepping down (rule 9, CloudTruth): one may lower one's own role, never raise it; the
            // last owner is kept by rule 3 after the change, which answers `last_owner`.
            if target.is_self && !target_rights.covers(role) {
                return Decision::Deny(format!(
                    "you cannot raise your own rights: you do not hold every permission of {}",
                    role.name
                ));
            }
            if *current_is_owner && !rights.holds(OWNERS_MANAGE) {
                return Decision::Deny("only holders of owners.manage may change an owner's role".into());
            }
            match on_member(rights, MEMBERS_MANAGE, *target) {
                Decision::Allow => grant(rights, MEMBERS_MANAGE, role),
                deny => deny,
            }
        }
        Action::ChangeMember { target, change } => {
            if target.is_self {
                match change {
                    MemberChange::SetExpiry { extends: true } => {
                        return Decision::Deny("you cannot extend or clear your own access expiry".into())
                    }
                    MemberChange::Disable | MemberChange::Enable => {
                        return Decision::Deny("you cannot enable or disable yourself".into())
                    }
                    MemberChange::WorkspaceAccess => {
                        return Decision::Deny("you cannot change your own workspace access".into())
                    }
                    MemberChange::SetExpiry { extends: false } | MemberChange::Remove => {}
                }
            }
            let base = if *change == MemberChange::WorkspaceAccess { WORKSPACES_MANAGE } else { MEMBERS_MANAGE };
            on_member(rights, base, *target)
        }
        Action::WriteRole { role } => grant(rights, ROLES_MANAGE, role),
        Action::DeleteRole => need(rights, ROLES_MANAGE),
        Action::CreatePermission => need(rights, ROLES_MANAGE),
        Action::ManageWorkspaces => need(rights, WORKSPACES_MANAGE),
        Action::GrantWorkspace { target, role } => {
            if target.is_self {
                return Decision::Deny("you cannot change your own workspace access".into());
            }
            if target.is_owner && !rights.holds(OWNERS_MANAGE) {
                return Decision::Deny("only holders of owners.manage may act on an owner".into());
            }
            grant(rights, WORKSPACES_MANAGE, role)
        }
        Action::ManageServiceAccounts { role } => match role {
            Some(role) => grant(rights, SERVICE_ACCOUNTS_MANAGE, role),
            None => need(rights, SERVICE_ACCOUNTS_MANAGE),
        },
        Action::RevokeServiceAccount { owner_role } => match need(rights, SERVICE_ACCOUNTS_MANAGE) {
            Decision::Allow if *owner_role => owner_level(rights, "an owner service account"),
            decision => decision,
        },
        Action::ViewAudit => need(rights, AUDIT_VIEW),
        Action::ReviewAccess => need(rights, AUDIT_VIEW),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rights(perms: &[&str]) -> Rights {
        Rights { is_owner: false, permissions: perms.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn nothing_is_allowed_without_rights() {
        let role = RoleRights { name: "member".into(), is_owner: false, permissions: BTreeSet::new() };
        assert!(!decide(&Rights::none(), &Action::ViewOrganization).is_allowed());
        assert!(!decide(&Rights::none(), &Action::Invite { role: &role, workspace: false }).is_allowed());
    }

    #[test]
    fn admins_may_invite_admins_but_not_owners() {
        let admin = rights(&ADMIN_PERMISSIONS);
        let admin_role = RoleRights { name: "admin".into(), is_owner: false, permissions: admin.permissions.clone() };
        let owner_role = RoleRights { name: "owner".into(), is_owner: true, permissions: BTreeSet::new() };
        assert!(decide(&admin, &Action::Invite { role: &admin_role, workspace: false }).is_allowed());
        assert!(!decide(&admin, &Action::Invite { role: &owner_role, workspace: false }).is_allowed());
        let owner = Rights { is_owner: true, permissions: BTreeSet::new() };
        assert!(decide(&owner, &Action::Invite { role: &owner_role, workspace: false }).is_allowed());
    }

    #[test]
    fn custom_permissions_are_not_escalated() {
        let admin = rights(&ADMIN_PERMISSIONS);
        let billing =
            RoleRights { name: "billing".into(), is_owner: false, permissions: ["billing.access".to_string()].into() };
        assert!(!decide(&admin, &Action::WriteRole { role: &billing }).is_allowed());
        let owner = Rights { is_owner: true, permissions: BTreeSet::new() };
        assert!(decide(&owner, &Action::WriteRole { role: &billing }).is_allowed());
    }

    #[test]
    fn self_changes() {
        let owner = Rights { is_owner: true, permissions: BTreeSet::new() };
        let me = Target { is_owner: true, is_self: true };
        let member = RoleRights { name: "member".into(), is_owner: false, permissions: [ORG_VIEW.to_string()].into() };
        // Stepping down is allowed (rule 3 keeps the last owner afterwards); raising is not.
        let step_down = Action::AssignRole { target: me, current_is_owner: true, role: &member, target_rights: &owner };
        assert!(decide(&owner, &step_down).is_allowed());
        let admin = rights(&ADMIN_PERMISSIONS);
        let owner_role = RoleRights { name: "owner".into(), is_owner: true, permissions: BTreeSet::new() };
        let me_admin = Target { is_owner: false, is_self: true };
        let climb =
            Action::AssignRole { target: me_admin, current_is_owner: false, role: &owner_role, target_rights: &admin };
        assert!(!decide(&owner, &climb).is_allowed(), "even a caller who could grant owner may not raise themself");
        assert!(!decide(
            &owner,
            &Action::ChangeMember { target: me, change: MemberChange::SetExpiry { extends: true } }
        )
        .is_allowed());
        assert!(decide(
            &owner,
            &Action::ChangeMember { target: me, change: MemberChange::SetExpiry { extends: false } }
        )
        .is_allowed());
    }
}
