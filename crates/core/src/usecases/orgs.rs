//! Organizations: the first run (`init`), creating, listing and renaming organizations.

use super::access::OrgAccess;
use crate::audit_actions::AuditAction;
use crate::auth::{self, Principal};
use crate::catalogue::default_roles;
use crate::db::Database;
use crate::error::{ConflictReason, Error, Result};
use crate::policy::Action;
use crate::sql::{Connection, Scope};
use crate::store::organizations::{Organization, WorkspaceAccessMode};
use crate::store::{accounts, audit, grants, memberships, organizations, roles};
use crate::time::Timestamp;
use crate::validate;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct OrganizationSummary {
    pub slug: String,
    pub name: String,
}

impl From<&Organization> for OrganizationSummary {
    fn from(o: &Organization) -> Self {
        OrganizationSummary { slug: o.slug.clone(), name: o.name.clone() }
    }
}

/// An organization as `orgs list`, `create`, `update` and `rename` show it: with its settings.
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct OrganizationView {
    pub slug: String,
    pub name: String,
    /// How its scopes relate (rule 11): `separate` or `inherit`.
    pub workspace_access: WorkspaceAccessMode,
}

impl From<&Organization> for OrganizationView {
    fn from(o: &Organization) -> Self {
        OrganizationView { slug: o.slug.clone(), name: o.name.clone(), workspace_access: o.workspace_access }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct AccountSummary {
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Initialized {
    pub organization: OrganizationSummary,
    pub account: AccountSummary,
}

/// Create an organization with its three roles and make `account_id` its owner.
pub(crate) fn create_with_owner(
    conn: &Connection,
    name: &str,
    slug: &str,
    workspace_access: WorkspaceAccessMode,
    account_id: &str,
    actor: &str,
    now: Timestamp,
) -> Result<String> {
    if slug.is_empty() {
        return Err(Error::invalid("name", "must contain at least one letter or digit"));
    }
    if organizations::by_slug(conn, slug)?.is_some() {
        return Err(Error::conflict(
            ConflictReason::AlreadyExists,
            format!("an organization with the slug '{slug}' exists already"),
        ));
    }
    let org_id = organizations::insert(conn, name, slug, workspace_access, now)?;
    let mut owner_role = String::new();
    for (role, description, is_owner, perms) in default_roles() {
        let perms = perms.iter().map(|p| p.to_string()).collect();
        let id = roles::insert(conn, &org_id, role, description, is_owner, &perms, now)?;
        if is_owner {
            owner_role = id;
        }
    }
    let membership = memberships::insert(conn, &org_id, account_id, None, now)?;
    grants::insert(
        conn,
        &grants::NewGrant::organization_role(
            &org_id,
            grants::Subject::Membership(&membership),
            &owner_role,
            Some(actor),
        ),
        now,
    )?;
    audit::append(
        conn,
        &org_id,
        actor,
        AuditAction::OrgCreated,
        slug,
        &serde_json::json!({"name": name, "owner": actor, "workspace_access": workspace_access}),
        now,
    )?;
    Ok(org_id)
}

/// The first run: a new database gets its first organization and that organization's owner.
pub fn init(
    db: &mut Database,
    org_name: &str,
    email: &str,
    full_name: &str,
    password: &str,
    now: Timestamp,
) -> Result<Initialized> {
    let name = validate::display_name("org", org_name)?;
    let (email, email_norm) = validate::email("email", email)?;
    let (given, family) = validate::full_name("name", full_name)?;
    let hash = auth::new_password_hash(password)?;
    let slug = validate::slugify(&name);
    db.write(now, |tx| {
        if accounts::count(tx)? > 0 {
            return Err(Error::conflict(
                ConflictReason::AlreadyExists,
                "this database is already initialized; sign in with --as, or use orgs create",
            ));
        }
        let account = accounts::insert(tx, &email, &email_norm, &given, &family, Some(&hash), true, now)?;
        create_with_owner(tx, &name, &slug, WorkspaceAccessMode::Separate, &account, &email, now)?;
        Ok(Initialized {
            organization: OrganizationSummary { slug: slug.clone(), name: name.clone() },
            account: AccountSummary { email: email.clone(), name: accounts::full_name(&given, &family) },
        })
    })
}

/// Whether the database has been initialized (has any account).
pub fn is_initialized(db: &mut Database, now: Timestamp) -> Result<bool> {
    db.read(now, |tx| Ok(accounts::count(tx)? > 0))
}

pub fn list(db: &mut Database, who: &Principal, now: Timestamp) -> Result<Vec<OrganizationView>> {
    db.read(now, |tx| {
        let orgs = match who {
            Principal::Account { id, .. } => organizations::of_account(tx, id)?,
            Principal::ServiceAccount { organization_id, .. } => {
                organizations::by_id(tx, organization_id)?.into_iter().collect()
            }
        };
        Ok(orgs.iter().map(OrganizationView::from).collect())
    })
}

/// Any signed-in person may create an organization, and owns it. Its scopes are `separate` unless
/// `workspace_access` says otherwise (rule 11).
pub fn create(
    db: &mut Database,
    who: &Principal,
    name: &str,
    workspace_access: Option<WorkspaceAccessMode>,
    now: Timestamp,
) -> Result<OrganizationView> {
    let name = validate::display_name("name", name)?;
    let slug = validate::slugify(&name);
    let workspace_access = workspace_access.unwrap_or(WorkspaceAccessMode::Separate);
    let account =
        who.account_id().ok_or_else(|| Error::forbidden("service accounts cannot create organizations"))?.to_string();
    // The new organization has no lock to wait for yet (`audit::Appender::start` takes it).
    db.write_in(now, &Scope::system(), |tx| {
        create_with_owner(tx, &name, &slug, workspace_access, &account, &who.label(), now)?;
        Ok(OrganizationView { slug: slug.clone(), name: name.clone(), workspace_access })
    })
}

/// Change an organization's settings: today how its scopes relate (rule 11). Needs `org.manage`;
/// a change is audited as `org.updated`, setting what is already set changes nothing.
pub fn update(
    db: &mut Database,
    who: &Principal,
    slug: &str,
    workspace_access: WorkspaceAccessMode,
    now: Timestamp,
) -> Result<OrganizationView> {
    db.write_in(now, &Scope::org(slug), |tx| {
        let access = OrgAccess::load(tx, who, slug, now)?;
        access.require(&Action::ManageOrganization, &access.org.slug)?;
        let mut org = access.org.clone();
        if org.workspace_access != workspace_access {
            organizations::set_workspace_access(tx, &org.id, workspace_access)?;
            access.audit(
                tx,
                AuditAction::OrgUpdated,
                &org.slug,
                serde_json::json!({"workspace_access": {"from": org.workspace_access, "to": workspace_access}}),
            )?;
            org.workspace_access = workspace_access;
        }
        Ok(OrganizationView::from(&org))
    })
}

pub fn rename(db: &mut Database, who: &Principal, slug: &str, name: &str, now: Timestamp) -> Result<OrganizationView> {
    let name = validate::display_name("name", name)?;
    db.write_in(now, &Scope::org(slug), |tx| {
        let access = OrgAccess::load(tx, who, slug, now)?;
        access.require(&Action::ManageOrganization, &access.org.slug)?;
        organizations::rename(tx, &access.org.id, &name)?;
        access.audit(
            tx,
            AuditAction::OrgRenamed,
            &access.org.slug,
            serde_json::json!({"from": access.org.name, "to": name}),
        )?;
        Ok(OrganizationView { name: name.clone(), ..OrganizationView::from(&access.org) })
    })
}

/// What the caller may do in one organization right now: front doors use it to grey out what
/// would be refused (the use cases refuse it anyway).
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct MyAccess {
    pub organization: OrganizationSummary,
    pub is_owner: bool,
    /// Every permission held, built-in and custom; an owner holds all of them.
    pub permissions: Vec<String>,
    /// The roles the caller may hand out (invite to, assign, grant): those whose permissions they
    /// all hold, owner only for an owner (rule 2). Role pickers offer only these.
    pub grantable_roles: Vec<String>,
}

pub fn my_access(db: &mut Database, who: &Principal, slug: &str, now: Timestamp) -> Result<MyAccess> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, slug, now)?;
        access.require(&Action::ViewOrganization, &access.org.slug)?;
        let mut permissions: Vec<String> = if access.rights.is_owner {
            let mut all: Vec<String> =
                crate::catalogue::BUILT_IN_PERMISSIONS.iter().map(|(p, _)| p.to_string()).collect();
            all.extend(crate::store::permissions::custom(tx, &access.org.id)?.into_iter().map(|(name, _)| name));
            all
        } else {
            access.rights.permissions.iter().cloned().collect()
        };
        permissions.sort();
        permissions.dedup();
        let grantable_roles = roles::list(tx, &access.org.id)?
            .into_iter()
            .filter(|r| access.rights.covers(&r.rights()))
            .map(|r| r.name)
            .collect();
        Ok(MyAccess {
            organization: OrganizationSummary::from(&access.org),
            is_owner: access.rights.is_owner,
            permissions,
            grantable_roles,
        })
    })
}

/// The signed-in person's name and email.
pub fn whoami(db: &mut Database, who: &Principal, now: Timestamp) -> Result<AccountSummary> {
    match who {
        Principal::Account { id, .. } => db.read(now, |tx| {
            let a = accounts::by_id(tx, id)?
                .ok_or_else(|| Error::Unauthenticated("the account no longer exists".into()))?;
            Ok(AccountSummary { email: a.email.clone(), name: a.full_name() })
        }),
        Principal::ServiceAccount { name, .. } => {
            Ok(AccountSummary { email: String::new(), name: format!("service account {name}") })
        }
    }
}
