//! Service accounts: non-human principals (agents, scripts, CI) with one role and a token shown once.

use super::access::OrgAccess;
use crate::audit_actions::AuditAction;
use crate::auth::{self, Principal};
use crate::db::Database;
use crate::error::{ConflictReason, Error, Result};
use crate::policy::Action;
use crate::sql::Scope;
use crate::store::{grants, roles, service_accounts};
use crate::time::{require_future, rfc3339, rfc3339_opt, Timestamp};
use crate::validate;
use serde::Serialize;
use ts_rs::TS;

pub const TOKEN_PREFIX: &str = "ghs_";

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct ServiceAccountView {
    pub name: String,
    pub role: Option<String>,
    pub token_prefix: String,
    pub status: String,
    pub expires_at: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct CreatedServiceAccount {
    #[serde(flatten)]
    pub account: ServiceAccountView,
    /// Shown once; only its SHA-256 is stored.
    pub token: String,
}

fn view(
    tx: &crate::sql::Connection,
    sa: &service_accounts::ServiceAccount,
    now: Timestamp,
) -> Result<ServiceAccountView> {
    let role = grants::of_subject(tx, grants::Subject::ServiceAccount(&sa.id))?
        .into_iter()
        .find(|g| g.workspace.is_none())
        .map(|g| g.role_name);
    let status = if sa.revoked_at.is_some() {
        "revoked"
    } else if sa.expires_at.is_some_and(|t| t <= now) {
        "expired"
    } else {
        "active"
    };
    Ok(ServiceAccountView {
        name: sa.name.clone(),
        role,
        token_prefix: sa.token_prefix.clone(),
        status: status.into(),
        expires_at: rfc3339_opt(sa.expires_at),
        created_by: sa.created_by.clone(),
        created_at: rfc3339(sa.created_at),
        last_used_at: rfc3339_opt(sa.last_used_at),
        revoked_at: rfc3339_opt(sa.revoked_at),
    })
}

pub fn create(
    db: &mut Database,
    who: &Principal,
    org: &str,
    name: &str,
    role: &str,
    expires: Option<Timestamp>,
    now: Timestamp,
) -> Result<CreatedServiceAccount> {
    let name = validate::identifier_name("name", name)?;
    let expires = require_future("expires", expires, now)?;
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let role = roles::by_name(tx, &access.org.id, role.trim())?.ok_or_else(|| {
            Error::invalid("role", format!("no role '{}' in {}", validate::shorten(role), access.org.slug))
        })?;
        access.require(&Action::ManageServiceAccounts { role: Some(&role.rights()) }, &name)?;
        if service_accounts::by_name(tx, &access.org.id, &name)?.is_some() {
            return Err(Error::conflict(
                ConflictReason::AlreadyExists,
                format!("a service account named '{name}' exists already"),
            ));
        }
        let token = auth::new_token(TOKEN_PREFIX)?;
        let prefix: String = token.chars().take(TOKEN_PREFIX.len() + 8).collect();
        let id = service_accounts::insert(
            tx,
            &access.org.id,
            &name,
            &auth::token_hash(&token),
            &prefix,
            expires,
            &access.actor(),
            access.person_id(),
            now,
        )?;
        grants::insert(
            tx,
            &grants::NewGrant::organization_role(
                &access.org.id,
                grants::Subject::ServiceAccount(&id),
                &role.id,
                Some(&access.actor()),
            ),
            now,
        )?;
        access.audit(
            tx,
            AuditAction::ServiceAccountsCreated,
            &name,
            serde_json::json!({"role": role.name, "expires_at": rfc3339_opt(expires), "token_prefix": prefix}),
        )?;
        let sa = service_accounts::by_name(tx, &access.org.id, &name)?
            .ok_or_else(|| Error::Internal("service account vanished".into()))?;
        Ok(CreatedServiceAccount { account: view(tx, &sa, now)?, token })
    })
}

pub fn list(db: &mut Database, who: &Principal, org: &str, now: Timestamp) -> Result<Vec<ServiceAccountView>> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewOrganization, "service_accounts")?;
        service_accounts::list(tx, &access.org.id)?.iter().map(|sa| view(tx, sa, now)).collect()
    })
}

pub fn revoke(db: &mut Database, who: &Principal, org: &str, name: &str, now: Timestamp) -> Result<ServiceAccountView> {
    // Validated before anything, so that a refusal never audits raw input (rule 8).
    let name = &validate::identifier_name("name", name)?;
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::RevokeServiceAccount { owner_role: false }, name)?;
        let sa = service_accounts::by_name(tx, &access.org.id, name)?.ok_or_else(|| {
            Error::not_found(format!("no service account '{}' in {}", validate::shorten(name), access.org.slug))
        })?;
        // A service account holding the owner role is owner-level (rule 2).
        let owner_role =
            grants::of_subject(tx, grants::Subject::ServiceAccount(&sa.id))?.iter().any(|g| g.role_is_owner);
        access.require(&Action::RevokeServiceAccount { owner_role }, &sa.name)?;
        service_accounts::revoke(tx, &sa.id, now)?;
        access.audit(tx, AuditAction::ServiceAccountsRevoked, &sa.name, serde_json::json!({}))?;
        let sa = service_accounts::by_name(tx, &access.org.id, &sa.name)?
            .ok_or_else(|| Error::Internal("service account vanished".into()))?;
        view(tx, &sa, now)
    })
}
