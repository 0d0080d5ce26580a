//! The in-process rows of issue 9's table, in one run on one `demo` database, and Gatehouse's
//! `check` beside casbin-rs (RBAC with domains, domain = organization) on the same data.
//!
//! `cargo bench -p gatehouse-bench` (release profile). `scripts/bench-table` runs it and prints the
//! whole table with the process-level and contention rows. Knobs:
//! - `GATEHOUSE_BENCH_MEMBERS`: demo members (default 100000; 1000000 for the figures);
//! - `GATEHOUSE_BENCH_QUICK=1`: fewer samples (the whole run in about a minute at 100k);
//! - `GATEHOUSE_BENCH_DB`: build the database at this path (must not exist) and keep it, so the
//!   script asks the `gatehouse` process questions on the same data; else a temporary file;
//! - `GATEHOUSE_BENCH_OUT`: write the figures as one JSON object to this file;
//! - `GATEHOUSE_BENCH_PG`: a PostgreSQL server (`postgres://…`, e.g. `scripts/pg start`): the same
//!   `demo`, `check`, members page and bulk invite again on a new database there (dropped at the
//!   end), over loopback, in the same run; those figures are named `pg_…`.
//!
//! The casbin side: after `demo`, the roles, memberships and grants are read back out of the
//! Gatehouse database with plain SQL: one `p` line (role, organization, permission) per permission
//! of each role (the owner role: every permission the organization knows), one `g` line (email,
//! role, organization) per organization-scope grant in force now (enabled, unexpired membership;
//! started, unended grant), since casbin's model has no time or enabled flag. Both are then asked
//! the same questions (a sample of members of every status, invitees who are not members, and
//! strangers; permissions held and not held), in the same loop, one call each in turn, and must
//! give the same answer to every one.

#[path = "shared/window_page.rs"]
mod window_page;

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use gatehouse_core::catalogue::BUILT_IN_PERMISSIONS;
use gatehouse_core::usecases::{check, demo, invitations, members, orgs};
use gatehouse_core::{Database, Principal, Timestamp};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Instant;
use window_page::page_query;

const OWNER: &str = "owner@bench.io";
const PASSWORD: &str = "bench-owner-pass";

/// RBAC with domains: a request is (person, organization, permission); a person holds a role in an
/// organization (`g`), a role grants a permission in its organization (`p`). The matcher compares
/// the organization and the permission before it asks the role manager: `&&` stops early, so `g()`
/// runs only for the `p` lines that could grant the request. (casbin-rs's role manager, asked about
/// a name it holds no line for, compares it with every name of the domain in turn; with `g()` first
/// that walk ran once per `p` line: 1.4 ms per such question at 16k members.)
const MODEL: &str = "
[request_definition]
r = sub, dom, obj

[policy_definition]
p = sub, dom, obj

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.dom == p.dom && r.obj == p.obj && g(r.sub, p.sub, r.dom)
";

/// The permissions asked about: held by every member, by admins, by the billing role, by owners only.
const ASKED: [&str; 6] =
    ["org.view", "members.invite", "billing.access", "roles.manage", "audit.view", "owners.manage"];

/// Every figure by name; `prefix` goes before the names (`pg_` for the PostgreSQL pass).
struct Figures(Map<String, Value>, &'static str);

impl Figures {
    fn put(&mut self, key: &str, value: impl Into<Value>) {
        let value = value.into();
        let key = format!("{}{key}", self.1);
        println!("{key:44} {value}");
        self.0.insert(key, value);
    }
}

/// Milliseconds this thread has spent on a core (`/proc/thread-self/schedstat`), or NaN where
/// there is no such file. Beside a wall time it shows how much of it was waiting for a core on a
/// loaded machine.
fn on_cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()))
        .map_or(f64::NAN, |ns| ns / 1e6)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

/// Median milliseconds of `samples` calls (one warm-up call first).
fn millis<T>(samples: usize, mut f: impl FnMut() -> T) -> f64 {
    std::hint::black_box(f());
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(&mut times)
}

