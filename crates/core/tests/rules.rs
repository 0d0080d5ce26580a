//! Integration tests of PRODUCT.md §2, one section per rule, through the public use cases only.
//! Time is a parameter: every call passes `now` explicitly.

use gatehouse_core::auth::{self, sign_in};
use gatehouse_core::catalogue::{AUDIT_VIEW, MEMBERS_MANAGE, ORG_VIEW, OWNERS_MANAGE};
use gatehouse_core::time::rfc3339;
use gatehouse_core::usecases::audit::{self, AuditQuery};
use gatehouse_core::usecases::check::check;
use gatehouse_core::usecases::invitations::{self, Acceptor, Invitee};
use gatehouse_core::usecases::members::{self, MemberFilter, MemberQuery, Selection};
use gatehouse_core::usecases::{orgs, roles};
use gatehouse_core::validate;
use gatehouse_core::{ConflictReason, Database, Error, ErrorCode, Principal, Result};

mod common;
use common::*;

// ---------------------------------------------------------------- helpers

fn init(db: &mut Database) -> Principal {
    orgs::init(db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    sign_in(db, OWNER, PW, T0).unwrap()
}

fn invitee(email: &str, role: &str, expires: Option<i64>) -> Invitee {
    Invitee { email: email.into(), role: role.into(), access_expires_at: expires, workspace: None }
}

fn invite(db: &mut Database, who: &Principal, email: &str, role: &str, expires: Option<i64>, now: i64) -> String {
    invitations::create(db, who, ORG, &[invitee(email, role, expires)], None, now).unwrap().invitations.remove(0).token
}

fn accept_new(db: &mut Database, token: &str, now: i64) -> Result<invitations::AcceptedMembership> {
    invitations::accept(db, token, Acceptor::NewAccount { full_name: "Test Person", password: PW }, now)
}

/// A custom non-owner role that may act on owners (so the last-owner rule, not the policy, is what refuses).
fn keeper(db: &mut Database, o: &Principal, now: i64) -> Principal {
    let perms: Vec<String> =
        [ORG_VIEW, MEMBERS_MANAGE, OWNERS_MANAGE, AUDIT_VIEW].iter().map(|s| s.to_string()).collect();
    roles::create(db, o, ORG, "keeper", &perms, "acts on owners", now).unwrap();
    add(db, o, "keeper@acme.test", "keeper", None, now)
}

#[track_caller]
fn conflict<T: std::fmt::Debug>(r: Result<T>) -> ConflictReason {
    match r {
        Err(Error::Conflict { reason, .. }) => reason,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn can(db: &mut Database, who: &Principal, email: &str, perm: &str, now: i64) -> bool {
    check(db, who, ORG, email, perm, None, now).unwrap().allowed
}

fn count(db: &Database, table: &str) -> i64 {
    db.connection().query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

/// Every row of every table, as text: equal snapshots mean nothing was written. Each table's rows
/// are sorted, since PostgreSQL returns them in no fixed order.
fn snapshot(db: &Database) -> Vec<String> {
    let conn = db.connection();
    let mut out = Vec::new();
    for t in common::tables(db) {
        let mut st = conn.prepare(&format!("SELECT * FROM {t}")).unwrap();
        let mut rows = st.query([]).unwrap();
        let mut lines = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            let mut line = format!("{t}:");
            for i in 0..row.column_count() {
                line.push_str(&format!("{:?}|", row.get_ref(i).unwrap()));
            }
            lines.push(line);
        }
        lines.sort();
        out.extend(lines);
    }
    out
}

fn owner_count(db: &Database) -> i64 {
    db.connection()
        .query_row(
            "SELECT count(DISTINCT m.id) FROM memberships m JOIN access_grants g ON g.membership_id = m.id AND g.workspace_id IS NULL
             JOIN roles r ON r.id = g.role_id AND r.is_owner = 1 WHERE m.enabled = 1",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

// ---------------------------------------------------------------- rule 1

#[test]
fn rule1_deny_by_default_and_changes_apply_on_the_next_call() {
    let (mut db, o) = world();
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0);
    // A member may view, nothing more.
    assert!(members::list(&mut db, &m, ORG, &MemberQuery::default(), T0).is_ok());
    assert_eq!(code(audit::list(&mut db, &m, ORG, &AuditQuery::default(), T0)), ErrorCode::Forbidden);
    assert_eq!(
        code(invitations::create(&mut db, &m, ORG, &[invitee("x@acme.test", "member", None)], None, T0)),
        ErrorCode::Forbidden
    );
    assert_eq!(code(orgs::rename(&mut db, &m, ORG, "Other", T0)), ErrorCode::Forbidden);
    assert!(!can(&mut db, &o, "m@acme.test", AUDIT_VIEW, T0));

    // Promotion takes effect on the very next call, and so does demotion.
    members::set_role(&mut db, &o, ORG, "m@acme.test", "admin", T0 + 1).unwrap();
    assert!(audit::list(&mut db, &m, ORG, &AuditQuery::default(), T0 + 2).is_ok());
    members::set_role(&mut db, &o, ORG, "m@acme.test", "member", T0 + 3).unwrap();
    assert_eq!(code(audit::list(&mut db, &m, ORG, &AuditQuery::default(), T0 + 4)), ErrorCode::Forbidden);

    // Disable revokes everything at once, even viewing; enabling restores it.
    let r =
        members::set_enabled(&mut db, &o, ORG, &Selection::Emails(vec!["m@acme.test".into()]), false, T0 + 5).unwrap();
    assert_eq!(r.changed, 1);
    assert_eq!(code(members::list(&mut db, &m, ORG, &MemberQuery::default(), T0 + 6)), ErrorCode::Forbidden);
    assert!(!can(&mut db, &o, "m@acme.test", ORG_VIEW, T0 + 6));
    members::set_enabled(&mut db, &o, ORG, &Selection::Emails(vec!["m@acme.test".into()]), true, T0 + 7).unwrap();
    assert!(members::list(&mut db, &m, ORG, &MemberQuery::default(), T0 + 8).is_ok());

    // A stranger (member of nothing here) is denied everything.
    members::remove(&mut db, &o, ORG, "m@acme.test", T0 + 9).unwrap();
    assert_eq!(code(members::list(&mut db, &m, ORG, &MemberQuery::default(), T0 + 10)), ErrorCode::Forbidden);
    assert_eq!(code(check(&mut db, &m, ORG, OWNER, ORG_VIEW, None, T0 + 10)), ErrorCode::Forbidden);
}

// ---------------------------------------------------------------- rule 2

#[test]
fn rule2_no_escalation() {
    let (mut db, o) = world();
    let a = add(&mut db, &o, "a@acme.test", "admin", None, T0);
    add(&mut db, &o, "m@acme.test", "member", None, T0);

    // Admin may invite admins and members, not owners.
    invitations::create(&mut db, &a, ORG, &[invitee("a2@acme.test", "admin", None)], None, T0).unwrap();
    invitations::create(&mut db, &a, ORG, &[invitee("m2@acme.test", "member", None)], None, T0).unwrap();
    assert_eq!(
        code(invitations::create(&mut db, &a, ORG, &[invitee("o2@acme.test", "owner", None)], None, T0)),
        ErrorCode::Forbidden
    );
    assert_eq!(count(&db, "invitations"), 4); // 2 accepted earlier + 2 now

    // Admin cannot make anyone owner, nor change, expire, disable or remove an owner.
    assert_eq!(code(members::set_role(&mut db, &a, ORG, "m@acme.test", "owner", T0)), ErrorCode::Forbidden);
    assert_eq!(code(members::set_role(&mut db, &a, ORG, OWNER, "member", T0)), ErrorCode::Forbidden);
    assert_eq!(code(members::set_expiry(&mut db, &a, ORG, OWNER, Some(T0 + 100), T0)), ErrorCode::Forbidden);
    assert_eq!(code(members::remove(&mut db, &a, ORG, OWNER, T0)), ErrorCode::Forbidden);
    let r = members::set_enabled(&mut db, &a, ORG, &Selection::Emails(vec![OWNER.into()]), false, T0).unwrap();
    assert_eq!((r.changed, r.skipped), (0, 1));
    assert!(can(&mut db, &o, OWNER, OWNERS_MANAGE, T0));
    assert!(!can(&mut db, &o, "m@acme.test", MEMBERS_MANAGE, T0));

    // Admin cannot create a role with a permission they lack, nor hand out one they lack.
    assert_eq!(
        code(roles::create(&mut db, &a, ORG, "boss", &["org.manage".to_string()], "", T0)),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(roles::create(&mut db, &a, ORG, "boss2", &[OWNERS_MANAGE.to_string()], "", T0)),
        ErrorCode::Forbidden
    );
    roles::create(&mut db, &o, ORG, "renamer", &["org.manage".to_string()], "", T0).unwrap();
    assert_eq!(code(members::set_role(&mut db, &a, ORG, "m@acme.test", "renamer", T0)), ErrorCode::Forbidden);
    assert_eq!(
        code(invitations::create(&mut db, &a, ORG, &[invitee("r@acme.test", "renamer", None)], None, T0)),
        ErrorCode::Forbidden
    );
    // But admin can change a non-owner to admin.
    members::set_role(&mut db, &a, ORG, "m@acme.test", "admin", T0).unwrap();
}

/// Found by the model test: an admin could not revoke an owner role held in a workspace, but could
/// replace it with a lower one by granting another role there, which takes it away all the same.
#[test]
fn rule2_replacing_an_owner_role_held_in_a_workspace_needs_owners_manage() {
    use gatehouse_core::usecases::workspaces;
    let (mut db, o) = world();
    workspaces::create(&mut db, &o, ORG, "alpha", T0).unwrap();
    let a = add(&mut db, &o, "a@acme.test", "admin", None, T0);
    add(&mut db, &o, "m@acme.test", "member", None, T0);
    workspaces::grant(&mut db, &o, ORG, "alpha", "m@acme.test", "owner", None, T0).unwrap();
    let replace = workspaces::grant(&mut db, &a, ORG, "alpha", "m@acme.test", "member", None, T0 + 1);
    assert_eq!(code(replace), ErrorCode::Forbidden);
    assert_eq!(code(workspaces::revoke(&mut db, &a, ORG, "alpha", "m@acme.test", T0 + 1)), ErrorCode::Forbidden);
    assert!(check(&mut db, &o, ORG, "m@acme.test", OWNERS_MANAGE, Some("alpha"), T0 + 2).unwrap().allowed);
    // In another workspace the admin may still grant what they hold.
    workspaces::create(&mut db, &o, ORG, "beta", T0).unwrap();
    workspaces::grant(&mut db, &a, ORG, "beta", "m@acme.test", "member", None, T0 + 3).unwrap();
}

// ---------------------------------------------------------------- rule 3

#[test]
fn rule3_last_owner_cannot_be_demoted_disabled_removed_expired_or_leave() {
    let (mut db, o) = world();
    let k = keeper(&mut db, &o, T0);
    add(&mut db, &o, "m@acme.test", "member", None, T0);

    assert_eq!(conflict(members::set_role(&mut db, &k, ORG, OWNER, "member", T0)), ConflictReason::LastOwner);
    assert_eq!(conflict(members::set_expiry(&mut db, &k, ORG, OWNER, Some(T0 + 100), T0)), ConflictReason::LastOwner);
    assert_eq!(conflict(members::remove(&mut db, &k, ORG, OWNER, T0)), ConflictReason::LastOwner);
    assert_eq!(conflict(members::leave(&mut db, &o, ORG, T0)), ConflictReason::LastOwner);
    // The owner may not put an expiry on themself either, as the last owner.
    assert_eq!(conflict(members::set_expiry(&mut db, &o, ORG, OWNER, Some(T0 + 100), T0)), ConflictReason::LastOwner);
    // Disabling the last owner named by email refuses the command (issue 8 item 11), never done.
    let named = Selection::Emails(vec![OWNER.into()]);
    assert_eq!(conflict(members::set_enabled(&mut db, &k, ORG, &named, false, T0)), ConflictReason::LastOwner);

    // Bulk disable of all matching: the last owner and the caller are skipped, the rest disabled.
    let r = members::set_enabled(&mut db, &k, ORG, &Selection::AllMatching(MemberFilter::default()), false, T0 + 1)
        .unwrap();
    let by: std::collections::HashMap<_, _> =
        r.rows.iter().map(|row| (row.email.as_str(), row.result.as_str())).collect();
    assert_eq!(by.get(OWNER), Some(&"skipped"), "{:?}", r.rows);
    assert_eq!(by.get("keeper@acme.test"), Some(&"skipped"));
    assert_eq!(by.get("m@acme.test"), Some(&"disabled"));
    assert_eq!(r.changed, 1);
    assert!(can(&mut db, &o, OWNER, OWNERS_MANAGE, T0 + 2));
    assert_eq!(owner_count(&db), 1);

    // An owner whose access expires does not count as lasting: they cannot demote the one who stays.
    let b = add(&mut db, &o, "b@acme.test", "owner", Some(T0 + 1000), T0 + 3);
    assert_eq!(conflict(members::set_role(&mut db, &b, ORG, OWNER, "member", T0 + 4)), ConflictReason::LastOwner);
    assert!(can(&mut db, &o, OWNER, OWNERS_MANAGE, T0 + 4));

    // With a second lasting owner, demotion works.
    let c = add(&mut db, &o, "c@acme.test", "owner", None, T0 + 5);
    members::set_role(&mut db, &c, ORG, OWNER, "member", T0 + 6).unwrap();
    assert!(!can(&mut db, &c, OWNER, OWNERS_MANAGE, T0 + 6));
    assert_eq!(conflict(members::leave(&mut db, &c, ORG, T0 + 7)), ConflictReason::LastOwner);
}

/// Issue 11 item 8: the bulk confirmation shows exactly what will change. The preview must name
/// the same rows with the same outcomes as the change itself — oneself, an owner stopped by rule 3
/// only because an earlier row takes the other lasting owner, a row already disabled, invitations
/// left out — and write nothing. (`tests/bulk.rs` covers progress, cancel and cost.)
#[test]
fn rule5_bulk_preview_says_exactly_what_set_enabled_then_does() {
    let (mut db, o) = world();
    add(&mut db, &o, "a@acme.test", "admin", None, T0);
    // The caller is an owner whose access ends: not a lasting owner, so rule 3 watches the others.
    let e = add(&mut db, &o, "e@acme.test", "owner", Some(T0 + 100_000), T0);
    add(&mut db, &o, "m1@acme.test", "member", None, T0);
    add(&mut db, &o, "m2@acme.test", "member", None, T0);
    add(&mut db, &o, "z@acme.test", "owner", None, T0);
    members::set_enabled(&mut db, &o, ORG, &Selection::Emails(vec!["m2@acme.test".into()]), false, T0).unwrap();
    invite(&mut db, &o, "pending@acme.test", "member", None, T0);

    let all = Selection::AllMatching(MemberFilter::default());
    let before = snapshot(&db);
    let preview = members::preview_set_enabled(&mut db, &e, ORG, &all, false, T0 + 1).unwrap();
    assert_eq!(snapshot(&db), before, "a preview writes nothing");
    let by: Vec<(&str, &str)> = preview.rows.iter().map(|r| (r.email.as_str(), r.result.as_str())).collect();
    assert_eq!(
        by,
        [
            ("a@acme.test", "disabled"),
            ("e@acme.test", "skipped"),
            ("m1@acme.test", "disabled"),
            ("m2@acme.test", "unchanged"),
            (OWNER, "disabled"),
            ("z@acme.test", "skipped"),
        ]
    );
    assert_eq!((preview.changed, preview.skipped, preview.dry_run), (3, 2, Some(true)));
    assert!(preview.rows[5].reason.as_deref().unwrap_or("").starts_with("last_owner"), "{:?}", preview.rows);

    let done = members::set_enabled(&mut db, &e, ORG, &all, false, T0 + 1).unwrap();
    assert_eq!(done.rows, preview.rows, "the change did what the preview said");
    assert_eq!((done.changed, done.skipped), (preview.changed, preview.skipped));

    // Enabling again, by a list of emails: the same agreement.
    let some = Selection::Emails(vec!["a@acme.test".into(), "m2@acme.test".into(), "z@acme.test".into()]);
    let preview = members::preview_set_enabled(&mut db, &e, ORG, &some, true, T0 + 2).unwrap();
    let unchanged = preview.rows.iter().filter(|r| r.result == "unchanged").count();
    assert_eq!((preview.changed, unchanged), (2, 1));
    let done = members::set_enabled(&mut db, &e, ORG, &some, true, T0 + 2).unwrap();
    assert_eq!(done.rows, preview.rows);

    // Without members.manage, the preview is refused as the change is.
    let m = sign_in(&mut db, "m2@acme.test", PW, T0 + 3).unwrap();
    assert_eq!(code(members::preview_set_enabled(&mut db, &m, ORG, &all, false, T0 + 3)), ErrorCode::Forbidden);
}

#[test]
fn rule3_two_owners_demoting_each_other_concurrently_leave_one() {
    // Two connections, as two processes (or two machines, on PostgreSQL) would have: one file, or
    // one database of the server named by $GATEHOUSE_TEST_PG, with 200 rounds there.
    let dir = tempfile::tempdir().unwrap();
    let (path, rounds) = match common::pg_url() {
        Some(server) => (std::path::PathBuf::from(common::fresh_pg_url(&server)), 200),
        None => (dir.path().join("g.db"), 30),
    };
    let mut db1 = Database::open(&path).unwrap();
    let a = init(&mut db1);
    let b = add(&mut db1, &a, "b@acme.test", "owner", None, T0);
    let db2 = Database::open(&path).unwrap();
    assert_eq!(owner_count(&db1), 2);

    let rounds: i64 = rounds;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let run = |mut db: Database,
               me: Principal,
               other_email: &'static str,
               counter: bool,
               barrier: std::sync::Arc<std::sync::Barrier>| {
        std::thread::spawn(move || {
            let mut wins = 0;
            for r in 0..rounds {
                let now = T0 + 10 + r * 10;
                barrier.wait();
                let res = members::set_role(&mut db, &me, ORG, other_email, "member", now);
                let won = match res {
                    Ok(()) => true,
                    Err(Error::Forbidden { .. }) => false,
                    Err(Error::Conflict { reason: ConflictReason::LastOwner, .. }) => false,
                    Err(e) => panic!("round {r}: unexpected error {e:?}"),
                };
                barrier.wait();
                if counter {
                    assert_eq!(owner_count(&db), 1, "round {r}: owners after the race");
                }
                barrier.wait();
                if won {
                    wins += 1;
                    members::set_role(&mut db, &me, ORG, other_email, "owner", now + 1).unwrap();
                }
                barrier.wait();
            }
            (db, wins)
        })
    };
    let t1 = run(db1, a.clone(), "b@acme.test", true, barrier.clone());
    let t2 = run(db2, b, OWNER, false, barrier);
    let (mut db1, w1) = t1.join().unwrap();
    let (_db2, w2) = t2.join().unwrap();
    assert_eq!(w1 + w2, rounds, "exactly one demotion must win each round");
    assert_eq!(owner_count(&db1), 2);
    // The chain stayed intact through concurrent appends from two connections.
    audit::verify(&mut db1, &a, ORG, T0 + 10_000).unwrap();
}

// ---------------------------------------------------------------- rule 4

#[test]
fn rule4_invitations() {
    let (mut db, o) = world();
    let t1 = invite(&mut db, &o, "x@acme.test", "member", None, T0);
    assert!(t1.starts_with("ghi_") && t1.len() >= 4 + 32, "{t1}");
    assert_eq!(
        conflict(invitations::create(&mut db, &o, ORG, &[invitee("X@acme.test", "admin", None)], None, T0)),
        ConflictReason::OpenInvitation
    );

    // Resend: a new token; the old one stops working.
    let t2 = invitations::resend(&mut db, &o, ORG, "x@acme.test", T0 + 1).unwrap().invitations.remove(0).token;
    assert_ne!(t1, t2);
    assert!(accept_new(&mut db, &t1, T0 + 2).is_err());
    accept_new(&mut db, &t2, T0 + 2).unwrap();
    // Single use.
    assert_eq!(conflict(accept_new(&mut db, &t2, T0 + 3)), ConflictReason::TokenUsed);
    assert_eq!(conflict(invitations::reject(&mut db, &t2, T0 + 3)), ConflictReason::TokenUsed);
    // Already a member.
    assert_eq!(
        conflict(invitations::create(&mut db, &o, ORG, &[invitee("x@acme.test", "member", None)], None, T0 + 4)),
        ConflictReason::AlreadyMember
    );

    // Revoked.
    let ty = invite(&mut db, &o, "y@acme.test", "member", None, T0);
    invitations::revoke(&mut db, &o, ORG, "y@acme.test", T0 + 1).unwrap();
    assert_eq!(conflict(accept_new(&mut db, &ty, T0 + 2)), ConflictReason::TokenRevoked);
    // Expired.
    let tz = invite(&mut db, &o, "z@acme.test", "member", None, T0);
    assert_eq!(
        conflict(accept_new(&mut db, &tz, T0 + invitations::DEFAULT_VALID_SECONDS + 1)),
        ConflictReason::TokenExpired
    );
    // Rejected then accepted.
    let tw = invite(&mut db, &o, "w@acme.test", "member", None, T0);
    invitations::reject(&mut db, &tw, T0 + 1).unwrap();
    assert_eq!(conflict(accept_new(&mut db, &tw, T0 + 2)), ConflictReason::TokenUsed);
    // No membership was created by any refused token.
    for email in ["y@acme.test", "z@acme.test", "w@acme.test"] {
        assert!(!can(&mut db, &o, email, ORG_VIEW, T0 + 3));
    }
    assert!(can(&mut db, &o, "x@acme.test", ORG_VIEW, T0 + 3));
}

/// Found by the model test (tests/model.rs): a person who rejected an invitation and was invited
/// again was listed twice, pending and rejected. The new invitation replaces the rejected one.
#[test]
fn rule4_a_new_invitation_replaces_a_rejected_one_in_the_member_list() {
    let (mut db, o) = world();
    let old = invite(&mut db, &o, "p3@acme.test", "member", None, T0);
    invitations::reject(&mut db, &old, T0 + 1).unwrap();
    let new = invite(&mut db, &o, "p3@acme.test", "admin", None, T0 + 2);
    let page = members::list(&mut db, &o, ORG, &MemberQuery::default(), T0 + 3).unwrap();
    let rows: Vec<(&str, &str)> = page
        .items
        .iter()
        .filter(|r| r.email == "p3@acme.test")
        .map(|r| (r.status.as_str(), r.roles[0].as_str()))
        .collect();
    assert_eq!(rows, [("pending", "admin")]);
    assert_eq!((page.counts.pending, page.counts.rejected, page.counts.total), (1, 0, 2));
    // The old token stays refused; the new one works once.
    assert_eq!(conflict(accept_new(&mut db, &old, T0 + 4)), ConflictReason::TokenRevoked);
    accept_new(&mut db, &new, T0 + 5).unwrap();
    let page = members::list(&mut db, &o, ORG, &MemberQuery::default(), T0 + 6).unwrap();
    let statuses: Vec<&str> = page.items.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["active", "active"]);
}

/// Found by the model test: a workspace grant made a member of someone with an open invitation,
/// who was then listed twice (active and pending) with an invitation no one could accept.
#[test]
fn rule4_a_workspace_grant_does_not_leave_a_member_with_an_invitation() {
    let (mut db, o) = world();
    gatehouse_core::usecases::workspaces::create(&mut db, &o, ORG, "alpha", T0).unwrap();
    // Two people with accounts (made in another organization), neither a member here.
    orgs::create(&mut db, &o, "Elsewhere", None, T0).unwrap();
    for email in ["x@acme.test", "y@acme.test"] {
        let t = invitations::create(&mut db, &o, "elsewhere", &[invitee(email, "member", None)], None, T0).unwrap();
        accept_new(&mut db, &t.invitations[0].token, T0).unwrap();
    }
    let grant = |db: &mut Database, email: &str, now: i64| {
        gatehouse_core::usecases::workspaces::grant(db, &o, ORG, "alpha", email, "member", None, now)
    };
    // An open invitation: the grant is refused, as a second invitation would be.
    invite(&mut db, &o, "x@acme.test", "admin", None, T0 + 1);
    assert_eq!(conflict(grant(&mut db, "x@acme.test", T0 + 2)), ConflictReason::OpenInvitation);
    // A rejected one gives way, and so does one past its validity.
    let t = invite(&mut db, &o, "y@acme.test", "admin", None, T0 + 1);
    invitations::reject(&mut db, &t, T0 + 2).unwrap();
    grant(&mut db, "y@acme.test", T0 + 3).unwrap();
    grant(&mut db, "x@acme.test", T0 + 8 * 86_400).unwrap();
    let page = members::list(&mut db, &o, ORG, &MemberQuery::default(), T0 + 8 * 86_400).unwrap();
    let rows: Vec<(&str, &str)> = page.items.iter().map(|r| (r.email.as_str(), r.status.as_str())).collect();
    assert_eq!(rows, [("owner@acme.test", "active"), ("x@acme.test", "active"), ("y@acme.test", "active")]);
}

#[test]
fn rule4_database_file_holds_no_token_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let mut db = Database::open(&path).unwrap();
    let o = init(&mut db);
    let token = invite(&mut db, &o, "x@acme.test", "member", None, T0);
    let resent = invitations::resend(&mut db, &o, ORG, "x@acme.test", T0 + 1).unwrap().invitations.remove(0).token;
    let hex_part = token.trim_start_matches("ghi_").to_string();
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    drop(db);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(bytes.len() > 1000);
    for needle in [token.as_str(), hex_part.as_str(), resent.as_str(), resent.trim_start_matches("ghi_")] {
        assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_bytes()), "token found in the database files");
    }
}

