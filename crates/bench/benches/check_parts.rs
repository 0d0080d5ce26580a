//! Where one `check` spends its time (issue 9): on an existing `demo` database
//! ($GATEHOUSE_BENCH_DB, made by `gatehouse demo` or `scripts/bench-table`), the whole core `check`
//! beside the statements it asks (`rights::asked_at_once`'s one statement, with and without the next
//! change) and those it asked before that (BEGIN, the organization, the caller's rights, the person,
//! COMMIT), timed one by one through raw rusqlite on a connection configured as `Database`
//! configures its own, with each statement's VM steps (sqlite3_stmt_status). Medians of the same
//! questions, interleaved, so the machine's load weighs on every row alike.
//!
//!   GATEHOUSE_BENCH_DB=/tmp/x/demo.db cargo bench -p gatehouse-bench --bench check_parts

use gatehouse_core::usecases::check;
use gatehouse_core::Database;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::time::Instant;

const OWNER: &str = "owner@bench.io";
const PASSWORD: &str = "bench-owner-pass";

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn steps(st: &rusqlite::Statement) -> i64 {
    st.get_status(rusqlite::StatementStatus::VmStep) as i64
}

fn main() {
    let path = std::env::var("GATEHOUSE_BENCH_DB").expect("GATEHOUSE_BENCH_DB: a demo database");
    let now = gatehouse_core::time::now();
    let mut db = Database::open_existing(&path).unwrap();
    let who = gatehouse_core::auth::sign_in(&mut db, OWNER, PASSWORD, now).unwrap();
    db.keep_check_answers(false);
    let mut kept = Database::open_existing(&path).unwrap();
    let mut missing = Database::open_existing(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "cache_size", -65_536).unwrap();
    conn.set_prepared_statement_cache_capacity(64);
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).unwrap();
    let (org_id, owner_id): (String, String) = conn
        .query_row(
            "SELECT o.id, a.id FROM organizations o, accounts a WHERE o.slug = 'demo' AND a.email_norm = ?1",
            [OWNER],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(9);
    let mut emails: Vec<String> = conn
        .prepare("SELECT email_norm FROM accounts ORDER BY random() LIMIT 2000")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    emails.extend((0..40).map(|i| format!("stranger.{i}@elsewhere.example")));
    emails.shuffle(&mut rng);
    let perms = ["org.view", "members.invite", "billing.access", "owners.manage"];

    const SLUG: &str = "SELECT id, name, slug, created_at, workspace_access FROM organizations o WHERE o.slug = ?1";
    use gatehouse_core::store::rights::{OF_ACCOUNT as CALLER, OF_PERSON as PERSON};
    const POINT: &str = "SELECT id FROM accounts WHERE email_norm = ?1";
    const VERSION: &str = "PRAGMA data_version";
    use gatehouse_core::store::rights::{asked_at_once_sql, Times};
    let at_once = [asked_at_once_sql(&who, Times::Now), asked_at_once_sql(&who, Times::Next)];

    let names = [
        "core check, computed (answers not kept)",
        "BEGIN",
        "organization by slug",
        "caller's rights (of_account)",
        "person (of_person)",
        "COMMIT",
        "sum of the 5 in one transaction",
        "point read (autocommit)",
        "PRAGMA data_version (autocommit)",
        "of_person alone (autocommit)",
        "core check, answer kept (asked before)",
        "core check, answers kept but this one new",
        "one statement, answer (asked_at_once, autocommit)",
        "one statement, answer + next change (kept's miss)",
    ];
    let mut t: Vec<Vec<f64>> = vec![vec![]; names.len()];
    let mut vm: Vec<i64> = vec![0; names.len()];
    let mut rows_seen = 0usize;
    let rounds = 4;
    for round in 0..rounds {
        for (i, email) in emails.iter().enumerate() {
            let perm = perms[i % perms.len()];
            let lap = |k: usize, f: &mut dyn FnMut() -> i64, t: &mut Vec<Vec<f64>>, vm: &mut Vec<i64>| {
                let s = Instant::now();
                let v = f();
                let us = s.elapsed().as_secs_f64() * 1e6;
                if round > 0 {
                    t[k].push(us);
                    vm[k] += v;
                }
            };
            lap(
                0,
                &mut || {
                    std::hint::black_box(check::check(&mut db, &who, "demo", email, perm, None, now).unwrap());
                    0
                },
                &mut t,
                &mut vm,
            );
            let whole = Instant::now();
            lap(
                1,
                &mut || {
                    conn.prepare_cached("BEGIN").unwrap().execute([]).unwrap();
                    0
                },
                &mut t,
                &mut vm,
            );
            lap(
                2,
                &mut || {
                    let mut st = conn.prepare_cached(SLUG).unwrap();
                    let before = steps(&st);
                    st.query_row(["demo"], |r| r.get::<_, String>(0)).unwrap();
                    steps(&st) - before
                },
                &mut t,
                &mut vm,
            );
            lap(
                3,
                &mut || {
                    let mut st = conn.prepare_cached(CALLER).unwrap();
                    let before = steps(&st);
                    let n = st
                        .query_map(rusqlite::params![org_id, owner_id, now, Option::<&str>::None], |r| {
                            Ok((r.get::<_, bool>(0)?, r.get::<_, Option<String>>(1)?))
                        })
                        .unwrap()
                        .count();
                    std::hint::black_box(n);
                    steps(&st) - before
                },
                &mut t,
                &mut vm,
            );
            lap(
                4,
                &mut || {
                    let mut st = conn.prepare_cached(PERSON).unwrap();
                    let before = steps(&st);
                    let mut rows =
                        st.query(rusqlite::params![org_id, email, now, perm, Option::<&str>::None, 0i64]).unwrap();
                    if let Some(r) = rows.next().unwrap() {
                        std::hint::black_box((
                            r.get::<_, Option<bool>>(0).unwrap(),
                            r.get::<_, Option<i64>>(2).unwrap(),
                        ));
                    }
                    drop(rows);
                    steps(&st) - before
                },
                &mut t,
                &mut vm,
            );
            lap(
                5,
                &mut || {
                    conn.prepare_cached("COMMIT").unwrap().execute([]).unwrap();
                    0
                },
                &mut t,
                &mut vm,
            );
            if round > 0 {
                t[6].push(whole.elapsed().as_secs_f64() * 1e6);
            }
            lap(
                7,
                &mut || {
                    let mut st = conn.prepare_cached(POINT).unwrap();
                    let before = steps(&st);
                    std::hint::black_box(st.query_row([email], |r| r.get::<_, String>(0)).ok());
                    steps(&st) - before
                },
                &mut t,
                &mut vm,
            );
            lap(
                8,
                &mut || {
                    let mut st = conn.prepare_cached(VERSION).unwrap();
                    let before = steps(&st);
                    std::hint::black_box(st.query_row([], |r| r.get::<_, i64>(0)).unwrap());
                    steps(&st) - before
                },
                &mut t,
                &mut vm,
            );
            lap(
                9,
                &mut || {
                    let mut st = conn.prepare_cached(PERSON).unwrap();
                    let before = steps(&st);
                    let mut rows =
                        st.query(rusqlite::params![org_id, email, now, perm, Option::<&str>::None, 0i64]).unwrap();
                    if rows.next().unwrap().is_some() {
                        rows_seen += 1;
                    }
                    drop(rows);
                    steps(&st) - before
                },
                &mut t,
                &mut vm,
            );
            lap(
                10,
                &mut || {
                    std::hint::black_box(check::check(&mut kept, &who, "demo", email, perm, None, now).unwrap());
                    0
                },
                &mut t,
                &mut vm,
            );
            lap(
                11,
                &mut || {
                    // Emptied before each call: a miss, with the probe before and the next
                    // change of the rows after the five statements.
                    missing.keep_check_answers(true);
                    std::hint::black_box(check::check(&mut missing, &who, "demo", email, perm, None, now).unwrap());
                    0
                },
                &mut t,
                &mut vm,
            );
            for (k, sql) in at_once.iter().enumerate() {
                lap(
                    12 + k,
                    &mut || {
                        let mut st = conn.prepare_cached(sql).unwrap();
                        let before = steps(&st);
                        let mut rows = st
                            .query(rusqlite::params!["demo", owner_id, now, email, perm, Option::<&str>::None])
                            .unwrap();
                        while let Some(r) = rows.next().unwrap() {
                            std::hint::black_box(r.get::<_, Option<i64>>(10).unwrap());
                        }
                        drop(rows);
                        steps(&st) - before
                    },
                    &mut t,
                    &mut vm,
                );
            }
        }
    }
    println!(
        "answers reused: {} (kept), {} (new each time)",
        kept.check_answers_reused(),
        missing.check_answers_reused()
    );
    let calls = t[0].len();
    println!("check_parts on {path}: {} questions x {} timed rounds; {}", emails.len(), rounds - 1, load());
    println!("{:40} {:>10} {:>14}", "part", "median µs", "VM steps/call");
    for (k, name) in names.iter().enumerate() {
        let m = median(&mut t[k]);
        println!("{name:40} {m:>10.2} {:>14.1}", vm[k] as f64 / calls as f64);
    }
    std::hint::black_box(rows_seen);
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string()
}
