//! Part 3: K rounds of `kill -9` at a random moment during a role change, a bulk invite
//! (`invites create --from-csv`), a bulk disable (`members disable --all-matching`) or a `demo`,
//! while another process keeps committing small writes. After each round:
//! - SQLite's `PRAGMA integrity_check` and `foreign_key_check`, `audit verify` of every
//!   organization, at least one active owner in each (integrity failures);
//! - every command that exited 0 is visible (lost acknowledged commits);
//! - the killed command changed all of its rows or none (partial bulks).

use crate::cli::{Caller, Gatehouse};
use rand::Rng;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Victim {
    Role,
    BulkInvite,
    BulkDisable,
    Demo,
}

impl Victim {
    pub const ALL: [Victim; 4] = [Victim::Role, Victim::BulkInvite, Victim::BulkDisable, Victim::Demo];

    pub fn label(self) -> &'static str {
        match self {
            Victim::Role => "members role",
            Victim::BulkInvite => "invites create --from-csv",
            Victim::BulkDisable => "members disable --all-matching",
            Victim::Demo => "demo",
        }
    }
}

/// What the rounds work on, from the set-up.
pub struct Plan<'a> {
    pub rounds: usize,
    /// The member whose role the victim changes, and the one the other writer's role toggles.
    pub role_victim: &'a str,
    pub acker: &'a str,
    /// Each bulk-disable round disables the active members (role member) of a `demo` of this size.
    pub disable_members: i64,
    pub bulk_rows: usize,
    pub demo_members: i64,
    /// `members list` total of a `demo` organization minus its N.
    pub demo_extra: i64,
    /// About how long each victim runs, to pick the moment of the kill in.
    pub estimate: [Duration; 4],
}

#[derive(Debug)]
pub struct RoundReport {
    pub round: usize,
    pub victim: Victim,
    /// Some(after) when it was killed `after` its start; None when it ended first.
    pub killed_after: Option<Duration>,
    pub exit: i32,
    /// Small commits acknowledged by the other writer during the round.
    pub acknowledged: usize,
    pub left: Left,
    pub what: String,
}

/// What a command that must apply fully or not at all left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    Nothing,
    All,
    /// Neither the state before nor the state of the whole command.
    Partial,
    /// It exited 0, yet its change is not there (whole).
    Lost,
}

/// Judge what was `found` against the state `before` the command and the state it leaves when `all`
/// of it applied; `acknowledged` when it exited 0.
pub fn judge<T: PartialEq>(before: &T, all: &T, found: &T, acknowledged: bool) -> Left {
    if found == all {
        Left::All
    } else if found != before {
        Left::Partial
    } else if acknowledged {
        Left::Lost
    } else {
        Left::Nothing
    }
}

#[derive(Debug, Default)]
pub struct Kills {
    pub rounds: Vec<RoundReport>,
    pub integrity_failures: Vec<String>,
    pub lost: Vec<String>,
    pub partial: Vec<String>,
    pub faults: Vec<String>,
}

impl Kills {
    pub fn failures(&self) -> usize {
        self.integrity_failures.len() + self.lost.len() + self.partial.len() + self.faults.len()
    }
}

/// Everything the other writer had acknowledged (exit 0) in a round.
#[derive(Default)]
struct Acked {
    role: Option<String>,
    invites: Vec<String>,
    count: usize,
    faults: Vec<String>,
}

enum Before {
    Role { from: String, to: String },
    Invite { search: String, rows: usize },
    Disable { org: String, active: i64, disabled: i64 },
    Demo { slug: String },
}

pub fn run(g: &Gatehouse, plan: &Plan, dir: &Path) -> Kills {
    let mut k = Kills::default();
    let mut rng = rand::rng();
    for round in 1..=plan.rounds {
        let victim = Victim::ALL[(round - 1) % Victim::ALL.len()];
        if let Err(e) = one_round(g, plan, dir, round, victim, &mut rng, &mut k) {
            // The state could not even be read back: that is an integrity failure too.
            k.integrity_failures.push(format!("round {round}: {e}"));
        }
    }
    k
}