// ---------------------------------------------------------------- rule 5

#[test]
fn rule5_bulk_invite_is_all_or_nothing() {
    let (mut db, o) = world();
    let before = snapshot(&db);
    let rows = [
        invitee("a@acme.test", "member", None),
        invitee("not an email", "member", None),
        invitee("c@acme.test", "admin", None),
    ];
    let e = invitations::create(&mut db, &o, ORG, &rows, None, T0).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("row 2"), "{e}");
    assert_eq!(snapshot(&db), before);

    let rows = [invitee("a@acme.test", "member", None), invitee("b@acme.test", "no-such-role", None)];
    assert_eq!(invalid_field(invitations::create(&mut db, &o, ORG, &rows, None, T0)), "role");
    assert_eq!(snapshot(&db), before);

    // Duplicate in the same list.
    let rows = [invitee("a@acme.test", "member", None), invitee("A@acme.test", "member", None)];
    assert!(invitations::create(&mut db, &o, ORG, &rows, None, T0).is_err());
    assert_eq!(snapshot(&db), before);

    let list = invitations::split_emails("a@acme.test, b@acme.test;c@acme.test d@acme.test\ne@acme.test");
    assert_eq!(list.len(), 5);
    let rows: Vec<_> = list.iter().map(|e| invitee(e, "member", None)).collect();
    assert_eq!(invitations::create(&mut db, &o, ORG, &rows, None, T0).unwrap().invitations.len(), 5);
    assert_eq!(count(&db, "invitations"), 5);
}

