//! Rule 9 (what a person may do to themselves, and that a service account counts as the person who
//! made it) and rule 2 (only holders of owners.manage act on anything that carries the owner
//! role), through the public use cases. Each attack here failed before its fix.

use gatehouse_core::auth::{authenticate_token, sign_in};
use gatehouse_core::catalogue::{MEMBERS_MANAGE, ORG_VIEW, OWNERS_MANAGE};
use gatehouse_core::store::{accounts, grants, memberships, organizations, roles as role_store};
use gatehouse_core::usecases::check::check;
use gatehouse_core::usecases::invitations::{self, Invitee};
use gatehouse_core::usecases::members::{self, Selection};
use gatehouse_core::usecases::{roles, service_accounts, workspaces};
use gatehouse_core::{ConflictReason, Database, ErrorCode, Principal};

mod common;
use common::*;

fn can(db: &mut Database, who: &Principal, email: &str, perm: &str, now: i64) -> bool {
    check(db, who, ORG, email, perm, None, now).unwrap().allowed
}

fn conflict<T: std::fmt::Debug>(r: gatehouse_core::Result<T>) -> ConflictReason {
    match r {
        Err(e) => e.conflict_reason().unwrap_or_else(|| panic!("expected a conflict, got {e:?}")),
        Ok(v) => panic!("expected a conflict, got Ok({v:?})"),
    }
}

fn roles_of(db: &mut Database, o: &Principal, email: &str, now: i64) -> Vec<String> {
    members::show(db, o, ORG, email, now).unwrap().row.roles
}

// ---------------------------------------------------------------- rule 9: stepping down (CloudTruth)

#[test]
fn an_owner_steps_down_to_admin_while_another_lasting_owner_remains() {
    let (mut db, o) = world();
    add(&mut db, &o, "o2@acme.test", "owner", None, T0);
    members::set_role(&mut db, &o, ORG, OWNER, "admin", T0 + 1).unwrap();
    assert_eq!(roles_of(&mut db, &o, OWNER, T0 + 2), vec!["admin"]);
    assert!(!can(&mut db, &o, OWNER, OWNERS_MANAGE, T0 + 2));
    let ev = events(&mut db, &o, T0 + 2);
    assert_eq!((ev[0].action.as_str(), ev[0].target.as_str()), ("members.role_changed", OWNER));
    // And cannot climb back.
    assert_eq!(code(members::set_role(&mut db, &o, ORG, OWNER, "owner", T0 + 3)), ErrorCode::Forbidden);
}

#[test]
fn the_last_owner_stepping_down_gets_last_owner_not_forbidden() {
    let (mut db, o) = world();
    assert_eq!(conflict(members::set_role(&mut db, &o, ORG, OWNER, "admin", T0 + 1)), ConflictReason::LastOwner);
    // An owner whose own access ends is not lasting: with them, the first is still the last one.
    add(&mut db, &o, "brief@acme.test", "owner", Some(T0 + 1000), T0);
    assert_eq!(conflict(members::set_role(&mut db, &o, ORG, OWNER, "member", T0 + 2)), ConflictReason::LastOwner);
    assert_eq!(roles_of(&mut db, &o, OWNER, T0 + 3), vec!["owner"]);
}

#[test]
fn no_one_raises_their_own_rights() {
    let (mut db, o) = world();
    let a = add(&mut db, &o, "a@acme.test", "admin", None, T0);
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0);
    roles::create_permission(&mut db, &o, ORG, "billing.access", "", T0).unwrap();
    roles::create(&mut db, &o, ORG, "billing", &[ORG_VIEW.into(), "billing.access".into()], "", T0).unwrap();
    for (who, email, role) in [
        (&a, "a@acme.test", "owner"),
        (&a, "a@acme.test", "billing"),
        (&m, "m@acme.test", "admin"),
        (&m, "m@acme.test", "billing"),
    ] {
        assert_eq!(
            code(members::set_role(&mut db, who, ORG, email, role, T0 + 1)),
            ErrorCode::Forbidden,
            "{email} → {role}"
        );
    }
    // Lowering is fine, and so is keeping what one has.
    members::set_role(&mut db, &a, ORG, "a@acme.test", "admin", T0 + 2).unwrap();
    members::set_role(&mut db, &a, ORG, "a@acme.test", "member", T0 + 3).unwrap();
    assert!(!can(&mut db, &o, "a@acme.test", MEMBERS_MANAGE, T0 + 4));
    assert!(can(&mut db, &o, "a@acme.test", ORG_VIEW, T0 + 4));
}

