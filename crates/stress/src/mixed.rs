//! Part 1: N `gatehouse` processes at once doing mixed reads and writes on one database file.
//! Each of N workers starts one process after another for a fixed time, cycling through a schedule
//! of command kinds; every worker changes only its own two members, so the writes contend for the
//! lock but never for the same row.

use crate::cli::{Caller, Gatehouse, Outcome};
use crate::stats::Samples;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    CheckToken,
    CheckPassword,
    MembersList,
    Role,
    Invite,
    DisableEnable,
}

impl Kind {
    pub const ALL: [Kind; 6] =
        [Kind::CheckToken, Kind::CheckPassword, Kind::MembersList, Kind::Role, Kind::Invite, Kind::DisableEnable];

    pub fn label(self) -> &'static str {
        match self {
            Kind::CheckToken => "check (token)",
            Kind::CheckPassword => "check (password)",
            Kind::MembersList => "members list",
            Kind::Role => "members role",
            Kind::Invite => "invites create",
            Kind::DisableEnable => "members disable/enable",
        }
    }
}

/// Ten commands: four checks by token, one by password, two member lists, three writes.
const SCHEDULE: [Kind; 10] = [
    Kind::CheckToken,
    Kind::MembersList,
    Kind::Role,
    Kind::CheckToken,
    Kind::CheckPassword,
    Kind::Invite,
    Kind::CheckToken,
    Kind::MembersList,
    Kind::DisableEnable,
    Kind::CheckToken,
];

/// The two members a worker changes: one whose role it toggles, one it disables and enables.
#[derive(Clone, Debug)]
pub struct Targets {
    pub role: String,
    pub toggle: String,
}

#[derive(Default, Debug)]
pub struct KindStats {
    pub latency: Samples,
    /// Commands that did not exit 0, by exit code.
    pub failed: BTreeMap<i32, usize>,
}

#[derive(Debug)]
pub struct Level {
    pub processes: usize,
    pub elapsed: Duration,
    pub kinds: BTreeMap<Kind, KindStats>,
    /// Outcomes that must never happen (internal, "database is locked"), described.
    pub faults: Vec<String>,
}

impl Level {
    pub fn commands(&self) -> usize {
        self.kinds.values().map(|k| k.latency.len()).sum()
    }

    pub fn per_second(&self) -> f64 {
        self.commands() as f64 / self.elapsed.as_secs_f64()
    }

    pub fn checks_per_second(&self) -> f64 {
        let checks: usize = [Kind::CheckToken, Kind::CheckPassword]
            .iter()
            .filter_map(|k| self.kinds.get(k))
            .map(|k| k.latency.len())
            .sum();
        checks as f64 / self.elapsed.as_secs_f64()
    }

    pub fn failures(&self) -> usize {
        self.kinds.values().flat_map(|k| k.failed.values()).sum()
    }
}

/// One level: `targets.len()` workers for `time`.
pub fn run_level(g: &Gatehouse, round: usize, targets: &[Targets], about: &str, time: Duration) -> Level {
    let start = Instant::now();
    let results: Vec<(Vec<(Kind, Outcome)>, Instant)> = std::thread::scope(|s| {
        let workers: Vec<_> = targets
            .iter()
            .enumerate()
            .map(|(w, t)| s.spawn(move || worker(g, round, w, t, about, start, time)))
            .collect();
        workers.into_iter().map(|h| h.join().expect("worker")).collect()
    });
    // Until the last counted command ended (each worker then puts its members back, uncounted).
    let elapsed = results.iter().map(|(_, end)| end.duration_since(start)).max().unwrap_or_default();
    let mut kinds: BTreeMap<Kind, KindStats> = BTreeMap::new();
    let mut faults = Vec::new();
    for (kind, out) in results.into_iter().flat_map(|(done, _)| done) {
        let stats = kinds.entry(kind).or_default();
        stats.latency.push(out.elapsed);
        if !out.ok() {
            *stats.failed.entry(out.code).or_default() += 1;
        }
        if out.is_fault() {
            faults.push(format!("{} with {} processes: {}", kind.label(), targets.len(), out.describe()));
        }
    }
    Level { processes: targets.len(), elapsed, kinds, faults }
}

fn worker(
    g: &Gatehouse,
    round: usize,
    w: usize,
    t: &Targets,
    about: &str,
    start: Instant,
    time: Duration,
) -> (Vec<(Kind, Outcome)>, Instant) {
    let mut done = Vec::new();
    let mut admin = false;
    let mut disabled = false;
    let mut i = 0usize;
    while start.elapsed() < time {
        let kind = SCHEDULE[(i + w) % SCHEDULE.len()];
        let out = match kind {
            Kind::CheckToken => {
                g.run(Caller::Token, &["check", "--org", "demo", "--user", about, "--permission", "org.view"])
            }
            Kind::CheckPassword => {
                g.run(Caller::Owner, &["check", "--org", "demo", "--user", about, "--permission", "members.manage"])
            }
            Kind::MembersList => g.run(Caller::Token, &["members", "list", "--org", "demo", "--search", "an"]),
            Kind::Role => {
                let role = if admin { "member" } else { "admin" };
                let out = g.run(Caller::Token, &["members", "role", "--org", "demo", &t.role, role]);
                if out.ok() {
                    admin = !admin;
                }
                out
            }
            Kind::Invite => {
                let email = format!("mixed{round}w{w}n{i}@stress.example");
                g.run(Caller::Token, &["invites", "create", "--org", "demo", "--emails", &email, "--role", "member"])
            }
            Kind::DisableEnable => {
                let verb = if disabled { "enable" } else { "disable" };
                let out = g.run(Caller::Token, &["members", verb, "--org", "demo", &t.toggle]);
                if out.ok() {
                    disabled = !disabled;
                }
                out
            }
        };
        done.push((kind, out));
        i += 1;
    }
    let end = Instant::now();
    // Leave the worker's members as they were, so the next level starts from the same state.
    if admin {
        g.run(Caller::Token, &["members", "role", "--org", "demo", &t.role, "member"]);
    }
    if disabled {
        g.run(Caller::Token, &["members", "enable", "--org", "demo", &t.toggle]);
    }
    (done, end)
}
