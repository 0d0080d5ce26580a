//! The policy as a table: roles (owner, admin, member) x grant states (active, disabled, expired,
//! removed) x every built-in permission (plus a custom and an unknown one), asked through
//! `usecases::check::check`, and a few real commands per cell, against the expected matrix.

use gatehouse_core::auth::sign_in;
use gatehouse_core::catalogue::{ADMIN_PERMISSIONS, BUILT_IN_PERMISSIONS, MEMBER_PERMISSIONS};
use gatehouse_core::usecases::audit::{self, AuditQuery};
use gatehouse_core::usecases::check::check;
use gatehouse_core::usecases::invitations::{self, Acceptor, Invitee};
use gatehouse_core::usecases::members::{self, MemberQuery, Selection};
use gatehouse_core::usecases::{orgs, roles};
use gatehouse_core::{Database, ErrorCode, Principal};

mod common;

const T0: i64 = 1_800_000_000;
const T1: i64 = T0 + 1_000; // when the table is read: the expired memberships have expired
const PW: &str = "correct horse battery";
const ORG: &str = "acme";
const CUSTOM: &str = "billing.access";
const UNKNOWN: &str = "nothing.known";

const ROLES: [&str; 3] = ["owner", "admin", "member"];
const STATES: [&str; 4] = ["active", "disabled", "expired", "removed"];

fn expected(role: &str, state: &str, permission: &str) -> bool {
    if state != "active" || permission == UNKNOWN {
        return false;
    }
    match role {
        "owner" => true,
        "admin" => ADMIN_PERMISSIONS.contains(&permission),
        "member" => MEMBER_PERMISSIONS.contains(&permission),
        _ => unreachable!(),
    }
}

struct Cell {
    role: &'static str,
    state: &'static str,
    email: String,
    who: Principal,
}

fn table() -> (Database, Principal, Vec<Cell>) {
    let mut db = common::fresh_db();
    orgs::init(&mut db, "Acme", "boss@acme.test", "Big Boss", PW, T0).unwrap();
    let o = sign_in(&mut db, "boss@acme.test", PW, T0).unwrap();
    roles::create_permission(&mut db, &o, ORG, CUSTOM, "pay the bills", T0).unwrap();
    let mut cells = Vec::new();
    for role in ROLES {
        for state in STATES {
            let email = format!("{role}-{state}@acme.test");
            let expires = (state == "expired").then_some(T0 + 10);
            let token = invitations::create(
                &mut db,
                &o,
                ORG,
                &[Invitee { email: email.clone(), role: role.into(), access_expires_at: expires, workspace: None }],
                None,
                T0,
            )
            .unwrap()
            .invitations
            .remove(0)
            .token;
            invitations::accept(&mut db, &token, Acceptor::NewAccount { full_name: "Table Row", password: PW }, T0)
                .unwrap();
            let who = sign_in(&mut db, &email, PW, T0).unwrap();
            match state {
                "disabled" => {
                    let r =
                        members::set_enabled(&mut db, &o, ORG, &Selection::Emails(vec![email.clone()]), false, T0 + 1)
                            .unwrap();
                    assert_eq!(r.changed, 1, "{email}: {:?}", r.rows);
                }
                "removed" => members::remove(&mut db, &o, ORG, &email, T0 + 1).unwrap(),
                _ => {}
            }
            cells.push(Cell { role, state, email, who });
        }
    }
    (db, o, cells)
}

#[test]
fn check_answers_match_the_matrix() {
    let (mut db, o, cells) = table();
    let admin = cells.iter().find(|c| c.role == "admin" && c.state == "active").unwrap().who.clone();
    let mut permissions: Vec<&str> = BUILT_IN_PERMISSIONS.iter().map(|(p, _)| *p).collect();
    permissions.push(CUSTOM);
    permissions.push(UNKNOWN);
    let mut wrong = Vec::new();
    let mut asked = 0;
    for cell in &cells {
        for &permission in &permissions {
            let want = expected(cell.role, cell.state, permission);
            // Whoever asks (an owner, or an admin holding org.view), the answer is the same.
            for asker in [&o, &admin] {
                let got = check(&mut db, asker, ORG, &cell.email, permission, None, T1).unwrap();
                asked += 1;
                if got.allowed != want {
                    wrong.push(format!(
                        "{}/{} {permission}: got {} ({}) want {want}",
                        cell.role, cell.state, got.allowed, got.reason
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {asked} answers wrong:\n{}", wrong.len(), wrong.join("\n"));
    // Someone never invited is denied; the caller's own rights are unaffected.
    assert!(!check(&mut db, &o, ORG, "stranger@acme.test", "org.view", None, T1).unwrap().allowed);
    assert!(check(&mut db, &o, ORG, "boss@acme.test", CUSTOM, None, T1).unwrap().allowed);
}

#[test]
fn commands_follow_the_same_matrix() {
    let (mut db, _o, cells) = table();
    let mut wrong = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let who = &cell.who;
        let outcomes: [(&str, Result<(), ErrorCode>); 4] = [
            (
                "org.view",
                members::list(&mut db, who, ORG, &MemberQuery::default(), T1).map(|_| ()).map_err(|e| e.code()),
            ),
            (
                "audit.view",
                audit::list(&mut db, who, ORG, &AuditQuery::default(), T1).map(|_| ()).map_err(|e| e.code()),
            ),
            ("org.manage", orgs::rename(&mut db, who, ORG, "Acme", T1).map(|_| ()).map_err(|e| e.code())),
            (
                "roles.manage",
                roles::create(&mut db, who, ORG, &format!("viewer{i}"), &["org.view".to_string()], "", T1)
                    .map(|_| ())
                    .map_err(|e| e.code()),
            ),
        ];
        for (permission, got) in outcomes {
            let want = expected(cell.role, cell.state, permission);
            match (&got, want) {
                (Ok(()), true) | (Err(ErrorCode::Forbidden), false) => {}
                _ => wrong.push(format!("{}/{} {permission}: got {got:?}, want allowed={want}", cell.role, cell.state)),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
