//! Bulk enable/disable (rule 5, issue 9): the cost of a row does not grow with the organization,
//! a watcher sees the progress and can cancel (everything rolls back), a preview reports exactly
//! what the real run does and writes nothing, and the last owner named by email refuses the command.

mod common;

use common::*;
use gatehouse_core::auth::sign_in;
use gatehouse_core::usecases::members::{self, BulkReport, MemberFilter, MemberQuery, Progress, Selection, SortKey};
use gatehouse_core::usecases::{demo, orgs};
use gatehouse_core::{ConflictReason, Database, Error, Principal};
use std::sync::atomic::{AtomicU64, Ordering};

/// Virtual-machine instructions (in tens) of the connection under measure.
static STEPS: AtomicU64 = AtomicU64::new(0);

extern "C" fn tick(_: *mut std::ffi::c_void) -> std::ffi::c_int {
    STEPS.fetch_add(1, Ordering::Relaxed);
    0
}

fn status(db: &mut Database, who: &Principal, org: &str, email: &str) -> String {
    members::show(db, who, org, email, T0 + 5).unwrap().row.status.as_str().to_string()
}

fn data_version(db: &Database) -> i64 {
    db.sqlite_connection().unwrap().pragma_query_value(None, "data_version", |r| r.get(0)).unwrap()
}

fn event_count(db: &Database) -> i64 {
    db.connection().query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0)).unwrap()
}

/// SQLite virtual-machine instructions per row of a bulk disable of 50 active members of a `demo`
/// organization of `n` members (counted by a progress handler: deterministic, unlike a clock).
fn instructions_per_row(n: i64) -> u64 {
    let (mut db, who, emails) = demo_members(n, 50);
    STEPS.store(0, Ordering::Relaxed);
    // SAFETY: the handle is valid while `db` lives; the handler is removed before it is dropped,
    // and `tick` touches only a static counter.
    unsafe {
        rusqlite::ffi::sqlite3_progress_handler(
            db.sqlite_connection().unwrap().handle(),
            10,
            Some(tick),
            std::ptr::null_mut(),
        )
    };
    let r = members::set_enabled(&mut db, &who, "demo", &Selection::Emails(emails), false, T0 + 2).unwrap();
    unsafe {
        rusqlite::ffi::sqlite3_progress_handler(db.sqlite_connection().unwrap().handle(), 0, None, std::ptr::null_mut())
    };
    assert_eq!(r.changed, 50, "{:?}", r.rows);
    STEPS.load(Ordering::Relaxed) * 10 / 50
}

#[test]
fn a_rows_cost_does_not_grow_with_the_organization() {
    let small = instructions_per_row(400);
    let large = instructions_per_row(4_000);
    // Before: every row counted the lasting owners from the memberships side, visiting each
    // enabled membership of the organization (10× the members, ~10× the work per row).
    assert!(large * 2 < small * 3, "per row: {small} instructions at 400 members, {large} at 4,000");
}

/// Statements `body` starts on the connection itself, by their SQL (SQLite's statement trace;
/// the statements a trigger runs, which it reports with a leading `--`, are left out).
fn statements_started(db: &mut Database, body: impl FnOnce(&mut Database)) -> Vec<String> {
    common::statements_started(db, body).into_iter().filter(|text| !text.starts_with("--")).collect()
}

/// A `demo` organization of `n` members and the emails of its first `rows` active members.
fn demo_members(n: i64, rows: usize) -> (Database, Principal, Vec<String>) {
    let mut db = Database::open_in_memory().unwrap();
    orgs::init(&mut db, "Bench", "boss@bench.test", "Boss Bench", PW, T0).unwrap();
    let who = sign_in(&mut db, "boss@bench.test", PW, T0).unwrap();
    demo::demo(&mut db, &who, "demo", n, T0).unwrap();
    let q = MemberQuery {
        filter: MemberFilter { status: Some("active".into()), role: Some("member".into()), ..Default::default() },
        sort: SortKey::Email,
        per_page: rows as i64,
        page: 1,
        ..Default::default()
    };
    let emails: Vec<String> =
        members::list(&mut db, &who, "demo", &q, T0 + 1).unwrap().items.into_iter().map(|r| r.email.clone()).collect();
    assert_eq!(emails.len(), rows);
    (db, who, emails)
}

