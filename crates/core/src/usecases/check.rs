//! `check`: may this person do this, right now? For other programs on the machine.

use super::access::OrgAccess;
use crate::answers::Question;
use crate::auth::Principal;
use crate::catalogue::is_built_in;
use crate::db::Database;
use crate::error::{Error, Result};
use crate::policy::Action;
use crate::store::organizations::WorkspaceAccessMode;
use crate::store::rights::{self, PersonAnswer};
use crate::store::{permissions, workspaces};
use crate::time::{rfc3339, Timestamp};
use crate::validate;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct CheckAnswer {
    pub allowed: bool,
    pub reason: String,
}

fn deny(reason: impl Into<String>) -> CheckAnswer {
    CheckAnswer { allowed: false, reason: reason.into() }
}

/// Anyone holding `org.view` in the organization, or one of its service accounts, may ask.
/// On SQLite an answer is kept and given again while nothing was committed and no expiry or grant
/// start of the person's or the caller's rows was reached (`answers.rs`): one statement, the probe
/// of the data version, instead of five.
pub fn check(
    db: &mut Database,
    who: &Principal,
    org: &str,
    user: &str,
    permission: &str,
    workspace: Option<&str>,
    now: Timestamp,
) -> Result<CheckAnswer> {
    let (_, email_norm) = validate::email("user", user)?;
    let permission = permission.trim().to_string();
    if permission.is_empty() {
        return Err(Error::invalid("permission", "must not be empty"));
    }
    // The answer, and the organization's id.
    let answer = |tx: &crate::sql::Transaction| -> Result<(CheckAnswer, String)> {
        let access = OrgAccess::load(tx, who, org, now)?;
        // One of the organization's own service accounts may ask — while it is still active. A
        // principal held since before a revocation or expiry falls back to its rights, which are
        // none then, so the policy refuses it (rule 1) and the refusal is audited.
        let own_service_account = match who {
            Principal::ServiceAccount { id, organization_id, .. } if *organization_id == access.org.id => {
                crate::store::service_accounts::by_id(tx, id)?
                    .is_some_and(|sa| crate::store::service_accounts::is_active(&sa, now))
            }
            _ => false,
        };
        if !own_service_account {
            access.require(&Action::ViewOrganization, &email_norm)?;
        }
        if !is_built_in(&permission) && !permissions::exists(tx, &access.org.id, &permission)? {
            return Ok((deny(format!("unknown permission {}", validate::shorten(&permission))), access.org.id));
        }
        let workspace_id = match workspace {
            Some(w) => Some(
                workspaces::by_name(tx, &access.org.id, w.trim())?
                    .ok_or_else(|| {
                        Error::not_found(format!("no workspace '{}' in {}", validate::shorten(w), access.org.slug))
                    })?
                    .id,
            ),
            None => None,
        };
        let inherit = access.org.workspace_access == WorkspaceAccessMode::Inherit;
        let answer =
            rights::of_person(tx, &access.org.id, inherit, &email_norm, &permission, workspace_id.as_deref(), now)?;
        let answer = match answer {
            PersonAnswer::NoAccount | PersonAnswer::NotMember => {
                deny(format!("{email_norm} is not a member of {}", access.org.slug))
            }
            PersonAnswer::Disabled => deny("membership disabled"),
            PersonAnswer::ExpiredAt(t) => deny(format!("access expired at {}", rfc3339(t))),
            PersonAnswer::Owner => CheckAnswer { allowed: true, reason: "holds the owner role".into() },
            PersonAnswer::Holds => CheckAnswer { allowed: true, reason: format!("a current role grants {permission}") },
            PersonAnswer::Lacks => deny(format!("no current role grants {permission}")),
        };
        Ok((answer, access.org.id))
    };
    let question = Question {
        caller: match who {
            Principal::Account { id, .. } => format!("a:{id}"),
            Principal::ServiceAccount { id, .. } => format!("s:{id}"),
        },
        org: org.trim().to_string(),
        email_norm: email_norm.clone(),
        permission: permission.clone(),
        workspace: workspace.map(|w| w.trim().to_string()),
    };
    // Read before the answer is computed (answers.rs says why that order is safe).
    let version = db.data_version()?;
    if let Some(v) = version {
        if let Some(answer) = db.answers.get(v, &question, now) {
            return Ok(answer);
        }
    }
    let (answer, until) = db.read(now, |tx| {
        let (answer, org_id) = answer(tx)?;
        let until = match version {
            Some(_) => {
                let (account, service_account) = match who {
                    Principal::Account { id, .. } => (Some(id.as_str()), None),
                    Principal::ServiceAccount { id, .. } => (None, Some(id.as_str())),
                };
                rights::next_change(tx, &org_id, &email_norm, account, service_account, now)?
            }
            None => None,
        };
        Ok((answer, until))
    })?;
    if let Some(v) = version {
        db.answers.put(v, question, answer.clone(), now, until);
    }
    Ok(answer)
}
