//! Where the Users page spends its time (issue 9), on an existing `demo` database: the window's
//! page (search "a", active, role member, by name, 50 a page) first and deep, capped ("1,000+") and
//! exact counts, each timed (median wall and on-CPU milliseconds) and counted per statement with
//! SQLite's own counters, which do not move with the machine's load: VM steps, full-scan steps,
//! sorts, automatic indexes, runs (`sqlite3_stmt_status`), and the pages the page asked the cache
//! for (`sqlite3_db_status` cache hits + misses).
//!
//!   GATEHOUSE_BENCH_DB=/tmp/x/demo.db cargo bench -p gatehouse-bench --bench page_parts
//!
//! Knobs: `GATEHOUSE_BENCH_MEMBERS=N` makes the database first when the file does not exist (the
//! owner of `scripts/bench-table`); `GATEHOUSE_PAGE_ROUNDS` (default 15) timed rounds of each page;
//! `GATEHOUSE_PAGE_COUNTS=0` leaves the per-statement table out; `GATEHOUSE_PAGE_ONLY=KIND` loads
//! that page kind `ROUNDS` times and nothing else (for `valgrind --tool=callgrind`). One line of
//! JSON (`{"kind": median ms, ...}`) ends the output, so two builds can be run in turn and compared.

#[path = "shared/window_page.rs"]
mod window_page;

use gatehouse_core::usecases::{demo, members, orgs};
use gatehouse_core::{Database, Principal, Timestamp};
use std::time::Instant;
use window_page::page_query as query;

const OWNER: &str = "owner@bench.io";
const PASSWORD: &str = "bench-owner-pass";

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn on_cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()))
        .map_or(f64::NAN, |ns| ns / 1e6)
}

/// One statement's counters since the last reset.
struct Counted {
    sql: String,
    runs: i64,
    steps: i64,
    fullscan: i64,
    sorts: i64,
    autoindex: i64,
}

/// Every statement the connection holds (the cached ones), its counters read and reset.
fn statement_counters(db: &Database, reset: bool) -> Vec<Counted> {
    use rusqlite::ffi;
    let conn = db.sqlite_connection().expect("a SQLite database");
    let mut out = Vec::new();
    // SAFETY: the handle is valid while `conn` is borrowed; these calls read (and reset) the
    // counters of the connection's statements and read their SQL text.
    unsafe {
        let handle = conn.handle();
        let r = i32::from(reset);
        let mut stmt = ffi::sqlite3_next_stmt(handle, std::ptr::null_mut());
        while !stmt.is_null() {
            let text = ffi::sqlite3_sql(stmt);
            let sql = if text.is_null() {
                String::new()
            } else {
                std::ffi::CStr::from_ptr(text).to_string_lossy().split_whitespace().collect::<Vec<_>>().join(" ")
            };
            out.push(Counted {
                sql,
                runs: ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_RUN, r) as i64,
                steps: ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_VM_STEP, r) as i64,
                fullscan: ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_FULLSCAN_STEP, r) as i64,
                sorts: ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_SORT, r) as i64,
                autoindex: ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_AUTOINDEX, r) as i64,
            });
            stmt = ffi::sqlite3_next_stmt(handle, stmt);
        }
    }
    out
}

/// Pages asked of the cache since the last reset (hits + misses).
fn cache_pages(db: &Database, reset: bool) -> i64 {
    use rusqlite::ffi;
    let conn = db.sqlite_connection().expect("a SQLite database");
    let (mut hit, mut miss, mut high) = (0, 0, 0);
    // SAFETY: as above; sqlite3_db_status reads (and resets) the connection's counters.
    unsafe {
        let handle = conn.handle();
        ffi::sqlite3_db_status(handle, ffi::SQLITE_DBSTATUS_CACHE_HIT, &mut hit, &mut high, i32::from(reset));
        ffi::sqlite3_db_status(handle, ffi::SQLITE_DBSTATUS_CACHE_MISS, &mut miss, &mut high, i32::from(reset));
    }
    i64::from(hit) + i64::from(miss)
}

