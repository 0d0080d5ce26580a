//! `check`: may this person do this, right now? For other programs on the machine.

use super::access::OrgAccess;
use crate::answers::Question;
use crate::auth::Principal;
use crate::catalogue::is_built_in;
use crate::db::Database;
use crate::error::{Error, Result};
use crate::policy::Action;
use crate::sql::Backend;
use crate::store::rights::{self, Asker, PersonAnswer, Times};
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
/// On either engine the question is one statement (`rights::asked_at_once`) sent with no
/// transaction around it: one statement reads one snapshot. On SQLite an answer is kept and given
/// again while nothing was committed and no expiry or grant start of the person's or the caller's
/// rows was reached (`answers.rs`): one statement, the probe of the data version, instead of the
/// probe and the question (which then also reads that next time).
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
    // Control characters are in no slug, permission or workspace name (and NUL in no text on
    // PostgreSQL): refused here alike on both engines, before a question is kept or sent.
    let control = "must not contain control characters (tabs, new lines, escapes)";
    if permission.contains(char::is_control) {
        return Err(Error::invalid("permission", control));
    }
    if workspace.is_some_and(|w| w.contains(char::is_control)) {
        return Err(Error::invalid("workspace", control));
    }
    if org.contains(char::is_control) {
        return Err(super::access::no_organization(org));
    }
    // PostgreSQL: nothing kept.
    if db.backend() == Backend::Postgres {
        return Ok(check_at_once(db, who, org, &email_norm, &permission, workspace, Times::Now, now)?.0);
    }
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
    let Some(v) = version else {
        return Ok(check_at_once(db, who, org, &email_norm, &permission, workspace, Times::Now, now)?.0);
    };
    if let Some(answer) = db.answers.get(v, &question, now) {
        return Ok(answer);
    }
    let (answer, until) = check_at_once(db, who, org, &email_norm, &permission, workspace, Times::Next, now)?;
    db.answers.put(v, question, answer.clone(), now, until);
    Ok(answer)
}

/// `check`'s decisions on what one statement read (`rights::asked_at_once`), sent with no
/// transaction around it: on PostgreSQL a check waits for the server once instead of five to seven
/// times (BEGIN, the organization, the caller's rights, the service account twice, the custom
/// permission, the workspace, the person, COMMIT); on SQLite it steps one statement instead of
/// five to seven. With `Times::Next`, also the next moment the answer's rows change by themselves.
#[allow(clippy::too_many_arguments)]
fn check_at_once(
    db: &mut Database,
    who: &Principal,
    org: &str,
    email_norm: &str,
    permission: &str,
    workspace: Option<&str>,
    times: Times,
    now: Timestamp,
) -> Result<(CheckAnswer, Option<Timestamp>)> {
    db.read_one(now, |conn| {
        let q =
            rights::asked_at_once(conn, who, org.trim(), email_norm, permission, workspace.map(str::trim), now, times)?
                .ok_or_else(|| super::access::no_organization(org))?;
        let access = OrgAccess::from_question(who, &q, now);
        // The organization's own service account, while active, may ask. A principal held since
        // before a revocation or expiry falls back to its rights, which are none then, so the
        // policy refuses it (rule 1) and the refusal is audited.
        let own_service_account = match (who, &q.asker) {
            (Principal::ServiceAccount { organization_id, .. }, Asker::ServiceAccount { active, .. }) => {
                *organization_id == access.org.id && *active
            }
            _ => false,
        };
        if !own_service_account {
            access.require(&Action::ViewOrganization, email_norm)?;
        }
        if !is_built_in(permission) && !q.custom_permission {
            return Ok((unknown(permission), q.next_change));
        }
        if let Some(w) = workspace {
            if q.workspace_id.is_none() {
                return Err(no_workspace(w, &access));
            }
        }
        Ok((reply(q.answer, email_norm, &access.org.slug, permission), q.next_change))
    })
}

fn unknown(permission: &str) -> CheckAnswer {
    deny(format!("unknown permission {}", validate::shorten(permission)))
}

fn no_workspace(w: &str, access: &OrgAccess) -> Error {
    Error::not_found(format!("no workspace '{}' in {}", validate::shorten(w), access.org.slug))
}

fn reply(answer: PersonAnswer, email_norm: &str, slug: &str, permission: &str) -> CheckAnswer {
    match answer {
        PersonAnswer::NoAccount | PersonAnswer::NotMember => deny(format!("{email_norm} is not a member of {slug}")),
        PersonAnswer::Disabled => deny("membership disabled"),
        PersonAnswer::ExpiredAt(t) => deny(format!("access expired at {}", rfc3339(t))),
        PersonAnswer::Owner => CheckAnswer { allowed: true, reason: "holds the owner role".into() },
        PersonAnswer::Holds => CheckAnswer { allowed: true, reason: format!("a current role grants {permission}") },
        PersonAnswer::Lacks => deny(format!("no current role grants {permission}")),
    }
}