fn one_round(
    g: &Gatehouse,
    plan: &Plan,
    dir: &Path,
    round: usize,
    victim: Victim,
    rng: &mut impl Rng,
    k: &mut Kills,
) -> Result<(), String> {
    let (before, args): (Before, Vec<String>) = match victim {
        Victim::Role => {
            let from = only_role(&roles_of(g, "demo", plan.role_victim)?).unwrap_or_default();
            let to = if from == "admin" { "member" } else { "admin" }.to_string();
            let args = ["members", "role", "--org", "demo", plan.role_victim, to.as_str()].map(String::from).to_vec();
            (Before::Role { from, to }, args)
        }
        Victim::BulkInvite => {
            let search = format!("bulkr{round}x");
            let csv = dir.join(format!("invites-{round}.csv"));
            let mut text = String::from("email,role\n");
            for i in 0..plan.bulk_rows {
                text.push_str(&format!("{search}{i}@stress.example,member\n"));
            }
            std::fs::write(&csv, text).map_err(|e| e.to_string())?;
            let args = ["invites", "create", "--org", "demo", "--from-csv", csv.to_string_lossy().as_ref()]
                .map(String::from)
                .to_vec();
            (Before::Invite { search, rows: plan.bulk_rows }, args)
        }
        Victim::BulkDisable => {
            // An organization of its own, so the bulk is large and its rows known.
            let org = format!("bulk{round}");
            let n = plan.disable_members.to_string();
            let made = g.run(Caller::Owner, &["demo", "--org", &org, "--members", &n]);
            if !made.ok() {
                return Err(format!("demo --org {org}: {}", made.describe()));
            }
            let counts = g.counts(&org, &["--role", "member"])?;
            let active = counts["counts"]["active"].as_i64().unwrap_or(-1);
            let disabled = counts["counts"]["disabled"].as_i64().unwrap_or(-1);
            let args =
                ["members", "disable", "--org", &org, "--all-matching", "--status", "active", "--role", "member"]
                    .map(String::from)
                    .to_vec();
            (Before::Disable { org, active, disabled }, args)
        }
        Victim::Demo => {
            let slug = format!("kill{round}");
            let n = plan.demo_members.to_string();
            (
                Before::Demo { slug: slug.clone() },
                ["demo", "--org", slug.as_str(), "--members", n.as_str()].map(String::from).to_vec(),
            )
        }
    };
    let stop = AtomicBool::new(false);
    let (outcome, killed_after, acked) = std::thread::scope(|s| {
        let other = s.spawn(|| other_writer(g, plan.acker, round, &stop));
        // Let the other writer get going, so the kill can land while both want the lock.
        std::thread::sleep(Duration::from_millis(30));
        let caller = match victim {
            Victim::Role | Victim::BulkInvite => Caller::Token,
            Victim::BulkDisable | Victim::Demo => Caller::Owner,
        };
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut running = g.spawn(caller, &argv, &[], dir, &format!("round-{round}"));
        let estimate = plan.estimate[Victim::ALL.iter().position(|v| *v == victim).unwrap()];
        // Mostly while it writes (after the process started and signed in); now and then after it ended,
        // so acknowledged victims are checked too.
        let at = estimate.mul_f64(rng.random_range(0.2..1.1));
        while running.start.elapsed() < at && running.running() {
            std::thread::sleep(Duration::from_millis(2));
        }
        let killed_after = running.kill().then(|| running.start.elapsed());
        let outcome = running.finish();
        stop.store(true, Ordering::Relaxed);
        (outcome, killed_after, other.join().expect("the other writer"))
    });
    let acknowledged_by_victim = killed_after.is_none() && outcome.ok();
    if killed_after.is_none() && outcome.is_fault() {
        k.faults.push(format!("round {round}, {}: {}", victim.label(), outcome.describe()));
    }
    k.faults.extend(acked.faults.iter().map(|f| format!("round {round}, the other writer: {f}")));

    // What the killed (or finished) command left.
    let (left, what) = match &before {
        Before::Role { from, to } => {
            let roles = roles_of(g, "demo", plan.role_victim)?;
            let found = only_role(&roles);
            let left = judge(&Some(from.clone()), &Some(to.clone()), &found, acknowledged_by_victim);
            (left, format!("{}: role {from} → {roles:?}", plan.role_victim))
        }
        Before::Invite { search, rows } => {
            let found = g.members("demo", search, &[])?.len();
            (judge(&0, rows, &found, acknowledged_by_victim), format!("{found} of {rows} invitations"))
        }
        Before::Disable { org, active, disabled } => {
            let counts = g.counts(org, &["--role", "member"])?;
            let found = (
                counts["counts"]["active"].as_i64().unwrap_or(-1),
                counts["counts"]["disabled"].as_i64().unwrap_or(-1),
            );
            let left = judge(&(*active, *disabled), &(0, disabled + active), &found, acknowledged_by_victim);
            (left, format!("{org}: {} of {active} active members disabled", active - found.0))
        }
        Before::Demo { slug } => {
            let total = match org_slugs(g)?.contains(slug) {
                true => Some(g.counts(slug, &[])?["total"].as_i64().unwrap_or(-1)),
                false => None,
            };
            let full = plan.demo_members + plan.demo_extra;
            let left = judge(&None, &Some(full), &total, acknowledged_by_victim);
            (left, total.map_or(format!("{slug}: not there"), |t| format!("{slug}: {t} of {full} rows")))
        }
    };
    match left {
        Left::Nothing | Left::All => {}
        Left::Partial => k.partial.push(format!("round {round}, {}: {what}", victim.label())),
        Left::Lost => k.lost.push(format!("round {round}, {} exited 0: {what}", victim.label())),
    }

    // The other writer's acknowledged commits.
    if let Some(role) = &acked.role {
        let roles = roles_of(g, "demo", plan.acker)?;
        if only_role(&roles).as_deref() != Some(role) {
            k.lost.push(format!("round {round}: {} acknowledged role {role}, found {roles:?}", plan.acker));
        }
    }
    let invited: BTreeSet<String> = g
        .members("demo", &format!("ackr{round}x"), &[])?
        .iter()
        .filter_map(|m| m["email"].as_str().map(str::to_string))
        .collect();
    for email in &acked.invites {
        if !invited.contains(email) {
            k.lost.push(format!("round {round}: invitation of {email} acknowledged, not found"));
        }
    }

    k.integrity_failures.extend(integrity(g).into_iter().map(|e| format!("round {round}: {e}")));
    k.rounds.push(RoundReport {
        round,
        victim,
        killed_after,
        exit: outcome.code,
        acknowledged: acked.count,
        left,
        what,
    });
    Ok(())
}

