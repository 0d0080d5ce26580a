//! A computed `check` about people not asked before (issue 9), on a 1M `demo` file: what reading a
//! random person's pages costs, and what two changes do to it, measured side by side in one run:
//! `PRAGMA mmap_size` (the file's pages read from a mapping instead of `pread` into the page
//! cache), and an index on memberships by (organization, account) carrying the id, `enabled` and
//! the expiry (the person's membership read from the index alone). Every person is asked once of
//! each variant (separate connections, so separate page caches), the variants in a rotating order;
//! medians, with counts per check that do not move with the machine's load: SQLite's page cache
//! misses, `read` system calls and minor page faults of the process.
//!
//!   GATEHOUSE_BENCH_DB=/tmp/x/demo.db [GATEHOUSE_BENCH_MEMBERS=1000000] \
//!     cargo bench -p gatehouse-bench --bench check_cold
//!
//! Run K's build profile has LTO; the figures of 2026-12-03 22:10 UTC were taken with
//! `CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16` (a shorter build), which
//! moves every row alike. The file is made (`init` + `demo`) when it does not exist. The index is added to it, as
//! `memberships_check_cover`, for the run; the rows without it name the UNIQUE index instead.

use gatehouse_core::store::rights::{asked_at_once_sql, Times};
use gatehouse_core::usecases::{check, demo, orgs};
use gatehouse_core::Database;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::time::Instant;

const OWNER: &str = "owner@bench.io";
const PASSWORD: &str = "bench-owner-pass";
const MMAP: i64 = 2_147_418_112;
const COVER: &str = "CREATE INDEX IF NOT EXISTS memberships_check_cover
     ON memberships(organization_id, account_id, id, enabled, access_expires_at)";

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn cache_misses(conn: &rusqlite::Connection) -> i64 {
    let (mut cur, mut hi) = (0, 0);
    unsafe {
        rusqlite::ffi::sqlite3_db_status(conn.handle(), rusqlite::ffi::SQLITE_DBSTATUS_CACHE_MISS, &mut cur, &mut hi, 0)
    };
    cur as i64
}

fn cache_writes(conn: &rusqlite::Connection) -> i64 {
    let (mut cur, mut hi) = (0, 0);
    unsafe {
        rusqlite::ffi::sqlite3_db_status(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBSTATUS_CACHE_WRITE,
            &mut cur,
            &mut hi,
            0,
        )
    };
    cur as i64
}

/// (read system calls, minor faults) of this process so far.
fn process_counts() -> (i64, i64) {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    let syscr = io.lines().find_map(|l| l.strip_prefix("syscr:")).map(|v| v.trim().parse().unwrap()).unwrap_or(0);
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let minflt: i64 = after.split(' ').nth(7).unwrap().parse().unwrap();
    (syscr, minflt)
}

/// The one text column of every row `sql` returns.
fn texts(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    conn.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
}

fn raw(path: &str, mmap: bool) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "cache_size", -65_536).unwrap();
    conn.pragma_update(None, "mmap_size", if mmap { MMAP } else { 0 }).unwrap();
    conn.set_prepared_statement_cache_capacity(64);
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).unwrap();
    conn
}