// ---------------------------------------------------------------- rule 6

#[test]
fn rule6_remove_deletes_membership_but_keeps_audit_and_invitations() {
    let (mut db, o) = world();
    let m = add(&mut db, &o, "m@acme.test", "admin", None, T0);
    invite(&mut db, &m, "made-by-m@acme.test", "member", None, T0 + 1);
    let grants_before = count(&db, "access_grants");
    let about_m = |db: &mut Database| {
        events(db, &o, T0 + 10).into_iter().filter(|e| e.target == "m@acme.test" || e.actor == "m@acme.test").count()
    };
    let n = about_m(&mut db);
    assert!(n >= 3);

    members::remove(&mut db, &o, ORG, "m@acme.test", T0 + 2).unwrap();
    assert!(!can(&mut db, &o, "m@acme.test", ORG_VIEW, T0 + 3));
    assert_eq!(count(&db, "access_grants"), grants_before - 1);
    assert_eq!(about_m(&mut db), n + 1); // + members.removed
    assert_eq!(count(&db, "invitations"), 2);
    let page = members::list(&mut db, &o, ORG, &MemberQuery::default(), T0 + 3).unwrap();
    assert!(page.items.iter().any(|r| r.email == "made-by-m@acme.test"));
    assert!(!page.items.iter().any(|r| r.email == "m@acme.test" && r.status.as_str() == "active"));
    // The account itself remains (it may belong to other organizations); access is gone.
    assert_eq!(code(members::list(&mut db, &m, ORG, &MemberQuery::default(), T0 + 3)), ErrorCode::Forbidden);
    audit::verify(&mut db, &o, ORG, T0 + 4).unwrap();
}

