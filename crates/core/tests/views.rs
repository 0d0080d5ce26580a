//! What the desktop shows before someone acts: an invitation read from its token (only what its
//! holder may see), the invitations addressed to a signed-in person (accepted or rejected without
//! the token), the roles a caller may hand out, and when a workspace grant really ends.

use gatehouse_core::auth::sign_in;
use gatehouse_core::time::rfc3339;
use gatehouse_core::usecases::invitations::{self, Acceptor, Invitee};
use gatehouse_core::usecases::{members, orgs, review, workspaces};
use gatehouse_core::{ConflictReason, Error, ErrorCode};

mod common;
use common::*;

fn invite(
    db: &mut gatehouse_core::Database,
    who: &gatehouse_core::Principal,
    email: &str,
    role: &str,
    access_expires_at: Option<i64>,
    now: i64,
) -> String {
    let invitee = Invitee { email: email.into(), role: role.into(), access_expires_at, workspace: None };
    invitations::create(db, who, ORG, &[invitee], None, now).unwrap().invitations.remove(0).token
}

// ---------------------------------------------------------------- preview

#[test]
fn a_token_shows_its_invitation_before_anyone_acts() {
    let (mut db, o) = world();
    let token = invite(&mut db, &o, "new@acme.test", "admin", Some(T0 + 90 * 86_400), T0);
    let p = invitations::preview(&mut db, &token, T0 + 10).unwrap();
    assert_eq!(p.organization, "Acme");
    assert_eq!(p.email, "new@acme.test");
    assert_eq!(p.role, "admin");
    assert_eq!(p.invited_by.as_deref(), Some(OWNER));
    assert_eq!(p.invited_by_name.as_deref(), Some("Olivia Owner"));
    assert_eq!(p.valid_until, rfc3339(T0 + invitations::DEFAULT_VALID_SECONDS));
    assert_eq!(p.access_expires_at, Some(rfc3339(T0 + 90 * 86_400)));
    assert_eq!(p.status.as_str(), "pending");
    assert!(!p.account_exists);

    // Reading changes nothing: the token still works, and the audit log has no new event.
    let before = events(&mut db, &o, T0 + 10).len();
    invitations::preview(&mut db, &token, T0 + 11).unwrap();
    assert_eq!(events(&mut db, &o, T0 + 11).len(), before);
    invitations::accept(&mut db, &token, Acceptor::NewAccount { full_name: "New Person", password: PW }, T0 + 12)
        .unwrap();

    // Afterwards the holder learns what became of it, instead of a bare refusal.
    assert_eq!(invitations::preview(&mut db, &token, T0 + 13).unwrap().status.as_str(), "accepted");
}

#[test]
fn a_preview_tells_each_ending_apart_and_refuses_what_is_no_token() {
    let (mut db, o) = world();
    let expired = invite(&mut db, &o, "late@acme.test", "member", None, T0);
    let later = T0 + invitations::DEFAULT_VALID_SECONDS;
    assert_eq!(invitations::preview(&mut db, &expired, later).unwrap().status.as_str(), "invitation_expired");

    let revoked = invite(&mut db, &o, "gone@acme.test", "member", None, T0);
    invitations::revoke(&mut db, &o, ORG, "gone@acme.test", T0 + 1).unwrap();
    assert_eq!(invitations::preview(&mut db, &revoked, T0 + 2).unwrap().status.as_str(), "revoked");

    let rejected = invite(&mut db, &o, "no@acme.test", "member", None, T0);
    invitations::reject(&mut db, &rejected, T0 + 1).unwrap();
    assert_eq!(invitations::preview(&mut db, &rejected, T0 + 2).unwrap().status.as_str(), "rejected");

    // A resend replaces the token: the old one is unknown.
    let old = invite(&mut db, &o, "again@acme.test", "member", None, T0);
    invitations::resend(&mut db, &o, ORG, "again@acme.test", T0 + 1).unwrap();
    assert_eq!(code(invitations::preview(&mut db, &old, T0 + 2)), ErrorCode::NotFound);

    assert_eq!(invalid_field(invitations::preview(&mut db, "not-a-token", T0)), "token");
    let forged = format!("{}{}", invitations::TOKEN_PREFIX, "0".repeat(64));
    assert_eq!(code(invitations::preview(&mut db, &forged, T0)), ErrorCode::NotFound);
}

