//! Rule 9 (what a person may do to themselves, and that a service account counts as the person who
//! made it), rule 2 (only holders of owners.manage act on anything that carries the owner role;
//! look-alike role names), and deleting a role that only closed invitations used (PRODUCT.md §1),
//! through the public use cases. Each attack here failed before its fix.

use gatehouse_core::auth::{authenticate_token, sign_in};
use gatehouse_core::catalogue::{MEMBERS_MANAGE, ORG_VIEW, OWNERS_MANAGE};
use gatehouse_core::db::MIGRATIONS;
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
    assert_eq!(listed[0].status.as_str(), "active");
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

// ---------------------------------------------------------------- roles used only by closed invitations

#[test]
fn a_role_used_only_by_accepted_rejected_or_revoked_invitations_can_be_deleted() {
    let (mut db, o) = world();
    roles::create(&mut db, &o, ORG, "temp", &[ORG_VIEW.into()], "", T0).unwrap();
    let inv =
        |email: &str| Invitee { email: email.into(), role: "temp".into(), access_expires_at: None, workspace: None };
    // Accepted (then moved to another role), rejected, revoked.
    add_as(&mut db, &o, "acc@acme.test", "temp", T0);
    members::set_role(&mut db, &o, ORG, "acc@acme.test", "member", T0 + 1).unwrap();
    let token =
        invitations::create(&mut db, &o, ORG, &[inv("rej@acme.test")], None, T0).unwrap().invitations.remove(0).token;
    invitations::reject(&mut db, &token, T0 + 1).unwrap();
    invitations::create(&mut db, &o, ORG, &[inv("rev@acme.test")], None, T0).unwrap();
    invitations::revoke(&mut db, &o, ORG, "rev@acme.test", T0 + 1).unwrap();
    // An open invitation still holds it.
    invitations::create(&mut db, &o, ORG, &[inv("open@acme.test")], None, T0).unwrap();
    assert_eq!(conflict(roles::delete(&mut db, &o, ORG, "temp", T0 + 2)), ConflictReason::InUse);
    invitations::revoke(&mut db, &o, ORG, "open@acme.test", T0 + 2).unwrap();

    roles::delete(&mut db, &o, ORG, "temp", T0 + 3).unwrap();
    assert_eq!(code(roles::show(&mut db, &o, ORG, "temp", T0 + 4)), ErrorCode::NotFound);
    // The closed invitations keep the role's name for history.
    let listed = invitations::list(&mut db, &o, ORG, None, T0 + 4).unwrap();
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert!(listed.iter().all(|i| i.role == "temp"), "{listed:?}");
    // A rejected invitation cannot be resent to a role that is gone, not even to a new one of the same name.
    roles::create(&mut db, &o, ORG, "temp", &[ORG_VIEW.into(), "audit.view".into()], "", T0 + 5).unwrap();
    assert_eq!(code(invitations::resend(&mut db, &o, ORG, "rej@acme.test", T0 + 6)), ErrorCode::NotFound);
    // And the member list (the roster) stays in step: no row names the deleted role.
    let page = members::list(&mut db, &o, ORG, &members::MemberQuery::default(), T0 + 6).unwrap();
    assert!(page.items.iter().all(|r| r.email != "rej@acme.test" || r.roles == vec!["temp".to_string()]));
    let audited = events(&mut db, &o, T0 + 6);
    assert!(audited.iter().any(|e| e.action == "roles.deleted" && e.target == "temp"));
}

/// Invite to `role` and accept with a new account.
fn add_as(db: &mut Database, o: &Principal, email: &str, role: &str, now: i64) {
    add(db, o, email, role, None, now);
}

#[test]
fn the_invitations_rebuild_keeps_every_row_index_and_trigger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let position = |name: &str| MIGRATIONS.iter().position(|(n, _)| *n == name).unwrap();
    let rebuild = position("0005b_invitation_role_history");
    // Every index and trigger of invitations, and every other object naming it, with its SQL: the
    // rebuild must leave them word for word (the table itself changes).
    let objects = |conn: &rusqlite::Connection| -> Vec<(String, String, Option<String>)> {
        conn.prepare(
            "SELECT type, name, sql FROM sqlite_master
             WHERE (tbl_name = 'invitations' OR sql LIKE '%invitations%') AND name <> 'invitations' ORDER BY 1, 2",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    };
    let before = {
        // A database made just before the rebuild, with an invitation in it.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        for (_, sql) in &MIGRATIONS[..rebuild] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", rebuild as i64).unwrap();
        conn.execute_batch(
            "INSERT INTO organizations (id, name, slug, created_at) VALUES ('o1', 'Old', 'old', 1);
             INSERT INTO roles (id, organization_id, name, created_at) VALUES ('r1', 'o1', 'temp', 1);
             INSERT INTO invitations (id, organization_id, email, email_norm, role_id, valid_until, token_hash, status,
                                      invited_by, created_at, last_sent_at)
               VALUES ('i1', 'o1', 'A@x.io', 'a@x.io', 'r1', 99, x'01', 'open', 'me', 1, 1),
                      ('i2', 'o1', 'b@x.io', 'b@x.io', 'r1', 99, x'02', 'rejected', 'me', 1, 1);",
        )
        .unwrap();
        objects(&conn)
    };
    let db = Database::open(&path).unwrap();
    let conn = db.sqlite_connection().unwrap();
    assert_eq!(objects(conn), before, "the same indexes and triggers");
    let rows: Vec<(String, Option<String>, String)> = conn
        .prepare("SELECT id, role_id, status FROM invitations ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![("i1".into(), Some("r1".into()), "open".into()), ("i2".into(), Some("r1".into()), "rejected".into())]
    );
    let roster: i64 = conn.query_row("SELECT count(*) FROM roster", [], |r| r.get(0)).unwrap();
    assert_eq!(roster, 2, "the roster rows of both invitations stay");
    // The database itself refuses to delete a role an open invitation uses.
    assert!(conn.execute("DELETE FROM roles WHERE id = 'r1'", []).is_err());
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let fk: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(fk, 0);
}
