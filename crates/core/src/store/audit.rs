//! `audit_events` and `audit_heads`: an append-only log with one hash chain per organization.
//! Each event's hash is SHA-256 over its fields and the previous event's hash; the head row keeps
//! the last hash and the count, so deleting the newest events breaks the chain too.

use crate::audit_actions::AuditAction;
use crate::error::Result;
use crate::sql::{params, Connection, OptionalExtension};
use crate::time::Timestamp;
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone)]
pub struct Event {
    pub seq: i64,
    pub id: String,
    pub organization_id: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub at: Timestamp,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of one event: SHA-256 over its length-prefixed fields and the previous hash.
#[allow(clippy::too_many_arguments)] // the fields of an event, hashed in this order
pub fn event_hash(
    id: &str,
    org: &str,
    actor: &str,
    action: &str,
    target: &str,
    details: &str,
    at: Timestamp,
    prev: &str,
) -> String {
    // Length-prefixed fields: no two different events serialise to the same bytes.
    let mut h = Sha256::new();
    for field in [id, org, actor, action, target, details, &at.to_string(), prev] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The most characters an event keeps of its actor or target (rule 8): longer text is cut here and
/// ends with `…`. The use cases validate what they are given before anything is audited; this is
/// the last bound, so that no caller's input, whatever path it took, can make an event too long to
/// print or carry control characters into an administrator's terminal.
pub const MAX_TEXT_CHARS: usize = 200;
/// The same bound for each string inside an event's details.
pub const MAX_DETAIL_CHARS: usize = 500;

/// Characters an event never keeps: control characters (C0, C1, DEL: escapes, new lines, tabs)
/// and the Unicode formatting characters that reorder or hide text on a terminal (bidirectional
/// overrides and isolates, zero-width characters).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// `s` as an event keeps it: unsafe characters replaced by U+FFFD, at most `max` characters
/// (the last one `…` when cut).
pub fn bounded(s: &str, max: usize) -> String {
    let cut = s.chars().nth(max).is_some();
    let keep = if cut { max.saturating_sub(1) } else { max };
    let mut out: String = s.chars().take(keep).map(|c| if is_unsafe_char(c) { '\u{FFFD}' } else { c }).collect();
    if cut {
        out.push('…');
    }
    out
}

fn bounded_details(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(bounded(s, MAX_DETAIL_CHARS)),
        Value::Array(items) => Value::Array(items.iter().map(bounded_details).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (bounded(k, MAX_TEXT_CHARS), bounded_details(v))).collect())
        }
        other => other.clone(),
    }
}

/// Append one event to the organization's chain ('' for the system chain: events of no
/// organization). Actor, target and the strings of the details are bounded first (`bounded`).
pub fn append(
    conn: &Connection,
    org_id: &str,
    actor: &str,
    action: AuditAction,
    target: &str,
    details: &serde_json::Value,
    at: Timestamp,
) -> Result<()> {
    let mut chain = Appender::start(conn, org_id)?;
    chain.append(conn, actor, action, target, details, at)?;
    chain.finish(conn)
}

/// Many events appended to one organization's chain in one transaction (a bulk command): the head
/// is read once and written once at `finish`, instead of read and written for every event, and the
/// events are inserted `APPEND_BATCH` to a statement. Each event is linked and hashed exactly as
/// `append` does it, in the order of the calls. Nothing else may append to the same chain between
/// `start` and `finish`; if `finish` is not reached (or any call failed) the transaction must not
/// commit: events still held would be lost and the head stale, which `verify_chain` would say.
pub struct Appender {
    org_id: String,
    prev: String,
    count: i64,
    last_seq: Option<i64>,
    /// Linked and hashed, not yet inserted.
    held: Vec<Held>,
    /// Events held before they are inserted: `APPEND_BATCH` or `PG_APPEND_BATCH`.
    batch: usize,
}

