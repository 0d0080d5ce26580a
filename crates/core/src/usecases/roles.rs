//! Roles and permissions: the explorer's matrix, custom roles and custom permissions.

use super::access::OrgAccess;
use crate::audit_actions::AuditAction;
use crate::auth::Principal;
use crate::catalogue::{is_built_in, BUILT_IN_PERMISSIONS};
use crate::db::Database;
use crate::error::{ConflictReason, Error, Result};
use crate::policy::{Action, RoleRights};
use crate::sql::{Connection, Scope};
use crate::store::{permissions, roles};
use crate::time::Timestamp;
use crate::validate;
use serde::Serialize;
use std::collections::BTreeSet;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct RoleView {
    pub name: String,
    pub description: String,
    pub owner: bool,
    pub permissions: Vec<String>,
    #[ts(type = "number")]
    pub grants: i64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct PermissionView {
    pub name: String,
    pub description: String,
    pub built_in: bool,
}

fn all_permissions(conn: &Connection, org_id: &str) -> Result<Vec<PermissionView>> {
    let mut out: Vec<PermissionView> = BUILT_IN_PERMISSIONS
        .iter()
        .map(|(n, d)| PermissionView { name: n.to_string(), description: d.to_string(), built_in: true })
        .collect();
    out.extend(permissions::custom(conn, org_id)?.into_iter().map(|(name, description)| PermissionView {
        name,
        description,
        built_in: false,
    }));
    Ok(out)
}

fn role_view(conn: &Connection, org_id: &str, r: &roles::Role) -> Result<RoleView> {
    let permissions = if r.is_owner {
        all_permissions(conn, org_id)?.into_iter().map(|p| p.name).collect()
    } else {
        r.permissions.iter().cloned().collect()
    };
    Ok(RoleView {
        name: r.name.clone(),
        description: r.description.clone(),
        owner: r.is_owner,
        permissions,
        grants: roles::usage(conn, &r.id)?.0,
    })
}

pub fn list(db: &mut Database, who: &Principal, org: &str, now: Timestamp) -> Result<Vec<RoleView>> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewOrganization, "roles")?;
        roles::list(tx, &access.org.id)?.iter().map(|r| role_view(tx, &access.org.id, r)).collect()
    })
}

pub fn show(db: &mut Database, who: &Principal, org: &str, role: &str, now: Timestamp) -> Result<RoleView> {
    // Validated before anything, so that a refusal never audits raw input (rule 8).
    let role = &validate::identifier_name("role", role)?;
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewOrganization, role)?;
        let r = find(tx, &access, role)?;
        role_view(tx, &access.org.id, &r)
    })
}

/// What a role name looks like, for finding look-alikes: lower-cased, then the UTS #39 skeleton
/// (confusable characters, including other scripts' and full-width forms, mapped to one
/// prototype), lower-cased again. Two names with the same key may be mistaken for each other.
fn look_alike_key(name: &str) -> String {
    let lower = name.to_lowercase();
    unicode_security::confusable_detection::skeleton(&lower).collect::<String>().to_lowercase()
}

fn find(conn: &Connection, access: &OrgAccess, role: &str) -> Result<roles::Role> {
    roles::by_name(conn, &access.org.id, role.trim())?
        .ok_or_else(|| Error::not_found(format!("no role '{}' in {}", validate::shorten(role), access.org.slug)))
}

/// Check a permission list against the catalogue and the organization's custom permissions.
fn parse_permissions(conn: &Connection, org_id: &str, list: &[String]) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for p in list.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let p = validate::permission_name("permissions", p)?;
        if !is_built_in(&p) && !permissions::exists(conn, org_id, &p)? {
            return Err(Error::invalid(
                "permissions",
                format!("unknown permission '{p}'; create it first with permissions create"),
            ));
        }
        out.insert(p);
    }
    Ok(out)
}

pub fn create(
    db: &mut Database,
    who: &Principal,
    org: &str,
    name: &str,
    perms: &[String],
    description: &str,
    now: Timestamp,
) -> Result<RoleView> {
    let name = validate::identifier_name("name", name)?;
    let description = validate::description("description", description)?;
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let set = parse_permissions(tx, &access.org.id, perms)?;
        access.require(
            &Action::WriteRole { role: &RoleRights { name: name.clone(), is_owner: false, permissions: set.clone() } },
            &name,
        )?;
        if roles::by_name(tx, &access.org.id, &name)?.is_some() {
            return Err(Error::conflict(
                ConflictReason::AlreadyExists,
                format!("a role named '{name}' exists already"),
            ));
        }
        // A name that reads like another role's (a Cyrillic `оwner`, `ａｄｍｉｎ`, `adrnin`) would let
        // someone be handed one role while the screen seems to say another (rule 2).
        let key = look_alike_key(&name);
        if let Some(other) = roles::list(tx, &access.org.id)?.into_iter().find(|r| look_alike_key(&r.name) == key) {
            return Err(Error::conflict(
                ConflictReason::LookAlike,
                format!(
                    "the name '{name}' looks like the existing role '{}'; choose a name that cannot be mistaken for it",
                    other.name
                ),
            ));
        }
        roles::insert(tx, &access.org.id, &name, &description, false, &set, now)?;
        access.audit(tx, AuditAction::RolesCreated, &name, serde_json::json!({"permissions": set}))?;
        role_view(tx, &access.org.id, &find(tx, &access, &name)?)
    })
}

