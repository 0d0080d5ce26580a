//! Cached statements stay prepared (issue 9): `check` asks its questions through rusqlite's
//! statement cache, which clears the bindings of every statement it takes back; SQLite marks a
//! statement expired on that when its plan was tied to a bound value (any `column = ?` applied as
//! a filter, a LIMIT, STAT4 samples), and re-prepares it on the next call (the rights join: 33 µs
//! instead of 3). `db::configure` turns on the query planner stability guarantee. Counted with
//! `sqlite3_stmt_status(SQLITE_STMTSTATUS_REPREPARE)` over every statement of the connection.

mod common;

use common::*;
use gatehouse_core::auth::sign_in;
use gatehouse_core::usecases::{check, demo, members, orgs};
use gatehouse_core::Database;

/// The sum of one counter (`sqlite3_stmt_status`) over every statement the connection holds (the
/// cached ones included), reset to 0 when `reset`.
fn statement_status(db: &Database, counter: std::os::raw::c_int, reset: bool) -> i64 {
    let conn = db.sqlite_connection().unwrap();
    let mut total = 0;
    // SAFETY: the handle is valid while `conn` is borrowed; sqlite3_next_stmt and
    // sqlite3_stmt_status only read (and reset) the connection's list of statements and their counters.
    unsafe {
        let handle = conn.handle();
        let mut stmt = rusqlite::ffi::sqlite3_next_stmt(handle, std::ptr::null_mut());
        while !stmt.is_null() {
            total += rusqlite::ffi::sqlite3_stmt_status(stmt, counter, i32::from(reset)) as i64;
            stmt = rusqlite::ffi::sqlite3_next_stmt(handle, stmt);
        }
    }
    total
}

/// The re-prepares of every statement the connection holds (the cached ones included).
fn reprepares(db: &Database) -> i64 {
    statement_status(db, rusqlite::ffi::SQLITE_STMTSTATUS_REPREPARE, false)
}

fn demo_db() -> (tempfile::TempDir, Database, gatehouse_core::Principal) {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Database::open(dir.path().join("g.db")).unwrap();
    orgs::init(&mut db, "Bench", "boss@bench.test", "Boss Bench", PW, T0).unwrap();
    let who = sign_in(&mut db, "boss@bench.test", PW, T0).unwrap();
    demo::demo(&mut db, &who, "demo", 500, T0).unwrap();
    // What `PRAGMA optimize` or an `ANALYZE` by any tool leaves behind: STAT4 samples, with which
    // SQLite plans by the bound values.
    db.connection().execute_batch("ANALYZE").unwrap();
    drop(db);
    let db = Database::open_existing(dir.path().join("g.db")).unwrap();
    (dir, db, who)
}

#[test]
fn check_does_not_re_prepare_its_statements() {
    let (_dir, mut db, who) = demo_db();
    let ask = |db: &mut Database, user: &str, permission: &str, workspace: Option<&str>| {
        check::check(db, &who, "demo", user, permission, workspace, T0 + 1).unwrap()
    };
    // The first calls prepare what `check` needs (with and without a workspace).
    ask(&mut db, "ada.abbott.0@demo.example", "members.invite", None);
    ask(&mut db, "ada.abbott.0@demo.example", "members.invite", Some("Production"));
    let before = reprepares(&db);
    for (i, user) in
        ["ada.abbott.0@demo.example", "bruno.abbott.1@demo.example", "chloe.abbott.2@demo.example"].iter().enumerate()
    {
        for permission in ["members.invite", "org.view", "billing.access"] {
            ask(&mut db, user, permission, None);
            ask(&mut db, user, permission, [Some("Production"), Some("Staging"), None][i]);
        }
    }
    assert_eq!(reprepares(&db) - before, 0, "statements re-prepared during 18 checks");
}

#[test]
fn a_members_page_does_not_re_prepare_its_statements() {
    let (_dir, mut db, who) = demo_db();
    let page = |db: &mut Database, search: &str, page: i64| {
        let q = members::MemberQuery {
            filter: members::MemberFilter {
                search: Some(search.into()),
                status: Some("active".into()),
                role: Some("member".into()),
            },
            sort: members::SortKey::Name,
            page,
            per_page: 20,
            ..Default::default()
        };
        members::list(db, &who, "demo", &q, T0 + 1).unwrap()
    };
    page(&mut db, "a", 1);
    let before = reprepares(&db);
    for (search, p) in [("a", 1), ("ab", 1), ("a", 2), ("abbott", 1), ("x", 1)] {
        page(&mut db, search, p);
    }
    assert_eq!(reprepares(&db) - before, 0, "statements re-prepared during 5 member pages");
}