/// An event of an `Appender` not yet inserted.
struct Held {
    id: String,
    actor: String,
    action: &'static str,
    target: String,
    details: String,
    at: Timestamp,
    prev: String,
    hash: String,
}

/// Events inserted by one statement of an `Appender` (9 parameters each: 900 per statement, well
/// under both engines' limits). Measured on a bulk disable of 10,000: one statement per event
/// spent most of its time starting statements and copying pages into the statement journal.
pub const APPEND_BATCH: usize = 100;

/// Events sent by one COPY of an `Appender` on PostgreSQL, where each statement waits for the
/// server: a bulk invite of 10,000 sends its events in one round trip (and one more for the last
/// event's `seq`) instead of 100.
pub const PG_APPEND_BATCH: usize = 10_000;

impl Appender {
    pub fn start(conn: &Connection, org_id: &str) -> Result<Appender> {
        // Two writers never extend one chain from the same head: in a PostgreSQL write that did
        // not name this organization (or the system, ''), its lock is taken now, and its expiries
        // due are recorded first, ahead of this event (the sweep appends through here again, and
        // then holds the lock).
        crate::usecases::audit::lock_org(conn, org_id)?;
        let (prev, count): (String, i64) = conn
            .prepare_cached("SELECT last_hash, events FROM audit_heads WHERE organization_id = ?1")?
            .query_row([org_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .unwrap_or_else(|| (GENESIS.to_string(), 0));
        let batch = match conn.backend() {
            crate::sql::Backend::Sqlite => APPEND_BATCH,
            crate::sql::Backend::Postgres => PG_APPEND_BATCH,
        };
        Ok(Appender { org_id: org_id.to_string(), prev, count, last_seq: None, held: Vec::new(), batch })
    }

    /// Append one event (actor, target and details bounded as `append` bounds them). It is
    /// inserted with the next `APPEND_BATCH` events, or at `finish`.
    pub fn append(
        &mut self,
        conn: &Connection,
        actor: &str,
        action: AuditAction,
        target: &str,
        details: &serde_json::Value,
        at: Timestamp,
    ) -> Result<()> {
        let action = action.as_str();
        let id = super::new_id();
        let (actor, target) = (bounded(actor, MAX_TEXT_CHARS), bounded(target, MAX_TEXT_CHARS));
        let details = bounded_details(details).to_string();
        let hash = event_hash(&id, &self.org_id, &actor, action, &target, &details, at, &self.prev);
        let prev = std::mem::replace(&mut self.prev, hash.clone());
        self.held.push(Held { id, actor, action, target, details, at, prev, hash });
        self.count += 1;
        if self.held.len() >= self.batch {
            self.insert_held(conn)?;
        }
        Ok(())
    }

    /// Insert the events held, in one statement.
    fn insert_held(&mut self, conn: &Connection) -> Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        if conn.backend() == crate::sql::Backend::Postgres {
            let mut copy = crate::sql::BulkRows::new(
                conn,
                "audit_events",
                &["id", "organization_id", "actor", "action", "target", "details", "at", "prev_hash", "hash"],
            )?;
            for e in &self.held {
                copy.add(params![e.id, self.org_id, e.actor, e.action, e.target, e.details, e.at, e.prev, e.hash])?;
            }
            copy.flush()?;
            // The events' seq come from the sequence in row order; the head needs the last one.
            let last = &self.held[self.held.len() - 1].id;
            let seq: i64 =
                conn.prepare_cached("SELECT seq FROM audit_events WHERE id = ?1")?.query_row([last], |r| r.get(0))?;
            self.last_seq = Some(self.last_seq.map_or(seq, |l| l.max(seq)));
            self.held.clear();
            return Ok(());
        }
        let rows: Vec<String> = (0..self.held.len())
            .map(|i| {
                // ?1 is the organization; each event's eight values follow.
                let p = 2 + 8 * i;
                format!(
                    "(?{}, ?1, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
                    p,
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6,
                    p + 7
                )
            })
            .collect();
        // RETURNING rather than last_insert_rowid(): on PostgreSQL that is lastval(), which a trigger
        // inserting elsewhere would change.
        let sql = format!(
            "INSERT INTO audit_events (id, organization_id, actor, action, target, details, at, prev_hash, hash)
             VALUES {} RETURNING seq",
            rows.join(", ")
        );
        let mut values: Vec<&dyn crate::sql::ToSql> = vec![&self.org_id];
        for e in &self.held {
            values.extend([
                &e.id as &dyn crate::sql::ToSql,
                &e.actor,
                &e.action,
                &e.target,
                &e.details,
                &e.at,
                &e.prev,
                &e.hash,
            ]);
        }
        // A full batch is always the same statement: prepared once. A last, shorter one is not kept.
        let mut st = if self.held.len() == APPEND_BATCH { conn.prepare_cached(&sql)? } else { conn.prepare(&sql)? };
        let mut seqs = st.query(values.as_slice())?;
        while let Some(r) = seqs.next()? {
            let seq: i64 = r.get(0)?;
            self.last_seq = Some(self.last_seq.map_or(seq, |last| last.max(seq)));
        }
        drop(seqs);
        drop(st);
        self.held.clear();
        Ok(())
    }

    /// Insert the events still held and write the chain's head: its last event and how many it holds.
    pub fn finish(mut self, conn: &Connection) -> Result<()> {
        self.insert_held(conn)?;
        let Some(seq) = self.last_seq else { return Ok(()) };
        conn.prepare_cached(
            "INSERT INTO audit_heads (organization_id, last_seq, last_hash, events) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (organization_id) DO UPDATE SET last_seq = ?2, last_hash = ?3, events = ?4",
        )?
        .execute(params![self.org_id, seq, self.prev, self.count])?;
        Ok(())
    }
}

pub struct Filter<'a> {
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub target: Option<&'a str>,
    pub limit: Option<i64>,
}

