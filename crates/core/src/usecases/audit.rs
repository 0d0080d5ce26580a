//! The audit log: reading, exporting, verifying the chain; and the expiry sweep that records
//! `access.expired` events, dated at the moment each expiry passed (rule 9).

use super::access::OrgAccess;
use crate::auth::Principal;
use crate::db::Database;
use crate::error::{ConflictReason, Error, Result};
use crate::policy::Action;
use crate::store::{audit, grants, memberships};
use crate::time::{rfc3339, Timestamp};
use rusqlite::Transaction;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct AuditEventView {
    #[ts(type = "number")]
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    #[ts(type = "unknown")]
    pub details: serde_json::Value,
    pub hash: String,
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub limit: Option<i64>,
}

pub fn list(
    db: &mut Database,
    who: &Principal,
    org: &str,
    q: &AuditQuery,
    now: Timestamp,
) -> Result<Vec<AuditEventView>> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewAudit, "audit")?;
        let events = audit::list(
            tx,
            &access.org.id,
            &audit::Filter {
                actor: q.actor.as_deref(),
                action: q.action.as_deref(),
                since: q.since,
                until: q.until,
                target: q.target.as_deref(),
                limit: q.limit,
            },
        )?;
        Ok(events
            .into_iter()
            .map(|e| AuditEventView {
                seq: e.seq,
                at: rfc3339(e.at),
                actor: e.actor,
                action: e.action,
                target: e.target,
                details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
                hash: e.hash,
            })
            .collect())
    })
}

/// The organization's whole log, oldest first (as a log is read), one event at a time: `each`
/// writes it out, so memory stays bounded whatever the length of the chain. Returns the number
/// of events.
pub fn export_each(
    db: &mut Database,
    who: &Principal,
    org: &str,
    now: Timestamp,
    mut each: impl FnMut(AuditEventView) -> Result<()>,
) -> Result<u64> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewAudit, "audit")?;
        audit::each(tx, &access.org.id, |e| {
            each(AuditEventView {
                seq: e.seq,
                at: rfc3339(e.at),
                actor: e.actor,
                action: e.action,
                target: e.target,
                details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
                hash: e.hash,
            })
        })
    })
}

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct ChainReport {
    pub ok: bool,
    #[ts(type = "number")]
    pub events: i64,
}

/// Verify the organization's chain; a broken chain is a `conflict` naming the first bad event.
pub fn verify(db: &mut Database, who: &Principal, org: &str, now: Timestamp) -> Result<ChainReport> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewAudit, "audit")?;
        match audit::verify(tx, &access.org.id)? {
            audit::ChainState::Intact { events } => Ok(ChainReport { ok: true, events }),
            audit::ChainState::Broken { why, events, .. } => Err(Error::conflict(
                ConflictReason::ChainBroken,
                format!("the audit chain is broken after {events} events: {why}"),
            )),
        }
    })
}

/// Record an `access.expired` event for every membership and grant whose expiry has passed since
/// the last sweep, waiting for the write lock if another process holds it.
pub fn record_expiries(db: &mut Database, now: Timestamp) -> Result<usize> {
    if !db.read(now, |tx| grants::any_unrecorded_expiry(tx, now))? {
        return Ok(0);
    }
    db.write_unswept(now, |tx| record_expiries_in(tx, now))
}

/// What front doors call when they open the database and before each command: record what has
/// expired if the write lock is free, without waiting for it (`None` when another process holds
/// it), so that a read command never queues behind a long writer. Rule 9 still holds: nothing is
/// lost, since `Database::write` records the same expiries first, in its own transaction, before
/// any command changes anything; and rights never depend on the record (they compare expiry
/// times with `now`), so a read answers correctly either way.
pub fn try_record_expiries(db: &mut Database, now: Timestamp) -> Result<Option<usize>> {
    if !db.read(now, |tx| grants::any_unrecorded_expiry(tx, now))? {
        return Ok(Some(0));
    }
    db.try_write(|tx| record_expiries_in(tx, now))
}

/// The sweep itself, inside a write transaction: one event per expiry, dated at the moment it
/// passed. `Database::write` runs it first in every write.
pub(crate) fn record_expiries_in(tx: &Transaction, now: Timestamp) -> Result<usize> {
    if !grants::any_unrecorded_expiry(tx, now)? {
        return Ok(0);
    }
    let mut n = 0;
    for (id, org, email, at) in memberships::unrecorded_expiries(tx, now)? {
        audit::append(
            tx,
            &org,
            "gatehouse",
            "access.expired",
            &email,
            &serde_json::json!({"scope": "organization", "expired_at": rfc3339(at)}),
            at,
        )?;
        memberships::mark_expiry_recorded(tx, &id)?;
        n += 1;
    }
    for (id, org, subject, role, workspace, at) in grants::unrecorded_expiries(tx, now)? {
        audit::append(
            tx,
            &org,
            "gatehouse",
            "access.expired",
            &subject,
            &serde_json::json!({"scope": if workspace.is_some() { "workspace" } else { "organization" }, "role": role, "workspace": workspace, "expired_at": rfc3339(at)}),
            at,
        )?;
        grants::mark_expiry_recorded(tx, &id)?;
        n += 1;
    }
    Ok(n)
}
