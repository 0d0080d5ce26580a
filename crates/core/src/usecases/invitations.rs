//! Invitations that need no mail server: a token shown once (its SHA-256 stored), accepted or
//! rejected by whoever holds it. Bulk invites are one transaction: all rows or none (rule 5).

use super::access::OrgAccess;
use crate::audit_actions::AuditAction;
use crate::auth::{self, Principal};
use crate::db::Database;
use crate::error::{ConflictReason, Error, Result};
use crate::policy::Action;
use crate::sql::Scope;
use crate::store::invitations::{InvitationState, InvitationStatus};
use crate::store::{accounts, grants, invitations, memberships, roles, roster, workspaces};
use crate::time::{rfc3339, rfc3339_opt, Timestamp};
use crate::validate;
use serde::Serialize;
use ts_rs::TS;

pub const DEFAULT_VALID_SECONDS: i64 = 7 * 86_400;
pub const TOKEN_PREFIX: &str = "ghi_";

/// One invitee of a (bulk) invite.
#[derive(Debug, Clone)]
pub struct Invitee {
    pub email: String,
    pub role: String,
    pub access_expires_at: Option<Timestamp>,
    /// Invite to this workspace only (rule 11): the membership made on acceptance has no
    /// organization role, only this role in that workspace.
    pub workspace: Option<String>,
}

/// Split a pasted list of emails: commas, semicolons, spaces or new lines.
pub fn split_emails(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct IssuedInvitation {
    pub email: String,
    pub role: String,
    /// Shown once; only its SHA-256 is stored.
    pub token: String,
    pub valid_until: String,
    pub access_expires_at: Option<String>,
    /// The workspace of an invitation to one workspace only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub workspace: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct IssuedInvitations {
    pub invitations: Vec<IssuedInvitation>,
}

/// A refused row of a bulk invite.
#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct RowError {
    #[ts(type = "number")]
    pub row: i64,
    pub email: String,
    pub code: crate::error::ErrorCode,
    pub message: String,
}

