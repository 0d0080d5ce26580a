//! The audit log under attack (PRODUCT.md rule 8): what an event keeps from a caller's input is
//! validated and bounded; outsiders' refusals go to the system chain; a checkpoint catches a chain
//! truncated, deleted or rewritten with recomputed hashes; an organization's chain starts with its
//! creation; refusals that used to leave no trace are recorded; the system chain can be read and
//! verified by owners.

mod common;
use common::*;
use gatehouse_core::audit_actions::AuditAction;
use gatehouse_core::auth::{authenticate_token, sign_in};
use gatehouse_core::store::audit as store_audit;
use gatehouse_core::usecases::audit::{self, AuditQuery, Checkpoint};
use gatehouse_core::usecases::invitations::{self, Acceptor, Invitee};
use gatehouse_core::usecases::{members, orgs, roles, service_accounts};
use gatehouse_core::{Database, Error, ErrorCode, Principal};

/// An account that belongs to another organization only ("beta", owned by Olivia too).
fn outsider(db: &mut Database, o: &Principal) -> Principal {
    orgs::create(db, o, "Beta", None, T0).unwrap();
    let invitee =
        Invitee { email: "eve@beta.test".into(), role: "member".into(), access_expires_at: None, workspace: None };
    let token = invitations::create(db, o, "beta", &[invitee], None, T0).unwrap().invitations.remove(0).token;
    invitations::accept(db, &token, Acceptor::NewAccount { full_name: "Eve Outsider", password: PW }, T0).unwrap();
    sign_in(db, "eve@beta.test", PW, T0).unwrap()
}

fn chain_len(db: &Database, org_id: &str) -> i64 {
    db.connection()
        .query_row("SELECT count(*) FROM audit_events WHERE organization_id = ?1", [org_id], |r| r.get(0))
        .unwrap()
}

fn org_id(db: &Database, slug: &str) -> String {
    db.connection().query_row("SELECT id FROM organizations WHERE slug = ?1", [slug], |r| r.get(0)).unwrap()
}

fn system(db: &mut Database, o: &Principal, now: i64) -> Vec<audit::AuditEventView> {
    audit::list_system(db, o, &AuditQuery::default(), now).unwrap()
}

// ---------------------------------------------------------------------------------------------
// item 1: audit poisoning

#[test]
fn raw_arguments_are_validated_before_anything_is_audited() {
    let (mut db, o) = world();
    let eve = outsider(&mut db, &o);
    let acme = org_id(&db, ORG);
    let (before_acme, before_system) = (chain_len(&db, &acme), chain_len(&db, ""));
    let long = "A".repeat(70_000);
    assert_eq!(invalid_field(roles::delete(&mut db, &eve, ORG, &long, T0 + 1)), "role");
    assert_eq!(invalid_field(roles::show(&mut db, &eve, ORG, "\u{1b}]0;pwned\u{7}\u{1b}[2J", T0 + 1)), "role");
    assert_eq!(
        invalid_field(service_accounts::revoke(&mut db, &eve, ORG, "x\n2  2030-01-01T00:00:00Z  fake", T0 + 1)),
        "name"
    );
    assert_eq!(invalid_field(members::show(&mut db, &eve, ORG, "=HYPERLINK(\"http://x.io\")", T0 + 1)), "email");
    // Nothing was written anywhere.
    assert_eq!((chain_len(&db, &acme), chain_len(&db, "")), (before_acme, before_system));
}

#[test]
fn an_event_keeps_at_most_a_bounded_target_without_control_characters() {
    let (mut db, o) = world();
    let acme = org_id(&db, ORG);
    // Whatever path input takes to the store, the event keeps a bounded, printable form.
    let raw = format!("\u{1b}[31m=HYPERLINK(\"x\")\n\u{202e}{}", "B".repeat(70_000));
    store_audit::append(
        db.connection(),
        &acme,
        &raw,
        AuditAction::RolesDeleted,
        &raw,
        &serde_json::json!({"note": raw}),
        T0 + 1,
    )
    .unwrap();
    let e = audit::list(&mut db, &o, ORG, &AuditQuery::default(), T0 + 2).unwrap().remove(0);
    for text in [&e.actor, &e.target, &e.details["note"].as_str().unwrap().to_string()] {
        assert!(text.chars().count() <= store_audit::MAX_DETAIL_CHARS, "{} chars", text.chars().count());
        assert!(!text.chars().any(store_audit::is_unsafe_char), "{text:?}");
        assert!(text.ends_with('…'));
    }
    assert_eq!(e.target.chars().count(), store_audit::MAX_TEXT_CHARS);
    assert!(e.target.starts_with("\u{fffd}[31m=HYPERLINK"));
    assert!(audit::verify(&mut db, &o, ORG, T0 + 2).unwrap().ok);
}