/// Every statement `body` starts on the connection, its own `BEGIN` and `COMMIT` included
/// (SQLite's statement trace, which also sees what `execute_batch` prepares and runs once).
fn count_statements(db: &mut Database, body: impl FnOnce(&mut Database)) -> u64 {
    statements_started(db, body).len() as u64
}

/// `check` asks one statement (issue 9): `rights::asked_at_once` (the organization, the caller's
/// rights, the person's account, membership and the one permission at once), with no BEGIN and
/// COMMIT around it (one statement reads one snapshot: `kept_answers::a_commit_at_any_step_of_a_
/// check_is_seen_whole_or_not_at_all`). It asked five (BEGIN, the organization, the caller's
/// rights, the person, COMMIT), and seven before that.
#[test]
fn check_asks_one_statement() {
    let (_dir, mut db, who) = demo_db();
    // Computed every time: what each answer costs when it is not kept.
    db.keep_check_answers(false);
    let people = ["ada.abbott.0@demo.example", "bruno.abbott.1@demo.example", "nobody@demo.example"];
    for user in people {
        check::check(&mut db, &who, "demo", user, "members.invite", None, T0 + 1).unwrap();
    }
    let started = count_statements(&mut db, |db| {
        for user in people {
            for permission in ["members.invite", "org.view"] {
                check::check(db, &who, "demo", user, permission, None, T0 + 1).unwrap();
            }
        }
    });
    assert_eq!(started, 6, "statements started by 6 checks");
}

/// `check` on PostgreSQL (issue 12): every statement is a round trip to the server, so a check
/// costs what it waits for. It waited five to seven times (BEGIN, the organization, the caller's
/// rights, a service account's row twice, a custom permission, the person, COMMIT: 1,087 µs at
/// 100k); now once: `rights::asked_at_once`, with no transaction around it. Counted by the facade
/// (`Connection::round_trips`) after the first calls prepared what the check needs (statements
/// stay prepared per connection), for a person and for a service account asking, about members,
/// a stranger, built-in and custom permissions, with and without a workspace.
#[test]
fn check_on_postgres_waits_for_the_server_once() {
    let Some(server) = pg_url() else { return };
    let mut db = Database::open(fresh_pg_url(&server)).unwrap();
    orgs::init(&mut db, "Bench", "boss@bench.test", "Boss Bench", PW, T0).unwrap();
    let boss = sign_in(&mut db, "boss@bench.test", PW, T0).unwrap();
    demo::demo(&mut db, &boss, "demo", 200, T0).unwrap();
    let token = gatehouse_core::usecases::service_accounts::create(&mut db, &boss, "demo", "asker", "member", None, T0)
        .unwrap()
        .token;
    let robot = gatehouse_core::auth::authenticate_token(&mut db, &token, T0).unwrap();
    let people = ["ada.abbott.0@demo.example", "bruno.abbott.1@demo.example", "nobody@demo.example"];
    let permissions = ["members.invite", "org.view", "billing.access"];
    for who in [&boss, &robot] {
        for user in people {
            for permission in permissions {
                for workspace in [None, Some("Production")] {
                    check::check(&mut db, who, "demo", user, permission, workspace, T0 + 1).unwrap();
                }
            }
        }
    }
    for (who, name) in [(&boss, "a person"), (&robot, "a service account")] {
        let before = db.connection().round_trips().unwrap();
        for user in people {
            for permission in permissions {
                for workspace in [None, Some("Production")] {
                    check::check(&mut db, who, "demo", user, permission, workspace, T0 + 2).unwrap();
                }
            }
        }
        let trips = db.connection().round_trips().unwrap() - before;
        assert_eq!(trips, 18, "round trips of 18 checks asked by {name}");
    }
}

