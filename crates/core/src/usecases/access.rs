//! The first step of every organization-scoped use case: find the organization, compute the
//! caller's rights in it afresh, and let the policy decide. A refusal carries a `Denial`, which
//! `Database::write`/`read` audit after rolling the attempt back.

use crate::audit_actions::AuditAction;
use crate::auth::Principal;
use crate::error::{Denial, Error, Result};
use crate::policy::{decide, Action, Decision, Rights};
use crate::sql::Connection;
use crate::store::{audit, memberships, organizations, organizations::Organization, rights, service_accounts};
use crate::time::Timestamp;

pub struct OrgAccess {
    pub org: Organization,
    pub principal: Principal,
    pub rights: Rights,
    pub now: Timestamp,
    /// The account the caller counts as: a person themself, a service account its creator
    /// (rule 9), None for a service account whose creator is unknown.
    person: Option<String>,
    /// No membership here (of any status), or another organization's service account.
    outsider: bool,
}

/// The organization with this slug. In a PostgreSQL write that did not name it (`sql::Scope`),
/// its lock is taken first, its expiries due are recorded (`audit::lock_org`), and it is read
/// again.
pub fn organization(conn: &Connection, slug: &str) -> Result<Organization> {
    // No slug holds a control character (`validate::slugify`), and PostgreSQL's text not even NUL.
    if slug.contains(char::is_control) {
        return Err(no_organization(slug));
    }
    let org = organizations::by_slug(conn, slug.trim())?.ok_or_else(|| no_organization(slug))?;
    if super::audit::lock_org(conn, &org.id)? {
        return organizations::by_slug(conn, slug.trim())?.ok_or_else(|| no_organization(slug));
    }
    Ok(org)
}

pub(crate) fn no_organization(slug: &str) -> Error {
    Error::not_found(format!("no organization '{}'", crate::validate::shorten(slug)))
}

impl OrgAccess {
    pub fn load(conn: &Connection, principal: &Principal, slug: &str, now: Timestamp) -> Result<OrgAccess> {
        let org = organization(conn, slug)?;
        let rights = rights_in(conn, principal, &org.id, None, now)?;
        let person = match principal {
            Principal::Account { id, .. } => Some(id.clone()),
            Principal::ServiceAccount { id, .. } => {
                service_accounts::by_id(conn, id)?.and_then(|sa| sa.created_by_account)
            }
        };
        let outsider = rights.is_empty() && is_outsider(conn, principal, &org.id)?;
        Ok(OrgAccess { org, principal: principal.clone(), rights, now, person, outsider })
    }

    /// `load`'s result from what one statement read (`rights::asked_at_once`, `check` on
    /// PostgreSQL): the same person and outsider as `load` finds.
    pub(crate) fn from_question(principal: &Principal, q: &rights::Question, now: Timestamp) -> OrgAccess {
        let (person, outsider) = match (&q.asker, principal) {
            (rights::Asker::Account { membership }, Principal::Account { id, .. }) => {
                (Some(id.clone()), membership.is_none())
            }
            (
                rights::Asker::ServiceAccount { created_by_account, .. },
                Principal::ServiceAccount { organization_id, .. },
            ) => (created_by_account.clone(), *organization_id != q.org.id),
            // `asked_at_once` reads the asker as the principal it is given.
            _ => (None, true),
        };
        OrgAccess {
            org: q.org.clone(),
            principal: principal.clone(),
            rights: q.rights.clone(),
            now,
            person,
            outsider: q.rights.is_empty() && outsider,
        }
    }

    /// Whether `account_id` is the caller, or the person a calling service account counts as:
    /// the policy's `Target::is_self`.
    pub fn is_self(&self, account_id: &str) -> bool {
        self.person.as_deref() == Some(account_id)
    }

    /// The account a new service account made by this caller counts as.
    pub fn person_id(&self) -> Option<&str> {
        self.person.as_deref()
    }

    pub fn actor(&self) -> String {
        self.principal.label()
    }

    /// Allow or refuse `action` aimed at `target` (an email, a role name…).
    pub fn require(&self, action: &Action, target: &str) -> Result<()> {
        match decide(&self.rights, action) {
            Decision::Allow => Ok(()),
            Decision::Deny(reason) => Err(Error::Forbidden {
                message: format!("forbidden: {reason} in organization {}", self.org.slug),
                denial: Some(Box::new(Denial {
                    organization_id: self.org.id.clone(),
                    actor: self.actor(),
                    action: action.name().to_string(),
                    target: target.to_string(),
                    outsider: self.outsider,
                })),
            }),
        }
    }

    pub fn audit(
        &self,
        conn: &Connection,
        action: AuditAction,
        target: &str,
        details: serde_json::Value,
    ) -> Result<()> {
        audit::append(conn, &self.org.id, &self.actor(), action, target, &details, self.now)
    }

    /// The account id of the caller, or a refusal for service accounts where only people may act.
    pub fn account_id(&self) -> Option<&str> {
        self.principal.account_id()
    }
}

/// Whether `principal` stands outside the organization: an account with no membership in it (a
/// disabled or expired member is inside), or a service account of another organization.
pub fn is_outsider(conn: &Connection, principal: &Principal, org_id: &str) -> Result<bool> {
    Ok(match principal {
        Principal::Account { id, .. } => memberships::of(conn, org_id, id)?.is_none(),
        Principal::ServiceAccount { organization_id, .. } => organization_id != org_id,
    })
}

/// What `principal` holds in an organization (and workspace) at `now`.
pub fn rights_in(
    conn: &Connection,
    principal: &Principal,
    org_id: &str,
    workspace_id: Option<&str>,
    now: Timestamp,
) -> Result<Rights> {
    match principal {
        Principal::Account { id, .. } => rights::of_account(conn, org_id, id, workspace_id, now),
        Principal::ServiceAccount { id, organization_id, .. } if organization_id == org_id => {
            rights::of_service_account(conn, org_id, id, workspace_id, now)
        }
        Principal::ServiceAccount { .. } => Ok(Rights::none()),
    }
}

/// Rule 3, checked inside the write transaction after a change: if the organization had a lasting
/// owner before, it must still have one.
pub fn keep_an_owner(conn: &Connection, org_id: &str, owners_before: i64, now: Timestamp, what: &str) -> Result<()> {
    if owners_before > 0 && rights::lasting_owners(conn, org_id, now)? == 0 {
        return Err(Error::conflict(
            crate::error::ConflictReason::LastOwner,
            format!("{what} would leave the organization without an owner; make someone else owner first"),
        ));
    }
    Ok(())
}