#[test]
fn an_outsiders_refusal_goes_to_the_system_chain_not_the_organizations() {
    let (mut db, o) = world();
    let eve = outsider(&mut db, &o);
    let acme = org_id(&db, ORG);
    let before = chain_len(&db, &acme);
    for n in 0..5 {
        assert_eq!(code(roles::delete(&mut db, &eve, ORG, "admin", T0 + 1 + n)), ErrorCode::Forbidden);
    }
    assert_eq!(chain_len(&db, &acme), before, "outsiders cannot flood acme's chain");
    let denied: Vec<_> = system(&mut db, &o, T0 + 10).into_iter().filter(|e| e.action == "access.denied").collect();
    assert_eq!(denied.len(), 5);
    assert_eq!(denied[0].actor, "eve@beta.test");
    assert_eq!(denied[0].target, "admin");
    assert_eq!(denied[0].details["organization_id"], acme.as_str());
    assert_eq!(denied[0].details["attempted"], "roles.delete");

    // A member's refusal stays in the organization's chain.
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0 + 20);
    assert_eq!(code(roles::delete(&mut db, &m, ORG, "admin", T0 + 21)), ErrorCode::Forbidden);
    let e = events(&mut db, &o, T0 + 22).remove(0);
    assert_eq!((e.action.as_str(), e.actor.as_str(), e.target.as_str()), ("access.denied", "m@acme.test", "admin"));
    assert!(audit::verify_system(&mut db, &o, T0 + 22).unwrap().ok);
}

// ---------------------------------------------------------------------------------------------
// item 5: checkpoints and the start of a chain

fn exec(db: &Database, sql: &str) {
    db.connection().execute_batch(sql).unwrap();
}

/// Point acme's head at its newest remaining event, as an attacker covering a deletion would.
fn move_head(db: &Database, org: &str) {
    exec(
        db,
        &format!(
            "UPDATE audit_heads SET
               last_seq = (SELECT max(seq) FROM audit_events WHERE organization_id = '{org}'),
               last_hash = (SELECT hash FROM audit_events WHERE organization_id = '{org}' ORDER BY seq DESC LIMIT 1),
               events = (SELECT count(*) FROM audit_events WHERE organization_id = '{org}')
             WHERE organization_id = '{org}'"
        ),
    );
}