#[test]
fn stepping_down_never_extends_a_role_that_ends() {
    let (mut db, o) = world();
    add(&mut db, &o, "a@acme.test", "member", None, T0);
    // An admin role that ends at T0+100 (no use case sets a role's end; the store does).
    {
        let conn = db.connection();
        let org = organizations::by_slug(conn, ORG).unwrap().unwrap();
        let account = accounts::by_email(conn, "a@acme.test").unwrap().unwrap();
        let m = memberships::of(conn, &org.id, &account.id).unwrap().unwrap();
        let admin = role_store::by_name(conn, &org.id, "admin").unwrap().unwrap();
        grants::delete_org_scope(conn, &m.id).unwrap();
        grants::insert(
            conn,
            &grants::NewGrant {
                expires_at: Some(T0 + 100),
                ..grants::NewGrant::organization_role(&org.id, grants::Subject::Membership(&m.id), &admin.id, None)
            },
            T0,
        )
        .unwrap();
    }
    let a = sign_in(&mut db, "a@acme.test", PW, T0 + 1).unwrap();
    members::set_role(&mut db, &a, ORG, "a@acme.test", "member", T0 + 2).unwrap();
    assert!(can(&mut db, &o, "a@acme.test", ORG_VIEW, T0 + 99));
    assert!(!can(&mut db, &o, "a@acme.test", ORG_VIEW, T0 + 100), "the lower role ends when the old one did");
}

// ---------------------------------------------------------------- rule 9: a service account counts as its creator

/// An admin `a` and a service account `ci` with the admin role made by `a`; returns (a, ci's token).
fn admin_with_service_account(db: &mut Database, o: &Principal) -> (Principal, String) {
    let a = add(db, o, "a@acme.test", "admin", None, T0);
    let token = service_accounts::create(db, &a, ORG, "ci", "admin", None, T0).unwrap().token;
    (a, token)
}

#[test]
fn a_service_account_cannot_re_enable_its_disabled_creator() {
    let (mut db, o) = world();
    let (_a, token) = admin_with_service_account(&mut db, &o);
    members::set_enabled(&mut db, &o, ORG, &Selection::Emails(vec!["a@acme.test".into()]), false, T0 + 1).unwrap();
    let sa = authenticate_token(&mut db, &token, T0 + 2).unwrap();
    let r =
        members::set_enabled(&mut db, &sa, ORG, &Selection::Emails(vec!["a@acme.test".into()]), true, T0 + 2).unwrap();
    assert_eq!((r.changed, r.rows[0].result.as_str()), (0, "skipped"), "{:?}", r.rows);
    assert!(!can(&mut db, &o, "a@acme.test", ORG_VIEW, T0 + 3), "the creator stays disabled");
}

#[test]
fn a_service_account_cannot_extend_or_clear_its_creators_expiry() {
    let (mut db, o) = world();
    let (_a, token) = admin_with_service_account(&mut db, &o);
    members::set_expiry(&mut db, &o, ORG, "a@acme.test", Some(T0 + 10), T0 + 1).unwrap();
    let sa = authenticate_token(&mut db, &token, T0 + 2).unwrap();
    assert_eq!(code(members::set_expiry(&mut db, &sa, ORG, "a@acme.test", None, T0 + 2)), ErrorCode::Forbidden);
    assert_eq!(
        code(members::set_expiry(&mut db, &sa, ORG, "a@acme.test", Some(T0 + 10_000), T0 + 2)),
        ErrorCode::Forbidden
    );
    // After the expiry too.
    let sa = authenticate_token(&mut db, &token, T0 + 20).unwrap();
    assert_eq!(code(members::set_expiry(&mut db, &sa, ORG, "a@acme.test", None, T0 + 20)), ErrorCode::Forbidden);
    assert!(!can(&mut db, &o, "a@acme.test", ORG_VIEW, T0 + 21));
    // Shortening is what the creator could do themself: allowed.
    members::set_expiry(&mut db, &o, ORG, "a@acme.test", Some(T0 + 1000), T0 + 21).unwrap();
    let sa = authenticate_token(&mut db, &token, T0 + 22).unwrap();
    members::set_expiry(&mut db, &sa, ORG, "a@acme.test", Some(T0 + 500), T0 + 22).unwrap();
}

