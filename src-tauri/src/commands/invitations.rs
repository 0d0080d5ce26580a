//! The Invite and Invitations screens.

use super::{moment, Reply};
use crate::AppState;
use gatehouse_core::usecases::invitations;
use gatehouse_core::{time, Error};
use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;

/// One row of the Invite form.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct InviteeInput {
    pub email: String,
    pub role: String,
    /// RFC 3339 or empty: when the access this invitation gives ends.
    pub access_expires: Option<String>,
    /// Invite to this workspace only (no organization role); absent or empty: to the organization.
    #[serde(default)]
    #[ts(optional)]
    pub workspace: Option<String>,
}

/// Invite every row or none; `valid_for` is a duration such as `7d` (default 7 days).
#[tauri::command]
pub async fn create_invitations(
    state: State<'_, AppState>,
    org: String,
    rows: Vec<InviteeInput>,
    valid_for: Option<String>,
) -> Reply<invitations::IssuedInvitations> {
    state.call(|db, who, now| {
        let mut invitees = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let at = moment("access_expires", r.access_expires.as_deref(), now)
                .map_err(|e| Error::invalid("access_expires", format!("row {}: {e}", i + 1)))?;
            invitees.push(invitations::Invitee {
                email: r.email.clone(),
                role: r.role.clone(),
                access_expires_at: at,
                workspace: r.workspace.clone().filter(|w| !w.trim().is_empty()),
            });
        }
        let valid_for = valid_for
            .as_deref()
            .filter(|v| !v.trim().is_empty())
            .map(|v| time::parse_duration("valid_for", v.trim()))
            .transpose()?;
        invitations::create(db, who, &org, &invitees, valid_for, now)
    })
}

/// Read a CSV (`email,role[,access_expires]`) into Invite rows, for review before sending.
#[tauri::command]
pub async fn parse_invitations_csv(text: String) -> Reply<Vec<InviteeInput>> {
    let now = time::now();
    let rows = invitations::parse_csv(&text, now).map_err(|e| gatehouse_core::ErrorBody::from(&e))?;
    Ok(rows
        .into_iter()
        .map(|r| InviteeInput {
            email: r.email,
            role: r.role,
            access_expires: time::rfc3339_opt(r.access_expires_at),
            workspace: r.workspace,
        })
        .collect())
}

#[tauri::command]
pub async fn list_invitations(
    state: State<'_, AppState>,
    org: String,
    status: Option<String>,
) -> Reply<Vec<invitations::InvitationView>> {
    state.call(|db, who, now| {
        invitations::list(db, who, &org, status.as_deref().filter(|s| !s.is_empty() && *s != "all"), now)
    })
}

#[tauri::command]
pub async fn resend_invitation(
    state: State<'_, AppState>,
    org: String,
    email: String,
) -> Reply<invitations::IssuedInvitations> {
    state.call(|db, who, now| invitations::resend(db, who, &org, &email, now))
}

#[tauri::command]
pub async fn revoke_invitation(state: State<'_, AppState>, org: String, email: String) -> Reply<()> {
    state.call(|db, who, now| invitations::revoke(db, who, &org, &email, now))
}
