//! Benchmarks of the targets in issues 2 and 9, on `demo` data in a real database file: a members
//! page (search + sort + filter; exact and capped counts) first and deep, `check`, a 10,000-member
//! bulk disable, a 10,000-email bulk invite, and `demo` rows per second.
//! Members: $GATEHOUSE_BENCH_MEMBERS (default 100000; try 1000000).

use criterion::{criterion_group, criterion_main, Criterion};
use gatehouse_core::usecases::{check, demo, invitations, members, orgs};
use gatehouse_core::{Database, Principal};
use std::time::{Duration, Instant};

// The window's Users page query, kept once for every bench (gatehouse-bench's too).
#[path = "../../bench/benches/shared/window_page.rs"]
mod window_page;
use window_page::page_query;

const NOW: i64 = 1_800_000_000;

fn setup(n: i64) -> (tempfile::TempDir, Database, Principal) {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Database::open(dir.path().join("bench.db")).unwrap();
    orgs::init(&mut db, "Bench", "owner@bench.io", "Owner Bench", "bench-password", NOW).unwrap();
    let who = gatehouse_core::auth::sign_in(&mut db, "owner@bench.io", "bench-password", NOW).unwrap();
    let started = Instant::now();
    let report = demo::demo(&mut db, &who, "demo", n, NOW).unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!("demo: {} members, {} rows in {:.2} s = {:.0} rows/s", n, report.rows, secs, report.rows as f64 / secs);
    (dir, db, who)
}

fn benches(c: &mut Criterion) {
    let n: i64 = std::env::var("GATEHOUSE_BENCH_MEMBERS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let (_dir, mut db, who) = setup(n);
    let mut g = c.benchmark_group(format!("members_{n}"));
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let query = |page| page_query(page, None);
    let total = members::list(&mut db, &who, "demo", &query(1), NOW).unwrap().total;
    let deep = (total / 50).clamp(1, 10_000);
    println!("matching rows: {total}; deep page: {deep}");
    g.bench_function("page_1_search_sort_filter", |b| {
        b.iter(|| members::list(&mut db, &who, "demo", &query(1), NOW).unwrap())
    });
    g.bench_function(format!("page_{deep}_search_sort_filter"), |b| {
        b.iter(|| members::list(&mut db, &who, "demo", &query(deep), NOW).unwrap())
    });
    // What the window asks: counts that walk the matching rows stop at 1,000 ("1,000+").
    let capped = |page| page_query(page, Some(1000));
    g.bench_function("page_1_search_sort_filter_capped_counts", |b| {
        b.iter(|| members::list(&mut db, &who, "demo", &capped(1), NOW).unwrap())
    });
    g.bench_function(format!("page_{deep}_search_sort_filter_capped_counts"), |b| {
        b.iter(|| members::list(&mut db, &who, "demo", &capped(deep), NOW).unwrap())
    });
    // The same deep page asked after the previous page's last row (keyset paging, as the window
    // pages): the position comes from the page before, asked once by number.
    let after = members::list(&mut db, &who, "demo", &capped(deep - 1), NOW).unwrap().next;
    let by_cursor = members::MemberQuery { after, ..capped(deep) };
    g.bench_function(format!("page_{deep}_search_sort_filter_capped_counts_by_cursor"), |b| {
        b.iter(|| members::list(&mut db, &who, "demo", &by_cursor, NOW).unwrap())
    });
    let plain = |page| members::MemberQuery { page, ..Default::default() };
    g.bench_function("page_1_by_email", |b| b.iter(|| members::list(&mut db, &who, "demo", &plain(1), NOW).unwrap()));
    g.finish();

    let mut g = c.benchmark_group("check");
    g.bench_function("check_one_permission", |b| {
        b.iter(|| {
            check::check(&mut db, &who, "demo", "ada.abbott.0@demo.example", "members.invite", None, NOW).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("bulk");
    g.sample_size(10);
    let active = members::MemberQuery {
        filter: members::MemberFilter { status: Some("active".into()), role: Some("member".into()), search: None },
        per_page: 10_000,
        ..Default::default()
    };
    let emails: Vec<String> = members::list(&mut db, &who, "demo", &active, NOW)
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.email.clone())
        .collect();
    let selection = members::Selection::Emails(emails);
    g.bench_function(format!("disable_{}_members", 10_000), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let r = members::set_enabled(&mut db, &who, "demo", &selection, false, NOW).unwrap();
                spent += started.elapsed();
                assert_eq!(r.changed, 10_000);
                members::set_enabled(&mut db, &who, "demo", &selection, true, NOW).unwrap();
            }
            spent
        })
    });
    g.finish();

    let mut g = c.benchmark_group("invites");
    g.sample_size(10);
    let mut round = 0;
    g.bench_function("bulk_invite_10000", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let org = orgs::create(&mut db, &who, &format!("Invite Round {round}"), None, NOW).unwrap();
                let invitees: Vec<invitations::Invitee> = (0..10_000)
                    .map(|i| invitations::Invitee {
                        email: format!("person{i}@round{round}.example"),
                        role: "member".into(),
                        access_expires_at: None,
                        workspace: None,
                    })
                    .collect();
                let started = Instant::now();
                invitations::create(&mut db, &who, &org.slug, &invitees, None, NOW).unwrap();
                spent += started.elapsed();
            }
            spent
        })
    });
    g.finish();
}

criterion_group!(core, benches);
criterion_main!(core);