/// Small writes one after another until told to stop, remembering what was acknowledged.
fn other_writer(g: &Gatehouse, email: &str, round: usize, stop: &AtomicBool) -> Acked {
    let mut acked = Acked::default();
    let mut admin = only_role(&roles_of(g, "demo", email).unwrap_or_default()).as_deref() == Some("admin");
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let out = if i % 2 == 0 {
            let role = if admin { "member" } else { "admin" };
            let out = g.run(Caller::Token, &["members", "role", "--org", "demo", email, role]);
            if out.ok() {
                admin = !admin;
                acked.role = Some(role.to_string());
            }
            out
        } else {
            let invitee = format!("ackr{round}x{i}@stress.example");
            let out =
                g.run(Caller::Token, &["invites", "create", "--org", "demo", "--emails", &invitee, "--role", "member"]);
            if out.ok() {
                acked.invites.push(invitee);
            }
            out
        };
        if out.ok() {
            acked.count += 1;
        } else if out.is_fault() {
            acked.faults.push(out.describe());
        }
        i += 1;
    }
    acked
}

/// The organization roles of one member, as `members list` shows them.
pub fn roles_of(g: &Gatehouse, org: &str, email: &str) -> Result<Vec<String>, String> {
    let items = g.members(org, email, &[])?;
    let Some(item) = items.iter().find(|m| m["email"].as_str() == Some(email)) else {
        return Err(format!("{email} is not in the member list of {org}"));
    };
    Ok(item["roles"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect())
}

fn only_role(roles: &[String]) -> Option<String> {
    match roles {
        [one] => Some(one.clone()),
        _ => None,
    }
}

pub fn org_slugs(g: &Gatehouse) -> Result<BTreeSet<String>, String> {
    let out = g.run(Caller::Owner, &["orgs", "list"]);
    if !out.ok() {
        return Err(format!("orgs list: {}", out.describe()));
    }
    Ok(out.json()["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["slug"].as_str().map(str::to_string))
        .collect())
}

/// SQLite's own checks, then `audit verify` and an active owner in every organization.
pub fn integrity(g: &Gatehouse) -> Vec<String> {
    let mut failures = Vec::new();
    match sqlite_checks(&g.db) {
        Ok(mut f) => failures.append(&mut f),
        Err(e) => failures.push(format!("opening the database for PRAGMA integrity_check: {e}")),
    }
    let slugs = match org_slugs(g) {
        Ok(s) => s,
        Err(e) => {
            failures.push(e);
            return failures;
        }
    };
    for slug in slugs {
        let out = g.run(Caller::Owner, &["audit", "verify", "--org", &slug]);
        if !out.ok() || out.json()["ok"] != Value::Bool(true) {
            failures.push(format!("audit verify --org {slug}: {}", out.describe()));
        }
        match g.counts(&slug, &["--role", "owner", "--status", "active"]) {
            Ok(v) if v["total"].as_i64().unwrap_or(0) >= 1 => {}
            Ok(_) => failures.push(format!("{slug} has no active owner")),
            Err(e) => failures.push(e),
        }
    }
    failures
}

fn sqlite_checks(db: &Path) -> rusqlite::Result<Vec<String>> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let mut failures = Vec::new();
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let rows: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    if rows != ["ok"] {
        failures.push(format!("PRAGMA integrity_check: {}", rows.join("; ")));
    }
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let broken = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    if !broken.is_empty() {
        failures.push(format!("PRAGMA foreign_key_check: {} rows in {:?}", broken.len(), broken));
    }
    Ok(failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulk_is_judged_all_nothing_partial_or_lost() {
        // A bulk invite of 1,000 rows.
        assert_eq!(judge(&0, &1000, &0, false), Left::Nothing);
        assert_eq!(judge(&0, &1000, &1000, false), Left::All);
        assert_eq!(judge(&0, &1000, &1000, true), Left::All);
        assert_eq!(judge(&0, &1000, &999, false), Left::Partial);
        assert_eq!(judge(&0, &1000, &999, true), Left::Partial);
        assert_eq!(judge(&0, &1000, &0, true), Left::Lost);
        // A bulk disable of 68 active members beside 12 disabled ones: (active, disabled).
        assert_eq!(judge(&(68, 12), &(0, 80), &(0, 80), true), Left::All);
        assert_eq!(judge(&(68, 12), &(0, 80), &(30, 50), false), Left::Partial);
        assert_eq!(judge(&(68, 12), &(0, 80), &(68, 12), true), Left::Lost);
        // A demo: no organization, or one with every row.
        assert_eq!(judge(&None, &Some(1001), &None, false), Left::Nothing);
        assert_eq!(judge(&None, &Some(1001), &Some(400), false), Left::Partial);
        assert_eq!(judge(&None, &Some(1001), &None, true), Left::Lost);
        // A role change that left no role, or two, is partial.
        let (member, admin) = (Some("member".to_string()), Some("admin".to_string()));
        assert_eq!(judge(&member, &admin, &None, false), Left::Partial);
        assert_eq!(judge(&member, &admin, &member, true), Left::Lost);
    }
}
