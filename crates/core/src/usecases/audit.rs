//! The audit log: reading, exporting, verifying the chain; and the expiry sweep that records
//! `access.expired` events, dated at the moment each expiry passed (rule 9).

use super::access::OrgAccess;
use crate::audit_actions::AuditAction;
use crate::auth::Principal;
use crate::db::Database;
use crate::error::{ConflictReason, Denial, Error, Result};
use crate::policy::Action;
use crate::sql::{Connection, Scope, Transaction};
use crate::store::{audit, grants, memberships};
use crate::time::{rfc3339, Timestamp};
use serde::{Deserialize, Serialize};
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
        let events = audit::list(tx, &access.org.id, &filter(q)?)?;
        Ok(events.into_iter().map(view).collect())
    })
}

fn view(e: audit::Event) -> AuditEventView {
    AuditEventView {
        seq: e.seq,
        at: rfc3339(e.at),
        actor: e.actor,
        action: e.action,
        target: e.target,
        details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
        hash: e.hash,
    }
}

/// The store's filter of a query; an action that is neither an `AuditAction` nor an area of one
/// is `invalid_input` naming `action`.
fn filter(q: &AuditQuery) -> Result<audit::Filter<'_>> {
    Ok(audit::Filter {
        actor: q.actor.as_deref(),
        action: q.action.as_deref().map(crate::audit_actions::parse_action_filter).transpose()?,
        since: q.since,
        until: q.until,
        target: q.target.as_deref(),
        limit: q.limit,
    })
}

/// The system chain: events of no organization (failed and refused sign-ins, unknown tokens,
/// outsiders' refused attempts on an organization). Any person who owns at least one
/// organization may read and verify it; anyone else is refused, and the refusal is recorded there.
fn require_system_reader(conn: &crate::sql::Connection, who: &Principal, now: Timestamp) -> Result<()> {
    if let Principal::Account { id, .. } = who {
        for org in crate::store::organizations::of_account(conn, id)? {
            if crate::store::rights::of_account(conn, &org.id, id, None, now)?.is_owner {
                return Ok(());
            }
        }
    }
    Err(Error::Forbidden {
        message: "forbidden: only owners of an organization may read the system audit chain".into(),
        denial: Some(Box::new(Denial {
            organization_id: String::new(),
            actor: who.label(),
            action: "audit.view_system".into(),
            target: "system".into(),
            outsider: false,
        })),
    })
}

/// `audit list --system`: the system chain, newest first.
pub fn list_system(db: &mut Database, who: &Principal, q: &AuditQuery, now: Timestamp) -> Result<Vec<AuditEventView>> {
    db.read(now, |tx| {
        require_system_reader(tx, who, now)?;
        Ok(audit::list(tx, "", &filter(q)?)?.into_iter().map(view).collect())
    })
}

/// `audit verify --system`.
pub fn verify_system(db: &mut Database, who: &Principal, now: Timestamp) -> Result<ChainReport> {
    db.read(now, |tx| {
        require_system_reader(tx, who, now)?;
        report(audit::verify_chain(tx, "", None)?)
    })
}

/// What `audit checkpoint` prints and `audit verify --checkpoint FILE` reads: the organization,
/// how many events its chain held, the hash of the last of them, and when it was taken. Kept
/// outside the database, it lets `verify` notice a chain truncated or rewritten since (rule 8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct Checkpoint {
    /// The organization's slug.
    pub organization: String,
    #[ts(type = "number")]
    pub events: i64,
    /// The hash of event number `events` (64 hex digits; all zeros for an empty chain).
    pub head: String,
    pub at: String,
}

impl Checkpoint {
    /// Read a checkpoint file's text; anything else is `invalid_input` naming `checkpoint`.
    pub fn parse(text: &str) -> Result<Checkpoint> {
        let bad = |why: String| Error::invalid("checkpoint", why);
        let cp: Checkpoint = serde_json::from_str(text).map_err(|e| {
            bad(format!("is not a Gatehouse audit checkpoint ({{\"organization\",\"events\",\"head\",\"at\"}}): {e}"))
        })?;
        if cp.events < 0 {
            return Err(bad("events must not be negative".into()));
        }
        if cp.head.len() != 64 || !cp.head.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
            return Err(bad("head must be 64 lower-case hex digits".into()));
        }
        Ok(cp)
    }
}

/// `audit checkpoint`: the chain's count and head, once the chain is verified intact.
pub fn checkpoint(db: &mut Database, who: &Principal, org: &str, now: Timestamp) -> Result<Checkpoint> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewAudit, "audit")?;
        report(audit::verify(tx, &access.org.id)?)?;
        let (events, head) = audit::head(tx, &access.org.id)?;
        Ok(Checkpoint { organization: access.org.slug.clone(), events, head, at: rfc3339(now) })
    })
}

/// `audit verify --checkpoint FILE`: the chain is intact and still extends the checkpoint.
pub fn verify_checkpoint(
    db: &mut Database,
    who: &Principal,
    org: &str,
    checkpoint: &Checkpoint,
    now: Timestamp,
) -> Result<ChainReport> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewAudit, "audit")?;
        if checkpoint.organization != access.org.slug {
            return Err(Error::invalid(
                "checkpoint",
                format!(
                    "is a checkpoint of {}, not of {}",
                    crate::validate::shorten(&checkpoint.organization),
                    access.org.slug
                ),
            ));
        }
        report(audit::verify_chain(tx, &access.org.id, Some((checkpoint.events, &checkpoint.head)))?)
    })
}