fn from_row(r: &crate::sql::Row) -> crate::sql::Result<Event> {
    Ok(Event {
        seq: r.get(0)?,
        id: r.get(1)?,
        organization_id: r.get(2)?,
        actor: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        details: r.get(6)?,
        at: r.get(7)?,
        prev_hash: r.get(8)?,
        hash: r.get(9)?,
    })
}

const COLUMNS: &str = "seq, id, organization_id, actor, action, target, details, at, prev_hash, hash";

/// Events of an organization, newest first. `action` matches exactly or as a prefix before a dot
/// (`members` matches `members.disable`).
pub fn list(conn: &Connection, org_id: &str, f: &Filter) -> Result<Vec<Event>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE organization_id = ?1
           AND (?2 IS NULL OR lower(actor) = lower(?2))
           AND (?3 IS NULL OR action = ?3 OR action LIKE ?3 || '.%')
           AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at <= ?5)
           AND (?6 IS NULL OR lower(target) = lower(?6))
         ORDER BY seq DESC LIMIT ?7"
    ))?;
    let rows = st
        .query_map(params![org_id, f.actor, f.action, f.since, f.until, f.target, f.limit.unwrap_or(-1)], from_row)?
        .collect::<crate::sql::Result<_>>()?;
    Ok(rows)
}

