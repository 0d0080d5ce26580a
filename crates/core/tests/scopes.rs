//! Rule 11, scopes (Synerise): an organization's `workspace_access` decides whether organization
//! roles apply inside workspaces; a workspace grant never gives an organization permission; an
//! organization-level disable or expiry hides workspace access. Workspace-only members: invited to
//! or granted one workspace, with no organization role, shown in the member list with their
//! workspace roles.

use gatehouse_core::auth::sign_in;
use gatehouse_core::catalogue::ORG_VIEW;
use gatehouse_core::db::{migrate, Database, MIGRATIONS};
use gatehouse_core::store::organizations::{self, WorkspaceAccessMode};
use gatehouse_core::usecases::check::check;
use gatehouse_core::usecases::invitations::{self, Acceptor, Invitee};
use gatehouse_core::usecases::members::{self, MemberQuery, Selection, WorkspaceRole};
use gatehouse_core::usecases::{orgs, roles, workspaces};
use gatehouse_core::{ConflictReason, Error, ErrorCode, Principal};

mod common;
use common::*;

const DEPLOY: &str = "deploy.run";
const PERSON: &str = "p@acme.test";

/// `deploy.run` and a role `deployer` holding only it; workspaces Production and Staging.
fn setting(db: &mut Database, o: &Principal, mode: WorkspaceAccessMode) {
    if mode == WorkspaceAccessMode::Inherit {
        orgs::update(db, o, ORG, mode, T0).unwrap();
    }
    roles::create_permission(db, o, ORG, DEPLOY, "deploy", T0).unwrap();
    roles::create(db, o, ORG, "deployer", &[DEPLOY.to_string()], "deploys", T0).unwrap();
    workspaces::create(db, o, ORG, "Production", T0).unwrap();
    workspaces::create(db, o, ORG, "Staging", T0).unwrap();
}

/// Invite `email` to `role` (in `workspace`, or the organization), accept with a new account.
fn invite_accept(
    db: &mut Database,
    o: &Principal,
    email: &str,
    role: &str,
    workspace: Option<&str>,
    now: i64,
) -> Principal {
    let invitee = Invitee {
        email: email.into(),
        role: role.into(),
        access_expires_at: None,
        workspace: workspace.map(str::to_string),
    };
    let token = invitations::create(db, o, ORG, &[invitee], None, now).unwrap().invitations.remove(0).token;
    invitations::accept(db, &token, Acceptor::NewAccount { full_name: "Pat Person", password: PW }, now).unwrap();
    sign_in(db, email, PW, now).unwrap()
}