fn report(state: audit::ChainState) -> Result<ChainReport> {
    match state {
        audit::ChainState::Intact { events } => Ok(ChainReport { ok: true, events }),
        audit::ChainState::Broken { why, events, .. } => Err(Error::conflict(
            ConflictReason::ChainBroken,
            format!("the audit chain is broken after {events} events: {why}"),
        )),
    }
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
    db.read_unmapped(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewAudit, "audit")?;
        audit::each(tx, &access.org.id, |e| each(view(e)))
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
        report(audit::verify(tx, &access.org.id)?)
    })
}

/// Record an `access.expired` event for every membership and grant whose expiry has passed since
/// the last sweep, waiting for the write lock if another process holds it.
pub fn record_expiries(db: &mut Database, now: Timestamp) -> Result<usize> {
    let orgs = db.read_one(now, |conn| grants::orgs_with_unrecorded_expiry(conn, now))?;
    if orgs.is_empty() {
        return Ok(0);
    }
    db.write_unswept(now, &Scope::org_ids(orgs.iter().map(String::as_str)), |tx| record_expiries_in(tx, now))
}

/// What front doors call when they open the database and before each command: record what has
/// expired if the write lock is free, without waiting for it (`None` when another process holds
/// it), so that a read command never queues behind a long writer. Rule 9 still holds: nothing is
/// lost, since `Database::write` records the same expiries first, in its own transaction, before
/// any command changes anything; and rights never depend on the record (they compare expiry
/// times with `now`), so a read answers correctly either way.
pub fn try_record_expiries(db: &mut Database, now: Timestamp) -> Result<Option<usize>> {
    // One statement, so no transaction around it: one round trip on PostgreSQL, not three.
    let orgs = db.read_one(now, |conn| grants::orgs_with_unrecorded_expiry(conn, now))?;
    if orgs.is_empty() {
        return Ok(Some(0));
    }
    db.try_write(&Scope::org_ids(orgs.iter().map(String::as_str)), |tx| record_expiries_in(tx, now))
}

/// The sweep itself, inside a write transaction: one event per expiry, dated at the moment it
/// passed, of the organizations whose locks the transaction holds (all of them on SQLite and in a
/// whole-database write; on PostgreSQL those the write named, whose state it may act on: rule 9
/// asks that expiries be recorded before a command acts on that state). `Database::write` runs it
/// first in every write. It reads only what it will record: a write in one organization neither
/// probes nor reads the expiries another has waiting (`tests/org_locks.rs`,
/// `a_write_does_not_read_the_expiries_another_organization_has_waiting`). On PostgreSQL its BEGIN
/// told which of its organizations have any (`expiries_due`), so a write with none asks nothing.
pub(crate) fn record_expiries_in(tx: &Transaction, now: Timestamp) -> Result<usize> {
    let orgs = match tx.expiries_due() {
        Some(due) => Some(due),
        None if !grants::any_unrecorded_expiry(tx, now)? => return Ok(0),
        None => tx.held(),
    };
    let mut n = 0;
    let orgs: Vec<Option<&str>> = match &orgs {
        // The system ('') has no expiries.
        Some(orgs) => orgs.iter().filter(|org| !org.is_empty()).map(|org| Some(org.as_str())).collect(),
        None => vec![None],
    };
    for org in orgs {
        n += record_expiries_of(tx, org, now)?;
    }
    Ok(n)
}

/// `Connection::lock_org`, and when the lock was taken late in a write that records expiries
/// first, that organization's expiries due recorded at once, before the write acts there or
/// extends its chain (rule 9). The write's own sweep ran at BEGIN over what it named, and did not
/// know of this organization (`tests/org_locks.rs`,
/// `a_lock_taken_late_records_that_organizations_expiries_before_the_write_acts`). The lock's
/// round trip asked whether there are any, so a late lock with none costs nothing more.
pub(crate) fn lock_org(conn: &Connection, id: &str) -> Result<bool> {
    let late = conn.lock_org(id)?;
    if let Some(now) = late.then(|| conn.late_expiries(id)).flatten() {
        record_expiries_of(conn, Some(id), now)?;
    }
    Ok(late)
}

/// `record_expiries_in` for organization `org`, or for all of them.
fn record_expiries_of(tx: &Connection, org: Option<&str>, now: Timestamp) -> Result<usize> {
    let mut n = 0;
    for (id, org, email, at) in memberships::unrecorded_expiries(tx, org, now)? {
        audit::append(
            tx,
            &org,
            "gatehouse",
            AuditAction::AccessExpired,
            &email,
            &serde_json::json!({"scope": "organization", "expired_at": rfc3339(at)}),
            at,
        )?;
        memberships::mark_expiry_recorded(tx, &id)?;
        n += 1;
    }
    for (id, org, subject, role, workspace, at) in grants::unrecorded_expiries(tx, org, now)? {
        audit::append(
            tx,
            &org,
            "gatehouse",
            AuditAction::AccessExpired,
            &subject,
            &serde_json::json!({"scope": if workspace.is_some() { "workspace" } else { "organization" }, "role": role, "workspace": workspace, "expired_at": rfc3339(at)}),
            at,
        )?;
        grants::mark_expiry_recorded(tx, &id)?;
        n += 1;
    }
    Ok(n)
}