/// The statements a bulk disable of `rows` members starts itself.
fn disable_statements(rows: usize) -> Vec<String> {
    let (mut db, who, emails) = demo_members(1_000, rows);
    statements_started(&mut db, |db| {
        let r = members::set_enabled(db, &who, "demo", &Selection::Emails(emails), false, T0 + 2).unwrap();
        assert_eq!(r.changed as usize, rows);
    })
}

#[test]
fn a_bulk_disable_starts_statements_per_batch_not_per_row() {
    let (few, many) = (disable_statements(20), disable_statements(400));
    // Before: eleven statements per row (the member's account, membership and owner role one by
    // one, the UPDATE, and the audit chain's head read, event and head written for every row):
    // 4,400 statements for 400 rows. Now the people are looked up 500 to a statement, memberships
    // updated 500 to an UPDATE, events inserted 100 to an INSERT and the head written once: 380
    // more rows start 3 more statements (the events of rows 101-400).
    assert!(many.len() - few.len() <= 4, "{} statements for 20 rows, {} for 400: {many:#?}", few.len(), many.len());
    let events: Vec<&String> = many.iter().filter(|s| s.starts_with("INSERT INTO audit_events")).collect();
    assert_eq!(events.len(), 4, "400 events, 100 to a statement");
    assert_eq!(many.iter().filter(|s| s.starts_with("INSERT INTO audit_heads")).count(), 1);
    assert_eq!(many.iter().filter(|s| s.starts_with("UPDATE memberships")).count(), 1);
}

/// The statements a bulk invite of `rows` new people starts itself.
fn invite_statements(rows: usize) -> Vec<String> {
    let (mut db, who, _) = demo_members(200, 1);
    let invitees: Vec<gatehouse_core::usecases::invitations::Invitee> = (0..rows)
        .map(|i| gatehouse_core::usecases::invitations::Invitee {
            email: format!("new{i}@invited.test"),
            role: "member".into(),
            access_expires_at: None,
            workspace: None,
        })
        .collect();
    statements_started(&mut db, |db| {
        let r = gatehouse_core::usecases::invitations::create(db, &who, "demo", &invitees, None, T0 + 2).unwrap();
        assert_eq!(r.invitations.len(), rows);
    })
}

#[test]
fn a_bulk_invite_starts_three_statements_per_row_and_looks_nobody_up_one_by_one() {
    let (few, many) = (invite_statements(20), invite_statements(400));
    let selects = |v: &[String]| v.iter().filter(|s| s.trim_start().starts_with("SELECT")).count();
    // Before: eight per row (the savepoint and its release, the account, the open invitation, the
    // rejected one superseded, the invitation, its event); now the savepoint, its release and the
    // invitation, while who is a member or invited already is asked 500 emails to a statement and
    // the events go 100 to an INSERT.
    assert!(many.len() - few.len() <= 380 * 3 + 3, "{} statements for 20 rows, {} for 400", few.len(), many.len());
    assert_eq!(selects(&many), selects(&few), "{many:#?}");
    assert_eq!(many.iter().filter(|s| s.starts_with("INSERT INTO audit_events")).count(), 4);
}