#[test]
fn a_preview_says_when_the_invited_email_has_an_account_already() {
    let (mut db, o) = world();
    add(&mut db, &o, "ann@acme.test", "member", None, T0);
    orgs::create(&mut db, &o, "Globex", None, T0).unwrap();
    let invitee =
        Invitee { email: "ann@acme.test".into(), role: "member".into(), access_expires_at: None, workspace: None };
    let token =
        invitations::create(&mut db, &o, "globex", &[invitee], None, T0 + 1).unwrap().invitations.remove(0).token;
    let p = invitations::preview(&mut db, &token, T0 + 2).unwrap();
    assert_eq!(p.organization, "Globex");
    assert!(p.account_exists, "accepting means signing in as ann, not making an account");
}

// ---------------------------------------------------------------- addressed to me

#[test]
fn a_signed_in_person_sees_and_accepts_invitations_to_their_own_email() {
    let (mut db, o) = world();
    let ann = add(&mut db, &o, "ann@acme.test", "member", None, T0);
    orgs::create(&mut db, &o, "Globex", None, T0).unwrap();
    orgs::create(&mut db, &o, "Initech", None, T0).unwrap();
    for (org, role) in [("globex", "admin"), ("initech", "member")] {
        let invitee =
            Invitee { email: "Ann@Acme.test".into(), role: role.into(), access_expires_at: None, workspace: None };
        invitations::create(&mut db, &o, org, &[invitee], None, T0 + 1).unwrap();
    }
    // Someone else's invitation is not listed for ann.
    let other =
        Invitee { email: "bob@acme.test".into(), role: "member".into(), access_expires_at: None, workspace: None };
    invitations::create(&mut db, &o, "globex", &[other], None, T0 + 1).unwrap();

    let mine = invitations::addressed_to_me(&mut db, &ann, T0 + 2).unwrap();
    let mut orgs_listed: Vec<&str> = mine.iter().map(|i| i.organization.slug.as_str()).collect();
    orgs_listed.sort();
    assert_eq!(orgs_listed, ["globex", "initech"]);
    let globex = mine.iter().find(|i| i.organization.slug == "globex").unwrap();
    assert_eq!((globex.role.as_str(), globex.invited_by.as_deref()), ("admin", Some(OWNER)));

    let joined = invitations::accept_addressed(&mut db, &ann, &globex.id, T0 + 3).unwrap();
    assert_eq!((joined.organization.slug.as_str(), joined.role.as_str()), ("globex", "admin"));
    assert!(!joined.new_account);
    let initech = mine.iter().find(|i| i.organization.slug == "initech").unwrap();
    let rejected = invitations::reject_addressed(&mut db, &ann, &initech.id, T0 + 3).unwrap();
    assert_eq!(rejected.status.as_str(), "rejected");

    // Both are gone from the list; ann is in globex now, and the owner sees the rejection.
    assert!(invitations::addressed_to_me(&mut db, &ann, T0 + 4).unwrap().is_empty());
    let list = orgs::list(&mut db, &ann, T0 + 4).unwrap();
    assert!(list.iter().any(|o| o.slug == "globex"), "{list:?}");
    let seen = invitations::list(&mut db, &o, "initech", Some("rejected"), T0 + 4).unwrap();
    assert_eq!(seen.len(), 1);
    // Acting twice is refused as for a used token.
    match invitations::accept_addressed(&mut db, &ann, &globex.id, T0 + 5) {
        Err(Error::Conflict { reason: ConflictReason::TokenUsed, .. }) => {}
        other => panic!("expected token_used, got {other:?}"),
    }
}