// ---------------------------------------------------------------- rule 7

#[test]
fn rule7_lockout_and_argon2id() {
    let (mut db, _o) = world();
    let hash: String = db.connection().query_row("SELECT password_hash FROM accounts", [], |r| r.get(0)).unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(!hash.contains(PW));

    let t = T0 + 100;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..auth::LOCK_AFTER_FAILURES {
        known.push(sign_in(&mut db, OWNER, "wrong password!", t).unwrap_err().to_string());
        unknown.push(sign_in(&mut db, "nobody@acme.test", "wrong password!", t).unwrap_err().to_string());
    }
    assert_eq!(known, unknown);
    assert!(known.iter().all(|m| m == auth::WRONG_CREDENTIALS));
    // Locked now: even the right password is refused, and the answer is the same for an unknown email.
    let k = sign_in(&mut db, OWNER, PW, t).unwrap_err();
    let u = sign_in(&mut db, "nobody@acme.test", PW, t).unwrap_err();
    assert_eq!(k.code(), ErrorCode::Unauthenticated);
    assert_eq!(k.to_string(), u.to_string());
    assert!(k.to_string().contains("locked"), "{k}");
    assert!(sign_in(&mut db, OWNER, PW, t + auth::FIRST_LOCK_SECONDS - 1).is_err());
    // After the back-off, the right password works and resets the count.
    sign_in(&mut db, OWNER, PW, t + auth::FIRST_LOCK_SECONDS + 1).unwrap();
    assert_eq!(sign_in(&mut db, OWNER, "wrong password!", t + 100).unwrap_err().to_string(), auth::WRONG_CREDENTIALS);
    sign_in(&mut db, OWNER, PW, t + 100).unwrap();
    // Growing back-off.
    assert!(auth::lock_seconds(6) > auth::lock_seconds(5));
}