struct Question {
    email: String,
    permission: &'static str,
}

fn main() {
    // cargo passes `--bench`; a filter argument means "not me" only for other harnesses.
    let members: i64 = std::env::var("GATEHOUSE_BENCH_MEMBERS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let quick = std::env::var("GATEHOUSE_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let tmp = tempfile::tempdir().unwrap();
    let path = std::env::var_os("GATEHOUSE_BENCH_DB").map(PathBuf::from).unwrap_or_else(|| tmp.path().join("bench.db"));
    let now = gatehouse_core::time::now();
    let mut figures = Figures(Map::new(), "");
    figures.put("members", members);
    figures.put("quick", quick);

    let mut db = Database::open(&path).unwrap();
    let who = load_demo(&mut db, members, now, &mut figures);

    check_beside_casbin(&mut db, &who, &path, now, quick, &mut figures);
    pages(&mut db, &who, now, quick, &mut figures);
    bulk(&mut db, &who, now, quick, &mut figures);
    drop(db);

    if let Some(server) = std::env::var("GATEHOUSE_BENCH_PG").ok().filter(|s| !s.trim().is_empty()) {
        figures.1 = "pg_";
        on_postgres(&server, members, now, quick, &mut figures);
        figures.1 = "";
    }

    if let Some(out) = std::env::var_os("GATEHOUSE_BENCH_OUT") {
        std::fs::write(out, Value::Object(figures.0).to_string()).unwrap();
    }
}

/// The policy as casbin holds it: (`p` lines, `g` lines), read out of the Gatehouse tables.
fn policy_from(conn: &rusqlite::Connection, now: Timestamp) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let strings = |sql: &str, width: usize| -> Vec<Vec<String>> {
        let mut st = conn.prepare(sql).unwrap();
        let rows = st
            .query_map([now], |r| (0..width).map(|i| r.get::<_, String>(i)).collect::<rusqlite::Result<Vec<_>>>())
            .unwrap();
        rows.map(|r| r.unwrap()).collect()
    };
    let mut p = strings(
        "SELECT r.name, o.slug, rp.permission FROM roles r
         JOIN organizations o ON o.id = r.organization_id
         JOIN role_permissions rp ON rp.role_id = r.id
         WHERE r.is_owner = 0 AND ?1 IS NOT NULL",
        3,
    );
    // The owner role holds every permission its organization knows: the built-in ones and its own.
    for owner in strings(
        "SELECT r.name, o.slug, o.id FROM roles r JOIN organizations o ON o.id = r.organization_id
         WHERE r.is_owner = 1 AND ?1 IS NOT NULL",
        3,
    ) {
        let (role, slug, org_id) = (&owner[0], &owner[1], &owner[2]);
        let mut own = conn.prepare("SELECT name FROM custom_permissions WHERE organization_id = ?1").unwrap();
        let custom: Vec<String> = own.query_map([org_id], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
        for permission in BUILT_IN_PERMISSIONS.iter().map(|(name, _)| name.to_string()).chain(custom) {
            p.push(vec![role.clone(), slug.clone(), permission]);
        }
    }
    let g = strings(
        "SELECT a.email_norm, r.name, o.slug FROM memberships m
         JOIN organizations o ON o.id = m.organization_id
         JOIN accounts a ON a.id = m.account_id
         JOIN access_grants g ON g.membership_id = m.id
         JOIN roles r ON r.id = g.role_id
         WHERE m.enabled = 1 AND (m.access_expires_at IS NULL OR m.access_expires_at > ?1)
           AND g.workspace_id IS NULL
           AND (g.valid_from IS NULL OR g.valid_from <= ?1)
           AND (g.expires_at IS NULL OR g.expires_at > ?1)",
        3,
    );
    (p, g)
}

/// Who is asked about: members of every status (enabled, disabled, expired), people who were only
/// invited, strangers; each with one of the permissions in `ASKED`.
fn questions(conn: &rusqlite::Connection, count: usize, rng: &mut rand::rngs::SmallRng) -> Vec<Question> {
    let mut emails: Vec<String> = {
        let mut st = conn
            .prepare(
                "SELECT a.email_norm FROM memberships m JOIN accounts a ON a.id = m.account_id
                 JOIN organizations o ON o.id = m.organization_id WHERE o.slug = 'demo'
                 ORDER BY random() LIMIT ?1",
            )
            .unwrap();
        st.query_map([count as i64], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
    };
    let mut invited: Vec<String> = {
        let mut st = conn.prepare("SELECT email_norm FROM invitations ORDER BY random() LIMIT ?1").unwrap();
        st.query_map([(count / 20).max(1) as i64], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
    };
    emails.append(&mut invited);
    emails.extend((0..(count / 50).max(1)).map(|i| format!("stranger.{i}@elsewhere.example")));
    emails.push(OWNER.to_string());
    emails.shuffle(rng);
    emails.truncate(count);
    // Half of them about `org.view`, which every member in force holds: about as many allowed as denied.
    emails
        .into_iter()
        .map(|email| {
            let permission = if rng.random_bool(0.5) { ASKED[0] } else { ASKED[rng.random_range(1..ASKED.len())] };
            Question { email, permission }
        })
        .collect()
}

fn check_beside_casbin(
    db: &mut Database,
    who: &Principal,
    path: &std::path::Path,
    now: Timestamp,
    quick: bool,
    figures: &mut Figures,
) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(9);
    let (p, g) = policy_from(&conn, now);
    figures.put("casbin_p_lines", p.len());
    figures.put("casbin_g_lines", g.len());

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let started = Instant::now();
    let enforcer = runtime.block_on(async {
        let model = DefaultModel::from_str(MODEL).await.unwrap();
        let mut e = Enforcer::new(model, MemoryAdapter::default()).await.unwrap();
        e.add_policies(p).await.unwrap();
        e.add_grouping_policies(g).await.unwrap();
        e
    });
    figures.put("casbin_load_seconds", started.elapsed().as_secs_f64());
    // The load went through: a sample member's roles are there.
    assert!(!enforcer.get_all_roles().is_empty());

    let qs = questions(&conn, if quick { 1_000 } else { 2_000 }, &mut rng);
    // Who casbin holds no `g` line for (invitees, strangers, disabled and expired members) costs it
    // more as the policy grows: those questions are reported apart, and the timed rounds stop at a
    // time budget (the first round, which compares every answer, always runs whole).
    let rounds = if quick { 3 } else { 10 };
    let budget = std::time::Duration::from_secs(if quick { 20 } else { 60 });
    let mut point = conn.prepare_cached("SELECT id FROM accounts WHERE email_norm = ?1").unwrap();
    let mut known = conn
        .prepare_cached(
            "SELECT 1 FROM memberships m JOIN accounts a ON a.id = m.account_id
             JOIN organizations o ON o.id = m.organization_id
             WHERE a.email_norm = ?1 AND o.slug = 'demo' AND m.enabled = 1
               AND (m.access_expires_at IS NULL OR m.access_expires_at > ?2)",
        )
        .unwrap();
    let in_force: Vec<bool> = qs.iter().map(|q| known.exists(rusqlite::params![q.email, now]).unwrap()).collect();
    // Per category: [in force & allowed, in force & denied, not in force (denied)].
    let (mut ours, mut theirs, mut floor, mut computed_times) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut computed = Database::open_existing(path).unwrap();
    computed.keep_check_answers(false);
    let reused_before = db.check_answers_reused();
    let mut ours_by: [Vec<f64>; 3] = Default::default();
    let mut theirs_by: [Vec<f64>; 3] = Default::default();
    let (mut disagreements, mut allowed, mut timed_rounds) = (0usize, 0usize, 0usize);
    let started = Instant::now();
    // Round 0 warms up and compares every answer; then timed rounds in a new order each.
    'rounds: for round in 0..=rounds {
        let mut order: Vec<usize> = (0..qs.len()).collect();
        order.shuffle(&mut rng);
        for i in order {
            if round > 0 && started.elapsed() > budget && ours.len() >= qs.len() {
                break 'rounds;
            }
            let q = &qs[i];
            let t = Instant::now();
            let answer = check::check(db, who, "demo", &q.email, q.permission, None, now).unwrap().allowed;
            let ours_us = t.elapsed().as_secs_f64() * 1e6;
            // The same question on a second connection that keeps no answers: what a question
            // asked for the first time since the last commit costs.
            let t = Instant::now();
            let fresh = check::check(&mut computed, who, "demo", &q.email, q.permission, None, now).unwrap().allowed;
            let computed_us = t.elapsed().as_secs_f64() * 1e6;
            assert_eq!(fresh, answer, "{} {}", q.email, q.permission);
            let t = Instant::now();
            let theirs_answer = enforcer.enforce((q.email.as_str(), "demo", q.permission)).unwrap();
            let theirs_us = t.elapsed().as_secs_f64() * 1e6;
            let t = Instant::now();
            let found: Option<String> = point.query_row([&q.email], |r| r.get(0)).ok();
            let floor_us = t.elapsed().as_secs_f64() * 1e6;
            std::hint::black_box(found);
            if round == 0 {
                if answer != theirs_answer {
                    disagreements += 1;
                    if disagreements <= 5 {
                        eprintln!("disagree: {} {}: gatehouse {answer}, casbin {theirs_answer}", q.email, q.permission);
                    }
                }
                allowed += usize::from(answer);
                continue;
            }
            ours.push(ours_us);
            computed_times.push(computed_us);
            theirs.push(theirs_us);
            floor.push(floor_us);
            let category = match (in_force[i], answer) {
                (true, true) => 0,
                (true, false) => 1,
                (false, _) => 2,
            };
            ours_by[category].push(ours_us);
            theirs_by[category].push(theirs_us);
        }
        if round > 0 {
            timed_rounds += 1;
        }
        eprintln!("check beside casbin: round {round} done, {:.0} s", started.elapsed().as_secs_f64());
    }
    figures.put("questions", qs.len());
    figures.put("questions_allowed", allowed);
    figures.put("questions_not_in_force", in_force.iter().filter(|k| !**k).count());
    figures.put("questions_disagreeing", disagreements);
    figures.put("timed_calls", ours.len());
    figures.put("timed_rounds", timed_rounds);
    let ours_median = median(&mut ours);
    let theirs_median = median(&mut theirs);
    figures.put("check_median_us", ours_median);
    figures.put("check_p99_us", percentile(&mut ours, 0.99));
    figures.put("casbin_median_us", theirs_median);
    figures.put("casbin_p99_us", percentile(&mut theirs, 0.99));
    let names = ["allowed", "denied_in_force", "not_in_force"];
    for (k, name) in names.iter().enumerate() {
        if !ours_by[k].is_empty() {
            figures.put(&format!("check_{name}_median_us"), median(&mut ours_by[k]));
            figures.put(&format!("casbin_{name}_median_us"), median(&mut theirs_by[k]));
        }
    }
    figures.put("casbin_over_check", theirs_median / ours_median);
    // The timed rounds ask questions asked before with nothing committed since: answers kept.
    figures.put("check_answers_reused", db.check_answers_reused() - reused_before);
    let computed_median = median(&mut computed_times);
    figures.put("check_computed_median_us", computed_median);
    figures.put("check_computed_p99_us", percentile(&mut computed_times, 0.99));
    figures.put("casbin_over_check_computed", theirs_median / computed_median);
    figures.put("point_read_median_us", median(&mut floor));
}

fn pages(db: &mut Database, who: &Principal, now: Timestamp, quick: bool, figures: &mut Figures) {
    let query = page_query;
    let total = members::list(db, who, "demo", &query(1, None), now).unwrap().total;
    let deep = (total / 50).clamp(1, 10_000);
    figures.put("page_matching_rows", total);
    figures.put("page_deep", deep);
    let samples = if quick { 5 } else { 15 };
    // What the window asks: counts that walk the matching rows stop at 1,000 ("1,000+").
    figures.put(
        "page_1_capped_ms",
        millis(samples, || members::list(db, who, "demo", &query(1, Some(1000)), now).unwrap()),
    );
    figures.put(
        "page_deep_capped_ms",
        millis(samples, || members::list(db, who, "demo", &query(deep, Some(1000)), now).unwrap()),
    );
    // The same deep page asked after the last row of the page before (`MemberPage::next`, keyset
    // paging: what a window paging onwards asks); that position comes from one numbered page.
    let after = members::list(db, who, "demo", &query(deep - 1, Some(1000)), now).unwrap().next;
    let by_cursor = members::MemberQuery { after, ..query(deep, Some(1000)) };
    figures.put(
        "page_deep_capped_cursor_ms",
        millis(samples, || members::list(db, who, "demo", &by_cursor, now).unwrap()),
    );
    // What the CLI and the service ask: exact counts.
    figures.put("page_1_exact_ms", millis(samples, || members::list(db, who, "demo", &query(1, None), now).unwrap()));
    figures.put(
        "page_deep_exact_ms",
        millis(samples, || members::list(db, who, "demo", &query(deep, None), now).unwrap()),
    );
}

/// The side-by-side rows of issue 12 on a new database of the server at `server`: `demo`, `check`,
/// the members page, a bulk invite of 10,000.
/// A new database's owner, then `demo` of `members` members timed into `figures`; the owner signed in.
fn load_demo(db: &mut Database, members: i64, now: Timestamp, figures: &mut Figures) -> Principal {
    orgs::init(db, "Bench", OWNER, "Bench Owner", PASSWORD, now).unwrap();
    let who = gatehouse_core::auth::sign_in(db, OWNER, PASSWORD, now).unwrap();
    let started = Instant::now();
    let report = demo::demo(db, &who, "demo", members, now).unwrap();
    let secs = started.elapsed().as_secs_f64();
    figures.put("demo_rows", report.rows);
    figures.put("demo_seconds", secs);
    figures.put("demo_rows_per_s", report.rows as f64 / secs);
    who
}

fn on_postgres(server: &str, members: i64, now: Timestamp, quick: bool, figures: &mut Figures) {
    use gatehouse_core::sql::Connection;
    let name = format!("gh_bench_{}", std::process::id());
    let admin = Connection::postgres(server).unwrap();
    admin.execute_batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
    admin.execute_batch(&format!("CREATE DATABASE {name}")).unwrap();
    let (base, query) = server.split_once('?').unwrap_or((server, ""));
    let host = base.rsplit_once('/').map(|(h, _)| h).unwrap_or(base);
    let url = if query.is_empty() { format!("{host}/{name}") } else { format!("{host}/{name}?{query}") };
    {
        let mut db = Database::open(&url).unwrap();
        let who = load_demo(&mut db, members, now, figures);
        // The planner's statistics, as autovacuum would gather them soon after a load this size.
        db.connection().execute_batch("ANALYZE").unwrap();
        // Right after a load no page of the roster is marked all-visible yet, so each index-only
        // count reads the table's rows too: the window's page 1 then, and after a VACUUM, as
        // autovacuum leaves the table within a minute or so of a load this size (its insert
        // threshold, PostgreSQL 13+). The page's rows below are measured after it.
        let samples = if quick { 5 } else { 15 };
        figures.put(
            "page_1_capped_before_vacuum_ms",
            millis(samples, || members::list(&mut db, &who, "demo", &page_query(1, Some(1000)), now).unwrap()),
        );
        db.connection().execute_batch("VACUUM").unwrap();

        // `check` over loopback: people of every status, invitees and strangers; held and not held.
        let mut rng = rand::rngs::SmallRng::seed_from_u64(12);
        let mut emails: Vec<String> = db
            .connection()
            .prepare("SELECT email_norm FROM accounts ORDER BY email_norm")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<gatehouse_core::sql::Result<_>>()
            .unwrap();
        emails.shuffle(&mut rng);
        emails.truncate(if quick { 500 } else { 2_000 });
        emails.extend((0..50).map(|i| format!("stranger{i}@nowhere.example")));
        let mut times = vec![];
        for round in 0..if quick { 2 } else { 4 } {
            for email in &emails {
                let permission = ASKED[rng.random_range(0..ASKED.len())];
                let t = Instant::now();
                std::hint::black_box(check::check(&mut db, &who, "demo", email, permission, None, now).unwrap());
                if round > 0 {
                    times.push(t.elapsed().as_secs_f64() * 1e6);
                }
            }
        }
        figures.put("check_timed_calls", times.len());
        figures.put("check_median_us", median(&mut times));
        figures.put("check_p99_us", percentile(&mut times, 0.99));

        pages(&mut db, &who, now, quick, figures);
        let samples = if quick { 1 } else { 3 };
        figures.put("invite_10000_ms", invite_10000(&mut db, &who, now, samples).0);
    }
    admin.execute_batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
}

/// Median milliseconds of a bulk invite of 10,000 new people, each into a new organization: wall
/// time, and this thread's time on a core (on PostgreSQL the server's work is not in it).
fn invite_10000(db: &mut Database, who: &Principal, now: Timestamp, samples: usize) -> (f64, f64) {
    let mut cpu: Vec<f64> = Vec::new();
    let mut times: Vec<f64> = (0..samples)
        .map(|round| {
            let org = orgs::create(db, who, &format!("Invite Round {round}"), None, now).unwrap();
            let invitees: Vec<invitations::Invitee> = (0..10_000)
                .map(|i| invitations::Invitee {
                    email: format!("person{i}@round{round}.example"),
                    role: "member".into(),
                    access_expires_at: None,
                    workspace: None,
                })
                .collect();
            let (started, on_cpu) = (Instant::now(), on_cpu_ms());
            invitations::create(db, who, &org.slug, &invitees, None, now).unwrap();
            cpu.push(on_cpu_ms() - on_cpu);
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    (median(&mut times), median(&mut cpu))
}

fn bulk(db: &mut Database, who: &Principal, now: Timestamp, quick: bool, figures: &mut Figures) {
    let samples = if quick { 1 } else { 3 };
    let active = members::MemberQuery {
        filter: members::MemberFilter { status: Some("active".into()), role: Some("member".into()), search: None },
        per_page: 10_000,
        ..Default::default()
    };
    let emails: Vec<String> =
        members::list(db, who, "demo", &active, now).unwrap().items.into_iter().map(|r| r.email.clone()).collect();
    figures.put("disable_rows", emails.len());
    let selection = members::Selection::Emails(emails);
    let mut cpu: Vec<f64> = Vec::new();
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let (started, on_cpu) = (Instant::now(), on_cpu_ms());
            let r = members::set_enabled(db, who, "demo", &selection, false, now).unwrap();
            let ms = started.elapsed().as_secs_f64() * 1e3;
            cpu.push(on_cpu_ms() - on_cpu);
            assert_eq!(r.changed as usize, r.rows.len());
            members::set_enabled(db, who, "demo", &selection, true, now).unwrap();
            ms
        })
        .collect();
    figures.put("disable_ms", median(&mut times));
    figures.put("disable_cpu_ms", median(&mut cpu));

    // "Disable all matching" as the issue measured it: search "Varga", status active.
    let varga = members::Selection::AllMatching(members::MemberFilter {
        search: Some("Varga".into()),
        status: Some("active".into()),
        role: None,
    });
    let started = Instant::now();
    let r = members::set_enabled(db, who, "demo", &varga, false, now).unwrap();
    figures.put("disable_varga_ms", started.elapsed().as_secs_f64() * 1e3);
    figures.put("disable_varga_rows", r.changed);
    let back = members::Selection::Emails(r.rows.into_iter().map(|row| row.email).collect());
    members::set_enabled(db, who, "demo", &back, true, now).unwrap();

    let (wall, cpu) = invite_10000(db, who, now, samples);
    figures.put("invite_10000_ms", wall);
    figures.put("invite_10000_cpu_ms", cpu);
}