#[test]
fn nobody_acts_on_an_invitation_addressed_to_someone_else() {
    let (mut db, o) = world();
    let ann = add(&mut db, &o, "ann@acme.test", "admin", None, T0);
    orgs::create(&mut db, &o, "Globex", None, T0).unwrap();
    let invitee =
        Invitee { email: "bob@acme.test".into(), role: "member".into(), access_expires_at: None, workspace: None };
    invitations::create(&mut db, &o, "globex", &[invitee], None, T0 + 1).unwrap();
    // The owner can see the invitation's id only through the store; use it as an attacker would.
    let conn = db.connection();
    let id: String =
        conn.query_row("SELECT id FROM invitations WHERE email_norm = 'bob@acme.test'", [], |r| r.get(0)).unwrap();
    assert_eq!(code(invitations::accept_addressed(&mut db, &ann, &id, T0 + 2)), ErrorCode::NotFound);
    assert_eq!(code(invitations::reject_addressed(&mut db, &ann, &id, T0 + 2)), ErrorCode::NotFound);
    assert_eq!(code(invitations::accept_addressed(&mut db, &o, &id, T0 + 2)), ErrorCode::NotFound);
    // Still open for bob.
    let open = invitations::list(&mut db, &o, "globex", Some("pending"), T0 + 3).unwrap();
    assert_eq!(open.len(), 1);
}

#[test]
fn an_expired_invitation_is_not_offered_and_cannot_be_accepted() {
    let (mut db, o) = world();
    let ann = add(&mut db, &o, "ann@acme.test", "member", None, T0);
    orgs::create(&mut db, &o, "Globex", None, T0).unwrap();
    let invitee =
        Invitee { email: "ann@acme.test".into(), role: "member".into(), access_expires_at: None, workspace: None };
    invitations::create(&mut db, &o, "globex", &[invitee], Some(60), T0 + 1).unwrap();
    let id = invitations::addressed_to_me(&mut db, &ann, T0 + 2).unwrap().remove(0).id;
    assert!(invitations::addressed_to_me(&mut db, &ann, T0 + 61).unwrap().is_empty());
    match invitations::accept_addressed(&mut db, &ann, &id, T0 + 61) {
        Err(Error::Conflict { reason: ConflictReason::TokenExpired, .. }) => {}
        other => panic!("expected token_expired, got {other:?}"),
    }
}

#[test]
fn an_unconfirmed_email_is_offered_nothing() {
    let (mut db, o) = world();
    let ann = add(&mut db, &o, "ann@acme.test", "member", None, T0);
    orgs::create(&mut db, &o, "Globex", None, T0).unwrap();
    let invitee =
        Invitee { email: "ann@acme.test".into(), role: "member".into(), access_expires_at: None, workspace: None };
    invitations::create(&mut db, &o, "globex", &[invitee], None, T0 + 1).unwrap();
    let id = invitations::addressed_to_me(&mut db, &ann, T0 + 2).unwrap().remove(0).id;
    db.connection().execute("UPDATE accounts SET email_confirmed = 0 WHERE email_norm = 'ann@acme.test'", []).unwrap();
    assert!(invitations::addressed_to_me(&mut db, &ann, T0 + 3).unwrap().is_empty());
    assert_eq!(code(invitations::accept_addressed(&mut db, &ann, &id, T0 + 3)), ErrorCode::NotFound);
}

// ---------------------------------------------------------------- roles a caller may hand out