/// Sign-in's email is a key of `signin_attempts`, written on every failure: it was taken as
/// given. A 1 MiB "email" (the service takes bodies up to 1 MiB) wrote a 1 MiB row per failed
/// attempt on SQLite, and on PostgreSQL failed `internal` (an index row over btree's bound).
/// No account can have such an email (emails are at most `MAX_EMAIL_CHARS`, with no control
/// characters): it is refused naming the field, before argon2, and nothing is written.
#[test]
fn rule7_a_sign_in_email_no_account_could_have_is_refused_naming_it_and_nothing_is_written() {
    let (mut db, _o) = world();
    let rows = |db: &Database| (count(db, "signin_attempts"), count(db, "audit_events"));
    let before = rows(&db);
    // Letters that do not repeat, as an attacker would send them (compression would hide a run).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut huge: String = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (b'a' + (x % 26) as u8) as char
        })
        .collect();
    huge.push_str("@acme.test");
    let long = format!("{}@acme.test", "a".repeat(validate::MAX_EMAIL_CHARS));
    for email in [huge.as_str(), long.as_str(), "owner@acme.test\u{1b}[2J", ""] {
        let refused = sign_in(&mut db, email, "wrong password!", T0 + 1);
        assert_eq!(invalid_field(refused), "email", "{}", validate::shorten(email));
        assert_eq!(rows(&db), before, "nothing written for {}", validate::shorten(email));
    }
    // An email an account could have is answered as before, known or not.
    let wrong = sign_in(&mut db, "nobody@acme.test", "wrong password!", T0 + 1).unwrap_err();
    assert_eq!(wrong.to_string(), auth::WRONG_CREDENTIALS);
}