/// Recompute every hash of a chain and its head, as an attacker who knows the algorithm would.
fn rehash(db: &Database, org: &str) {
    let conn = db.connection();
    let rows: Vec<(i64, String, String, String, String, String, i64)> = conn
        .prepare("SELECT seq, id, actor, action, target, details, at FROM audit_events WHERE organization_id = ?1 ORDER BY seq")
        .unwrap()
        .query_map([org], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut prev = store_audit::GENESIS.to_string();
    for (seq, id, actor, action, target, details, at) in rows {
        let hash = store_audit::event_hash(&id, org, &actor, &action, &target, &details, at, &prev);
        conn.execute(
            "UPDATE audit_events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            gatehouse_core::sql::params![&prev, &hash, seq],
        )
        .unwrap();
        prev = hash;
    }
    move_head(db, org);
}

fn with_events(db: &mut Database, o: &Principal) {
    for (n, name) in ["reader", "writer", "auditor"].iter().enumerate() {
        roles::create(db, o, ORG, name, &["org.view".to_string()], "", T0 + 1 + n as i64).unwrap();
    }
}

#[track_caller]
fn broken(r: gatehouse_core::Result<audit::ChainReport>) -> String {
    match r {
        Err(Error::Conflict { reason: gatehouse_core::ConflictReason::ChainBroken, message }) => message,
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[test]
fn a_checkpoint_catches_the_newest_events_deleted_and_the_head_moved() {
    let (mut db, o) = world();
    with_events(&mut db, &o);
    let cp = audit::checkpoint(&mut db, &o, ORG, T0 + 10).unwrap();
    let n = cp.events;
    assert_eq!((cp.organization.as_str(), cp.at.as_str(), cp.head.len()), (ORG, "2027-01-15T08:00:10Z", 64));
    assert_eq!(n, events(&mut db, &o, T0 + 10).len() as i64);
    assert_eq!(audit::verify_checkpoint(&mut db, &o, ORG, &cp, T0 + 10).unwrap().events, n);
    // Later events extend it.
    roles::create(&mut db, &o, ORG, "later", &["org.view".to_string()], "", T0 + 11).unwrap();
    assert_eq!(audit::verify_checkpoint(&mut db, &o, ORG, &cp, T0 + 12).unwrap().events, n + 1);

    let acme = org_id(&db, ORG);
    exec(&db, &format!("DELETE FROM audit_events WHERE seq IN (SELECT seq FROM audit_events WHERE organization_id = '{acme}' ORDER BY seq DESC LIMIT 3)"));
    move_head(&db, &acme);
    // Without the checkpoint the shorter chain looks whole; with it, it is a conflict.
    assert!(audit::verify(&mut db, &o, ORG, T0 + 13).unwrap().ok);
    let why = broken(audit::verify_checkpoint(&mut db, &o, ORG, &cp, T0 + 13));
    assert!(why.contains(&format!("fewer than the {n} of the checkpoint")), "{why}");
}

#[test]
fn a_checkpoint_catches_a_chain_rewritten_with_recomputed_hashes() {
    let (mut db, o) = world();
    with_events(&mut db, &o);
    let cp = audit::checkpoint(&mut db, &o, ORG, T0 + 10).unwrap();
    let acme = org_id(&db, ORG);
    exec(
        &db,
        &format!("UPDATE audit_events SET target = 'nobody' WHERE organization_id = '{acme}' AND target = 'writer'"),
    );
    assert!(broken(audit::verify(&mut db, &o, ORG, T0 + 11)).contains("was edited"));
    rehash(&db, &acme);
    assert!(audit::verify(&mut db, &o, ORG, T0 + 11).unwrap().ok, "a recomputed chain is whole by itself");
    let why = broken(audit::verify_checkpoint(&mut db, &o, ORG, &cp, T0 + 11));
    assert!(why.contains("no longer extends the checkpoint"), "{why}");
}

#[test]
fn a_deleted_chain_or_one_without_its_creation_fails_verify() {
    let (mut db, o) = world();
    with_events(&mut db, &o);
    let cp = audit::checkpoint(&mut db, &o, ORG, T0 + 10).unwrap();
    let acme = org_id(&db, ORG);

    // The first event deleted and the rest rehashed: the chain no longer starts with the creation.
    exec(&db, &format!("DELETE FROM audit_events WHERE organization_id = '{acme}' AND action = 'org.created'"));
    rehash(&db, &acme);
    assert!(broken(audit::verify(&mut db, &o, ORG, T0 + 11)).contains("instead of the organization's creation"));

    // The whole chain and its head deleted.
    exec(&db, &format!("DELETE FROM audit_events WHERE organization_id = '{acme}'; DELETE FROM audit_heads WHERE organization_id = '{acme}'"));
    assert!(broken(audit::verify(&mut db, &o, ORG, T0 + 12)).contains("chain is empty"));
    assert!(broken(audit::verify_checkpoint(&mut db, &o, ORG, &cp, T0 + 12)).contains("fewer than the"));
}

#[test]
fn a_checkpoint_file_is_checked_and_names_its_organization() {
    let (mut db, o) = world();
    let cp = audit::checkpoint(&mut db, &o, ORG, T0 + 1).unwrap();
    let text = serde_json::to_string(&cp).unwrap();
    assert_eq!(Checkpoint::parse(&text).unwrap(), cp);
    for bad in ["", "{}", "[1]", &text.replace(&cp.head, "xyz"), &text.replace("\"events\":1", "\"events\":-1")] {
        assert_eq!(invalid_field(Checkpoint::parse(bad)), "checkpoint", "{bad}");
    }
    orgs::create(&mut db, &o, "Beta", None, T0 + 2).unwrap();
    assert_eq!(invalid_field(audit::verify_checkpoint(&mut db, &o, "beta", &cp, T0 + 3)), "checkpoint");
    // Only those who may read the log take a checkpoint.
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0 + 4);
    assert_eq!(code(audit::checkpoint(&mut db, &m, ORG, T0 + 5)), ErrorCode::Forbidden);
}

// ---------------------------------------------------------------------------------------------
// item 9: refusals that left no trace, and the system chain

#[test]
fn accepting_someone_elses_invitation_is_recorded() {
    let (mut db, o) = world();
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0 + 1);
    let eve = outsider(&mut db, &o);
    let invitee =
        Invitee { email: "new@acme.test".into(), role: "member".into(), access_expires_at: None, workspace: None };
    let token = invitations::create(&mut db, &o, ORG, &[invitee], None, T0 + 2).unwrap().invitations.remove(0).token;
    assert_eq!(code(invitations::accept(&mut db, &token, Acceptor::SignedIn(&eve), T0 + 3)), ErrorCode::Forbidden);
    let e = events(&mut db, &o, T0 + 4).remove(0);
    assert_eq!(
        (e.action.as_str(), e.actor.as_str(), e.target.as_str()),
        ("access.denied", "eve@beta.test", "new@acme.test")
    );
    assert_eq!(e.details["attempted"], "invites.accept");
    // The invitation is still open for its addressee.
    let _ = m;
    assert!(invitations::accept(
        &mut db,
        &token,
        Acceptor::NewAccount { full_name: "New Person", password: PW },
        T0 + 5
    )
    .is_ok());
}

#[test]
fn a_service_account_leaving_and_unknown_or_revoked_tokens_are_recorded() {
    let (mut db, o) = world();
    let created = service_accounts::create(&mut db, &o, ORG, "ci", "member", None, T0 + 1).unwrap();
    let sa = authenticate_token(&mut db, &created.token, T0 + 2).unwrap();
    assert_eq!(code(members::leave(&mut db, &sa, ORG, T0 + 3)), ErrorCode::Forbidden);
    let e = events(&mut db, &o, T0 + 4).remove(0);
    assert_eq!((e.action.as_str(), e.actor.as_str()), ("access.denied", "service-account:ci"));
    assert_eq!(e.details["attempted"], "members.leave");

    // An unknown token: the system chain, with only the token's first characters.
    let forged = format!("ghs_{}", "ab".repeat(32));
    assert_eq!(code(authenticate_token(&mut db, &forged, T0 + 5)), ErrorCode::Unauthenticated);
    let e = system(&mut db, &o, T0 + 6).remove(0);
    assert_eq!(
        (e.action.as_str(), e.actor.as_str(), e.target.as_str()),
        ("token.refused", "unknown token", "ghs_abababab")
    );

    // A revoked token: its organization's chain.
    service_accounts::revoke(&mut db, &o, ORG, "ci", T0 + 7).unwrap();
    assert_eq!(code(authenticate_token(&mut db, &created.token, T0 + 8)), ErrorCode::Unauthenticated);
    let e = events(&mut db, &o, T0 + 9).remove(0);
    assert_eq!((e.action.as_str(), e.actor.as_str()), ("token.refused", "service-account:ci"));
    assert!(audit::verify(&mut db, &o, ORG, T0 + 9).unwrap().ok);
}

#[test]
fn the_system_chain_is_read_and_verified_by_owners_only() {
    let (mut db, o) = world();
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0 + 1);
    assert_eq!(code(sign_in(&mut db, "nobody@x.io", "wrong password", T0 + 2)), ErrorCode::Unauthenticated);
    let listed = system(&mut db, &o, T0 + 3);
    assert!(listed.iter().any(|e| e.action == "signin.failed" && e.target == "nobody@x.io"), "{listed:?}");
    assert!(audit::verify_system(&mut db, &o, T0 + 3).unwrap().ok);

    // A plain member owns no organization: refused, and the refusal is recorded there.
    assert_eq!(code(audit::list_system(&mut db, &m, &AuditQuery::default(), T0 + 4)), ErrorCode::Forbidden);
    assert_eq!(code(audit::verify_system(&mut db, &m, T0 + 4)), ErrorCode::Forbidden);
    let e = system(&mut db, &o, T0 + 5).remove(0);
    assert_eq!((e.action.as_str(), e.actor.as_str()), ("access.denied", "m@acme.test"));
    // Once they own an organization of their own, they may read it.
    orgs::create(&mut db, &m, "Mine", None, T0 + 6).unwrap();
    assert!(audit::list_system(&mut db, &m, &AuditQuery::default(), T0 + 7).is_ok());
    // An edited system event breaks its chain.
    exec(
        &db,
        "UPDATE audit_events SET target = 'someone@x.io' WHERE organization_id = '' AND action = 'signin.failed'",
    );
    assert_eq!(code(audit::verify_system(&mut db, &o, T0 + 8)), ErrorCode::Conflict);
}

