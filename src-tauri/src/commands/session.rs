//! First run, sign-in and sign-out, and the invitation screens that need no session.

use super::Reply;
use crate::AppState;
use gatehouse_core::usecases::{invitations, orgs};
use gatehouse_core::{auth, Error};
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

/// What the page needs to know on start: is there anything yet, and who is signed in.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct AppStatus {
    pub initialized: bool,
    pub account: Option<orgs::AccountSummary>,
    pub database: String,
}

/// Where the database stands (opening, waiting for another process, upgrading, ready, failed),
/// at once: a plain (not async) command, so it answers even while every async worker waits for
/// the database. Changes also arrive as the `database-status` event.
#[tauri::command]
pub fn database_status(state: State<'_, AppState>) -> Reply<crate::state::DatabaseStatus> {
    Ok(state.database_status())
}

/// The first run's choice, a new one after the database failed to open, or a change from the
/// window's Database settings: this computer's file
/// or a team server, opened before it is saved. Answers the new status (`ready`).
#[tauri::command]
pub async fn choose_database(
    state: State<'_, AppState>,
    choice: crate::settings::DatabaseChoice,
) -> Reply<crate::state::DatabaseStatus> {
    state.choose(choice)
}

/// The window's Database settings: the database in use, the file "This computer" means, and
/// whether `$GATEHOUSE_DB` fixes it. A plain command: answers while the database is opening.
#[tauri::command]
pub fn database_settings(state: State<'_, AppState>) -> Reply<crate::state::DatabaseSettings> {
    Ok(state.database_settings())
}

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> Reply<AppStatus> {
    let who = state.principal();
    state.open_call(|db, now| {
        let account = who.as_ref().map(|who| orgs::whoami(db, who, now)).transpose()?;
        let database = db.path().map(|p| p.display().to_string()).unwrap_or_default();
        Ok(AppStatus { initialized: orgs::is_initialized(db, now)?, account, database })
    })
}

/// The first run: the first organization and its owner, who is then signed in.
#[tauri::command]
pub async fn setup(
    state: State<'_, AppState>,
    org: String,
    email: String,
    name: String,
    password: String,
) -> Reply<orgs::Initialized> {
    let done = state.open_call(|db, now| {
        let done = orgs::init(db, &org, &email, &name, &password, now)?;
        let who = auth::sign_in(db, &email, &password, now)?;
        Ok((done, who))
    })?;
    state.set_principal(Some(done.1));
    Ok(done.0)
}

#[tauri::command]
pub async fn sign_in(state: State<'_, AppState>, email: String, password: String) -> Reply<orgs::AccountSummary> {
    let (who, me) = state.open_call(|db, now| {
        let who = auth::sign_in(db, &email, &password, now)?;
        let me = orgs::whoami(db, &who, now)?;
        Ok((who, me))
    })?;
    state.set_principal(Some(who));
    Ok(me)
}

#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>) -> Reply<()> {
    state.set_principal(None);
    Ok(())
}

/// The token of the `gatehouse://invite/TOKEN` link the app was opened with, once.
#[tauri::command]
pub async fn take_pending_invite(state: State<'_, AppState>) -> Reply<Option<String>> {
    Ok(state.take_pending_invite())
}

/// Accept an invitation: signed in, as that person; or as a new account with a name and password,
/// who is then signed in.
#[tauri::command]
pub async fn accept_invitation(
    state: State<'_, AppState>,
    token: String,
    name: Option<String>,
    password: Option<String>,
) -> Reply<invitations::AcceptedMembership> {
    if let Some(who) = state.principal() {
        return state.open_call(|db, now| invitations::accept(db, &token, invitations::Acceptor::SignedIn(&who), now));
    }
    let (accepted, who) = state.open_call(|db, now| {
        let name = name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| Error::invalid("name", "write your full name"))?;
        let password = password
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::invalid("password", "choose a password"))?;
        let accepted =
            invitations::accept(db, &token, invitations::Acceptor::NewAccount { full_name: name, password }, now)?;
        let who = auth::sign_in(db, &accepted.email, password, now)?;
        Ok((accepted, who))
    })?;
    state.set_principal(Some(who));
    Ok(accepted)
}

#[tauri::command]
pub async fn reject_invitation(state: State<'_, AppState>, token: String) -> Reply<invitations::InvitationView> {
    state.open_call(|db, now| invitations::reject(db, &token, now))
}

/// What an invitation token offers (organization, role, who invited, until when, its status), read
/// before the person decides; nothing is changed.
#[tauri::command]
pub async fn preview_invitation(state: State<'_, AppState>, token: String) -> Reply<invitations::InvitationPreview> {
    state.open_call(|db, now| invitations::preview(db, &token, now))
}

/// The open invitations to the signed-in person's own email, for the organization switcher.
#[tauri::command]
pub async fn my_invitations(state: State<'_, AppState>) -> Reply<Vec<invitations::AddressedInvitation>> {
    state.call(|db, who, now| invitations::addressed_to_me(db, who, now))
}

/// Accept, signed in, one of `my_invitations` (no token needed: it is addressed to this account).
#[tauri::command]
pub async fn accept_my_invitation(state: State<'_, AppState>, id: String) -> Reply<invitations::AcceptedMembership> {
    state.call(|db, who, now| invitations::accept_addressed(db, who, &id, now))
}

/// Decline, signed in, one of `my_invitations`.
#[tauri::command]
pub async fn decline_my_invitation(state: State<'_, AppState>, id: String) -> Reply<invitations::InvitationView> {
    state.call(|db, who, now| invitations::reject_addressed(db, who, &id, now))
}