/// Invite every invitee, or none: if any row is refused, nothing is written and every refused row
/// is reported in the error.
pub fn create(
    db: &mut Database,
    who: &Principal,
    org: &str,
    invitees: &[Invitee],
    valid_for: Option<i64>,
    now: Timestamp,
) -> Result<IssuedInvitations> {
    if invitees.is_empty() {
        return Err(Error::invalid("emails", "name at least one email"));
    }
    let valid_for = valid_for.unwrap_or(DEFAULT_VALID_SECONDS);
    let valid_until = now + valid_for;
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let actor = access.actor();
        let mut seen = std::collections::HashSet::new();
        let mut role_cache: std::collections::HashMap<String, roles::Role> = Default::default();
        let mut workspace_cache: std::collections::HashMap<String, workspaces::Workspace> = Default::default();
        // Who is a member already, and who has an open or rejected invitation, asked for all rows
        // at once (500 emails to a statement) instead of three statements per row. Rows of one
        // email are refused as listed twice, so no row changes what another row finds.
        let norms: Vec<String> =
            invitees.iter().filter_map(|inv| validate::email("email", &inv.email).ok().map(|(_, n)| n)).collect();
        let members = memberships::of_emails(tx, &access.org.id, &norms)?;
        let standing = invitations::standing_of(tx, &access.org.id, &norms)?;
        // First every row is decided, reading only: nothing a row would write can change what
        // another row finds, so no row needs a savepoint of its own, and a refused row means
        // nothing was written at all. Then the rows are written set-based.
        let mut planned: Vec<Planned> = Vec::with_capacity(invitees.len());
        let mut errors: Vec<(usize, String, Error)> = Vec::new();
        for (i, inv) in invitees.iter().enumerate() {
            let row = (|| -> Result<Planned> {
                let (email, email_norm) = validate::email("email", &inv.email)?;
                if !seen.insert(email_norm.clone()) {
                    return Err(Error::invalid("email", format!("{email} is listed twice")));
                }
                let key = inv.role.trim().to_lowercase();
                if !role_cache.contains_key(&key) {
                    let role = roles::by_name(tx, &access.org.id, inv.role.trim())?.ok_or_else(|| {
                        Error::invalid("role", format!("no role '{}' in {}", validate::shorten(&inv.role), access.org.slug))
                    })?;
                    role_cache.insert(key.clone(), role);
                }
                let role = &role_cache[&key];
                let workspace = match inv.workspace.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
                    Some(name) => {
                        let key = name.to_lowercase();
                        if !workspace_cache.contains_key(&key) {
                            let w = workspaces::by_name(tx, &access.org.id, name)?.ok_or_else(|| {
                                Error::not_found(format!("no workspace '{}' in {}", validate::shorten(name), access.org.slug))
                            })?;
                            workspace_cache.insert(key.clone(), w);
                        }
                        Some(&workspace_cache[&key])
                    }
                    None => None,
                };
                access.require(&Action::Invite { role: &role.rights(), workspace: workspace.is_some() }, &email)?;
                let access_expires_at = crate::time::require_future("access_expires", inv.access_expires_at, now)?;
                if members.contains_key(&email_norm) {
                    let hint = if workspace.is_some() { "; give workspace access with workspaces grant" } else { "" };
                    return Err(Error::conflict(ConflictReason::AlreadyMember, format!("{email} is already a member of {}{hint}", access.org.slug)));
                }
                let stands = standing.get(&email_norm);
                let mut revoke = None;
                if let Some((open_id, open_until)) = stands.and_then(|s| s.open.as_ref()) {
                    if *open_until > now {
                        return Err(Error::conflict(ConflictReason::OpenInvitation, format!("{email} already has an open invitation; resend or revoke it")));
                    }
                    // An expired invitation gives way to the new one.
                    revoke = Some(open_id.clone());
                }
                let token = auth::new_token(TOKEN_PREFIX)?;
                Ok(Planned {
                    token_hash: auth::token_hash(&token),
                    issued: IssuedInvitation {
                        email,
                        role: role.name.clone(),
                        token,
                        valid_until: rfc3339(valid_until),
                        access_expires_at: rfc3339_opt(access_expires_at),
                        workspace: workspace.map(|w| w.name.clone()),
                    },
                    email_norm,
                    role_id: role.id.clone(),
                    workspace_id: workspace.map(|w| w.id.clone()),
                    access_expires_at,
                    revoke,
                    // So does a rejected one: a person is listed once, as pending again.
                    supersede: stands.is_some_and(|s| s.rejected),
                })
            })();
            match row {
                Ok(ok) => planned.push(ok),
                Err(e) => errors.push((i + 1, inv.email.clone(), e)),
            }
        }
        if errors.is_empty() {
            let revoked: Vec<String> = planned.iter().filter_map(|p| p.revoke.clone()).collect();
            invitations::revoke_many(tx, &revoked, now)?;
            let superseded: Vec<String> = planned.iter().filter(|p| p.supersede).map(|p| p.email_norm.clone()).collect();
            invitations::supersede_rejected_many(tx, &access.org.id, &superseded)?;
            // The new invitations' roster rows are written in one statement at the end, not one by
            // one by the triggers (a failure rolls everything back, this switch included).
            roster::defer(tx, &access.org.id)?;
            let rows: Vec<invitations::NewInvitation> = planned
                .iter()
                .map(|p| invitations::NewInvitation {
                    organization_id: &access.org.id,
                    email: &p.issued.email,
                    email_norm: &p.email_norm,
                    role_id: &p.role_id,
                    access_expires_at: p.access_expires_at,
                    valid_until,
                    token_hash: &p.token_hash,
                    invited_by: &actor,
                    workspace_id: p.workspace_id.as_deref(),
                })
                .collect();
            invitations::insert_many(tx, &rows, now)?;
            // Every invitation is audited, in row order; the chain's head is read and written once.
            let mut chain = crate::store::audit::Appender::start(tx, &access.org.id)?;
            for p in &planned {
                let i = &p.issued;
                chain.append(tx, &actor, AuditAction::InvitesCreated, &i.email, &serde_json::json!({"role": i.role, "workspace": i.workspace, "access_expires_at": i.access_expires_at, "valid_until": i.valid_until}), now)?;
            }
            chain.finish(tx)?;
            roster::add_new_invitations(tx, &access.org.id, valid_until)?;
            return Ok(IssuedInvitations { invitations: planned.into_iter().map(|p| p.issued).collect() });
        }
        // A single refused row keeps its own error (and, when forbidden, its audit trail).
        if invitees.len() == 1 {
            return Err(errors.remove(0).2);
        }
        let first = &errors[0].2;
        let message = format!(
            "nothing was invited: {} of {} rows refused: {}",
            errors.len(),
            invitees.len(),
            errors.iter().map(|(row, email, e)| format!("row {row} ({}): {e}", validate::shorten(email))).collect::<Vec<_>>().join("; ")
        );
        Err(match first {
            Error::InvalidInput { field, .. } => Error::InvalidInput { field: field.clone(), message },
            Error::Forbidden { denial, .. } => Error::Forbidden { message, denial: denial.clone() },
            Error::Conflict { reason, .. } => Error::Conflict { reason: *reason, message },
            Error::NotFound(_) => Error::NotFound(message),
            Error::Unauthenticated(_) => Error::Unauthenticated(message),
            Error::Unavailable(_) => Error::Unavailable(message),
            Error::Internal(_) => Error::Internal(message),
        })
    })
}