/// A bulk invite audits every invitation, each event linked to the one before exactly as a single
/// append links it, and reads and writes the chain's head once for the whole batch rather than once
/// per invitation (issue 9: a per-row head update was a third of the audit cost of 10,000 invites).
#[test]
fn a_bulk_invite_audits_every_invitation_in_one_chain_and_writes_its_head_once() {
    let (mut db, o) = world();
    let acme = org_id(&db, ORG);
    let before = chain_len(&db, &acme);
    // Count the head's writes: a TEMP trigger on SQLite; on PostgreSQL, where each test has a
    // database of its own, a trigger function there.
    db.connection()
        .execute_batch(if on_postgres() {
            "CREATE TABLE head_writes (n BIGINT NOT NULL); INSERT INTO head_writes VALUES (0);
             CREATE FUNCTION count_head_update() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN UPDATE head_writes SET n = n + 1; RETURN NULL; END $$;
             CREATE TRIGGER count_head_updates AFTER UPDATE ON audit_heads
               FOR EACH ROW EXECUTE FUNCTION count_head_update();"
        } else {
            "CREATE TEMP TABLE head_writes (n INTEGER NOT NULL); INSERT INTO head_writes VALUES (0);
             CREATE TEMP TRIGGER count_head_updates AFTER UPDATE ON main.audit_heads BEGIN UPDATE head_writes SET n = n + 1; END;"
        })
        .unwrap();
    // 230: more than two of the Appender's insert batches on SQLite (100 events to a statement;
    // one COPY on PostgreSQL).
    let invitees: Vec<Invitee> = (0..230)
        .map(|i| Invitee {
            email: format!("p{i}@x.test"),
            role: "member".into(),
            access_expires_at: None,
            workspace: None,
        })
        .collect();
    invitations::create(&mut db, &o, ORG, &invitees, None, T0 + 1).unwrap();
    let writes: i64 = db.connection().query_row("SELECT n FROM head_writes", [], |r| r.get(0)).unwrap();
    assert_eq!(writes, 1, "the head was written {writes} times for 230 invitations");
    assert_eq!(chain_len(&db, &acme), before + 230);
    let q = AuditQuery { action: Some("invites.created".into()), ..Default::default() };
    // Listed newest first: the events are the rows in their order.
    let targets: Vec<String> =
        audit::list(&mut db, &o, ORG, &q, T0 + 2).unwrap().into_iter().rev().map(|e| e.target).collect();
    let want: Vec<String> = invitees.iter().map(|i| i.email.clone()).collect();
    assert_eq!(targets, want);
    // The head names the last event and the count: the chain verifies, and goes on from there.
    assert!(audit::verify(&mut db, &o, ORG, T0 + 2).unwrap().ok);
    invitations::revoke(&mut db, &o, ORG, "p7@x.test", T0 + 3).unwrap();
    let report = audit::verify(&mut db, &o, ORG, T0 + 4).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(chain_len(&db, &acme), before + 231);
}