fn main() {
    let path = std::env::var("GATEHOUSE_BENCH_DB").expect("GATEHOUSE_BENCH_DB: a demo database");
    let env_int = |name: &str, default: i64| std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    let rounds = env_int("GATEHOUSE_PAGE_ROUNDS", 15) as usize;
    let now = gatehouse_core::time::now();
    if !std::path::Path::new(&path).exists() {
        let n = env_int("GATEHOUSE_BENCH_MEMBERS", 100_000);
        let mut db = Database::open(&path).unwrap();
        orgs::init(&mut db, "Bench", OWNER, "Bench Owner", PASSWORD, now).unwrap();
        let who = gatehouse_core::auth::sign_in(&mut db, OWNER, PASSWORD, now).unwrap();
        let report = demo::demo(&mut db, &who, "demo", n, now).unwrap();
        eprintln!("made {path}: {} rows", report.rows);
    }
    let mut db = Database::open_existing(&path).unwrap();
    let who = gatehouse_core::auth::sign_in(&mut db, OWNER, PASSWORD, now).unwrap();
    let total = members::list(&mut db, &who, "demo", &query(1, None), now).unwrap().total;
    let deep = (total / 50).clamp(1, 10_000);
    let kinds: Vec<(&str, members::MemberQuery)> = vec![
        ("page_1_capped", query(1, Some(1000))),
        ("page_deep_capped", query(deep, Some(1000))),
        ("page_1_exact", query(1, None)),
        ("page_deep_exact", query(deep, None)),
    ];
    let list = |db: &mut Database, who: &Principal, q: &members::MemberQuery, now: Timestamp| {
        std::hint::black_box(members::list(db, who, "demo", q, now).unwrap());
    };

    if let Ok(only) = std::env::var("GATEHOUSE_PAGE_ONLY") {
        let (_, q) = kinds.iter().find(|(k, _)| *k == only).expect("GATEHOUSE_PAGE_ONLY: one of the page kinds");
        for _ in 0..rounds {
            list(&mut db, &who, q, now);
        }
        return;
    }

    println!("matching rows {total}, deep page {deep}");
    if env_int("GATEHOUSE_PAGE_COUNTS", 1) != 0 {
        for (kind, q) in &kinds {
            list(&mut db, &who, q, now);
            statement_counters(&db, true);
            cache_pages(&db, true);
            list(&mut db, &who, q, now);
            let pages = cache_pages(&db, false);
            let mut counted: Vec<Counted> = statement_counters(&db, true).into_iter().filter(|c| c.runs > 0).collect();
            counted.sort_by_key(|c| -c.steps);
            let steps: i64 = counted.iter().map(|c| c.steps).sum();
            println!("\n{kind}: {} statements run, {steps} VM steps, {pages} cache pages", counted.len());
            for c in &counted {
                let sql: String = c.sql.chars().take(150).collect();
                println!(
                    "  {:>9} steps {:>8} fullscan {} sort {} autoindex {} run  {sql}",
                    c.steps, c.fullscan, c.sorts, c.autoindex, c.runs
                );
            }
        }
    }

    // Timed rounds, the kinds interleaved so the load weighs on each alike.
    let mut wall: Vec<Vec<f64>> = vec![vec![]; kinds.len()];
    let mut cpu: Vec<Vec<f64>> = vec![vec![]; kinds.len()];
    for (_, q) in &kinds {
        list(&mut db, &who, q, now);
    }
    for _ in 0..rounds {
        for (i, (_, q)) in kinds.iter().enumerate() {
            let (started, on_cpu) = (Instant::now(), on_cpu_ms());
            list(&mut db, &who, q, now);
            wall[i].push(started.elapsed().as_secs_f64() * 1e3);
            cpu[i].push(on_cpu_ms() - on_cpu);
        }
    }
    let mut json = serde_json::Map::new();
    println!();
    for (i, (kind, _)) in kinds.iter().enumerate() {
        let (w, c) = (median(&mut wall[i]), median(&mut cpu[i]));
        println!("{kind:18} median {w:8.3} ms wall, {c:8.3} ms on CPU ({rounds} rounds)");
        json.insert(format!("{kind}_ms"), w.into());
        json.insert(format!("{kind}_cpu_ms"), c.into());
    }
    println!("{}", serde_json::Value::Object(json));
}
