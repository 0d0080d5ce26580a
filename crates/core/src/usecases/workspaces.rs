//! Workspaces: sub-scopes of an organization, and roles granted inside one. A member's
//! organization-level expiry or disable hides their workspace access without deleting it. A person
//! with an account may be granted a workspace without being a member: they become a member with no
//! organization role (rule 11).

use super::access::OrgAccess;
use crate::audit_actions::AuditAction;
use crate::auth::Principal;
use crate::db::Database;
use crate::error::{ConflictReason, Error, Result};
use crate::policy::{Action, Target};
use crate::sql::Scope;
use crate::store::{accounts, grants, invitations, memberships, rights, roles, workspaces};
use crate::time::{require_future, rfc3339, rfc3339_opt, Timestamp};
use crate::validate;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct WorkspaceView {
    pub name: String,
    pub created_at: String,
}

pub fn list(db: &mut Database, who: &Principal, org: &str, now: Timestamp) -> Result<Vec<WorkspaceView>> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewOrganization, "workspaces")?;
        Ok(workspaces::list(tx, &access.org.id)?
            .into_iter()
            .map(|w| WorkspaceView { name: w.name, created_at: rfc3339(w.created_at) })
            .collect())
    })
}

pub fn create(db: &mut Database, who: &Principal, org: &str, name: &str, now: Timestamp) -> Result<WorkspaceView> {
    let name = validate::identifier_name("name", name)?;
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ManageWorkspaces, &name)?;
        if workspaces::by_name(tx, &access.org.id, &name)?.is_some() {
            return Err(Error::conflict(
                ConflictReason::AlreadyExists,
                format!("a workspace named '{name}' exists already"),
            ));
        }
        workspaces::insert(tx, &access.org.id, &name, now)?;
        access.audit(tx, AuditAction::WorkspacesCreated, &name, serde_json::json!({}))?;
        Ok(WorkspaceView { name: name.clone(), created_at: rfc3339(now) })
    })
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct WorkspaceGrantView {
    pub workspace: String,
    pub email: String,
    pub role: String,
    pub expires_at: Option<String>,
}

/// The person a workspace command is aimed at, their membership if they have one, and the facts
/// the policy needs.
fn person(
    tx: &crate::sql::Connection,
    access: &OrgAccess,
    email: &str,
) -> Result<(accounts::Account, Option<memberships::Membership>, Target)> {
    let (_, email_norm) = validate::email("email", email)?;
    let account = accounts::by_email(tx, &email_norm)?.ok_or_else(|| {
        Error::not_found(format!(
            "no account has the email {}; invite them to the workspace with invites create --workspace",
            email.trim()
        ))
    })?;
    let m = memberships::of(tx, &access.org.id, &account.id)?;
    let target = Target {
        is_owner: match &m {
            Some(m) => rights::holds_owner_role(tx, &m.id)?,
            None => false,
        },
        is_self: access.is_self(&account.id),
    };
    Ok((account, m, target))
}

/// Whether a membership holds the owner role in a workspace.
fn holds_owner_in(
    tx: &crate::sql::Connection,
    m: &memberships::Membership,
    ws: &workspaces::Workspace,
) -> Result<bool> {
    Ok(grants::of_subject(tx, grants::Subject::Membership(&m.id))?
        .iter()
        .any(|g| g.role_is_owner && g.workspace.as_deref() == Some(ws.name.as_str())))
}

