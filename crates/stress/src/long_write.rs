//! Part 2: one process holds a long write (a big `demo`, one transaction) while others read and
//! write. Reads must answer at once from the WAL snapshot; writers must wait and give up as exit 7
//! `unavailable` once `$GATEHOUSE_BUSY_TIMEOUT` has passed, never `internal` or "database is locked".

use crate::cli::{Caller, Gatehouse, Outcome};
use crate::stats::Samples;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct LongWrite {
    pub members: i64,
    /// How long the long write ran, from its start to its exit.
    pub held: Duration,
    pub bound: Duration,
    pub quiet: Samples,
    pub reads: Samples,
    pub reads_failed: Vec<String>,
    /// Writers that waited for the bound and gave up as exit 7, and how long they took.
    pub gave_up: Samples,
    /// Writers that got the lock: before the long write took it, or once it had committed (the
    /// process then still checkpoints the WAL before it exits).
    pub got_it: usize,
    /// Anything else a writer did (a fault, a wrong code, a wait far from the bound).
    pub writers_wrong: Vec<String>,
    /// What went wrong with the long write itself (it failed, or was never seen holding the lock).
    pub problems: Vec<String>,
}

impl LongWrite {
    /// Reads never failed and none waited as long as a writer's bound: they did not queue.
    pub fn reads_at_once(&self) -> bool {
        self.reads_failed.is_empty() && self.reads.len() > 0 && self.reads.max() < self.bound
    }

    pub fn writers_right(&self) -> bool {
        self.writers_wrong.is_empty() && self.gave_up.len() > 0
    }

    pub fn failures(&self) -> usize {
        self.reads_failed.len() + self.writers_wrong.len() + self.problems.len()
    }
}

pub fn run(g: &Gatehouse, members: i64, bound: Duration, writer_email: &str, about: &str, dir: &Path) -> LongWrite {
    let mut r = LongWrite { members, bound, ..Default::default() };
    let check = ["check", "--org", "demo", "--user", about, "--permission", "org.view"];
    for _ in 0..10 {
        r.quiet.push(g.run(Caller::Token, &check).elapsed);
    }
    let members_text = members.to_string();
    // Readers and writers start with it and stop when it ends: for most of that time it holds the
    // write lock (it signs in first, then writes every row in one transaction).
    let mut long =
        g.spawn(Caller::Owner, &["demo", "--org", "long", "--members", &members_text], &[], dir, "long-write");
    let started = long.start;
    let running = AtomicBool::new(true);
    let ended: Mutex<Option<Instant>> = Mutex::new(None);
    let bound_text = format!("{}", bound.as_secs_f64());
    let (reads, writes) = std::thread::scope(|s| {
        let reader = |args: Vec<String>| {
            let running = &running;
            s.spawn(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let mut outs = Vec::new();
                while running.load(Ordering::Relaxed) {
                    outs.push(g.run(Caller::Token, &args));
                }
                outs
            })
        };
        let list = ["members", "list", "--org", "demo", "--search", "an", "--status", "active"];
        let readers = [check.as_slice(), list.as_slice()].map(|a| reader(a.iter().map(|t| t.to_string()).collect()));
        let writer = s.spawn(|| {
            let mut outs: Vec<Outcome> = Vec::new();
            let mut admin = false;
            while running.load(Ordering::Relaxed) {
                let role = if admin { "member" } else { "admin" };
                let out = g.run_env(
                    Some(Caller::Token),
                    &["members", "role", "--org", "demo", writer_email, role],
                    &[("GATEHOUSE_BUSY_TIMEOUT", &bound_text)],
                );
                if out.ok() {
                    admin = !admin;
                }
                outs.push(out);
            }
            if admin {
                g.run(Caller::Token, &["members", "role", "--org", "demo", writer_email, "member"]);
            }
            outs
        });
        while long.running() {
            std::thread::sleep(Duration::from_millis(10));
        }
        *ended.lock().unwrap() = Some(Instant::now());
        running.store(false, Ordering::Relaxed);
        let reads: Vec<Outcome> = readers.into_iter().flat_map(|h| h.join().expect("reader")).collect();
        (reads, writer.join().expect("writer"))
    });
    let ended = ended.into_inner().unwrap().expect("the long write ended");
    r.held = ended.duration_since(started);
    let out = long.finish();
    if !out.ok() {
        r.problems.push(format!("the long write itself: {}", out.describe()));
    }
    for read in reads {
        r.reads.push(read.elapsed);
        if !read.ok() {
            r.reads_failed.push(read.describe());
        }
    }
    for w in writes {
        if w.code == 7 && w.error_code() == "unavailable" && !w.is_fault() {
            // It waited the bound (not much less, not much more) before giving up.
            if w.elapsed + Duration::from_millis(50) < bound || w.elapsed > bound + Duration::from_secs(3) {
                r.writers_wrong.push(format!(
                    "gave up after {:.0} ms, bound {:.0} ms",
                    crate::cli::ms(w.elapsed),
                    crate::cli::ms(bound)
                ));
            } else {
                r.gave_up.push(w.elapsed);
            }
        } else if w.ok() {
            r.got_it += 1;
        } else {
            r.writers_wrong.push(w.describe());
        }
    }
    r
}