/// A bulk invite's row, decided and not yet written.
struct Planned {
    issued: IssuedInvitation,
    email_norm: String,
    role_id: String,
    workspace_id: Option<String>,
    access_expires_at: Option<Timestamp>,
    token_hash: Vec<u8>,
    /// Its expired open invitation, revoked as the new one is made.
    revoke: Option<String>,
    /// A rejected invitation of the email is superseded.
    supersede: bool,
}

/// Read invitees from CSV with the header `email,role[,access_expires][,workspace]`.
pub fn parse_csv(text: &str, now: Timestamp) -> Result<Vec<Invitee>> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(text.as_bytes());
    let headers =
        reader.headers().map_err(|e| Error::invalid("csv", format!("cannot read the header row: {e}")))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(email_col), Some(role_col)) = (col("email"), col("role")) else {
        return Err(Error::invalid("csv", "the header row must be email,role[,access_expires][,workspace]"));
    };
    let expires_col = col("access_expires").or_else(|| col("access_expires_at"));
    let workspace_col = col("workspace");
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::invalid("csv", format!("row {}: {e}", i + 2)))?;
        let get = |c: usize| record.get(c).unwrap_or("").to_string();
        let expires = match expires_col.map(get).filter(|s| !s.is_empty()) {
            Some(w) => crate::time::parse_when("access_expires", &w, now)
                .map_err(|e| Error::invalid("access_expires", format!("row {}: {e}", i + 2)))?,
            None => None,
        };
        let workspace = workspace_col.map(get).filter(|w| !w.is_empty());
        out.push(Invitee { email: get(email_col), role: get(role_col), access_expires_at: expires, workspace });
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct InvitationView {
    pub email: String,
    pub role: String,
    /// The workspace of an invitation to one workspace only; null: to the organization.
    pub workspace: Option<String>,
    pub status: InvitationStatus,
    pub valid_until: String,
    pub access_expires_at: Option<String>,
    pub invited_by: Option<String>,
    pub created_at: String,
    pub last_sent_at: String,
    #[ts(type = "number")]
    pub times_sent: i64,
}

fn view(i: &invitations::Invitation, now: Timestamp) -> InvitationView {
    InvitationView {
        email: i.email.clone(),
        role: i.role_name.clone(),
        workspace: i.workspace.as_ref().map(|(_, name)| name.clone()),
        status: i.shown_status(now),
        valid_until: rfc3339(i.valid_until),
        access_expires_at: rfc3339_opt(i.access_expires_at),
        invited_by: i.invited_by.clone(),
        created_at: rfc3339(i.created_at),
        last_sent_at: rfc3339(i.last_sent_at),
        times_sent: i.times_sent,
    }
}

/// Invitations of an organization; `status` is a shown status (pending, invitation_expired,
/// rejected, accepted, revoked) or None for all.
pub fn list(
    db: &mut Database,
    who: &Principal,
    org: &str,
    status: Option<&str>,
    now: Timestamp,
) -> Result<Vec<InvitationView>> {
    let status =
        status.map(str::trim).filter(|s| *s != "all").map(|s| InvitationStatus::parse("status", s)).transpose()?;
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewOrganization, "invitations")?;
        Ok(invitations::list(tx, &access.org.id, None)?
            .iter()
            .map(|i| view(i, now))
            .filter(|v| status.is_none_or(|s| v.status == s))
            .collect())
    })
}

