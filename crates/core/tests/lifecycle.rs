//! Integration tests of the access lifecycle (PRODUCT.md §1 access grants, rule 9), workspaces,
//! service accounts, the access review, `demo` and the sign-in back-off (rule 7), through the
//! public use cases. Time is a parameter: every call passes `now` explicitly, so nothing sleeps.

use gatehouse_core::auth::{self, authenticate_token, sign_in};
use gatehouse_core::catalogue::{AUDIT_VIEW, ORG_VIEW};
use gatehouse_core::store::organizations::WorkspaceAccessMode;
use gatehouse_core::store::{accounts, grants, memberships, organizations, roles as role_store};
use gatehouse_core::time::rfc3339;
use gatehouse_core::usecases::audit::{self, AuditQuery};
use gatehouse_core::usecases::check::check;
use gatehouse_core::usecases::invitations::{self, Invitee};
use gatehouse_core::usecases::members::{self, MemberQuery};
use gatehouse_core::usecases::{demo, orgs, review, roles, service_accounts, workspaces};
use gatehouse_core::{Database, Error, ErrorCode, Principal};

mod common;
use common::*;

const DEPLOY: &str = "deploy.run";

// ---------------------------------------------------------------- helpers

/// A custom permission `deploy.run` and a role `deployer` holding it (and nothing else), so that
/// only a grant of `deployer` can allow `deploy.run`.
fn deployer_role(db: &mut Database, o: &Principal, now: i64) {
    roles::create_permission(db, o, ORG, DEPLOY, "deploy to an environment", now).unwrap();
    roles::create(db, o, ORG, "deployer", &[DEPLOY.to_string()], "deploys", now).unwrap();
}

fn can_in(db: &mut Database, who: &Principal, email: &str, perm: &str, workspace: Option<&str>, now: i64) -> bool {
    check(db, who, ORG, email, perm, workspace, now).unwrap().allowed
}

/// Insert an access grant straight through the store (no use case sets `valid from` yet).
fn raw_grant(
    db: &Database,
    email: &str,
    role: &str,
    workspace: Option<&str>,
    valid_from: Option<i64>,
    expires_at: Option<i64>,
    now: i64,
) {
    let conn = db.connection();
    let org = organizations::by_slug(conn, ORG).unwrap().unwrap();
    let account = accounts::by_email(conn, email).unwrap().unwrap();
    let m = memberships::of(conn, &org.id, &account.id).unwrap().unwrap();
    let role = role_store::by_name(conn, &org.id, role).unwrap().unwrap();
    let ws = workspace.map(|w| gatehouse_core::store::workspaces::by_name(conn, &org.id, w).unwrap().unwrap().id);
    grants::insert(
        conn,
        &grants::NewGrant {
            organization_id: &org.id,
            subject: grants::Subject::Membership(&m.id),
            role_id: &role.id,
            workspace_id: ws.as_deref(),
            valid_from,
            expires_at,
            granted_by: Some(OWNER),
        },
        now,
    )
    .unwrap();
}

/// The seconds of a lock, read back from the "try again after …" message.
fn locked_until(e: &Error) -> i64 {
    let msg = e.to_string();
    let at = msg.rsplit(' ').next().unwrap();
    chrono::DateTime::parse_from_rfc3339(at).unwrap_or_else(|_| panic!("no moment at the end of {msg:?}")).timestamp()
}

// ---------------------------------------------------------------- workspaces

#[test]
fn workspaces_create_list_and_duplicates() {
    let (mut db, o) = world();
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0);
    let w = workspaces::create(&mut db, &o, ORG, "Production", T0).unwrap();
    assert_eq!(w.name, "Production");
    assert_eq!(w.created_at, rfc3339(T0));
    workspaces::create(&mut db, &o, ORG, "Staging", T0 + 1).unwrap();
    let names: Vec<String> = workspaces::list(&mut db, &m, ORG, T0 + 2).unwrap().into_iter().map(|w| w.name).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"Production".to_string()) && names.contains(&"Staging".to_string()), "{names:?}");
    // Same name again is a conflict; a plain member may not create one.
    assert_eq!(code(workspaces::create(&mut db, &o, ORG, "Production", T0 + 3)), ErrorCode::Conflict);
    assert_eq!(code(workspaces::create(&mut db, &m, ORG, "Mine", T0 + 3)), ErrorCode::Forbidden);
    assert_eq!(workspaces::list(&mut db, &o, ORG, T0 + 4).unwrap().len(), 2);
}