/// A computed `check` reads the person asked by email from an index alone (migration 0009): the
/// account's id from its index by email, as the grants' role and times from theirs (0007). With
/// the unique index on email it was an index page and then the account's table row: one more
/// descent into a random person's pages per check, the part of a check at 1M that no cache holds.
/// Checked on the plans SQLite makes for the four shapes of the statement (account or service
/// account asking, with or without the next change), on a database as `demo` leaves it (no
/// statistics: there the planner took the unique index) and on one with ANALYZE's (`demo_db`).
#[test]
fn check_reads_the_person_account_from_an_index_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Database::open(dir.path().join("g.db")).unwrap();
    orgs::init(&mut db, "Bench", "boss@bench.test", "Boss Bench", PW, T0).unwrap();
    let who = sign_in(&mut db, "boss@bench.test", PW, T0).unwrap();
    demo::demo(&mut db, &who, "demo", 50, T0).unwrap();
    account_read_from_its_index(&db);
    let (_dir, analyzed, _who) = demo_db();
    account_read_from_its_index(&analyzed);
}

fn account_read_from_its_index(db: &Database) {
    use gatehouse_core::auth::Principal;
    use gatehouse_core::store::rights::{asked_at_once_sql, Times};
    let conn = db.sqlite_connection().unwrap();
    let askers = [
        Principal::Account { id: "a".into(), email: "a@x.test".into() },
        Principal::ServiceAccount { id: "s".into(), organization_id: "o".into(), name: "s".into() },
    ];
    for asker in &askers {
        for times in [Times::Now, Times::Next] {
            let sql = asked_at_once_sql(asker, times);
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([rusqlite::types::Null; 6], |r| r.get::<_, String>(3))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            // `a`: the person's account, as the statement names it.
            let account: Vec<&String> = plan.iter().filter(|step| step.split(' ').nth(1) == Some("a")).collect();
            assert_eq!(account.len(), 1, "{asker:?} {times:?}: {plan:#?}");
            assert!(
                account[0].contains("USING COVERING INDEX accounts_email_id"),
                "{asker:?} {times:?} reads the account's table row: {}",
                account[0]
            );
        }
    }
}

/// With answers kept (the default, `answers.rs`): a new question costs the probe of the data
/// version and the one statement that reads the answer and the next time its rows change (two; it
/// was seven: the probe, BEGIN, three reads, COMMIT and `next_change`); the same question again,
/// with nothing committed and no such time reached, costs the probe alone.
#[test]
fn a_kept_answer_costs_one_statement() {
    let (_dir, mut db, who) = demo_db();
    let people = ["ada.abbott.0@demo.example", "bruno.abbott.1@demo.example", "nobody@demo.example"];
    let ask = |db: &mut Database| {
        for user in people {
            for permission in ["members.invite", "org.view"] {
                check::check(db, &who, "demo", user, permission, None, T0 + 1).unwrap();
            }
        }
    };
    assert_eq!(count_statements(&mut db, ask), 6 * 2, "statements started by 6 new questions");
    let reused = db.check_answers_reused();
    assert_eq!(count_statements(&mut db, ask), 6, "statements started by the same 6 questions again");
    assert_eq!(db.check_answers_reused(), reused + 6);
}

/// What one members page costs the server, by page kind: statements started on SQLite (the
/// trace), requests that waited for the answer on PostgreSQL (`Connection::round_trips`), each
/// asked after the same page once prepared what it needs.
fn page_costs(db: &mut Database, who: &gatehouse_core::Principal) -> Vec<(&'static str, u64)> {
    let window = |count_limit, page, per_page| members::MemberQuery {
        filter: members::MemberFilter {
            search: Some("a".into()),
            status: Some("active".into()),
            role: Some("member".into()),
        },
        sort: members::SortKey::Name,
        page,
        per_page,
        count_limit,
        ..Default::default()
    };
    let after = members::list(db, who, "demo", &window(Some(1000), 1, 20), T0 + 1).unwrap().next;
    assert!(after.is_some(), "a full first page says where the next starts");
    let kinds: Vec<(&'static str, members::MemberQuery)> = vec![
        ("page 1 of 50, capped counts", window(Some(1000), 1, 50)),
        ("page 1 of 50, exact counts", window(None, 1, 50)),
        ("page 1 of 10, capped counts", window(Some(1000), 1, 10)),
        ("page 3 of 20 by number", window(Some(1000), 3, 20)),
        ("page 2 of 20 by cursor", members::MemberQuery { after, ..window(Some(1000), 2, 20) }),
        ("every member, by email", members::MemberQuery { per_page: 50, ..Default::default() }),
    ];
    kinds
        .into_iter()
        .map(|(name, q)| {
            members::list(db, who, "demo", &q, T0 + 1).unwrap();
            let cost = match db.connection().round_trips() {
                Some(before) => {
                    members::list(db, who, "demo", &q, T0 + 1).unwrap();
                    db.connection().round_trips().unwrap() - before
                }
                None => count_statements(db, |db| {
                    members::list(db, who, "demo", &q, T0 + 1).unwrap();
                }),
            };
            (name, cost)
        })
        .collect()
}