/// A new token for the invitation of `email`; the old token stops working.
pub fn resend(db: &mut Database, who: &Principal, org: &str, email: &str, now: Timestamp) -> Result<IssuedInvitations> {
    let (_, email_norm) = validate::email("email", email)?;
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        let inv =
            invitations::latest_for(tx, &access.org.id, &email_norm)?.filter(|i| i.status.can_be_resent()).ok_or_else(
                || Error::not_found(format!("no open invitation for {} in {}", email.trim(), access.org.slug)),
            )?;
        // The invitation's own role, never another that took its name after it was deleted.
        let role = match inv.role_id.as_deref() {
            Some(id) => roles::by_id(tx, id)?,
            None => None,
        }
        .ok_or_else(|| {
            Error::not_found(format!(
                "the role {} of this invitation was deleted; invite {} again with another role",
                inv.role_name, inv.email
            ))
        })?;
        access.require(&Action::Invite { role: &role.rights(), workspace: inv.workspace.is_some() }, &inv.email)?;
        let token = auth::new_token(TOKEN_PREFIX)?;
        let valid_for = (inv.valid_until - inv.last_sent_at).max(60);
        invitations::reissue(tx, &inv.id, &auth::token_hash(&token), now + valid_for, now)?;
        access.audit(
            tx,
            AuditAction::InvitesResent,
            &inv.email,
            serde_json::json!({"times_sent": inv.times_sent + 1}),
        )?;
        Ok(IssuedInvitations {
            invitations: vec![IssuedInvitation {
                email: inv.email.clone(),
                role: inv.role_name.clone(),
                token,
                valid_until: rfc3339(now + valid_for),
                access_expires_at: rfc3339_opt(inv.access_expires_at),
                workspace: inv.workspace.as_ref().map(|(_, name)| name.clone()),
            }],
        })
    })
}

pub fn revoke(db: &mut Database, who: &Principal, org: &str, email: &str, now: Timestamp) -> Result<()> {
    let (_, email_norm) = validate::email("email", email)?;
    db.write_in(now, &Scope::org(org), |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ManageInvitations { owner_role: false }, &email_norm)?;
        let inv =
            invitations::latest_for(tx, &access.org.id, &email_norm)?.filter(|i| i.status.can_be_resent()).ok_or_else(
                || Error::not_found(format!("no open invitation for {} in {}", email.trim(), access.org.slug)),
            )?;
        // An invitation to the owner role is owner-level (rule 2).
        let owner_role = match inv.role_id.as_deref() {
            Some(id) => roles::by_id(tx, id)?.is_some_and(|r| r.is_owner),
            None => false,
        };
        access.require(&Action::ManageInvitations { owner_role }, &inv.email)?;
        invitations::set_status(tx, &inv.id, InvitationState::Revoked, now)?;
        access.audit(tx, AuditAction::InvitesRevoked, &inv.email, serde_json::json!({}))
    })
}

/// The open, unexpired invitation a token belongs to, or why it cannot be used.
fn usable(conn: &crate::sql::Connection, token: &str, now: Timestamp) -> Result<invitations::Invitation> {
    let token = token.trim();
    if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 64 {
        return Err(Error::invalid("token", "this is not an invitation token"));
    }
    let inv = invitations::by_token_hash(conn, &auth::token_hash(token))?
        .ok_or_else(|| Error::not_found("no invitation has this token (it may have been replaced by a resend)"))?;
    still_open(inv, now)
}