/// Rule 10 where the engines differ: PostgreSQL's text cannot hold NUL, and a NUL in a name
/// that is only looked up (an organization's slug, a permission, a workspace, a role; the
/// service and the CLI pass them on as given) failed the statement there: `internal`, "a bug",
/// HTTP 500, where SQLite answered not found. Now the organization is not found on both engines,
/// `check` refuses a permission or workspace with control characters naming the field, and any
/// other text with NUL that reaches PostgreSQL is bad input, never `internal`. Nothing written.
#[test]
fn rule10_a_nul_in_a_name_looked_up_is_not_found_or_bad_input_on_both_engines_never_internal() {
    let (mut db, o) = world();
    let before = count(&db, "audit_events");
    assert_eq!(code(check(&mut db, &o, "acme\u{0}", OWNER, ORG_VIEW, None, T0 + 1)), ErrorCode::NotFound);
    assert_eq!(code(orgs::rename(&mut db, &o, "acme\u{0}", "New", T0 + 1)), ErrorCode::NotFound);
    assert_eq!(invalid_field(check(&mut db, &o, ORG, OWNER, "org.vi\u{0}ew", None, T0 + 1)), "permission");
    assert_eq!(invalid_field(check(&mut db, &o, ORG, OWNER, ORG_VIEW, Some("w\u{0}s"), T0 + 1)), "workspace");
    assert_eq!(count(&db, "audit_events"), before, "nothing written");
    add(&mut db, &o, "m@acme.test", "member", None, T0);
    let before = count(&db, "audit_events");
    let role = members::set_role(&mut db, &o, ORG, "m@acme.test", "adm\u{0}in", T0 + 1);
    assert!(matches!(code(role), ErrorCode::NotFound | ErrorCode::InvalidInput), "a role with NUL");
    assert_eq!(count(&db, "audit_events"), before, "nothing written");
}

// ---------------------------------------------------------------- rule 8

#[test]
fn rule8_every_change_and_denial_is_audited() {
    let (mut db, o) = world();
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0);
    let mut last = count(&db, "audit_events");
    let mut step = |db: &mut Database, what: &str| {
        let n = count(db, "audit_events");
        assert!(n > last, "{what} wrote no audit event");
        last = n;
    };
    members::set_role(&mut db, &o, ORG, "m@acme.test", "admin", T0 + 1).unwrap();
    step(&mut db, "set_role");
    members::set_expiry(&mut db, &o, ORG, "m@acme.test", Some(T0 + 1000), T0 + 1).unwrap();
    step(&mut db, "set_expiry");
    members::set_expiry(&mut db, &o, ORG, "m@acme.test", None, T0 + 1).unwrap();
    step(&mut db, "clear expiry");
    members::set_enabled(&mut db, &o, ORG, &Selection::Emails(vec!["m@acme.test".into()]), false, T0 + 1).unwrap();
    step(&mut db, "disable");
    members::set_enabled(&mut db, &o, ORG, &Selection::Emails(vec!["m@acme.test".into()]), true, T0 + 1).unwrap();
    step(&mut db, "enable");
    invite(&mut db, &o, "x@acme.test", "member", None, T0 + 1);
    step(&mut db, "invite");
    invitations::resend(&mut db, &o, ORG, "x@acme.test", T0 + 2).unwrap();
    step(&mut db, "resend");
    invitations::revoke(&mut db, &o, ORG, "x@acme.test", T0 + 2).unwrap();
    step(&mut db, "revoke");
    roles::create(&mut db, &o, ORG, "helper", &[ORG_VIEW.to_string()], "", T0 + 2).unwrap();
    step(&mut db, "role create");
    roles::update(&mut db, &o, ORG, "helper", &[ORG_VIEW.to_string(), AUDIT_VIEW.to_string()], None, T0 + 2).unwrap();
    step(&mut db, "role update");
    roles::delete(&mut db, &o, ORG, "helper", T0 + 2).unwrap();
    step(&mut db, "role delete");
    orgs::rename(&mut db, &o, ORG, "Acme Two", T0 + 2).unwrap();
    step(&mut db, "rename");
    let ty = invite(&mut db, &o, "y@acme.test", "member", None, T0 + 2);
    invitations::reject(&mut db, &ty, T0 + 3).unwrap();
    step(&mut db, "reject");
    members::remove(&mut db, &o, ORG, "m@acme.test", T0 + 3).unwrap();
    step(&mut db, "remove");

    // A denied attempt writes access.denied, and nothing else.
    let n2 = add(&mut db, &o, "n@acme.test", "member", None, T0 + 4);
    let before = count(&db, "audit_events");
    let grants = count(&db, "access_grants");
    assert_eq!(code(members::set_role(&mut db, &n2, ORG, OWNER, "member", T0 + 5)), ErrorCode::Forbidden);
    assert_eq!(
        code(invitations::create(&mut db, &n2, ORG, &[invitee("q@acme.test", "member", None)], None, T0 + 5)),
        ErrorCode::Forbidden
    );
    assert_eq!(count(&db, "audit_events"), before + 2);
    assert_eq!(count(&db, "access_grants"), grants);
    assert_eq!(count(&db, "invitations"), 4); // m, x, y, n
    let ev = events(&mut db, &o, T0 + 6);
    let denied: Vec<_> = ev.iter().filter(|e| e.action == "access.denied" && e.actor == "n@acme.test").collect();
    assert_eq!(denied.len(), 2, "{ev:?}");
    let _ = m;

    // Tampering is detected: edit one event.
    assert!(audit::verify(&mut db, &o, ORG, T0 + 7).unwrap().ok);
    db.connection()
        .execute("UPDATE audit_events SET target = 'someone-else@acme.test' WHERE seq = (SELECT min(seq) + 2 FROM audit_events)", [])
        .unwrap();
    assert_eq!(conflict(audit::verify(&mut db, &o, ORG, T0 + 7)), ConflictReason::ChainBroken);
}