/// A members page (issues 9 and 12) asks the same few statements whatever its size, its counts or
/// how it was asked: BEGIN, the organization and the caller's rights (`OrgAccess`), the roster's
/// number with whether any roles start or end, the six status counts, the walk of the sort index,
/// the page's rows with where the next page starts, their workspace roles, COMMIT. It asked 60 for
/// a page of 50 (a statement per row, one more for the next page's position, two for the roster's
/// number, two for the counts without a search): on PostgreSQL every one of them is a round trip.
#[test]
fn a_members_page_asks_nine_statements_whatever_its_size() {
    let nine = |costs: Vec<(&'static str, u64)>| {
        for (name, cost) in costs {
            assert_eq!(cost, 9, "{name}");
        }
    };
    let (_dir, mut db, who) = demo_db();
    nine(page_costs(&mut db, &who));
    if let Some(server) = pg_url() {
        let mut db = Database::open(fresh_pg_url(&server)).unwrap();
        orgs::init(&mut db, "Bench", "boss@bench.test", "Boss Bench", PW, T0).unwrap();
        let boss = sign_in(&mut db, "boss@bench.test", PW, T0).unwrap();
        demo::demo(&mut db, &boss, "demo", 500, T0).unwrap();
        nine(page_costs(&mut db, &boss));
    }
}

/// The VM steps of every statement the connection holds (the cached ones: a page's statements)
/// while `body` runs (`sqlite3_stmt_status`, counters reset first): work that does not move with
/// the machine's load.
fn vm_steps(db: &mut Database, body: impl FnOnce(&mut Database)) -> i64 {
    statement_status(db, rusqlite::ffi::SQLITE_STMTSTATUS_VM_STEP, true);
    body(db);
    statement_status(db, rusqlite::ffi::SQLITE_STMTSTATUS_VM_STEP, false)
}

/// The Users page as the window asks it (issue 9: search, status and role, counts capped) does the
/// same work in an organization of 10,000 as in one of 1,000: each status count stops at the cap,
/// the walk of the name index stops at the page's end, the page's rows are read by row id. A count
/// or a walk over every matching row would make it grow with the organization (at 100k the six
/// capped counts, up to 1,001 rows each, were 166k of the page's 171k VM steps). Counted in SQLite
/// VM steps, which do not move with the machine's load.
#[test]
fn a_capped_members_page_does_the_same_work_whatever_the_organizations_size() {
    let page = members::MemberQuery {
        filter: members::MemberFilter {
            search: Some("a".into()),
            status: Some("active".into()),
            role: Some("member".into()),
        },
        sort: members::SortKey::Name,
        page: 1,
        per_page: 20,
        count_limit: Some(10),
        ..Default::default()
    };
    let steps = |n: i64| {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Database::open(dir.path().join("g.db")).unwrap();
        orgs::init(&mut db, "Bench", "boss@bench.test", "Boss Bench", PW, T0).unwrap();
        let who = sign_in(&mut db, "boss@bench.test", PW, T0).unwrap();
        demo::demo(&mut db, &who, "demo", n, T0).unwrap();
        let first = members::list(&mut db, &who, "demo", &page, T0 + 1).unwrap();
        assert_eq!(first.items.len(), 20);
        assert_eq!(
            first.estimated.as_deref().map(<[String]>::len),
            Some(7),
            "every status over the cap, and the total"
        );
        vm_steps(&mut db, |db| {
            members::list(db, &who, "demo", &page, T0 + 1).unwrap();
        })
    };
    let (small, large) = (steps(1_000), steps(10_000));
    assert!(large * 10 <= small * 12, "VM steps of a capped page 1: {small} at 1,000 members, {large} at 10,000");
}