/// The invitation if it is open and unexpired, or why it can no longer be used.
fn still_open(inv: invitations::Invitation, now: Timestamp) -> Result<invitations::Invitation> {
    match inv.shown_status(now) {
        InvitationStatus::Accepted => {
            Err(Error::conflict(ConflictReason::TokenUsed, "this invitation was already accepted"))
        }
        InvitationStatus::Rejected => Err(Error::conflict(ConflictReason::TokenUsed, "this invitation was rejected")),
        InvitationStatus::Revoked => Err(Error::conflict(ConflictReason::TokenRevoked, "this invitation was revoked")),
        InvitationStatus::InvitationExpired => Err(Error::conflict(
            ConflictReason::TokenExpired,
            format!("this invitation expired at {}", rfc3339(inv.valid_until)),
        )),
        InvitationStatus::Pending => Ok(inv),
    }
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct AcceptedMembership {
    pub organization: super::orgs::OrganizationSummary,
    pub email: String,
    pub role: String,
    pub access_expires_at: Option<String>,
    pub new_account: bool,
    /// The workspace the role is in, for an invitation to one workspace only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub workspace: Option<String>,
}

/// How the person accepting proves who they are.
pub enum Acceptor<'a> {
    /// Already signed in.
    SignedIn(&'a Principal),
    /// No account yet: one is made with this name and password.
    NewAccount { full_name: &'a str, password: &'a str },
}

fn accept_held(db: &mut Database, held: Held, acceptor: Acceptor, now: Timestamp) -> Result<AcceptedMembership> {
    let new_account = match &acceptor {
        Acceptor::NewAccount { full_name, password } => {
            let (given, family) = validate::full_name("name", full_name)?;
            Some((given, family, auth::new_password_hash(password)?))
        }
        Acceptor::SignedIn(_) => None,
    };
    // The invitation's organization, and the system's lock: an acceptance may make an account.
    let scope = scope_of(db, &held, now).and_system();
    db.write_in(now, &scope, |tx| {
        let inv = held.usable(tx, now)?;
        let org = crate::store::organizations::by_id(tx, &inv.organization_id)?
            .ok_or_else(|| Error::Internal("organization missing".into()))?;
        let existing = accounts::by_email(tx, &inv.email_norm)?;
        let (account_id, created) = match (&acceptor, existing, &new_account) {
            (Acceptor::SignedIn(p), Some(acc), _) if p.account_id() == Some(acc.id.as_str()) => (acc.id, false),
            (Acceptor::SignedIn(p), _, _) => {
                // Someone else's invitation: refused and recorded in the organization's chain
                // (whoever holds one of its invitation tokens is not an outsider to it; rule 8).
                return Err(Error::Forbidden {
                    message: format!("this invitation is for {}, and you are signed in as {}", inv.email, p.label()),
                    denial: Some(Box::new(crate::error::Denial {
                        organization_id: org.id.clone(),
                        actor: p.label(),
                        action: "invites.accept".into(),
                        target: inv.email.clone(),
                        outsider: false,
                    })),
                });
            }
            (Acceptor::NewAccount { .. }, Some(_), _) => {
                return Err(Error::Unauthenticated(format!(
                    "an account with {} exists; sign in with --as to accept",
                    inv.email
                )))
            }
            (Acceptor::NewAccount { .. }, None, Some((given, family, hash))) => {
                (accounts::insert(tx, &inv.email, &inv.email_norm, given, family, Some(hash), true, now)?, true)
            }
            (Acceptor::NewAccount { .. }, None, None) => return Err(Error::Internal("no new account data".into())),
        };
        if memberships::of(tx, &org.id, &account_id)?.is_some() {
            return Err(Error::conflict(
                ConflictReason::AlreadyMember,
                format!("{} is already a member of {}", inv.email, org.slug),
            ));
        }
        let access_expires_at = inv.access_expires_at;
        // An open invitation always has its role (a role is deleted only when no open one uses it).
        let role_id = inv.role_id.as_deref().ok_or_else(|| Error::Internal("an open invitation without a role".into()))?;
        let membership = memberships::insert(tx, &org.id, &account_id, access_expires_at, now)?;
        // An invitation to one workspace gives that role there and no organization role (rule 11).
        grants::insert(
            tx,
            &grants::NewGrant {
                workspace_id: inv.workspace.as_ref().map(|(id, _)| id.as_str()),
                ..grants::NewGrant::organization_role(
                    &org.id,
                    grants::Subject::Membership(&membership),
                    role_id,
                    inv.invited_by.as_deref(),
                )
            },
            now,
        )?;
        invitations::set_status(tx, &inv.id, InvitationState::Accepted, now)?;
        crate::store::audit::append(
            tx,
            &org.id,
            &inv.email,
            AuditAction::InvitesAccepted,
            &inv.email,
            &serde_json::json!({"role": inv.role_name, "workspace": inv.workspace.as_ref().map(|(_, name)| name), "new_account": created}),
            now,
        )?;
        Ok(AcceptedMembership {
            organization: super::orgs::OrganizationSummary::from(&org),
            email: inv.email.clone(),
            role: inv.role_name.clone(),
            access_expires_at: rfc3339_opt(access_expires_at),
            new_account: created,
            workspace: inv.workspace.as_ref().map(|(_, name)| name.clone()),
        })
    })
}

fn reject_held(db: &mut Database, held: Held, now: Timestamp) -> Result<InvitationView> {
    let scope = scope_of(db, &held, now);
    db.write_in(now, &scope, |tx| {
        let inv = held.usable(tx, now)?;
        invitations::set_status(tx, &inv.id, InvitationState::Rejected, now)?;
        crate::store::audit::append(
            tx,
            &inv.organization_id,
            &inv.email,
            AuditAction::InvitesRejected,
            &inv.email,
            &serde_json::json!({}),
            now,
        )?;
        let mut rejected = inv.clone();
        rejected.status = InvitationState::Rejected;
        Ok(view(&rejected, now))
    })
}

// ---------------------------------------------------------------- what the invitee sees and does
//
// The person invited acts either with the token they were sent, or, signed in with an account
// whose confirmed email is the one invited, on the invitations addressed to them (the way a
// signed-in person accepts from the organization switcher, with no token at hand).

/// How the person accepting or rejecting holds the invitation.
/// The organization of the invitation `held`, read before the write that changes it: an
/// invitation never moves. Any doubt (no such invitation) is the whole database: the write then
/// answers why.
fn scope_of(db: &mut Database, held: &Held, now: Timestamp) -> Scope {
    match db.read(now, |tx| Ok(held.usable(tx, now).ok().map(|inv| inv.organization_id))) {
        Ok(Some(id)) => Scope::org_id(&id),
        _ => Scope::whole(),
    }
}

enum Held<'a> {
    /// The token: whoever holds it.
    Token(&'a str),
    /// An invitation addressed to the signed-in account's own confirmed email.
    Addressed { who: &'a Principal, invitation_id: &'a str },
}

impl Held<'_> {
    fn usable(&self, conn: &crate::sql::Connection, now: Timestamp) -> Result<invitations::Invitation> {
        match self {
            Held::Token(token) => usable(conn, token, now),
            Held::Addressed { who, invitation_id } => still_open(addressed(conn, who, invitation_id)?, now),
        }
    }
}

