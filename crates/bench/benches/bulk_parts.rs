//! Where a bulk disable and a bulk invite of 10,000 spend their time and their I/O (issue 9), on a
//! `demo` database at $GATEHOUSE_BENCH_DB (made here with $GATEHOUSE_BENCH_MEMBERS members when the
//! file does not exist yet). Each round disables the same 10,000 active members (then enables them
//! again, untimed) and invites 10,000 new people into a new organization, under each page-cache
//! size of $GATEHOUSE_BENCH_CACHES (KiB, default "65536 262144"), interleaved round by round.
//!
//! Beside wall and on-CPU time it prints counts that do not move with the machine's load, from
//! `sqlite3_db_status`: pages looked up in the cache (hits + misses), pages read from the file
//! (misses), pages written to the WAL (CACHE_WRITE: the commit's and the spills'), and spills (a
//! dirty page written out before the commit to make room). The WAL is checkpointed outside the
//! timed part (autocheckpoint off), and that checkpoint is timed on its own.
//!
//!   GATEHOUSE_BENCH_DB=/tmp/x/demo.db cargo bench -p gatehouse-bench --bench bulk_parts

use gatehouse_core::usecases::{invitations, members, orgs};
use gatehouse_core::{Database, Principal};
use std::time::Instant;

const OWNER: &str = "owner@bench.io";
const PASSWORD: &str = "bench-owner-pass";

/// Milliseconds this thread has spent on a core, from `/proc/thread-self/schedstat`.
fn on_cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()))
        .map_or(f64::NAN, |ns| ns / 1e6)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The connection's page counters since the last call: (lookups, misses, written, spills).
fn pages(db: &Database) -> [f64; 4] {
    use rusqlite::ffi::*;
    let handle = unsafe { db.sqlite_connection().unwrap().handle() };
    let read = |op| {
        let (mut current, mut high) = (0, 0);
        // SAFETY: a valid handle and two out-parameters; 1 resets the counter.
        assert_eq!(unsafe { sqlite3_db_status(handle, op, &mut current, &mut high, 1) }, 0);
        current as f64
    };
    let (hit, miss) = (read(SQLITE_DBSTATUS_CACHE_HIT), read(SQLITE_DBSTATUS_CACHE_MISS));
    [hit + miss, miss, read(SQLITE_DBSTATUS_CACHE_WRITE), read(SQLITE_DBSTATUS_CACHE_SPILL)]
}

const COLUMNS: [&str; 7] = ["wall ms", "cpu ms", "ckpt ms", "lookups", "misses", "written", "spills"];

/// One timed call: wall, CPU, then the checkpoint's time, then the page counters.
fn measure(db: &mut Database, f: impl FnOnce(&mut Database)) -> [f64; 7] {
    pages(db);
    let (started, cpu) = (Instant::now(), on_cpu_ms());
    f(db);
    let (wall, cpu) = (started.elapsed().as_secs_f64() * 1e3, on_cpu_ms() - cpu);
    let p = pages(db);
    let started = Instant::now();
    db.sqlite_connection().unwrap().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let ckpt = started.elapsed().as_secs_f64() * 1e3;
    [wall, cpu, ckpt, p[0], p[1], p[2], p[3]]
}

fn main() {
    let path = std::env::var("GATEHOUSE_BENCH_DB").expect("GATEHOUSE_BENCH_DB: a demo database");
    let rounds: usize = std::env::var("GATEHOUSE_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let caches: Vec<i64> = std::env::var("GATEHOUSE_BENCH_CACHES")
        .unwrap_or_else(|_| "65536 262144".into())
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    let now = gatehouse_core::time::now();
    if !std::path::Path::new(&path).exists() {
        let n: i64 = std::env::var("GATEHOUSE_BENCH_MEMBERS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
        let mut db =
            Database::open_with(&path, gatehouse_core::db::OpenOptions { create: true, ..Default::default() }).unwrap();
        orgs::init(&mut db, "Bench", OWNER, "Bench Owner", PASSWORD, now).unwrap();
        let who = gatehouse_core::auth::sign_in(&mut db, OWNER, PASSWORD, now).unwrap();
        let started = Instant::now();
        let r = gatehouse_core::usecases::demo::demo(&mut db, &who, "demo", n, now).unwrap();
        println!("demo of {n}: {} rows in {:.1} s", r.rows, started.elapsed().as_secs_f64());
    }
    let mut db = Database::open_existing(&path).unwrap();
    db.sqlite_connection().unwrap().execute_batch("PRAGMA wal_autocheckpoint = 0").unwrap();
    let who: Principal = gatehouse_core::auth::sign_in(&mut db, OWNER, PASSWORD, now).unwrap();
    let active = members::MemberQuery {
        filter: members::MemberFilter { status: Some("active".into()), role: Some("member".into()), search: None },
        per_page: 10_000,
        ..Default::default()
    };
    let emails: Vec<String> = members::list(&mut db, &who, "demo", &active, now)
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.email.clone())
        .collect();
    let selection = members::Selection::Emails(emails.clone());
    println!("{} members to disable; rounds {rounds}; caches (KiB) {caches:?}", emails.len());
    let mut disable: Vec<Vec<[f64; 7]>> = vec![vec![]; caches.len()];
    let mut invite: Vec<Vec<[f64; 7]>> = vec![vec![]; caches.len()];
    let stamp = std::process::id();
    for round in 0..rounds {
        for (c, kib) in caches.iter().enumerate() {
            db.sqlite_connection().unwrap().pragma_update(None, "cache_size", -kib).unwrap();
            // Every round starts from a cold cache of the same size: the page cache of a command run
            // from the CLI starts empty (the file itself is in the OS cache after the first round).
            db.sqlite_connection().unwrap().execute_batch("PRAGMA shrink_memory").unwrap();
            let m = measure(&mut db, |db| {
                let r = members::set_enabled(db, &who, "demo", &selection, false, now).unwrap();
                assert_eq!(r.changed as usize, emails.len());
            });
            members::set_enabled(&mut db, &who, "demo", &selection, true, now).unwrap();
            db.sqlite_connection().unwrap().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
            disable[c].push(m);
            let org = orgs::create(&mut db, &who, &format!("Invite {stamp} {round} {kib}"), None, now).unwrap();
            let invitees: Vec<invitations::Invitee> = (0..10_000)
                .map(|i| invitations::Invitee {
                    email: format!("person{i}@r{round}c{kib}p{stamp}.example"),
                    role: "member".into(),
                    access_expires_at: None,
                    workspace: None,
                })
                .collect();
            db.sqlite_connection().unwrap().execute_batch("PRAGMA shrink_memory").unwrap();
            let m = measure(&mut db, |db| {
                invitations::create(db, &who, &org.slug, &invitees, None, now).unwrap();
            });
            invite[c].push(m);
            println!("round {round} cache {kib}: disable {:?}", disable[c].last().unwrap().map(|x| x.round()));
            println!("round {round} cache {kib}: invite  {:?}", invite[c].last().unwrap().map(|x| x.round()));
        }
    }
    println!("\nmedians of {rounds} rounds ({})", COLUMNS.join(" | "));
    for (c, kib) in caches.iter().enumerate() {
        for (name, runs) in [("disable 10,000", &disable[c]), ("invite 10,000", &invite[c])] {
            let cells: Vec<String> = (0..COLUMNS.len())
                .map(|k| format!("{:.0}", median(&runs.iter().map(|r| r[k]).collect::<Vec<_>>())))
                .collect();
            println!("{name:16} cache {kib:>7} KiB | {}", cells.join(" | "));
        }
    }
}