#[test]
fn rule8_deleted_events_are_detected() {
    for which in [
        "(SELECT max(seq) FROM audit_events)",
        "(SELECT min(seq) + 1 FROM audit_events)",
        "(SELECT min(seq) FROM audit_events)",
    ] {
        let (mut db, o) = world();
        add(&mut db, &o, "m@acme.test", "member", None, T0);
        members::set_role(&mut db, &o, ORG, "m@acme.test", "admin", T0 + 1).unwrap();
        assert!(audit::verify(&mut db, &o, ORG, T0 + 2).unwrap().ok);
        let n = db.connection().execute(&format!("DELETE FROM audit_events WHERE seq = {which}"), []).unwrap();
        assert_eq!(n, 1);
        assert_eq!(conflict(audit::verify(&mut db, &o, ORG, T0 + 2)), ConflictReason::ChainBroken, "deleting {which}");
    }
}

// ---------------------------------------------------------------- rule 9

#[test]
fn rule9_expiry_lifecycle() {
    let (mut db, o) = world();
    let m = add(&mut db, &o, "m@acme.test", "member", Some(T0 + 3), T0);
    assert!(can(&mut db, &o, "m@acme.test", ORG_VIEW, T0));
    assert!(members::list(&mut db, &m, ORG, &MemberQuery::default(), T0 + 2).is_ok());
    assert_eq!(audit::record_expiries(&mut db, T0 + 2).unwrap(), 0);

    // Past the expiry: denied on the next call.
    assert!(!can(&mut db, &o, "m@acme.test", ORG_VIEW, T0 + 5));
    assert_eq!(code(members::list(&mut db, &m, ORG, &MemberQuery::default(), T0 + 5)), ErrorCode::Forbidden);

    // One access.expired event, dated at the expiry; a second sweep records nothing.
    assert_eq!(audit::record_expiries(&mut db, T0 + 5).unwrap(), 1);
    assert_eq!(audit::record_expiries(&mut db, T0 + 6).unwrap(), 0);
    let expired: Vec<_> = events(&mut db, &o, T0 + 6).into_iter().filter(|e| e.action == "access.expired").collect();
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0].target, "m@acme.test");
    assert_eq!(expired[0].at, rfc3339(T0 + 3));
    assert!(audit::verify(&mut db, &o, ORG, T0 + 6).unwrap().ok);
    // Nothing was deleted: the member is still listed, as expired.
    let page = members::list(&mut db, &o, ORG, &MemberQuery::default(), T0 + 6).unwrap();
    assert!(page.items.iter().any(|r| r.email == "m@acme.test" && r.status.as_str() == "expired"), "{:?}", page.items);

    // Extending restores access; a later expiry is recorded again.
    members::set_expiry(&mut db, &o, ORG, "m@acme.test", Some(T0 + 100), T0 + 7).unwrap();
    assert!(can(&mut db, &o, "m@acme.test", ORG_VIEW, T0 + 8));
    assert!(members::list(&mut db, &m, ORG, &MemberQuery::default(), T0 + 8).is_ok());
    assert_eq!(audit::record_expiries(&mut db, T0 + 101).unwrap(), 1);
    members::set_expiry(&mut db, &o, ORG, "m@acme.test", None, T0 + 102).unwrap();
    assert!(can(&mut db, &o, "m@acme.test", ORG_VIEW, T0 + 10_000));
}

#[test]
fn rule9_no_one_extends_their_own_expiry_or_raises_their_own_role() {
    let (mut db, o) = world();
    let a = add(&mut db, &o, "a@acme.test", "admin", Some(T0 + 100), T0);
    add(&mut db, &o, "o2@acme.test", "owner", None, T0);
    assert_eq!(
        code(members::set_expiry(&mut db, &a, ORG, "a@acme.test", Some(T0 + 1000), T0 + 1)),
        ErrorCode::Forbidden
    );
    assert_eq!(code(members::set_expiry(&mut db, &a, ORG, "a@acme.test", None, T0 + 1)), ErrorCode::Forbidden);
    assert_eq!(code(members::set_role(&mut db, &a, ORG, "a@acme.test", "owner", T0 + 1)), ErrorCode::Forbidden);
    // Shortening one's own expiry is allowed.
    members::set_expiry(&mut db, &a, ORG, "a@acme.test", Some(T0 + 50), T0 + 1).unwrap();
    // Lowering one's own role is allowed (tests/self_and_owners.rs has stepping down in full).
    members::set_role(&mut db, &a, ORG, "a@acme.test", "member", T0 + 2).unwrap();
    assert_eq!(code(members::set_role(&mut db, &a, ORG, "a@acme.test", "admin", T0 + 3)), ErrorCode::Forbidden);
    assert!(!can(&mut db, &o, "a@acme.test", ORG_VIEW, T0 + 60));
}

// ---------------------------------------------------------------- rule 10