/// The invitation `invitation_id` if it is addressed to the signed-in account's confirmed email.
/// Anyone else's invitation is "not found", so ids reveal nothing.
fn addressed(conn: &crate::sql::Connection, who: &Principal, invitation_id: &str) -> Result<invitations::Invitation> {
    let not_found = || Error::not_found("no invitation to you has this id");
    let account = match who.account_id() {
        Some(id) => accounts::by_id(conn, id)?.ok_or_else(not_found)?,
        None => return Err(Error::forbidden("a service account cannot accept or reject invitations")),
    };
    let inv = invitations::by_id(conn, invitation_id.trim())?.ok_or_else(not_found)?;
    let (_, account_email) = validate::email("email", &account.email)?;
    if !account.email_confirmed || inv.email_norm != account_email {
        return Err(not_found());
    }
    Ok(inv)
}

/// Accept with the token (the CLI's `invites accept TOKEN`, an invitation link).
pub fn accept(db: &mut Database, token: &str, acceptor: Acceptor, now: Timestamp) -> Result<AcceptedMembership> {
    accept_held(db, Held::Token(token), acceptor, now)
}

/// Reject with the token: whoever holds it may.
pub fn reject(db: &mut Database, token: &str, now: Timestamp) -> Result<InvitationView> {
    reject_held(db, Held::Token(token), now)
}

/// Accept, signed in, an invitation addressed to one's own email (see `addressed_to_me`).
pub fn accept_addressed(
    db: &mut Database,
    who: &Principal,
    invitation_id: &str,
    now: Timestamp,
) -> Result<AcceptedMembership> {
    accept_held(db, Held::Addressed { who, invitation_id }, Acceptor::SignedIn(who), now)
}

/// Reject, signed in, an invitation addressed to one's own email.
pub fn reject_addressed(
    db: &mut Database,
    who: &Principal,
    invitation_id: &str,
    now: Timestamp,
) -> Result<InvitationView> {
    reject_held(db, Held::Addressed { who, invitation_id }, now)
}