#[test]
fn a_bulk_disable_of_several_batches_keeps_one_intact_chain_in_row_order() {
    let (mut db, who, emails) = demo_members(1_000, 250);
    let before = event_count(&db);
    let r = members::set_enabled(&mut db, &who, "demo", &Selection::Emails(emails.clone()), false, T0 + 2).unwrap();
    assert_eq!(r.changed, 250);
    assert_eq!(event_count(&db), before + 250);
    let chain = gatehouse_core::usecases::audit::verify(&mut db, &who, "demo", T0 + 3).unwrap();
    assert!(chain.ok);
    // Newest first: the 250 events are the rows in reverse order, each a members.disabled.
    let q = gatehouse_core::usecases::audit::AuditQuery { limit: Some(250), ..Default::default() };
    let listed = gatehouse_core::usecases::audit::list(&mut db, &who, "demo", &q, T0 + 3).unwrap();
    let targets: Vec<String> = listed.iter().rev().map(|e| e.target.clone()).collect();
    assert_eq!(targets, emails);
    assert!(listed.iter().all(|e| e.action == "members.disabled"), "{:?}", listed[0].action);
    for email in emails.iter().step_by(50) {
        assert_eq!(status(&mut db, &who, "demo", email), "disabled");
    }
}

fn team() -> (Database, Principal) {
    let (mut db, o) = world();
    add(&mut db, &o, "o2@acme.test", "owner", None, T0);
    for i in 0..6 {
        add(&mut db, &o, &format!("m{i}@acme.test"), "member", None, T0);
    }
    (db, o)
}

fn all_active() -> Selection {
    Selection::AllMatching(MemberFilter { status: Some("active".into()), ..Default::default() })
}

#[test]
fn the_watcher_sees_every_row_and_the_end() {
    let (mut db, o) = team();
    let mut seen: Vec<Progress> = vec![];
    let r = members::set_enabled_watched(&mut db, &o, ORG, &all_active(), false, T0 + 1, &mut |p| {
        seen.push(p);
        true
    })
    .unwrap();
    // Eight active members: Olivia herself is skipped (rule 9), o2 and the six members disabled.
    assert_eq!((r.changed, r.skipped), (7, 1), "{:?}", r.rows);
    let done: Vec<u64> = seen.iter().map(|p| p.done).collect();
    assert_eq!(done, (0..=8).collect::<Vec<u64>>());
    assert!(seen.iter().all(|p| p.total == 8));
}

#[test]
fn cancelling_rolls_everything_back() {
    let (mut db, o) = team();
    let events = event_count(&db);
    let version = data_version(&db);
    let r = members::set_enabled_watched(&mut db, &o, ORG, &all_active(), false, T0 + 1, &mut |p| p.done < 5);
    match r {
        Err(Error::Conflict { reason: ConflictReason::Cancelled, .. }) => {}
        other => panic!("expected cancelled, got {other:?}"),
    }
    assert_eq!(event_count(&db), events, "no audit event of a cancelled bulk");
    assert_eq!(data_version(&db), version);
    for i in 0..6 {
        assert_eq!(status(&mut db, &o, ORG, &format!("m{i}@acme.test")), "active");
    }
    // Cancelled at the very end (after the last row) is still all or nothing.
    let r = members::set_enabled_watched(&mut db, &o, ORG, &all_active(), false, T0 + 1, &mut |p| p.done < p.total);
    assert!(matches!(r, Err(Error::Conflict { reason: ConflictReason::Cancelled, .. })), "{r:?}");
    assert_eq!(status(&mut db, &o, ORG, "m5@acme.test"), "active");
}

fn outcomes(r: &BulkReport) -> Vec<(String, String, Option<String>)> {
    r.rows.iter().map(|o| (o.email.clone(), o.result.clone(), o.reason.clone())).collect()
}