/// Every event of an organization, oldest first, handed to `each` one at a time (an export holds
/// one event in memory, whatever the length of the chain); the number of events.
pub fn each(conn: &Connection, org_id: &str, mut each: impl FnMut(Event) -> Result<()>) -> Result<u64> {
    let mut st =
        conn.prepare(&format!("SELECT {COLUMNS} FROM audit_events WHERE organization_id = ?1 ORDER BY seq"))?;
    let mut rows = st.query([org_id])?;
    let mut n = 0;
    while let Some(row) = rows.next()? {
        each(from_row(row)?)?;
        n += 1;
    }
    Ok(n)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainState {
    Intact { events: i64 },
    Broken { events: i64, at_seq: Option<i64>, why: String },
}

/// The action that opens every organization's chain (rule 8).
pub const CREATION_ACTION: AuditAction = AuditAction::OrgCreated;

/// Walk an organization's chain from the first event, recomputing every hash.
pub fn verify(conn: &Connection, org_id: &str) -> Result<ChainState> {
    verify_chain(conn, org_id, None)
}

/// Walk a chain ('' is the system chain) from the first event, recomputing every hash. An
/// organization's chain must start with its creation event. With a checkpoint (the event count
/// and head hash taken earlier), the chain must also extend it: its event number `events` must
/// carry the hash `head`, so that a chain truncated, deleted or rewritten with recomputed hashes
/// before that point is broken too.
pub fn verify_chain(conn: &Connection, org_id: &str, checkpoint: Option<(i64, &str)>) -> Result<ChainState> {
    let mut st =
        conn.prepare(&format!("SELECT {COLUMNS} FROM audit_events WHERE organization_id = ?1 ORDER BY seq"))?;
    let mut rows = st.query([org_id])?;
    let mut prev = GENESIS.to_string();
    let mut count = 0i64;
    let mut last_seq = 0i64;
    let broken = |events, at_seq, why: String| Ok(ChainState::Broken { events, at_seq, why });
    let differs = |events: i64| {
        format!(
            "the chain no longer extends the checkpoint: its event {events} differs (events were deleted or rewritten)"
        )
    };
    if let Some((0, head)) = checkpoint {
        if head != GENESIS {
            return broken(0, None, differs(0));
        }
    }
    while let Some(row) = rows.next()? {
        let e = from_row(row)?;
        count += 1;
        if count == 1 && !org_id.is_empty() && e.action != CREATION_ACTION.as_str() {
            return broken(
                count,
                Some(e.seq),
                format!(
                    "the chain starts with {} instead of the organization's creation (earlier events were deleted)",
                    bounded(&e.action, 40)
                ),
            );
        }
        if e.prev_hash != prev {
            return broken(
                count,
                Some(e.seq),
                format!("event {} does not follow the one before it (an event was deleted or changed)", e.seq),
            );
        }
        let expected =
            event_hash(&e.id, &e.organization_id, &e.actor, &e.action, &e.target, &e.details, e.at, &e.prev_hash);
        if expected != e.hash {
            return broken(count, Some(e.seq), format!("event {} was edited", e.seq));
        }
        prev = e.hash;
        last_seq = e.seq;
        if let Some((events, head)) = checkpoint {
            if count == events && prev != head {
                return broken(count, Some(e.seq), differs(events));
            }
        }
    }
    if let Some((events, _)) = checkpoint {
        if count < events {
            return broken(
                count,
                None,
                format!("the chain has {count} events, fewer than the {events} of the checkpoint: events were deleted"),
            );
        }
    }
    if count == 0 && !org_id.is_empty() {
        return broken(0, None, "the organization's chain is empty: its events were deleted".into());
    }
    let head: Option<(i64, String, i64)> = conn
        .query_row("SELECT last_seq, last_hash, events FROM audit_heads WHERE organization_id = ?1", [org_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    match head {
        None if count == 0 => Ok(ChainState::Intact { events: 0 }),
        Some((seq, hash, events)) if seq == last_seq && hash == prev && events == count => {
            Ok(ChainState::Intact { events: count })
        }
        _ => broken(count, None, "the newest events were deleted or the chain head was changed".into()),
    }
}

/// The chain's event count and head hash, as a checkpoint keeps them.
pub fn head(conn: &Connection, org_id: &str) -> Result<(i64, String)> {
    Ok(conn
        .query_row("SELECT events, last_hash FROM audit_heads WHERE organization_id = ?1", [org_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .unwrap_or_else(|| (0, GENESIS.to_string())))
}