#[test]
fn a_service_account_cannot_raise_its_creators_role_or_grant_them_a_workspace() {
    let (mut db, o) = world();
    let a = add(&mut db, &o, "a@acme.test", "member", None, T0);
    // The member is made admin long enough to make an admin service account, then demoted.
    members::set_role(&mut db, &o, ORG, "a@acme.test", "admin", T0).unwrap();
    let a = sign_in(&mut db, "a@acme.test", PW, T0).unwrap_or(a);
    let token = service_accounts::create(&mut db, &a, ORG, "ci", "admin", None, T0).unwrap().token;
    members::set_role(&mut db, &o, ORG, "a@acme.test", "member", T0 + 1).unwrap();
    workspaces::create(&mut db, &o, ORG, "Production", T0 + 1).unwrap();
    let sa = authenticate_token(&mut db, &token, T0 + 2).unwrap();
    assert_eq!(code(members::set_role(&mut db, &sa, ORG, "a@acme.test", "admin", T0 + 2)), ErrorCode::Forbidden);
    assert_eq!(
        code(workspaces::grant(&mut db, &sa, ORG, "Production", "a@acme.test", "admin", None, T0 + 2)),
        ErrorCode::Forbidden
    );
    assert_eq!(roles_of(&mut db, &o, "a@acme.test", T0 + 3), vec!["member"]);
    assert!(members::show(&mut db, &o, ORG, "a@acme.test", T0 + 3).unwrap().workspaces.is_empty());
    // It still acts on others as its role allows.
    add(&mut db, &o, "m@acme.test", "member", None, T0 + 3);
    members::set_role(&mut db, &sa, ORG, "m@acme.test", "admin", T0 + 4).unwrap();
}

#[test]
fn a_service_account_made_by_a_service_account_counts_as_the_same_person() {
    let (mut db, o) = world();
    let (_a, token) = admin_with_service_account(&mut db, &o);
    let ci = authenticate_token(&mut db, &token, T0 + 1).unwrap();
    let child = service_accounts::create(&mut db, &ci, ORG, "ci-child", "admin", None, T0 + 1).unwrap().token;
    members::set_enabled(&mut db, &o, ORG, &Selection::Emails(vec!["a@acme.test".into()]), false, T0 + 2).unwrap();
    let child = authenticate_token(&mut db, &child, T0 + 3).unwrap();
    let r = members::set_enabled(&mut db, &child, ORG, &Selection::Emails(vec!["a@acme.test".into()]), true, T0 + 3)
        .unwrap();
    assert_eq!(r.changed, 0, "{:?}", r.rows);
}

// ---------------------------------------------------------------- rule 2: owner-level things

#[test]
fn an_admin_cannot_revoke_an_owner_role_service_account() {
    let (mut db, o) = world();
    service_accounts::create(&mut db, &o, ORG, "root-bot", "owner", None, T0).unwrap();
    let a = add(&mut db, &o, "a@acme.test", "admin", None, T0);
    assert_eq!(code(service_accounts::revoke(&mut db, &a, ORG, "root-bot", T0 + 1)), ErrorCode::Forbidden);
    let listed = service_accounts::list(&mut db, &o, ORG, T0 + 2).unwrap();
    assert_eq!(listed[0].status, "active");
    let ev = events(&mut db, &o, T0 + 2);
    assert_eq!((ev[0].action.as_str(), ev[0].target.as_str()), ("access.denied", "root-bot"));
    // An admin still revokes an admin one; an owner revokes the owner one.
    service_accounts::create(&mut db, &a, ORG, "helper", "admin", None, T0 + 3).unwrap();
    service_accounts::revoke(&mut db, &a, ORG, "helper", T0 + 4).unwrap();
    service_accounts::revoke(&mut db, &o, ORG, "root-bot", T0 + 4).unwrap();
    // Nor may an admin create one.
    assert_eq!(code(service_accounts::create(&mut db, &a, ORG, "mine", "owner", None, T0 + 5)), ErrorCode::Forbidden);
}