#[test]
fn workspace_grant_is_scoped_to_its_workspace_and_ends_at_its_expiry() {
    let (mut db, o) = world();
    deployer_role(&mut db, &o, T0);
    add(&mut db, &o, "m@acme.test", "member", None, T0);
    workspaces::create(&mut db, &o, ORG, "Production", T0).unwrap();
    workspaces::create(&mut db, &o, ORG, "Staging", T0).unwrap();

    // Nothing before the grant.
    assert!(!can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Production"), T0 + 1));

    let g =
        workspaces::grant(&mut db, &o, ORG, "Production", "m@acme.test", "deployer", Some(T0 + 100), T0 + 1).unwrap();
    assert_eq!((g.workspace.as_str(), g.email.as_str(), g.role.as_str()), ("Production", "m@acme.test", "deployer"));
    assert_eq!(g.expires_at, Some(rfc3339(T0 + 100)));

    // Allowed in that workspace only, and only until the expiry (to the second).
    assert!(can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Production"), T0 + 2));
    assert!(can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Production"), T0 + 99));
    assert!(!can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Staging"), T0 + 2));
    assert!(
        !can_in(&mut db, &o, "m@acme.test", DEPLOY, None, T0 + 2),
        "a workspace grant must not leak to organization scope"
    );
    // Organization-scope rights count inside a workspace only when the organization inherits
    // (new organizations keep scopes separate; rule 11, tests/scopes.rs has every combination).
    assert!(!can_in(&mut db, &o, "m@acme.test", ORG_VIEW, Some("Production"), T0 + 2));
    orgs::update(&mut db, &o, ORG, WorkspaceAccessMode::Inherit, T0 + 2).unwrap();
    assert!(can_in(&mut db, &o, "m@acme.test", ORG_VIEW, Some("Production"), T0 + 2));
    let at_expiry = check(&mut db, &o, ORG, "m@acme.test", DEPLOY, Some("Production"), T0 + 100).unwrap();
    assert!(!at_expiry.allowed, "expired at the moment of expiry: {at_expiry:?}");

    // The expiry is audited once, as access.expired with workspace scope, dated at the expiry.
    assert_eq!(audit::record_expiries(&mut db, T0 + 101).unwrap(), 1);
    assert_eq!(audit::record_expiries(&mut db, T0 + 102).unwrap(), 0);
    let ev: Vec<_> = events(&mut db, &o, T0 + 102).into_iter().filter(|e| e.action == "access.expired").collect();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].target, "m@acme.test");
    assert_eq!(ev[0].at, rfc3339(T0 + 100));
    assert_eq!(ev[0].details["scope"], "workspace");
    assert_eq!(ev[0].details["workspace"], "Production");

    // Nothing deleted: the grant is still shown, not current.
    let d = members::show(&mut db, &o, ORG, "m@acme.test", T0 + 102).unwrap();
    assert_eq!(d.workspaces.len(), 1, "{:?}", d.workspaces);
    assert!(!d.workspaces[0].current);

    // A new grant replaces the earlier one in that workspace; revoke takes it away.
    workspaces::grant(&mut db, &o, ORG, "Production", "m@acme.test", "deployer", None, T0 + 103).unwrap();
    assert!(can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Production"), T0 + 104));
    let d = members::show(&mut db, &o, ORG, "m@acme.test", T0 + 104).unwrap();
    assert_eq!(d.workspaces.len(), 1, "re-granting replaces: {:?}", d.workspaces);
    workspaces::revoke(&mut db, &o, ORG, "Production", "m@acme.test", T0 + 105).unwrap();
    assert!(!can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Production"), T0 + 106));
    assert!(members::show(&mut db, &o, ORG, "m@acme.test", T0 + 106).unwrap().workspaces.is_empty());
    // Revoking again: nothing to revoke.
    assert_eq!(code(workspaces::revoke(&mut db, &o, ORG, "Production", "m@acme.test", T0 + 107)), ErrorCode::NotFound);
    let actions: Vec<String> = events(&mut db, &o, T0 + 108).into_iter().map(|e| e.action).collect();
    assert!(
        actions.iter().any(|a| a == "workspaces.granted") && actions.iter().any(|a| a == "workspaces.revoked"),
        "{actions:?}"
    );
}

#[test]
fn workspace_grant_refusals() {
    let (mut db, o) = world();
    deployer_role(&mut db, &o, T0);
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0);
    let a = add(&mut db, &o, "a@acme.test", "admin", None, T0);
    workspaces::create(&mut db, &o, ORG, "Production", T0).unwrap();
    // A new expiry in the past (or now) is bad input naming the field.
    assert_eq!(
        invalid_field(workspaces::grant(
            &mut db,
            &o,
            ORG,
            "Production",
            "m@acme.test",
            "deployer",
            Some(T0 - 1),
            T0 + 1
        )),
        "expires"
    );
    assert_eq!(
        invalid_field(workspaces::grant(
            &mut db,
            &o,
            ORG,
            "Production",
            "m@acme.test",
            "deployer",
            Some(T0 + 1),
            T0 + 1
        )),
        "expires"
    );
    // Unknown workspace / member / role.
    assert_eq!(
        code(workspaces::grant(&mut db, &o, ORG, "Nope", "m@acme.test", "deployer", None, T0 + 1)),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(workspaces::grant(&mut db, &o, ORG, "Production", "ghost@acme.test", "deployer", None, T0 + 1)),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(workspaces::grant(&mut db, &o, ORG, "Production", "m@acme.test", "nope", None, T0 + 1)),
        ErrorCode::InvalidInput
    );
    assert_eq!(code(check(&mut db, &o, ORG, "m@acme.test", ORG_VIEW, Some("Nope"), T0 + 1)), ErrorCode::NotFound);
    // A member may not grant; an admin may not hand out owner in a workspace, nor grant themself.
    assert_eq!(
        code(workspaces::grant(&mut db, &m, ORG, "Production", "a@acme.test", "member", None, T0 + 1)),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(workspaces::grant(&mut db, &a, ORG, "Production", "m@acme.test", "owner", None, T0 + 1)),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(workspaces::grant(&mut db, &a, ORG, "Production", "a@acme.test", "admin", None, T0 + 1)),
        ErrorCode::Forbidden
    );
    // The admin may grant the member an ordinary role there.
    workspaces::grant(&mut db, &a, ORG, "Production", "m@acme.test", "member", None, T0 + 1).unwrap();
    // Nothing else was granted by the refused attempts.
    assert_eq!(members::show(&mut db, &o, ORG, "m@acme.test", T0 + 2).unwrap().workspaces.len(), 1);
    assert!(!can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Production"), T0 + 2));
}

// ---------------------------------------------------------------- valid from

#[test]
fn a_grant_valid_from_a_later_moment_is_denied_before_and_allowed_after() {
    let (mut db, o) = world();
    deployer_role(&mut db, &o, T0);
    roles::create(&mut db, &o, ORG, "auditor", &[ORG_VIEW.to_string(), AUDIT_VIEW.to_string()], "reads the log", T0)
        .unwrap();
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0);
    workspaces::create(&mut db, &o, ORG, "Production", T0).unwrap();

    // Organization scope: auditor from T0+50 until T0+200.
    raw_grant(&db, "m@acme.test", "auditor", None, Some(T0 + 50), Some(T0 + 200), T0 + 1);
    // Workspace scope: deployer in Production from T0+60, no end.
    raw_grant(&db, "m@acme.test", "deployer", Some("Production"), Some(T0 + 60), None, T0 + 1);

    // Not yet valid.
    assert!(!can_in(&mut db, &o, "m@acme.test", AUDIT_VIEW, None, T0 + 49));
    assert!(!can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Production"), T0 + 59));
    assert_eq!(code(audit::list(&mut db, &m, ORG, &AuditQuery::default(), T0 + 49)), ErrorCode::Forbidden);
    let row = members::list(&mut db, &o, ORG, &MemberQuery::default(), T0 + 49)
        .unwrap()
        .items
        .into_iter()
        .find(|r| r.email == "m@acme.test")
        .unwrap();
    assert_eq!(row.roles, vec!["member".to_string()], "a role not yet valid is not shown as held");
    let d = members::show(&mut db, &o, ORG, "m@acme.test", T0 + 59).unwrap();
    assert_eq!(d.workspaces.len(), 1);
    assert!(!d.workspaces[0].current);
    assert_eq!(d.workspaces[0].valid_from, Some(rfc3339(T0 + 60)));

    // From valid-from on (to the second).
    assert!(can_in(&mut db, &o, "m@acme.test", AUDIT_VIEW, None, T0 + 50));
    assert!(can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Production"), T0 + 60));
    assert!(audit::list(&mut db, &m, ORG, &AuditQuery::default(), T0 + 50).is_ok());
    let row = members::list(&mut db, &o, ORG, &MemberQuery::default(), T0 + 60)
        .unwrap()
        .items
        .into_iter()
        .find(|r| r.email == "m@acme.test")
        .unwrap();
    assert_eq!(row.roles, vec!["auditor".to_string(), "member".to_string()]);
    assert!(members::show(&mut db, &o, ORG, "m@acme.test", T0 + 60).unwrap().workspaces[0].current);

    // And until its end.
    assert!(!can_in(&mut db, &o, "m@acme.test", AUDIT_VIEW, None, T0 + 200));
    assert!(can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Production"), T0 + 10_000));

    // The review shows both moments.
    let rows = review::review(&mut db, &o, ORG, None, T0 + 61).unwrap();
    let auditor =
        rows.iter().find(|r| r.subject == "m@acme.test" && r.role == "auditor").expect("auditor row in the review");
    assert_eq!(auditor.valid_from, Some(rfc3339(T0 + 50)));
    assert_eq!(auditor.expires_at, Some(rfc3339(T0 + 200)));
    assert_eq!(auditor.scope, "organization");
}

#[test]
fn an_owner_grant_not_yet_valid_does_not_count_as_a_lasting_owner() {
    let (mut db, o) = world();
    add(&mut db, &o, "o2@acme.test", "admin", None, T0);
    raw_grant(&db, "o2@acme.test", "owner", None, Some(T0 + 1000), None, T0 + 1);
    // o2 is no owner yet: the first owner is still the last lasting one and cannot leave.
    match members::leave(&mut db, &o, ORG, T0 + 2) {
        Err(Error::Conflict { reason, .. }) => assert_eq!(reason, gatehouse_core::ConflictReason::LastOwner),
        other => panic!("expected last_owner, got {other:?}"),
    }
    assert!(!can_in(&mut db, &o, "o2@acme.test", "org.manage", None, T0 + 2));
    // Once the grant is valid, o2 is an owner and the first one may leave.
    assert!(can_in(&mut db, &o, "o2@acme.test", "org.manage", None, T0 + 1000));
    members::leave(&mut db, &o, ORG, T0 + 1001).unwrap();
}

// ---------------------------------------------------------------- organization expiry hides workspaces

#[test]
fn an_organization_expiry_or_disable_hides_workspace_access_without_deleting_it() {
    let (mut db, o) = world();
    deployer_role(&mut db, &o, T0);
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0);
    workspaces::create(&mut db, &o, ORG, "Production", T0).unwrap();
    workspaces::grant(&mut db, &o, ORG, "Production", "m@acme.test", "deployer", None, T0).unwrap();
    members::set_expiry(&mut db, &o, ORG, "m@acme.test", Some(T0 + 20), T0 + 1).unwrap();

    assert!(can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Production"), T0 + 19));
    assert!(workspaces::list(&mut db, &m, ORG, T0 + 19).is_ok());
    // Membership expired: the workspace grant (which has no end of its own) no longer counts.
    let c = check(&mut db, &o, ORG, "m@acme.test", DEPLOY, Some("Production"), T0 + 20).unwrap();
    assert!(!c.allowed, "{c:?}");
    assert!(c.reason.contains("expired"), "{c:?}");
    assert!(!can_in(&mut db, &o, "m@acme.test", ORG_VIEW, Some("Production"), T0 + 21));
    // The member's own calls are refused too, even inside the workspace scope.
    assert_eq!(code(workspaces::list(&mut db, &m, ORG, T0 + 21)), ErrorCode::Forbidden);
    // Kept, not deleted, and shown as not current.
    let d = members::show(&mut db, &o, ORG, "m@acme.test", T0 + 21).unwrap();
    assert_eq!(d.row.status.as_str(), "expired");
    assert_eq!(d.workspaces.len(), 1, "{:?}", d.workspaces);
    assert!(!d.workspaces[0].current);
    // One access.expired event at organization scope, none for the workspace grant (it did not expire).
    assert_eq!(audit::record_expiries(&mut db, T0 + 22).unwrap(), 1);
    let ev: Vec<_> = events(&mut db, &o, T0 + 22).into_iter().filter(|e| e.action == "access.expired").collect();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].details["scope"], "organization");

    // Clearing the expiry brings the workspace access back.
    members::set_expiry(&mut db, &o, ORG, "m@acme.test", None, T0 + 23).unwrap();
    assert!(can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Production"), T0 + 24));
    assert!(members::show(&mut db, &o, ORG, "m@acme.test", T0 + 24).unwrap().workspaces[0].current);

    // Disabling hides it the same way; enabling restores it.
    let sel = members::Selection::Emails(vec!["m@acme.test".into()]);
    members::set_enabled(&mut db, &o, ORG, &sel, false, T0 + 25).unwrap();
    let c = check(&mut db, &o, ORG, "m@acme.test", DEPLOY, Some("Production"), T0 + 26).unwrap();
    assert!(!c.allowed, "{c:?}");
    assert!(!members::show(&mut db, &o, ORG, "m@acme.test", T0 + 26).unwrap().workspaces[0].current);
    members::set_enabled(&mut db, &o, ORG, &sel, true, T0 + 27).unwrap();
    assert!(can_in(&mut db, &o, "m@acme.test", DEPLOY, Some("Production"), T0 + 28));
}

// ---------------------------------------------------------------- service accounts

fn file_bytes(path: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(b) = std::fs::read(std::path::PathBuf::from(p)) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn service_account_token_is_shown_once_works_within_its_role_and_stops_when_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let mut db = Database::open(&path).unwrap();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    add(&mut db, &o, "m@acme.test", "member", None, T0);

    let created = service_accounts::create(&mut db, &o, ORG, "ci-bot", "member", None, T0 + 1).unwrap();
    let token = created.token.clone();
    assert!(token.starts_with(service_accounts::TOKEN_PREFIX) && token.starts_with("ghs_"), "{token}");
    assert_eq!(token.len(), 4 + 64, "256 bits, hex: {token}");
    assert!(token[4..].chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(created.account.token_prefix, token[..12]);
    assert_eq!(created.account.role.as_deref(), Some("member"));
    assert_eq!(created.account.status.as_str(), "active");
    // The list never shows the token again.
    let listed = service_accounts::list(&mut db, &o, ORG, T0 + 2).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!serde_json::to_string(&listed).unwrap().contains(&token[12..]));
    assert_eq!(listed[0].last_used_at, None);

    // Signing in with the token: a service-account principal of this organization.
    let sa = authenticate_token(&mut db, &token, T0 + 3).unwrap();
    assert!(matches!(&sa, Principal::ServiceAccount { name, .. } if name == "ci-bot"), "{sa:?}");
    // It may check and view (org.view via member) but nothing more.
    assert!(can_in(&mut db, &sa, "m@acme.test", ORG_VIEW, None, T0 + 3));
    assert!(members::list(&mut db, &sa, ORG, &MemberQuery::default(), T0 + 3).is_ok());
    let inv = Invitee { email: "x@acme.test".into(), role: "member".into(), access_expires_at: None, workspace: None };
    assert_eq!(code(invitations::create(&mut db, &sa, ORG, &[inv], None, T0 + 3)), ErrorCode::Forbidden);
    assert_eq!(code(audit::list(&mut db, &sa, ORG, &AuditQuery::default(), T0 + 3)), ErrorCode::Forbidden);
    assert_eq!(
        code(service_accounts::create(&mut db, &sa, ORG, "child", "member", None, T0 + 3)),
        ErrorCode::Forbidden
    );
    assert_eq!(service_accounts::list(&mut db, &o, ORG, T0 + 4).unwrap()[0].last_used_at, Some(rfc3339(T0 + 3)));

    // A wrong token, or one with a character changed, is unauthenticated.
    assert_eq!(code(authenticate_token(&mut db, "ghs_0000", T0 + 4)), ErrorCode::Unauthenticated);
    let mut forged = token.clone();
    let last = if forged.ends_with('0') { '1' } else { '0' };
    forged.pop();
    forged.push(last);
    assert_eq!(code(authenticate_token(&mut db, &forged, T0 + 4)), ErrorCode::Unauthenticated);

    // Revoked: refused at sign-in; a principal obtained earlier has no rights left either.
    let v = service_accounts::revoke(&mut db, &o, ORG, "ci-bot", T0 + 5).unwrap();
    assert_eq!(v.status.as_str(), "revoked");
    assert_eq!(v.revoked_at, Some(rfc3339(T0 + 5)));
    let e = authenticate_token(&mut db, &token, T0 + 6).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unauthenticated, "{e}");
    assert!(e.to_string().contains("revoked"), "{e}");
    assert_eq!(code(members::list(&mut db, &sa, ORG, &MemberQuery::default(), T0 + 6)), ErrorCode::Forbidden);
    // The revoked account is not in the review any more.
    assert!(review::review(&mut db, &o, ORG, None, T0 + 7).unwrap().iter().all(|r| r.kind != "service_account"));

    // No token in clear anywhere in the file, its WAL or shared memory.
    drop(db);
    let bytes = file_bytes(&path);
    assert!(!bytes.is_empty());
    assert!(!contains(&bytes, token.as_bytes()), "the whole token is in the database file");
    assert!(!contains(&bytes, token[12..].as_bytes()), "the secret part of the token is in the database file");
    // Its hash is.
    let db = Database::open(&path).unwrap();
    let stored: Vec<u8> =
        db.connection().query_row("SELECT token_hash FROM service_accounts", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, auth::token_hash(&token));
}

#[test]
fn service_account_expiry_and_no_escalation() {
    let (mut db, o) = world();
    let a = add(&mut db, &o, "a@acme.test", "admin", None, T0);
    let m = add(&mut db, &o, "m@acme.test", "member", None, T0);
    // Only holders of service_accounts.manage create them, and only with roles they hold.
    assert_eq!(code(service_accounts::create(&mut db, &m, ORG, "bot", "member", None, T0 + 1)), ErrorCode::Forbidden);
    assert_eq!(code(service_accounts::create(&mut db, &a, ORG, "bot", "owner", None, T0 + 1)), ErrorCode::Forbidden);
    assert_eq!(invalid_field(service_accounts::create(&mut db, &a, ORG, "bot", "member", Some(T0), T0 + 1)), "expires");
    let created = service_accounts::create(&mut db, &a, ORG, "bot", "admin", Some(T0 + 100), T0 + 1).unwrap();
    assert_eq!(code(service_accounts::create(&mut db, &a, ORG, "BOT", "member", None, T0 + 1)), ErrorCode::Conflict);
    let sa = authenticate_token(&mut db, &created.token, T0 + 99).unwrap();
    // An admin service account may invite.
    let inv = Invitee { email: "x@acme.test".into(), role: "member".into(), access_expires_at: None, workspace: None };
    invitations::create(&mut db, &sa, ORG, &[inv], None, T0 + 99).unwrap();
    // At its expiry the token is refused and the principal has no rights left.
    let e = authenticate_token(&mut db, &created.token, T0 + 100).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unauthenticated);
    assert_eq!(code(members::list(&mut db, &sa, ORG, &MemberQuery::default(), T0 + 100)), ErrorCode::Forbidden);
    assert_eq!(service_accounts::list(&mut db, &o, ORG, T0 + 100).unwrap()[0].status, "expired");
    // A token of one organization gives nothing in another.
    let sa2 = service_accounts::create(&mut db, &o, ORG, "bot2", "admin", None, T0 + 101).unwrap();
    let other = orgs::create(&mut db, &o, "Other", None, T0 + 101).unwrap();
    let p2 = authenticate_token(&mut db, &sa2.token, T0 + 102).unwrap();
    assert_eq!(code(check(&mut db, &p2, &other.slug, OWNER, ORG_VIEW, None, T0 + 102)), ErrorCode::Forbidden);
    assert_eq!(code(members::list(&mut db, &p2, &other.slug, &MemberQuery::default(), T0 + 102)), ErrorCode::Forbidden);
}

// ---------------------------------------------------------------- access review

#[test]
fn review_shows_who_has_what_until_when_and_filters_by_expiring_within() {
    let (mut db, o) = world();
    deployer_role(&mut db, &o, T0);
    add(&mut db, &o, "soon@acme.test", "member", Some(T0 + 5 * 86_400), T0);
    add(&mut db, &o, "later@acme.test", "admin", Some(T0 + 100 * 86_400), T0);
    add(&mut db, &o, "never@acme.test", "member", None, T0);
    add(&mut db, &o, "ws@acme.test", "member", None, T0);
    workspaces::create(&mut db, &o, ORG, "Production", T0).unwrap();
    workspaces::grant(&mut db, &o, ORG, "Production", "ws@acme.test", "deployer", Some(T0 + 10 * 86_400), T0).unwrap();
    service_accounts::create(&mut db, &o, ORG, "ci-bot", "member", Some(T0 + 3 * 86_400), T0).unwrap();
    service_accounts::create(&mut db, &o, ORG, "forever-bot", "member", None, T0).unwrap();
    // Pending invitations are not access.
    let inv =
        Invitee { email: "pending@acme.test".into(), role: "admin".into(), access_expires_at: None, workspace: None };
    invitations::create(&mut db, &o, ORG, &[inv], None, T0).unwrap();

    let all = review::review(&mut db, &o, ORG, None, T0 + 1).unwrap();
    let find = |rows: &[review::ReviewRow], subject: &str, role: &str| {
        rows.iter().find(|r| r.subject == subject && r.role == role).cloned()
    };
    let owner = find(&all, OWNER, "owner").expect("owner row");
    assert_eq!(
        (owner.kind.as_str(), owner.scope.as_str(), owner.status.as_str()),
        ("member", "organization", "active")
    );
    assert_eq!(owner.expires_at, None);
    assert_eq!(find(&all, "soon@acme.test", "member").unwrap().expires_at, Some(rfc3339(T0 + 5 * 86_400)));
    assert_eq!(find(&all, "later@acme.test", "admin").unwrap().expires_at, Some(rfc3339(T0 + 100 * 86_400)));
    let ws = find(&all, "ws@acme.test", "deployer").expect("workspace row");
    assert_eq!(ws.scope, "Production");
    assert_eq!(ws.expires_at, Some(rfc3339(T0 + 10 * 86_400)));
    let bot = find(&all, "ci-bot", "member").expect("service account row");
    assert_eq!(bot.kind, "service_account");
    assert_eq!(bot.expires_at, Some(rfc3339(T0 + 3 * 86_400)));
    assert!(all.iter().all(|r| r.subject != "pending@acme.test"), "{all:?}");
    // owner, soon, later, never, ws (member + deployer), two bots.
    assert_eq!(all.len(), 8, "{all:?}");

    // Expiring within 30 days: soon, ws's workspace grant, ci-bot; nothing without an end, nothing later.
    let mut within: Vec<(String, String)> = review::review(&mut db, &o, ORG, Some(30 * 86_400), T0 + 1)
        .unwrap()
        .into_iter()
        .map(|r| (r.subject, r.role))
        .collect();
    within.sort();
    assert_eq!(
        within,
        vec![
            ("ci-bot".into(), "member".into()),
            ("soon@acme.test".into(), "member".into()),
            ("ws@acme.test".into(), "deployer".into())
        ]
    );
    // A membership expiry caps its grants: a workspace grant with no end of a member expiring soon ends then.
    members::set_expiry(&mut db, &o, ORG, "never@acme.test", Some(T0 + 2 * 86_400), T0 + 2).unwrap();
    let rows = review::review(&mut db, &o, ORG, Some(30 * 86_400), T0 + 3).unwrap();
    assert_eq!(find(&rows, "never@acme.test", "member").unwrap().expires_at, Some(rfc3339(T0 + 2 * 86_400)));
    // Only those who may read the audit log may review.
    let m = sign_in(&mut db, "never@acme.test", PW, T0 + 3).unwrap();
    assert_eq!(code(review::review(&mut db, &m, ORG, None, T0 + 3)), ErrorCode::Forbidden);
}

// ---------------------------------------------------------------- demo

#[test]
fn demo_makes_every_status_workspaces_and_service_accounts() {
    let (mut db, o) = world();
    let n = 300;
    let r = demo::demo(&mut db, &o, "demo", n, T0).unwrap();
    assert_eq!(r.organization.slug, "demo");
    assert_eq!(r.members, n);
    let q = MemberQuery { per_page: 1000, ..MemberQuery::default() };
    let page = members::list(&mut db, &o, "demo", &q, T0 + 1).unwrap();
    let c = &page.counts;
    // The caller owns it, plus N synthetic members (invitations included).
    assert_eq!(c.total, n + 1, "{c:?}");
    assert_eq!(page.total, c.total);
    assert_eq!(page.items.len() as i64, c.total);
    for (status, count) in [
        ("active", c.active),
        ("disabled", c.disabled),
        ("expired", c.expired),
        ("pending", c.pending),
        ("rejected", c.rejected),
        ("invitation_expired", c.invitation_expired),
    ] {
        assert!(count > 0, "no {status} rows: {c:?}");
        assert_eq!(page.items.iter().filter(|r| r.status.as_str() == status).count() as i64, count, "{status}");
    }
    assert_eq!(c.active + c.disabled + c.expired + c.pending + c.rejected + c.invitation_expired, c.total);
    assert!(page.items.iter().any(|r| r.email == OWNER && r.roles == vec!["owner".to_string()]));
    assert!(workspaces::list(&mut db, &o, "demo", T0 + 1).unwrap().len() >= 2);
    let sas = service_accounts::list(&mut db, &o, "demo", T0 + 1).unwrap();
    assert!(!sas.is_empty());
    assert!(sas.iter().all(|s| s.token_prefix.starts_with("ghs_") && s.role.is_some()), "{sas:?}");
    // Checks agree with the statuses.
    let expired = page.items.iter().find(|r| r.status.as_str() == "expired").unwrap().email.clone();
    let active = page.items.iter().find(|r| r.status.as_str() == "active" && r.email != OWNER).unwrap().email.clone();
    assert!(!check(&mut db, &o, "demo", &expired, ORG_VIEW, None, T0 + 1).unwrap().allowed);
    assert!(check(&mut db, &o, "demo", &active, ORG_VIEW, None, T0 + 1).unwrap().allowed);
    // The past expiries of demo members are not re-audited; the chain is sound.
    audit::record_expiries(&mut db, T0 + 2).unwrap();
    assert!(audit::verify(&mut db, &o, "demo", T0 + 2).unwrap().ok);
    // The slug is taken now; the first organization is untouched.
    assert!(demo::demo(&mut db, &o, "demo", 5, T0 + 3).is_err());
    assert_eq!(members::list(&mut db, &o, ORG, &MemberQuery::default(), T0 + 3).unwrap().total, 1);
}

// ---------------------------------------------------------------- sign-in back-off (rule 7)

#[test]
fn lockout_back_off_grows_and_refuses_the_right_password_while_locked() {
    let (mut db, _o) = world();
    let t = T0 + 1000;
    for i in 1..auth::LOCK_AFTER_FAILURES {
        assert_eq!(sign_in(&mut db, OWNER, "wrong password!", t + i).unwrap_err().to_string(), auth::WRONG_CREDENTIALS);
        // Not locked before the fifth failure.
    }
    sign_in(&mut db, OWNER, PW, t + 10).expect("four failures do not lock");
    // The success reset the count: four more failures still do not lock.
    for _ in 1..auth::LOCK_AFTER_FAILURES {
        sign_in(&mut db, OWNER, "wrong password!", t + 11).unwrap_err();
    }
    sign_in(&mut db, OWNER, PW, t + 12).expect("the count was reset by the success");

    // Five consecutive failures: locked for the first period.
    let t = t + 100;
    for _ in 0..auth::LOCK_AFTER_FAILURES {
        sign_in(&mut db, OWNER, "wrong password!", t).unwrap_err();
    }
    let e = sign_in(&mut db, OWNER, PW, t + 1).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unauthenticated);
    assert!(e.to_string().contains("locked"), "{e}");
    let first = locked_until(&e) - t;
    assert_eq!(first, auth::FIRST_LOCK_SECONDS);
    assert!(sign_in(&mut db, OWNER, PW, t + first - 1).is_err(), "the right password during the lock is refused");

    // After the lock, one more failure locks again, for longer.
    let t2 = t + first;
    sign_in(&mut db, OWNER, "wrong password!", t2).unwrap_err();
    let e = sign_in(&mut db, OWNER, PW, t2 + 1).unwrap_err();
    let second = locked_until(&e) - t2;
    assert!(second > first, "back-off must grow: {first} then {second}");
    assert_eq!(second, 2 * first);
    assert!(sign_in(&mut db, OWNER, PW, t2 + second - 1).is_err());

    // And again.
    let t3 = t2 + second;
    sign_in(&mut db, OWNER, "wrong password!", t3).unwrap_err();
    let third = locked_until(&sign_in(&mut db, OWNER, PW, t3 + 1).unwrap_err()) - t3;
    assert!(third > second, "back-off must grow: {second} then {third}");

    // Failures while locked do not extend the lock; after it, the right password works and resets.
    sign_in(&mut db, OWNER, "wrong password!", t3 + 2).unwrap_err();
    sign_in(&mut db, OWNER, PW, t3 + third).expect("unlocked after the back-off");
    sign_in(&mut db, OWNER, "wrong password!", t3 + third + 1).unwrap_err();
    sign_in(&mut db, OWNER, PW, t3 + third + 2).expect("one failure after a reset does not lock");

    // An unknown email is locked the same way, with the same kind of message.
    let t4 = t3 + third + 10;
    for _ in 0..auth::LOCK_AFTER_FAILURES {
        sign_in(&mut db, "ghost@acme.test", "wrong password!", t4).unwrap_err();
    }
    let u = sign_in(&mut db, "ghost@acme.test", PW, t4 + 1).unwrap_err();
    assert_eq!(u.code(), ErrorCode::Unauthenticated);
    assert_eq!(locked_until(&u) - t4, auth::FIRST_LOCK_SECONDS);
    // Growth has an upper bound.
    assert_eq!(auth::lock_seconds(1_000), auth::MAX_LOCK_SECONDS);
}

/// Rule 1 (deny by default, rights computed at the moment of the call): a service-account principal
/// obtained before its revocation (or expiry) must not keep any capability: `check` lets one of the
/// organization's own service accounts ask only while it is active.
#[test]
fn a_revoked_or_expired_service_account_can_no_longer_check() {
    let (mut db, o) = world();
    add(&mut db, &o, "m@acme.test", "member", None, T0);
    let revoked = service_accounts::create(&mut db, &o, ORG, "bot", "member", None, T0).unwrap();
    let expiring = service_accounts::create(&mut db, &o, ORG, "bot2", "member", Some(T0 + 10), T0).unwrap();
    let p = authenticate_token(&mut db, &revoked.token, T0 + 1).unwrap();
    let q = authenticate_token(&mut db, &expiring.token, T0 + 1).unwrap();
    assert!(can_in(&mut db, &p, "m@acme.test", ORG_VIEW, None, T0 + 1));
    service_accounts::revoke(&mut db, &o, ORG, "bot", T0 + 2).unwrap();
    assert_eq!(code(check(&mut db, &p, ORG, "m@acme.test", ORG_VIEW, None, T0 + 3)), ErrorCode::Forbidden);
    assert_eq!(code(check(&mut db, &q, ORG, "m@acme.test", ORG_VIEW, None, T0 + 10)), ErrorCode::Forbidden);
}