#[test]
fn the_roles_offered_are_those_the_caller_may_hand_out() {
    let (mut db, o) = world();
    let ann = add(&mut db, &o, "ann@acme.test", "admin", None, T0);
    let mut all = orgs::my_access(&mut db, &o, ORG, T0).unwrap().grantable_roles;
    all.sort();
    assert_eq!(all, ["admin", "member", "owner"]);
    let mut admin = orgs::my_access(&mut db, &ann, ORG, T0).unwrap().grantable_roles;
    admin.sort();
    assert_eq!(admin, ["admin", "member"], "an admin may not hand out owner");
    // What is offered is what the core accepts: the admin's owner invite is refused.
    let owner =
        Invitee { email: "eve@acme.test".into(), role: "owner".into(), access_expires_at: None, workspace: None };
    assert_eq!(code(invitations::create(&mut db, &ann, ORG, &[owner], None, T0)), ErrorCode::Forbidden);
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0);
    let _ = sign_in(&mut db, "m@acme.test", PW, T0).unwrap();
    assert_eq!(orgs::my_access(&mut db, &m, ORG, T0).unwrap().grantable_roles, ["member"]);
}

// ---------------------------------------------------------------- one end for a workspace grant

#[test]
fn details_and_review_agree_on_when_workspace_access_ends() {
    let (mut db, o) = world();
    add(&mut db, &o, "m@acme.test", "member", None, T0);
    workspaces::create(&mut db, &o, ORG, "Production", T0).unwrap();
    workspaces::grant(&mut db, &o, ORG, "Production", "m@acme.test", "member", None, T0 + 1).unwrap();
    members::set_expiry(&mut db, &o, ORG, "m@acme.test", Some(T0 + 1000), T0 + 2).unwrap();

    let d = members::show(&mut db, &o, ORG, "m@acme.test", T0 + 3).unwrap();
    assert_eq!(d.workspaces.len(), 1);
    assert_eq!(d.workspaces[0].expires_at, None, "the grant itself has no expiry");
    assert_eq!(d.workspaces[0].ends_at, Some(rfc3339(T0 + 1000)), "it ends with the membership");
    let r = review::review(&mut db, &o, ORG, None, T0 + 3).unwrap();
    let row = r.iter().find(|r| r.subject == "m@acme.test" && r.scope == "Production").unwrap();
    assert_eq!(row.expires_at, d.workspaces[0].ends_at);

    // A grant ending first ends first in both.
    workspaces::grant(&mut db, &o, ORG, "Production", "m@acme.test", "member", Some(T0 + 500), T0 + 4).unwrap();
    let d = members::show(&mut db, &o, ORG, "m@acme.test", T0 + 5).unwrap();
    assert_eq!(d.workspaces[0].ends_at, Some(rfc3339(T0 + 500)));
    let r = review::review(&mut db, &o, ORG, None, T0 + 5).unwrap();
    let row = r.iter().find(|r| r.subject == "m@acme.test" && r.scope == "Production").unwrap();
    assert_eq!(row.expires_at, d.workspaces[0].ends_at);
}

#[test]
fn a_preview_and_the_switcher_name_the_workspace_of_a_workspace_only_invitation() {
    let (mut db, o) = world();
    let ann = add(&mut db, &o, "ann@acme.test", "member", None, T0);
    orgs::create(&mut db, &o, "Globex", None, T0).unwrap();
    workspaces::create(&mut db, &o, "globex", "Production", T0).unwrap();
    let invitee = Invitee {
        email: "ann@acme.test".into(),
        role: "member".into(),
        access_expires_at: None,
        workspace: Some("Production".into()),
    };
    let token =
        invitations::create(&mut db, &o, "globex", &[invitee], None, T0 + 1).unwrap().invitations.remove(0).token;
    let p = invitations::preview(&mut db, &token, T0 + 2).unwrap();
    assert_eq!((p.role.as_str(), p.workspace.as_deref()), ("member", Some("Production")));
    let mine = invitations::addressed_to_me(&mut db, &ann, T0 + 2).unwrap();
    assert_eq!(mine[0].workspace.as_deref(), Some("Production"));
}
