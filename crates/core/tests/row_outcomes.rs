//! Per-row outcomes of the commands that report one per row inside one transaction (bulk invite and
//! its CSV import): a row whose statement fails gets its own error, and the rows after it get
//! theirs, on both backends. On PostgreSQL a failed statement aborts the whole transaction, so
//! without a savepoint around each row every later row used to report `internal` ("current
//! transaction is aborted") instead of its real outcome; SQLite goes on after a failed statement.

mod common;

use common::*;
use gatehouse_core::usecases::invitations::{self, Invitee};
use gatehouse_core::usecases::members::{self, MemberQuery};
use gatehouse_core::{Error, ErrorCode};

fn invitee(email: &str, role: &str) -> Invitee {
    Invitee { email: email.into(), role: role.into(), access_expires_at: None, workspace: None }
}

fn listed(db: &mut gatehouse_core::Database, who: &gatehouse_core::Principal) -> Vec<String> {
    let page = members::list(db, who, ORG, &MemberQuery { per_page: 100, ..MemberQuery::default() }, T0 + 1).unwrap();
    let mut emails: Vec<String> = page.items.iter().map(|r| r.email.clone()).collect();
    emails.sort();
    emails
}

/// The part of a bulk refusal's message about one row (`row N (email): …`).
fn row_says(message: &str, row: usize) -> String {
    let start = message.find(&format!("row {row} (")).unwrap_or_else(|| panic!("no row {row} in: {message}"));
    let rest = &message[start..];
    let end = rest[1..].find("; row ").map_or(rest.len(), |i| i + 1);
    rest[..end].to_string()
}

#[test]
fn a_bulk_invite_reports_each_rows_own_outcome_after_a_row_whose_statement_failed() {
    let (mut db, owner) = world();
    let before = listed(&mut db, &owner);
    // Row 2 names a role with a NUL character: SQLite looks it up and finds none; PostgreSQL cannot
    // take a NUL in text at all, and its statement fails. Rows 3–5: fine, already a member, an
    // unknown role.
    let rows = [
        invitee("one@acme.test", "member"),
        invitee("two@acme.test", "mem\u{0}ber"),
        invitee("three@acme.test", "admin"),
        invitee(OWNER, "member"),
        invitee("five@acme.test", "auditor"),
    ];
    let err = invitations::create(&mut db, &owner, ORG, &rows, None, T0 + 1).unwrap_err();
    let message = err.to_string();
    assert_eq!(err.code(), ErrorCode::InvalidInput, "{message}");
    assert!(matches!(&err, Error::InvalidInput { field, .. } if field == "role"), "{err:?}");
    assert!(message.contains("3 of 5 rows refused"), "{message}");
    assert!(row_says(&message, 2).contains("no role"), "{message}");
    assert!(!message.contains("row 3 ("), "row 3 is fine: {message}");
    assert!(row_says(&message, 4).contains("already a member"), "{message}");
    assert!(row_says(&message, 5).contains("no role 'auditor'"), "{message}");
    assert!(!message.contains("aborted") && !message.contains("internal"), "{message}");
    // Nothing was written, and the database takes the next command.
    assert_eq!(listed(&mut db, &owner), before);
    let ok = invitations::create(&mut db, &owner, ORG, &rows[2..3], None, T0 + 2).unwrap();
    assert_eq!(ok.invitations.len(), 1);
}

#[test]
fn a_csv_import_reports_each_rows_own_outcome_after_a_row_whose_statement_failed() {
    let (mut db, owner) = world();
    let csv = "email,role,workspace\none@acme.test,member,\ntwo@acme.test,member,ops\u{0}\nthree@acme.test,admin,\n\
               owner@acme.test,member,\nfive@acme.test,member,nowhere\n";
    let rows = invitations::parse_csv(csv, T0).unwrap();
    assert_eq!(rows.len(), 5);
    let err = invitations::create(&mut db, &owner, ORG, &rows, None, T0 + 1).unwrap_err();
    let message = err.to_string();
    assert_eq!(err.code(), ErrorCode::NotFound, "{message}");
    assert!(message.contains("3 of 5 rows refused"), "{message}");
    assert!(row_says(&message, 2).contains("no workspace"), "{message}");
    assert!(row_says(&message, 4).contains("already a member"), "{message}");
    assert!(row_says(&message, 5).contains("no workspace 'nowhere'"), "{message}");
    assert!(!message.contains("aborted") && !message.contains("internal"), "{message}");
}