/// Grant a role in a workspace, replacing the member's earlier grants there. A person with an
/// account who is not a member becomes one, with no organization role.
pub fn grant(
    db: &mut Database,
    who: &Principal,
    org: &str,
    workspace: &str,
    email: &str,
    role: &str,
    expires: Option<Timestamp>,
    now: Timestamp,
) -> Result<WorkspaceGrantView> {
    let expires = require_future("expires", expires, now)?;
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let ws = workspaces::by_name(tx, &access.org.id, workspace.trim())?.ok_or_else(|| {
            Error::not_found(format!("no workspace '{}' in {}", validate::shorten(workspace), access.org.slug))
        })?;
        let (account, m, mut target) = person(tx, &access, email)?;
        // Replacing an owner role held in this workspace takes it away: owner-level (rule 2).
        if let Some(m) = &m {
            target.is_owner |= holds_owner_in(tx, m, &ws)?;
        }
        let role = roles::by_name(tx, &access.org.id, role.trim())?.ok_or_else(|| {
            Error::invalid("role", format!("no role '{}' in {}", validate::shorten(role), access.org.slug))
        })?;
        access.require(&Action::GrantWorkspace { target, role: &role.rights() }, &account.email)?;
        let new_member = m.is_none();
        let m = match m {
            Some(m) => m,
            None => {
                // A person becomes a member here: an invitation of theirs must not stay open beside
                // the membership (no one could accept it, and the list would show them twice). An
                // open one is theirs to accept, or the inviter's to revoke, first (rule 4); one past
                // its validity, or rejected, gives way as it would to a new invitation.
                if let Some(open) = invitations::open_for(tx, &access.org.id, &account.email.to_ascii_lowercase())? {
                    if open.valid_until > now {
                        return Err(Error::conflict(
                            ConflictReason::OpenInvitation,
                            format!("{} has an open invitation; revoke it first, or let them accept it", account.email),
                        ));
                    }
                    invitations::set_status(tx, &open.id, invitations::InvitationState::Revoked, now)?;
                }
                invitations::supersede_rejected(tx, &access.org.id, &account.email.to_ascii_lowercase())?;
                let id = memberships::insert(tx, &access.org.id, &account.id, None, now)?;
                memberships::of(tx, &access.org.id, &account.id)?
                    .filter(|m| m.id == id)
                    .ok_or_else(|| Error::Internal("the new membership vanished".into()))?
            }
        };
        grants::delete_in_workspace(tx, &m.id, &ws.id)?;
        grants::insert(
            tx,
            &grants::NewGrant {
                organization_id: &access.org.id,
                subject: grants::Subject::Membership(&m.id),
                role_id: &role.id,
                workspace_id: Some(&ws.id),
                valid_from: None,
                expires_at: expires,
                granted_by: Some(&access.actor()),
            },
            now,
        )?;
        access.audit(
            tx,
            AuditAction::WorkspacesGranted,
            &account.email,
            serde_json::json!({"workspace": ws.name, "role": role.name, "expires_at": rfc3339_opt(expires), "new_member": new_member}),
        )?;
        Ok(WorkspaceGrantView {
            workspace: ws.name.clone(),
            email: account.email.clone(),
            role: role.name.clone(),
            expires_at: rfc3339_opt(expires),
        })
    })
}

pub fn revoke(
    db: &mut Database,
    who: &Principal,
    org: &str,
    workspace: &str,
    email: &str,
    now: Timestamp,
) -> Result<()> {
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let ws = workspaces::by_name(tx, &access.org.id, workspace.trim())?.ok_or_else(|| {
            Error::not_found(format!("no workspace '{}' in {}", validate::shorten(workspace), access.org.slug))
        })?;
        let (account, m, mut target) = person(tx, &access, email)?;
        let m =
            m.ok_or_else(|| Error::not_found(format!("{} is not a member of {}", account.email, access.org.slug)))?;
        // The owner role held in this workspace is owner-level too (rule 2).
        target.is_owner |= holds_owner_in(tx, &m, &ws)?;
        access.require(
            &Action::ChangeMember { target, change: crate::policy::MemberChange::WorkspaceAccess },
            &account.email,
        )?;
        if grants::delete_in_workspace(tx, &m.id, &ws.id)? == 0 {
            return Err(Error::not_found(format!("{} has no access to workspace {}", account.email, ws.name)));
        }
        access.audit(tx, AuditAction::WorkspacesRevoked, &account.email, serde_json::json!({"workspace": ws.name}))
    })
}