pub fn update(
    db: &mut Database,
    who: &Principal,
    org: &str,
    role: &str,
    perms: &[String],
    description: Option<&str>,
    now: Timestamp,
) -> Result<RoleView> {
    let description = description.map(|d| validate::description("description", d)).transpose()?;
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let r = find(tx, &access, role)?;
        let set = parse_permissions(tx, &access.org.id, perms)?;
        access.require(
            &Action::WriteRole {
                role: &RoleRights { name: r.name.clone(), is_owner: r.is_owner, permissions: set.clone() },
            },
            &r.name,
        )?;
        if r.is_owner {
            return Err(Error::conflict(
                ConflictReason::InUse,
                "the owner role holds every permission and cannot be edited",
            ));
        }
        roles::set_permissions(tx, &r.id, &set)?;
        if let Some(d) = &description {
            roles::set_description(tx, &r.id, d)?;
        }
        access.audit(tx, AuditAction::RolesUpdated, &r.name, serde_json::json!({"from": r.permissions, "to": set}))?;
        role_view(tx, &access.org.id, &find(tx, &access, &r.name)?)
    })
}

pub fn delete(db: &mut Database, who: &Principal, org: &str, role: &str, now: Timestamp) -> Result<()> {
    let role = &validate::identifier_name("role", role)?;
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::DeleteRole, role)?;
        let r = find(tx, &access, role)?;
        if r.is_owner {
            return Err(Error::conflict(ConflictReason::InUse, "the owner role cannot be deleted"));
        }
        let (grants, invites) = roles::usage(tx, &r.id)?;
        if grants > 0 || invites > 0 {
            return Err(Error::conflict(
                ConflictReason::InUse,
                format!("role '{}' is used by {grants} grants and {invites} open invitations", r.name),
            ));
        }
        // Accepted, rejected and revoked invitations keep its name for history (PRODUCT.md §1).
        crate::store::invitations::keep_role_name(tx, &r.id)?;
        roles::delete(tx, &r.id)?;
        access.audit(tx, AuditAction::RolesDeleted, &r.name, serde_json::json!({}))
    })
}

pub fn list_permissions(db: &mut Database, who: &Principal, org: &str, now: Timestamp) -> Result<Vec<PermissionView>> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewOrganization, "permissions")?;
        all_permissions(tx, &access.org.id)
    })
}

pub fn create_permission(
    db: &mut Database,
    who: &Principal,
    org: &str,
    name: &str,
    description: &str,
    now: Timestamp,
) -> Result<PermissionView> {
    let name = validate::permission_name("name", name)?;
    let description = validate::description("description", description)?;
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::CreatePermission, &name)?;
        if is_built_in(&name) || permissions::exists(tx, &access.org.id, &name)? {
            return Err(Error::conflict(
                ConflictReason::AlreadyExists,
                format!("the permission {name} exists already"),
            ));
        }
        permissions::insert(tx, &access.org.id, &name, &description, now)?;
        access.audit(tx, AuditAction::PermissionsCreated, &name, serde_json::json!({"description": description}))?;
        Ok(PermissionView { name: name.clone(), description: description.clone(), built_in: false })
    })
}

#[cfg(test)]
mod tests {
    use super::look_alike_key;

    #[test]
    fn look_alike_names_share_a_key() {
        for (a, b) in [
            ("owner", "\u{43e}wner"),                              // Cyrillic о
            ("owner", "OWNER"),                                    // case
            ("admin", "\u{ff41}\u{ff44}\u{ff4d}\u{ff49}\u{ff4e}"), // full-width
            ("admin", "adrnin"),                                   // rn for m
            ("admin", "\u{430}dmin"),                              // Cyrillic а, mixed scripts
            ("billing", "bi11ing"),                                // digits for letters
        ] {
            assert_eq!(look_alike_key(a), look_alike_key(b), "{a} vs {b:?}");
        }
        for (a, b) in [("owner", "owners"), ("admin", "auditor"), ("member", "Mitglied"), ("Ärzte", "Arzte")] {
            assert_ne!(look_alike_key(a), look_alike_key(b), "{a} vs {b}");
        }
    }
}