/// An invitation as the person holding its token may see it before acting on it: which
/// organization, which role, who invited, until when. Nothing about anyone else in it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct InvitationPreview {
    /// The organization's name.
    pub organization: String,
    /// The email invited: the account that accepting makes or uses.
    pub email: String,
    pub role: String,
    /// The workspace of an invitation to one workspace only (the role applies there alone).
    pub workspace: Option<String>,
    /// Who invited, as the audit log names them (an email, or `service-account:NAME`).
    pub invited_by: Option<String>,
    /// That person's name, when the inviter is a person with an account.
    pub invited_by_name: Option<String>,
    pub valid_until: String,
    /// When the access it gives ends, if it does.
    pub access_expires_at: Option<String>,
    pub status: InvitationStatus,
    /// An account with the invited email exists already: accepting means signing in as it.
    pub account_exists: bool,
}

/// Read the invitation a token belongs to, whatever its status, without acting on it.
pub fn preview(db: &mut Database, token: &str, now: Timestamp) -> Result<InvitationPreview> {
    let token = token.trim();
    if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 64 {
        return Err(Error::invalid("token", "this is not an invitation token"));
    }
    db.read(now, |tx| {
        let inv = invitations::by_token_hash(tx, &auth::token_hash(token))?
            .ok_or_else(|| Error::not_found("no invitation has this token (it may have been replaced by a resend)"))?;
        let org = crate::store::organizations::by_id(tx, &inv.organization_id)?
            .ok_or_else(|| Error::Internal("organization missing".into()))?;
        let inviter = match inv.invited_by.as_deref() {
            Some(by) => match validate::email("email", by) {
                Ok((_, norm)) => accounts::by_email(tx, &norm)?.map(|a| a.full_name()),
                // A service account or `demo`: no person's name to show.
                Err(_) => None,
            },
            None => None,
        };
        Ok(InvitationPreview {
            organization: org.name,
            email: inv.email.clone(),
            role: inv.role_name.clone(),
            workspace: inv.workspace.as_ref().map(|(_, name)| name.clone()),
            invited_by: inv.invited_by.clone(),
            invited_by_name: inviter,
            valid_until: rfc3339(inv.valid_until),
            access_expires_at: rfc3339_opt(inv.access_expires_at),
            status: inv.shown_status(now),
            account_exists: accounts::by_email(tx, &inv.email_norm)?.is_some(),
        })
    })
}

/// An open invitation to the signed-in person, as the organization switcher lists it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct AddressedInvitation {
    /// What `accept_addressed` and `reject_addressed` take.
    pub id: String,
    pub organization: super::orgs::OrganizationSummary,
    pub role: String,
    /// The workspace of an invitation to one workspace only.
    pub workspace: Option<String>,
    pub invited_by: Option<String>,
    pub valid_until: String,
    pub access_expires_at: Option<String>,
}

/// The open, unexpired invitations to the signed-in account's confirmed email, in organizations
/// it is not a member of yet. A service account has none.
pub fn addressed_to_me(db: &mut Database, who: &Principal, now: Timestamp) -> Result<Vec<AddressedInvitation>> {
    let Some(account_id) = who.account_id() else { return Ok(vec![]) };
    db.read(now, |tx| {
        let Some(account) = accounts::by_id(tx, account_id)? else {
            return Err(Error::Unauthenticated("the account no longer exists".into()));
        };
        if !account.email_confirmed {
            return Ok(vec![]);
        }
        let (_, email_norm) = validate::email("email", &account.email)?;
        let mut out = Vec::new();
        for inv in invitations::open_addressed_to(tx, &email_norm)? {
            if inv.valid_until <= now || memberships::of(tx, &inv.organization_id, &account.id)?.is_some() {
                continue;
            }
            let Some(org) = crate::store::organizations::by_id(tx, &inv.organization_id)? else { continue };
            out.push(AddressedInvitation {
                id: inv.id.clone(),
                organization: super::orgs::OrganizationSummary::from(&org),
                role: inv.role_name.clone(),
                workspace: inv.workspace.as_ref().map(|(_, name)| name.clone()),
                invited_by: inv.invited_by.clone(),
                valid_until: rfc3339(inv.valid_until),
                access_expires_at: rfc3339_opt(inv.access_expires_at),
            });
        }
        Ok(out)
    })
}