fn allowed(db: &mut Database, o: &Principal, perm: &str, workspace: Option<&str>, now: i64) -> bool {
    check(db, o, ORG, PERSON, perm, workspace, now).unwrap().allowed
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Holds {
    OrganizationRole,
    WorkspaceGrant,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Active,
    Disabled,
    Expired,
}

#[test]
fn every_combination_of_setting_grant_and_membership_state() {
    for mode in WorkspaceAccessMode::ALL {
        for holds in [Holds::OrganizationRole, Holds::WorkspaceGrant] {
            for state in [State::Active, State::Disabled, State::Expired] {
                let (mut db, o) = world();
                setting(&mut db, &o, mode);
                let workspace = (holds == Holds::WorkspaceGrant).then_some("Production");
                invite_accept(&mut db, &o, PERSON, "deployer", workspace, T0);
                match state {
                    State::Active => {}
                    State::Disabled => {
                        members::set_enabled(&mut db, &o, ORG, &Selection::Emails(vec![PERSON.into()]), false, T0 + 1)
                            .unwrap();
                    }
                    State::Expired => members::set_expiry(&mut db, &o, ORG, PERSON, Some(T0 + 5), T0 + 1).unwrap(),
                }
                let now = T0 + 10;
                let active = state == State::Active;
                let inherit = mode == WorkspaceAccessMode::Inherit;
                let by_org_role = holds == Holds::OrganizationRole;
                let case = format!("{mode:?} × {holds:?} × {state:?}");
                // Organization scope: only an organization role, whatever the setting.
                assert_eq!(
                    allowed(&mut db, &o, DEPLOY, None, now),
                    active && by_org_role,
                    "organization scope, {case}"
                );
                // The granted workspace: the workspace grant; the organization role only when inheriting.
                assert_eq!(
                    allowed(&mut db, &o, DEPLOY, Some("Production"), now),
                    active && (!by_org_role || inherit),
                    "Production, {case}"
                );
                // Another workspace: only an inherited organization role.
                assert_eq!(
                    allowed(&mut db, &o, DEPLOY, Some("Staging"), now),
                    active && by_org_role && inherit,
                    "Staging, {case}"
                );
                // Nothing was deleted by a disable or an expiry: enabling / clearing brings it back.
                match state {
                    State::Active => {}
                    State::Disabled => {
                        members::set_enabled(&mut db, &o, ORG, &Selection::Emails(vec![PERSON.into()]), true, now)
                            .unwrap();
                    }
                    State::Expired => members::set_expiry(&mut db, &o, ORG, PERSON, None, now).unwrap(),
                }
                assert_eq!(
                    allowed(&mut db, &o, DEPLOY, Some("Production"), now + 1),
                    !by_org_role || inherit,
                    "Production after restoring, {case}"
                );
            }
        }
    }
}

#[test]
fn a_workspace_grant_gives_no_organization_permission_to_the_caller_either() {
    for mode in WorkspaceAccessMode::ALL {
        let (mut db, o) = world();
        setting(&mut db, &o, mode);
        // An admin of one workspace only: no organization permission at all, so no command works.
        let p = invite_accept(&mut db, &o, PERSON, "admin", Some("Production"), T0);
        assert_eq!(code(members::list(&mut db, &p, ORG, &MemberQuery::default(), T0 + 1)), ErrorCode::Forbidden);
        assert_eq!(code(workspaces::create(&mut db, &p, ORG, "Mine", T0 + 1)), ErrorCode::Forbidden);
        assert_eq!(
            code(workspaces::grant(&mut db, &p, ORG, "Production", OWNER, "member", None, T0 + 1)),
            ErrorCode::Forbidden
        );
        assert!(!allowed(&mut db, &o, ORG_VIEW, None, T0 + 1), "{mode:?}");
        assert!(allowed(&mut db, &o, "workspaces.manage", Some("Production"), T0 + 1), "{mode:?}");
    }
}

#[test]
fn new_organizations_are_separate_and_the_setting_is_shown_and_changed_by_org_manage_only() {
    let (mut db, o) = world();
    let listed = orgs::list(&mut db, &o, T0).unwrap();
    assert_eq!(listed[0].workspace_access, WorkspaceAccessMode::Separate);
    let inheriting = orgs::create(&mut db, &o, "Groups", Some(WorkspaceAccessMode::Inherit), T0).unwrap();
    assert_eq!(inheriting.workspace_access, WorkspaceAccessMode::Inherit);
    assert_eq!(orgs::create(&mut db, &o, "Plain", None, T0).unwrap().workspace_access, WorkspaceAccessMode::Separate);
    let json = serde_json::to_value(&listed[0]).unwrap();
    assert_eq!(json, serde_json::json!({"slug": "acme", "name": "Acme", "workspace_access": "separate"}));

    // An admin lacks org.manage: refused and audited; the owner may, and it is audited once.
    let a = add(&mut db, &o, "a@acme.test", "admin", None, T0);
    assert_eq!(code(orgs::update(&mut db, &a, ORG, WorkspaceAccessMode::Inherit, T0 + 1)), ErrorCode::Forbidden);
    let denied = events(&mut db, &o, T0 + 1);
    assert_eq!(denied[0].action, "access.denied");
    assert_eq!(denied[0].details["attempted"], "org.manage");
    let updated = orgs::update(&mut db, &o, ORG, WorkspaceAccessMode::Inherit, T0 + 2).unwrap();
    assert_eq!(updated.workspace_access, WorkspaceAccessMode::Inherit);
    let ev = events(&mut db, &o, T0 + 2);
    assert_eq!(ev[0].action, "org.updated");
    assert_eq!(ev[0].details["workspace_access"], serde_json::json!({"from": "separate", "to": "inherit"}));
    let before = events(&mut db, &o, T0 + 3).len();
    orgs::update(&mut db, &o, ORG, WorkspaceAccessMode::Inherit, T0 + 3).unwrap();
    assert_eq!(events(&mut db, &o, T0 + 3).len(), before, "setting what is set changes nothing");
    assert_eq!(invalid_field(WorkspaceAccessMode::parse("workspace_access", "everything")), "workspace_access");
}

#[test]
fn a_workspace_invitation_makes_a_member_with_only_that_workspace_role() {
    let (mut db, o) = world();
    setting(&mut db, &o, WorkspaceAccessMode::Separate);
    let issued = invitations::create(
        &mut db,
        &o,
        ORG,
        &[Invitee {
            email: PERSON.into(),
            role: "deployer".into(),
            access_expires_at: None,
            workspace: Some("production".into()),
        }],
        None,
        T0,
    )
    .unwrap();
    assert_eq!(issued.invitations[0].workspace.as_deref(), Some("Production"));
    let listed = invitations::list(&mut db, &o, ORG, None, T0).unwrap();
    assert_eq!(listed[0].workspace.as_deref(), Some("Production"));
    // The pending row shows the workspace it is for.
    let page = members::list(&mut db, &o, ORG, &MemberQuery::default(), T0).unwrap();
    let pending = page.items.iter().find(|r| r.email == PERSON).unwrap();
    assert_eq!(pending.status.as_str(), "pending");
    let production = vec![WorkspaceRole { workspace: "Production".into(), role: "deployer".into() }];
    assert_eq!(pending.workspaces, production);

    let token = issued.invitations[0].token.clone();
    let accepted =
        invitations::accept(&mut db, &token, Acceptor::NewAccount { full_name: "Pat Person", password: PW }, T0 + 1)
            .unwrap();
    assert_eq!(accepted.workspace.as_deref(), Some("Production"));
    let page = members::list(&mut db, &o, ORG, &MemberQuery::default(), T0 + 2).unwrap();
    let row = page.items.iter().find(|r| r.email == PERSON).unwrap();
    assert_eq!((row.status.as_str(), row.roles.len()), ("active", 0), "{row:?}");
    assert_eq!(row.workspaces, production);
    let owner_row = page.items.iter().find(|r| r.email == OWNER).unwrap();
    assert!(owner_row.workspaces.is_empty());
    let json = serde_json::to_value(row).unwrap();
    assert_eq!(json["workspaces"], serde_json::json!([{"workspace": "Production", "role": "deployer"}]));
    assert_eq!(json["email"], PERSON, "the row's own fields stay at the top level: {json}");
    let details = members::show(&mut db, &o, ORG, PERSON, T0 + 2).unwrap();
    assert_eq!(details.workspaces.len(), 1);
    assert!(details.workspaces[0].current);
    // The audit trail says which workspace.
    let ev = events(&mut db, &o, T0 + 2);
    assert_eq!(ev[0].action, "invites.accepted");
    assert_eq!(ev[0].details["workspace"], "Production");
}

#[test]
fn workspace_invitation_refusals() {
    let (mut db, o) = world();
    setting(&mut db, &o, WorkspaceAccessMode::Separate);
    let inv = |email: &str, role: &str, ws: &str| Invitee {
        email: email.into(),
        role: role.into(),
        access_expires_at: None,
        workspace: Some(ws.into()),
    };
    // No such workspace.
    assert_eq!(
        code(invitations::create(&mut db, &o, ORG, &[inv("x@acme.test", "member", "Nope")], None, T0)),
        ErrorCode::NotFound
    );
    // Already a member: give workspace access with workspaces grant instead.
    let e = invitations::create(&mut db, &o, ORG, &[inv(OWNER, "member", "Production")], None, T0).unwrap_err();
    assert_eq!(e.conflict_reason(), Some(ConflictReason::AlreadyMember), "{e}");
    // Inviting to a workspace hands out workspace access: members.invite alone is not enough.
    roles::create(&mut db, &o, ORG, "inviter", &[ORG_VIEW.into(), "members.invite".into()], "", T0).unwrap();
    let i = add(&mut db, &o, "i@acme.test", "inviter", None, T0);
    assert!(invitations::create(
        &mut db,
        &i,
        ORG,
        &[Invitee { email: "org@acme.test".into(), role: "member".into(), access_expires_at: None, workspace: None }],
        None,
        T0 + 1
    )
    .is_ok());
    assert!(matches!(
        invitations::create(&mut db, &i, ORG, &[inv("ws@acme.test", "member", "Production")], None, T0 + 1),
        Err(Error::Forbidden { .. })
    ));
    // No escalation in a workspace either: an admin may not invite an owner there.
    let a = add(&mut db, &o, "a@acme.test", "admin", None, T0);
    assert_eq!(
        code(invitations::create(&mut db, &a, ORG, &[inv("ws@acme.test", "owner", "Production")], None, T0 + 1)),
        ErrorCode::Forbidden
    );
    assert!(invitations::create(&mut db, &a, ORG, &[inv("ws@acme.test", "admin", "Production")], None, T0 + 1).is_ok());
}

#[test]
fn a_workspace_grant_to_an_account_that_is_not_a_member_makes_it_one_without_an_organization_role() {
    let (mut db, o) = world();
    setting(&mut db, &o, WorkspaceAccessMode::Separate);
    // Someone with an account (made by joining another organization), not a member of acme.
    let other = orgs::create(&mut db, &o, "Other", None, T0).unwrap();
    let token = invitations::create(
        &mut db,
        &o,
        &other.slug,
        &[Invitee { email: PERSON.into(), role: "member".into(), access_expires_at: None, workspace: None }],
        None,
        T0,
    )
    .unwrap()
    .invitations
    .remove(0)
    .token;
    invitations::accept(&mut db, &token, Acceptor::NewAccount { full_name: "Pat Person", password: PW }, T0).unwrap();
    assert_eq!(code(members::show(&mut db, &o, ORG, PERSON, T0 + 1)), ErrorCode::NotFound);

    // Whoever may grant workspace access may do it; the new member has no organization role.
    let a = add(&mut db, &o, "a@acme.test", "admin", None, T0);
    workspaces::grant(&mut db, &o, ORG, "Production", PERSON, "deployer", None, T0 + 1).unwrap();
    let d = members::show(&mut db, &o, ORG, PERSON, T0 + 2).unwrap();
    assert!(d.row.roles.is_empty(), "{d:?}");
    assert_eq!(d.row.status.as_str(), "active");
    assert_eq!(d.workspaces.len(), 1);
    assert!(allowed(&mut db, &o, DEPLOY, Some("Production"), T0 + 2));
    assert!(!allowed(&mut db, &o, ORG_VIEW, None, T0 + 2));
    let ev = events(&mut db, &o, T0 + 2);
    assert_eq!(ev[0].action, "workspaces.granted");
    assert_eq!(ev[0].details["new_member"], true);
    // The organization they already belonged to is unchanged.
    let p = sign_in(&mut db, PERSON, PW, T0 + 2).unwrap();
    assert_eq!(orgs::list(&mut db, &p, T0 + 2).unwrap().len(), 2);

    // No account with that email: not found, nothing written.
    assert_eq!(
        code(workspaces::grant(&mut db, &o, ORG, "Production", "nobody@acme.test", "deployer", None, T0 + 3)),
        ErrorCode::NotFound
    );
    // Still no escalation: an admin may not hand out owner in a workspace to a non-member.
    assert_eq!(
        code(workspaces::grant(&mut db, &a, ORG, "Staging", PERSON, "owner", None, T0 + 3)),
        ErrorCode::Forbidden
    );
}

#[test]
fn existing_organizations_are_migrated_to_inherit_and_service_accounts_to_their_creator() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // A database made before migration 0005.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        let before = MIGRATIONS.iter().position(|(name, _)| *name == "0005_workspace_scopes").unwrap();
        for (_, sql) in &MIGRATIONS[..before] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", before as i64).unwrap();
        conn.execute_batch(
            "INSERT INTO organizations (id, name, slug, created_at) VALUES ('o1', 'Old', 'old', 1);
             INSERT INTO accounts (id, email, email_norm, given_name, family_name, sort_name, created_at)
               VALUES ('a1', 'Ann@Old.io', 'ann@old.io', 'Ann', '', 'ann', 1);
             INSERT INTO service_accounts (id, organization_id, name, token_hash, token_prefix, created_by, created_at)
               VALUES ('s1', 'o1', 'ci', x'01', 'ghs_', 'Ann@Old.io', 1),
                      ('s2', 'o1', 'ci-child', x'02', 'ghs_', 'service-account:ci', 1);",
        )
        .unwrap();
    }
    let db = Database::open(&path).unwrap();
    let conn = db.connection();
    let org = organizations::by_slug(conn, "old").unwrap().unwrap();
    assert_eq!(org.workspace_access, WorkspaceAccessMode::Inherit, "nothing changes under their feet");
    let creators: Vec<Option<String>> = conn
        .prepare("SELECT created_by_account FROM service_accounts ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<gatehouse_core::sql::Result<_>>()
        .unwrap();
    assert_eq!(creators, vec![Some("a1".to_string()), Some("a1".to_string())]);
    // A fresh database migrates twice without harm.
    let mut again = rusqlite::Connection::open(&path).unwrap();
    migrate(&mut again).unwrap();
}