#[test]
fn an_admin_cannot_revoke_or_resend_an_owner_invitation() {
    let (mut db, o) = world();
    let invitee =
        Invitee { email: "boss@acme.test".into(), role: "owner".into(), access_expires_at: None, workspace: None };
    invitations::create(&mut db, &o, ORG, &[invitee], None, T0).unwrap();
    let a = add(&mut db, &o, "a@acme.test", "admin", None, T0);
    assert_eq!(code(invitations::revoke(&mut db, &a, ORG, "boss@acme.test", T0 + 1)), ErrorCode::Forbidden);
    assert_eq!(code(invitations::resend(&mut db, &a, ORG, "boss@acme.test", T0 + 1)), ErrorCode::Forbidden);
    let listed = invitations::list(&mut db, &o, ORG, None, T0 + 2).unwrap();
    let boss = listed.iter().find(|i| i.email == "boss@acme.test").unwrap();
    assert_eq!((boss.status.as_str(), boss.times_sent), ("pending", 1));
    // Admin-level invitations stay the admin's to revoke; the owner revokes the owner one.
    let member =
        Invitee { email: "new@acme.test".into(), role: "member".into(), access_expires_at: None, workspace: None };
    invitations::create(&mut db, &a, ORG, &[member], None, T0 + 3).unwrap();
    invitations::revoke(&mut db, &a, ORG, "new@acme.test", T0 + 4).unwrap();
    invitations::revoke(&mut db, &o, ORG, "boss@acme.test", T0 + 4).unwrap();
}

#[test]
fn an_admin_cannot_take_away_an_owner_role_held_in_a_workspace() {
    let (mut db, o) = world();
    add(&mut db, &o, "m@acme.test", "member", None, T0);
    workspaces::create(&mut db, &o, ORG, "Production", T0).unwrap();
    workspaces::grant(&mut db, &o, ORG, "Production", "m@acme.test", "owner", None, T0).unwrap();
    let a = add(&mut db, &o, "a@acme.test", "admin", None, T0);
    assert_eq!(code(workspaces::revoke(&mut db, &a, ORG, "Production", "m@acme.test", T0 + 1)), ErrorCode::Forbidden);
    workspaces::revoke(&mut db, &o, ORG, "Production", "m@acme.test", T0 + 2).unwrap();
}

#[test]
fn role_names_that_look_like_another_roles_name_are_refused() {
    let (mut db, o) = world();
    for name in
        ["\u{43e}wner", "\u{41e}WNER", "\u{ff41}\u{ff44}\u{ff4d}\u{ff49}\u{ff4e}", "adrnin", "\u{430}dmin", "rnember"]
    {
        let e = roles::create(&mut db, &o, ORG, name, &[ORG_VIEW.into()], "", T0).unwrap_err();
        assert_eq!(e.conflict_reason(), Some(ConflictReason::LookAlike), "{name:?}: {e}");
    }
    assert_eq!(
        conflict(roles::create(&mut db, &o, ORG, "Admin", &[ORG_VIEW.into()], "", T0)),
        ConflictReason::AlreadyExists
    );
    // Against custom roles too, and names of any script that look like no other role are fine.
    roles::create(&mut db, &o, ORG, "billing", &[ORG_VIEW.into()], "", T0).unwrap();
    assert_eq!(
        conflict(roles::create(&mut db, &o, ORG, "bi11ing", &[ORG_VIEW.into()], "", T0)),
        ConflictReason::LookAlike
    );
    roles::create(&mut db, &o, ORG, "Ärzte", &[ORG_VIEW.into()], "", T0).unwrap();
    roles::create(&mut db, &o, ORG, "Бухгалтерия", &[ORG_VIEW.into()], "", T0).unwrap();
    let names: Vec<String> = roles::list(&mut db, &o, ORG, T0).unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(names.len(), 6, "{names:?}");
}