#[test]
fn rule10_bad_input_names_the_field_and_writes_nothing() {
    let (mut db, o) = world();
    add(&mut db, &o, "m@acme.test", "member", None, T0);
    let before = snapshot(&db);
    let one = |e: &str, r: &str, x: Option<i64>| vec![invitee(e, r, x)];
    let big = "a".repeat(10 * 1024 * 1024);

    assert_eq!(
        invalid_field(invitations::create(&mut db, &o, ORG, &one("not-an-email", "member", None), None, T0)),
        "email"
    );
    assert_eq!(
        invalid_field(invitations::create(
            &mut db,
            &o,
            ORG,
            &one("a@b.com'; DROP TABLE accounts;--", "member", None),
            None,
            T0
        )),
        "email"
    );
    assert_eq!(
        invalid_field(invitations::create(&mut db, &o, ORG, &one("o\tk@acme.test", "member", None), None, T0)),
        "email"
    );
    assert_eq!(
        invalid_field(invitations::create(&mut db, &o, ORG, &one("ok@acme.test", "superuser", None), None, T0)),
        "role"
    );
    assert_eq!(
        invalid_field(invitations::create(&mut db, &o, ORG, &one("ok@acme.test", "member", Some(T0 - 1)), None, T0)),
        "access_expires"
    );
    assert_eq!(invalid_field(invitations::create(&mut db, &o, ORG, &one(&big, "member", None), None, T0)), "email");
    assert_eq!(invalid_field(orgs::rename(&mut db, &o, ORG, "", T0)), "name");
    assert_eq!(invalid_field(orgs::rename(&mut db, &o, ORG, "   ", T0)), "name");
    assert_eq!(invalid_field(orgs::rename(&mut db, &o, ORG, &big, T0)), "name");
    assert_eq!(invalid_field(orgs::rename(&mut db, &o, ORG, "Acme\u{1b}[31m", T0)), "name");
    assert_eq!(invalid_field(orgs::rename(&mut db, &o, ORG, "Acme\u{0}", T0)), "name");
    assert_eq!(invalid_field(orgs::rename(&mut db, &o, ORG, "Robert'); DROP TABLE organizations;--", T0)), "name");
    assert_eq!(invalid_field(roles::create(&mut db, &o, ORG, "x; DROP TABLE roles", &[], "", T0)), "name");
    assert_eq!(invalid_field(roles::create(&mut db, &o, ORG, &big, &[], "", T0)), "name");
    assert_eq!(invalid_field(roles::create(&mut db, &o, ORG, "fine", &[], "bad\u{7}desc", T0)), "description");
    assert_eq!(invalid_field(members::set_role(&mut db, &o, ORG, "m@acme.test", "superuser", T0)), "role");
    assert_eq!(invalid_field(members::set_role(&mut db, &o, ORG, "m@acme", "admin", T0)), "email");
    assert_eq!(invalid_field(members::set_expiry(&mut db, &o, ORG, "m@acme.test", Some(T0 - 10), T0)), "when");
    assert_eq!(invalid_field(members::set_expiry(&mut db, &o, ORG, "m@acme.test", Some(T0), T0)), "when");
    assert_eq!(invalid_field(check(&mut db, &o, ORG, "nope", ORG_VIEW, None, T0)), "user");

    // Accepting with a bad name or password writes nothing either (the token stays usable).
    let token = invite(&mut db, &o, "n@acme.test", "member", None, T0);
    let before_accept = snapshot(&db);
    let r = invitations::accept(&mut db, &token, Acceptor::NewAccount { full_name: "Bad\u{1b}Name", password: PW }, T0);
    assert_eq!(invalid_field(r), "name");
    let r = invitations::accept(&mut db, &token, Acceptor::NewAccount { full_name: &big, password: PW }, T0);
    assert_eq!(invalid_field(r), "name");
    let r =
        invitations::accept(&mut db, &token, Acceptor::NewAccount { full_name: "Good Name", password: "short" }, T0);
    assert_eq!(invalid_field(r), "password");
    assert_eq!(snapshot(&db), before_accept);
    accept_new(&mut db, &token, T0).unwrap();

    // The first run too.
    let mut fresh = common::fresh_db();
    let empty = snapshot(&fresh);
    assert_eq!(invalid_field(orgs::init(&mut fresh, "Acme", "bad email", "A B", PW, T0)), "email");
    assert_eq!(invalid_field(orgs::init(&mut fresh, "", OWNER, "A B", PW, T0)), "org");
    assert_eq!(invalid_field(orgs::init(&mut fresh, "Acme", OWNER, "A\u{8}B", PW, T0)), "name");
    assert_eq!(snapshot(&fresh), empty);

    // Nothing from the first batch was written either.
    let _ = before;
    let names: Vec<String> = db
        .connection()
        .prepare("SELECT name FROM organizations")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(names, vec!["Acme".to_string()]);
    assert_eq!(count(&db, "roles"), 3);
}

#[test]
fn rule10_bad_input_before_accept_writes_nothing_at_all() {
    let (mut db, o) = world();
    add(&mut db, &o, "m@acme.test", "member", None, T0);
    let before = snapshot(&db);
    let big = "a".repeat(10 * 1024 * 1024);
    let _ = invitations::create(&mut db, &o, ORG, &[invitee("not-an-email", "member", None)], None, T0);
    let _ = invitations::create(&mut db, &o, ORG, &[invitee("ok@acme.test", "superuser", None)], None, T0);
    let _ = invitations::create(&mut db, &o, ORG, &[invitee("ok@acme.test", "member", Some(T0 - 1))], None, T0);
    let _ = orgs::rename(&mut db, &o, ORG, &big, T0);
    let _ = orgs::rename(&mut db, &o, ORG, "Robert'); DROP TABLE organizations;--", T0);
    let _ = roles::create(&mut db, &o, ORG, "x; DROP TABLE roles", &[], "", T0);
    let _ = roles::create(&mut db, &o, ORG, "fine", &["no such perm".to_string()], "", T0);
    let _ = members::set_role(&mut db, &o, ORG, "m@acme.test", "superuser", T0);
    let _ = members::set_expiry(&mut db, &o, ORG, "m@acme.test", Some(T0 - 10), T0);
    assert_eq!(snapshot(&db), before);
}