#[test]
fn a_preview_says_exactly_what_the_run_does_and_writes_nothing() {
    let (mut db, o) = team();
    let o2 = sign_in(&mut db, "o2@acme.test", PW, T0).unwrap();
    members::set_enabled(&mut db, &o, ORG, &Selection::Emails(vec!["m1@acme.test".into()]), false, T0 + 1).unwrap();
    // Acting as o2 on everyone: o2 is skipped (oneself), m1 unchanged, Olivia and the rest disabled.
    let everyone = Selection::AllMatching(MemberFilter::default());
    let version = data_version(&db);
    let events = event_count(&db);
    let preview = members::preview_set_enabled(&mut db, &o2, ORG, &everyone, false, T0 + 2).unwrap();
    assert_eq!(data_version(&db), version);
    assert_eq!(event_count(&db), events);
    assert_eq!(preview.dry_run, Some(true));
    let run = members::set_enabled(&mut db, &o2, ORG, &everyone, false, T0 + 2).unwrap();
    assert_eq!(run.dry_run, None);
    assert_eq!(outcomes(&preview), outcomes(&run));
    assert_eq!((preview.changed, preview.skipped), (run.changed, run.skipped));
    let unchanged = run.rows.iter().find(|r| r.email == "m1@acme.test").unwrap();
    assert_eq!(unchanged.result, "unchanged");
    assert_eq!(status(&mut db, &o2, ORG, OWNER), "disabled");
}

#[test]
fn the_last_owner_among_all_matching_is_skipped_and_reported_and_the_preview_agrees() {
    let (mut db, o) = team();
    let o2 = sign_in(&mut db, "o2@acme.test", PW, T0).unwrap();
    // o2 has an end date now, so Olivia is the only lasting owner.
    members::set_expiry(&mut db, &o, ORG, "o2@acme.test", Some(T0 + 86_400), T0 + 1).unwrap();
    let owners = Selection::AllMatching(MemberFilter { role: Some("owner".into()), ..Default::default() });
    let preview = members::preview_set_enabled(&mut db, &o2, ORG, &owners, false, T0 + 2).unwrap();
    let run = members::set_enabled(&mut db, &o2, ORG, &owners, false, T0 + 2).unwrap();
    assert_eq!(outcomes(&preview), outcomes(&run));
    // o2 skips themself (rule 9); Olivia, the last lasting owner, is skipped as last_owner.
    assert_eq!((run.changed, run.skipped), (0, 2), "{:?}", run.rows);
    let olivia = run.rows.iter().find(|r| r.email == OWNER).unwrap();
    assert!(olivia.reason.as_deref().unwrap_or_default().starts_with("last_owner"), "{olivia:?}");
    assert_eq!(status(&mut db, &o, ORG, OWNER), "active");
}

#[test]
fn the_last_owner_named_by_email_refuses_the_whole_command() {
    let (mut db, o) = team();
    let o2 = sign_in(&mut db, "o2@acme.test", PW, T0).unwrap();
    // o2 has an end date now, so Olivia is the only lasting owner.
    members::set_expiry(&mut db, &o, ORG, "o2@acme.test", Some(T0 + 86_400), T0 + 1).unwrap();
    let events = event_count(&db);
    let sel = Selection::Emails(vec!["m0@acme.test".into(), OWNER.into()]);
    for r in [
        members::preview_set_enabled(&mut db, &o2, ORG, &sel, false, T0 + 2),
        members::set_enabled(&mut db, &o2, ORG, &sel, false, T0 + 2),
    ] {
        match r {
            Err(Error::Conflict { reason: ConflictReason::LastOwner, message }) => {
                assert!(message.contains(OWNER), "{message}")
            }
            other => panic!("expected last_owner, got {other:?}"),
        }
    }
    assert_eq!(status(&mut db, &o, ORG, "m0@acme.test"), "active", "nothing of the command was written");
    assert_eq!(event_count(&db), events);
    // The same owner among "all matching" is skipped and reported; the rest goes through.
    let r = members::set_enabled(&mut db, &o2, ORG, &all_active(), false, T0 + 2).unwrap();
    let olivia = r.rows.iter().find(|r| r.email == OWNER).unwrap();
    assert_eq!(olivia.result, "skipped");
    assert!(olivia.reason.as_deref().unwrap_or_default().starts_with("last_owner"), "{olivia:?}");
    assert_eq!(status(&mut db, &o, ORG, "m0@acme.test"), "disabled");
}