fn main() {
    let path = std::env::var("GATEHOUSE_BENCH_DB").expect("GATEHOUSE_BENCH_DB: a demo database (made if missing)");
    let now = gatehouse_core::time::now();
    if !std::path::Path::new(&path).exists() {
        let members: i64 =
            std::env::var("GATEHOUSE_BENCH_MEMBERS").ok().and_then(|m| m.parse().ok()).unwrap_or(1_000_000);
        let mut db = Database::open(&path).unwrap();
        orgs::init(&mut db, "Bench", OWNER, "Bench Owner", PASSWORD, now).unwrap();
        let who = gatehouse_core::auth::sign_in(&mut db, OWNER, PASSWORD, now).unwrap();
        let s = Instant::now();
        let report = demo::demo(&mut db, &who, "demo", members, now).unwrap();
        println!("demo: {} rows in {:.1} s", report.rows, s.elapsed().as_secs_f64());
    }
    let setup = raw(&path, false);
    let page_size: i64 = setup.pragma_query_value(None, "page_size", |r| r.get(0)).unwrap();
    let pages: i64 = setup.pragma_query_value(None, "page_count", |r| r.get(0)).unwrap();
    println!("{path}: {pages} pages of {page_size} bytes");

    // The write cost of the covering index: pages written by disabling and enabling again one
    // member at a time, as `members disable` does (the roster's triggers included), before and after.
    let write_cost = |label: &str| {
        let ids = texts(&setup, "SELECT id FROM memberships ORDER BY random() LIMIT 200");
        let before = cache_writes(&setup);
        for id in &ids {
            setup.execute("UPDATE memberships SET enabled = 1 - enabled WHERE id = ?1", [id]).unwrap();
            setup.execute("UPDATE memberships SET enabled = 1 - enabled WHERE id = ?1", [id]).unwrap();
        }
        let per = (cache_writes(&setup) - before) as f64 / (2 * ids.len()) as f64;
        println!("pages written per enable or disable (one a transaction), {label}: {per:.2}");
        setup.pragma_update(None, "wal_checkpoint", "TRUNCATE").ok();
    };
    setup.execute("DROP INDEX IF EXISTS memberships_check_cover", []).unwrap();
    write_cost("without the covering index");
    let s = Instant::now();
    setup.execute(COVER, []).unwrap();
    println!("CREATE INDEX memberships_check_cover: {:.1} s", s.elapsed().as_secs_f64());
    write_cost("with it");
    // The bulk form: 10,000 random members in one transaction, as a bulk disable batches them.
    for label in ["with it", "without it"] {
        let before = cache_writes(&setup);
        setup.execute_batch("BEGIN").unwrap();
        setup
            .execute(
                "UPDATE memberships SET enabled = 1 - enabled WHERE id IN (SELECT id FROM memberships ORDER BY random() LIMIT 10000)",
                [],
            )
            .unwrap();
        setup.execute_batch("COMMIT").unwrap();
        println!(
            "pages written by one transaction flipping 10,000 random members, {label}: {}",
            cache_writes(&setup) - before
        );
        if label == "with it" {
            setup.execute("DROP INDEX memberships_check_cover", []).unwrap();
        }
    }
    // 20,000 members stay flipped: which members are enabled does not change the work of a check
    // (the same rows are read either way). The index again, for the rows that read it.
    setup.execute(COVER, []).unwrap();
    setup.pragma_update(None, "wal_checkpoint", "TRUNCATE").unwrap();

    let mut who_db = Database::open_existing(&path).unwrap();
    let who = gatehouse_core::auth::sign_in(&mut who_db, OWNER, PASSWORD, now).unwrap();
    let owner_id: String =
        setup.query_row("SELECT id FROM accounts WHERE email_norm = ?1", [OWNER], |r| r.get(0)).unwrap();
    let base_sql = asked_at_once_sql(&who, Times::Now);
    let join = "LEFT JOIN memberships m ON";
    assert!(base_sql.contains(join));
    let unique_sql = base_sql.replace(join, "LEFT JOIN memberships m INDEXED BY sqlite_autoindex_memberships_2 ON");
    let cover_sql = base_sql.replace(join, "LEFT JOIN memberships m INDEXED BY memberships_check_cover ON");

    // The variants: the core `check` (answers not kept) without and with mmap; the one statement
    // on raw connections, the UNIQUE index against the covering one, each without and with mmap.
    let mut core_plain = Database::open_existing(&path).unwrap();
    let mut core_mmap = Database::open_existing(&path).unwrap();
    core_plain.keep_check_answers(false);
    core_mmap.keep_check_answers(false);
    // `Database` maps the file since this bench was written: the plain variant turns that off.
    core_plain.sqlite_connection().unwrap().pragma_update(None, "mmap_size", 0).unwrap();
    core_mmap.sqlite_connection().unwrap().pragma_update(None, "mmap_size", MMAP).unwrap();
    let raws =
        [raw(&path, false), raw(&path, true), raw(&path, false), raw(&path, true), raw(&path, false), raw(&path, true)];
    let names = [
        "core check, computed",
        "core check, computed, mmap",
        "statement, UNIQUE index",
        "statement, UNIQUE index, mmap",
        "statement, covering index",
        "statement, covering index, mmap",
        "point read (account by email)",
        "point read (account by email), mmap",
    ];

    let mut rng = rand::rngs::SmallRng::seed_from_u64(12);
    let mut emails = texts(&setup, "SELECT email_norm FROM accounts ORDER BY random() LIMIT 12000");
    emails.shuffle(&mut rng);
    let perms = ["org.view", "members.invite", "billing.access", "owners.manage"];

    let n = names.len();
    // What reading the counters costs in read system calls and faults, taken off every sample.
    let (r0, f0) = process_counts();
    let (r1, f1) = process_counts();
    let (own_reads, own_faults) = (r1 - r0, f1 - f0);
    println!("the counters' own cost: {own_reads} reads, {own_faults} faults");
    // Two passes of 6,000 people each: the first with the caches as a new process has them, the
    // second after 6,000 people have been asked already.
    for (pass, people) in emails.chunks(6000).enumerate() {
        let mut t: Vec<Vec<f64>> = vec![vec![]; n];
        let mut misses = vec![0i64; n];
        let mut reads = vec![0i64; n];
        let mut faults = vec![0i64; n];
        for (i, email) in people.iter().enumerate() {
            let perm = perms[i % perms.len()];
            for j in 0..n {
                let k = (i + j) % n;
                let conn: &rusqlite::Connection = match k {
                    0 => core_plain.sqlite_connection().unwrap(),
                    1 => core_mmap.sqlite_connection().unwrap(),
                    k => &raws[k - 2],
                };
                let m0 = cache_misses(conn);
                let (r0, f0) = process_counts();
                let s = Instant::now();
                match k {
                    0 => drop(std::hint::black_box(
                        check::check(&mut core_plain, &who, "demo", email, perm, None, now).unwrap(),
                    )),
                    1 => drop(std::hint::black_box(
                        check::check(&mut core_mmap, &who, "demo", email, perm, None, now).unwrap(),
                    )),
                    k @ 6.. => {
                        // The floor of any design that reads one random row: one B-tree descent.
                        let mut st =
                            raws[k - 2].prepare_cached("SELECT id FROM accounts WHERE email_norm = ?1").unwrap();
                        std::hint::black_box(st.query_row([email], |r| r.get::<_, String>(0)).unwrap());
                    }
                    k => {
                        let sql = if k < 4 { &unique_sql } else { &cover_sql };
                        let mut st = raws[k - 2].prepare_cached(sql).unwrap();
                        let mut rows = st
                            .query(rusqlite::params!["demo", owner_id, now, email, perm, Option::<&str>::None])
                            .unwrap();
                        while let Some(r) = rows.next().unwrap() {
                            std::hint::black_box(r.get::<_, Option<i64>>(10).unwrap());
                        }
                    }
                }
                t[k].push(s.elapsed().as_secs_f64() * 1e6);
                let conn: &rusqlite::Connection = match k {
                    0 => core_plain.sqlite_connection().unwrap(),
                    1 => core_mmap.sqlite_connection().unwrap(),
                    k => &raws[k - 2],
                };
                let (r1, f1) = process_counts();
                misses[k] += cache_misses(conn) - m0;
                reads[k] += r1 - r0 - own_reads;
                faults[k] += f1 - f0 - own_faults;
            }
        }
        println!("\npass {} ({} people, each asked once of every variant), {}", pass + 1, people.len(), load());
        println!("{:34} {:>10} {:>10} {:>12} {:>12}", "variant", "median µs", "p90 µs", "cache miss", "reads+faults");
        for k in 0..n {
            let calls = t[k].len() as f64;
            let p90 = {
                let mut v = t[k].clone();
                v.sort_by(|a, b| a.total_cmp(b));
                v[v.len() * 9 / 10]
            };
            println!(
                "{:34} {:>10.2} {:>10.2} {:>12.2} {:>5.2}+{:<6.2}",
                names[k],
                median(&mut t[k]),
                p90,
                misses[k] as f64 / calls,
                reads[k] as f64 / calls,
                faults[k] as f64 / calls
            );
        }
    }
    setup.execute("DROP INDEX memberships_check_cover", []).unwrap();
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string()
}
