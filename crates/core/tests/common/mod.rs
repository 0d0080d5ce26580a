//! Helpers of the core integration tests: an in-memory database with organization "acme" owned by
//! Olivia, people added through real invitations, and error matchers.
#![allow(dead_code)]

use gatehouse_core::auth::sign_in;
use gatehouse_core::usecases::audit::{self, AuditEventView, AuditQuery};
use gatehouse_core::usecases::invitations::{self, Acceptor, Invitee};
use gatehouse_core::usecases::orgs;
use gatehouse_core::{Database, Error, ErrorCode, Principal, Result};

/// The moment every test starts at (time is a parameter of the core).
pub const T0: i64 = 1_800_000_000;
pub const PW: &str = "correct horse battery";
pub const ORG: &str = "acme";
pub const OWNER: &str = "owner@acme.test";

pub fn world() -> (Database, Principal) {
    let mut db = Database::open_in_memory().unwrap();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    (db, o)
}

/// Invite, accept with a new account, sign in.
pub fn add(db: &mut Database, who: &Principal, email: &str, role: &str, expires: Option<i64>, now: i64) -> Principal {
    let invitee = Invitee { email: email.into(), role: role.into(), access_expires_at: expires, workspace: None };
    let token = invitations::create(db, who, ORG, &[invitee], None, now).unwrap().invitations.remove(0).token;
    invitations::accept(db, &token, Acceptor::NewAccount { full_name: "Test Person", password: PW }, now).unwrap();
    sign_in(db, email, PW, now).unwrap()
}

#[track_caller]
pub fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
    match r {
        Err(e) => e.code(),
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
    }
}

#[track_caller]
pub fn invalid_field<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(Error::InvalidInput { field, .. }) => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

pub fn events(db: &mut Database, who: &Principal, now: i64) -> Vec<AuditEventView> {
    audit::list(db, who, ORG, &AuditQuery::default(), now).unwrap()
}
