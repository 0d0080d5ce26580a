//! Black-box tests of the rules of who may do what (PRODUCT.md §2 rules 2, 9 and 11), run against
//! the real `gatehouse` binary: scopes and workspace-only members (Synerise), stepping down
//! (CloudTruth), service accounts that count as their creator, owner-level things, deleting roles
//! that only closed invitations used, and look-alike role names.

use serde_json::{json, Value};
use std::path::Path;

mod common;
use common::*;

/// Invite EMAIL as ROLE by the owner (extra `invites create` options), accept as a new account.
fn join(db: &Path, email: &str, role: &str, extra: &[&str]) -> Value {
    let mut args = vec!["invites", "create", "--org", ORG, "--emails", email, "--role", role];
    args.extend_from_slice(extra);
    let out = ok(db, &args);
    let token = out["invitations"][0]["token"].as_str().unwrap().to_string();
    let (code, accepted, err) = gh(db, None, PW, &["invites", "accept", &token, "--name", "Test Person"]);
    assert_eq!(code, 0, "accept: {err}");
    accepted
}

fn allowed(db: &Path, user: &str, permission: &str, workspace: Option<&str>) -> bool {
    let mut args = vec!["check", "--org", ORG, "--user", user, "--permission", permission];
    if let Some(w) = workspace {
        args.extend_from_slice(&["--workspace", w]);
    }
    ok(db, &args)["allowed"].as_bool().unwrap()
}

fn row<'a>(page: &'a Value, email: &str) -> &'a Value {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == email)
        .unwrap_or_else(|| panic!("{email} in {page}"))
}

// ---------------------------------------------------------------------------------------------
// rule 11: scopes (Synerise)

#[test]
fn synerise_scopes_are_separate_by_default_and_inherit_on_request() {
    let (_d, db) = setup();
    // orgs list shows the setting; a new organization is separate unless asked otherwise.
    let listed = ok(&db, &["orgs", "list"]);
    assert_eq!(listed["items"][0], json!({"slug": "acme", "name": "Acme", "workspace_access": "separate"}));
    let created = ok(&db, &["orgs", "create", "Groups", "--workspace-access", "inherit"]);
    assert_eq!(created["workspace_access"], "inherit");
    assert_eq!(ok(&db, &["orgs", "create", "Plain"])["workspace_access"], "separate");
    fails(&db, Some(OWNER), &["orgs", "create", "Bad", "--workspace-access", "sometimes"], 2, "invalid_input");

    ok(&db, &["permissions", "create", "--org", ORG, "deploy.run"]);
    ok(&db, &["roles", "create", "--org", ORG, "deployer", "--permissions", "deploy.run"]);
    ok(&db, &["workspaces", "create", "--org", ORG, "Production"]);
    join(&db, "org@x.io", "deployer", &[]);

    // separate: the organization role gives nothing inside a workspace.
    assert!(allowed(&db, "org@x.io", "deploy.run", None));
    assert!(!allowed(&db, "org@x.io", "deploy.run", Some("Production")));

    // orgs update needs org.manage: an admin is refused (exit 4); the owner switches to inherit.
    join(&db, "admin@x.io", "admin", &[]);
    fails(&db, Some("admin@x.io"), &["orgs", "update", ORG, "--workspace-access", "inherit"], 4, "forbidden");
    let updated = ok(&db, &["orgs", "update", ORG, "--workspace-access", "inherit"]);
    assert_eq!(updated, json!({"slug": "acme", "name": "Acme", "workspace_access": "inherit"}));
    assert!(allowed(&db, "org@x.io", "deploy.run", Some("Production")));
    let events = ok(&db, &["audit", "list", "--org", ORG, "--action", "org.updated"]);
    assert_eq!(events["items"][0]["details"]["workspace_access"], json!({"from": "separate", "to": "inherit"}));

    // Either way, an organization-level disable hides workspace access.
    ok(&db, &["members", "disable", "--org", ORG, "org@x.io"]);
    assert!(!allowed(&db, "org@x.io", "deploy.run", Some("Production")));
}

#[test]
fn synerise_workspace_only_members() {
    let (_d, db) = setup();
    ok(&db, &["permissions", "create", "--org", ORG, "deploy.run"]);
    ok(&db, &["roles", "create", "--org", ORG, "deployer", "--permissions", "deploy.run"]);
    ok(&db, &["workspaces", "create", "--org", ORG, "Production"]);
    ok(&db, &["workspaces", "create", "--org", ORG, "Staging"]);

    // Invited to one workspace: the invitation carries it.
    let out = ok(
        &db,
        &["invites", "create", "--org", ORG, "--emails", "ws@x.io", "--role", "deployer", "--workspace", "Production"],
    );
    let inv = &out["invitations"][0];
    assert_eq!(inv["workspace"], "Production", "{out}");
    let listed = ok(&db, &["invites", "list", "--org", ORG]);
    assert_eq!(listed["items"][0]["workspace"], "Production");
    let page = ok(&db, &["members", "list", "--org", ORG]);
    assert_eq!(row(&page, "ws@x.io")["workspaces"], json!([{"workspace": "Production", "role": "deployer"}]));
    assert_eq!(row(&page, OWNER)["workspaces"], json!([]));

    // Accepting makes a membership whose only grant is in that workspace.
    let token = inv["token"].as_str().unwrap();
    let (code, accepted, err) = gh(&db, None, PW, &["invites", "accept", token, "--name", "Wanda Space"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(accepted["workspace"], "Production");
    let page = ok(&db, &["members", "list", "--org", ORG]);
    let ws = row(&page, "ws@x.io");
    assert_eq!((ws["status"].clone(), ws["roles"].clone()), (json!("active"), json!([])), "{ws}");
    assert_eq!(ws["workspaces"], json!([{"workspace": "Production", "role": "deployer"}]));
    assert!(allowed(&db, "ws@x.io", "deploy.run", Some("Production")));
    assert!(!allowed(&db, "ws@x.io", "deploy.run", Some("Staging")));
    assert!(!allowed(&db, "ws@x.io", "deploy.run", None));
    // A workspace grant gives no organization permission: the member list is closed to them.
    fails(&db, Some("ws@x.io"), &["members", "list", "--org", ORG], 4, "forbidden");

    // workspaces grant to a person with an account who is not a member: a member with no org role.
    ok(&db, &["orgs", "create", "Other"]);
    let other = ok(&db, &["invites", "create", "--org", "other", "--emails", "outsider@x.io", "--role", "member"]);
    let token = other["invitations"][0]["token"].as_str().unwrap().to_string();
    assert_eq!(gh(&db, None, PW, &["invites", "accept", &token, "--name", "Out Sider"]).0, 0);
    fails(&db, Some(OWNER), &["members", "show", "--org", ORG, "outsider@x.io"], 5, "not_found");
    ok(&db, &["workspaces", "grant", "--org", ORG, "--workspace", "Staging", "outsider@x.io", "deployer"]);
    let page = ok(&db, &["members", "list", "--org", ORG]);
    let outsider = row(&page, "outsider@x.io");
    assert_eq!(outsider["roles"], json!([]));
    assert_eq!(outsider["workspaces"], json!([{"workspace": "Staging", "role": "deployer"}]));
    assert!(allowed(&db, "outsider@x.io", "deploy.run", Some("Staging")));
    // No account at all: not found (invite them instead).
    fails(
        &db,
        Some(OWNER),
        &["workspaces", "grant", "--org", ORG, "--workspace", "Staging", "nobody@x.io", "deployer"],
        5,
        "not_found",
    );
}

// ---------------------------------------------------------------------------------------------
// rule 9: stepping down (CloudTruth)

#[test]
fn cloudtruth_an_owner_steps_down_while_another_lasting_owner_remains() {
    let (_d, db) = setup();
    // Alone, the owner is the last one: last_owner (exit 6), not forbidden.
    let (code, _, err) = gh(&db, Some(OWNER), PW, &["members", "role", "--org", ORG, OWNER, "admin"]);
    assert_eq!(
        (code, err["error"]["code"].as_str(), err["error"]["reason"].as_str()),
        (6, Some("conflict"), Some("last_owner")),
        "{err}"
    );
    join(&db, "second@x.io", "owner", &[]);
    ok(&db, &["members", "role", "--org", ORG, OWNER, "admin"]);
    let shown = ok(&db, &["members", "show", "--org", ORG, OWNER]);
    assert_eq!(shown["roles"], json!(["admin"]));
    // No way back up by oneself; the new last owner cannot step down either.
    fails(&db, Some(OWNER), &["members", "role", "--org", ORG, OWNER, "owner"], 4, "forbidden");
    let (code, _, err) = gh(&db, Some("second@x.io"), PW, &["members", "role", "--org", ORG, "second@x.io", "member"]);
    assert_eq!((code, err["error"]["reason"].as_str()), (6, Some("last_owner")), "{err}");
}

// ---------------------------------------------------------------------------------------------
// rule 9: a service account counts as its creator

#[test]
fn a_service_account_cannot_undo_its_creators_disable_expiry_or_role() {
    let (_d, db) = setup();
    join(&db, "admin@x.io", "admin", &[]);
    ok(&db, &["workspaces", "create", "--org", ORG, "Production"]);
    let created = ok_as(&db, "admin@x.io", &["service-accounts", "create", "--org", ORG, "ci", "--role", "admin"]);
    let token = created["token"].as_str().unwrap().to_string();

    // Disabled by the owner; the token must not re-enable the admin.
    ok(&db, &["members", "disable", "--org", ORG, "admin@x.io"]);
    let (code, out, err) = gh_token(&db, &token, &["members", "enable", "--org", ORG, "admin@x.io"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!((out["changed"].clone(), out["rows"][0]["result"].clone()), (json!(0), json!("skipped")), "{out}");
    assert!(!allowed(&db, "admin@x.io", "org.view", None), "the admin stays disabled");

    // Given an expiry; the token must not extend or clear it.
    ok(&db, &["members", "enable", "--org", ORG, "admin@x.io"]);
    ok(&db, &["members", "expire", "--org", ORG, "admin@x.io", "1h"]);
    token_fails(&db, &token, &["members", "expire", "--org", ORG, "admin@x.io", "never"], 4, "forbidden");
    token_fails(&db, &token, &["members", "expire", "--org", ORG, "admin@x.io", "90d"], 4, "forbidden");

    // Demoted; the token must not raise the role again nor grant workspace access.
    ok(&db, &["members", "role", "--org", ORG, "admin@x.io", "member"]);
    token_fails(&db, &token, &["members", "role", "--org", ORG, "admin@x.io", "admin"], 4, "forbidden");
    token_fails(
        &db,
        &token,
        &["workspaces", "grant", "--org", ORG, "--workspace", "Production", "admin@x.io", "admin"],
        4,
        "forbidden",
    );
    let shown = ok(&db, &["members", "show", "--org", ORG, "admin@x.io"]);
    assert_eq!((shown["roles"].clone(), shown["workspaces"].clone()), (json!(["member"]), json!([])), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// rule 2: owner-level things

#[test]
fn an_admin_cannot_revoke_an_owner_service_account_or_an_owner_invitation() {
    let (_d, db) = setup();
    join(&db, "admin@x.io", "admin", &[]);
    ok(&db, &["service-accounts", "create", "--org", ORG, "root-bot", "--role", "owner"]);
    ok(&db, &["invites", "create", "--org", ORG, "--emails", "boss@x.io", "--role", "owner"]);

    fails(&db, Some("admin@x.io"), &["service-accounts", "revoke", "--org", ORG, "root-bot"], 4, "forbidden");
    fails(&db, Some("admin@x.io"), &["invites", "revoke", "--org", ORG, "boss@x.io"], 4, "forbidden");
    fails(&db, Some("admin@x.io"), &["invites", "resend", "--org", ORG, "boss@x.io"], 4, "forbidden");
    fails(
        &db,
        Some("admin@x.io"),
        &["service-accounts", "create", "--org", ORG, "mine", "--role", "owner"],
        4,
        "forbidden",
    );
    let sas = ok(&db, &["service-accounts", "list", "--org", ORG]);
    assert_eq!(sas["items"].as_array().unwrap().iter().find(|s| s["name"] == "root-bot").unwrap()["status"], "active");
    let invs = ok(&db, &["invites", "list", "--org", ORG]);
    assert_eq!(row(&invs, "boss@x.io")["status"], "pending");
    // Every refusal left its trace.
    let denied = ok(&db, &["audit", "list", "--org", ORG, "--action", "access.denied"]);
    assert_eq!(denied["items"].as_array().unwrap().len(), 4, "{denied}");
    // The owner may.
    ok(&db, &["service-accounts", "revoke", "--org", ORG, "root-bot"]);
    ok(&db, &["invites", "revoke", "--org", ORG, "boss@x.io"]);
}

// ---------------------------------------------------------------------------------------------
// rule 2: look-alike role names

#[test]
fn a_cyrillic_owner_role_name_is_refused_as_a_conflict() {
    let (_d, db) = setup();
    for name in ["\u{43e}wner", "\u{ff41}\u{ff44}\u{ff4d}\u{ff49}\u{ff4e}"] {
        let (code, _, err) =
            gh(&db, Some(OWNER), PW, &["roles", "create", "--org", ORG, name, "--permissions", "org.view"]);
        assert_eq!(
            (code, err["error"]["code"].as_str(), err["error"]["reason"].as_str()),
            (6, Some("conflict"), Some("look_alike")),
            "{name}: {err}"
        );
    }
    let roles = ok(&db, &["roles", "list", "--org", ORG]);
    assert_eq!(roles["items"].as_array().unwrap().len(), 3, "nothing was created: {roles}");
}

// ---------------------------------------------------------------------------------------------
// deleting a role that only closed invitations used (issue item 8)

#[test]
fn a_role_used_only_by_accepted_and_rejected_invitations_can_be_deleted() {
    let (_d, db) = setup();
    ok(&db, &["roles", "create", "--org", ORG, "temp", "--permissions", "org.view"]);
    join(&db, "acc@x.io", "temp", &[]);
    ok(&db, &["members", "role", "--org", ORG, "acc@x.io", "member"]);
    let out = ok(&db, &["invites", "create", "--org", ORG, "--emails", "rej@x.io", "--role", "temp"]);
    let token = out["invitations"][0]["token"].as_str().unwrap().to_string();
    assert_eq!(gh(&db, None, PW, &["invites", "reject", &token]).0, 0);
    // An open invitation holds the role: in use (exit 6).
    ok(&db, &["invites", "create", "--org", ORG, "--emails", "open@x.io", "--role", "temp"]);
    let (code, _, err) = gh(&db, Some(OWNER), PW, &["roles", "delete", "--org", ORG, "temp"]);
    assert_eq!((code, err["error"]["reason"].as_str()), (6, Some("in_use")), "{err}");
    ok(&db, &["invites", "revoke", "--org", ORG, "open@x.io"]);

    assert_eq!(ok(&db, &["roles", "delete", "--org", ORG, "temp"])["deleted"], "temp");
    fails(&db, Some(OWNER), &["roles", "show", "--org", ORG, "temp"], 5, "not_found");
    let invs = ok(&db, &["invites", "list", "--org", ORG]);
    let items = invs["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{invs}");
    assert!(items.iter().all(|i| i["role"] == "temp"), "closed invitations keep the role's name: {invs}");
    fails(&db, Some(OWNER), &["invites", "resend", "--org", ORG, "rej@x.io"], 5, "not_found");
}

// ---------------------------------------------------------------------------------------------
// rule 3 and 5: disabling the last owner; a bulk's preview (issue 9, issue 8 item 11)

#[test]
fn disabling_the_last_owner_by_email_exits_last_owner_and_a_dry_run_changes_nothing() {
    let (_d, db) = setup();
    join(&db, "m1@x.io", "member", &[]);
    join(&db, "admin@x.io", "admin", &[]);
    ok(&db, &["members", "role", "--org", ORG, "admin@x.io", "owner"]);
    ok(&db, &["members", "expire", "--org", ORG, "admin@x.io", "2099-01-01T00:00:00Z"]);
    // Named by email, the last lasting owner refuses the whole command: m1 is not disabled either.
    let (code, _, err) = gh(&db, Some("admin@x.io"), PW, &["members", "disable", "--org", ORG, "m1@x.io", OWNER]);
    assert_eq!((code, err["error"]["reason"].as_str()), (6, Some("last_owner")), "{err}");
    let page = ok(&db, &["members", "list", "--org", ORG]);
    assert_eq!(row(&page, "m1@x.io")["status"], "active");
    // The preview of "all matching": what would be done and why not, nothing written.
    let args = ["members", "disable", "--org", ORG, "--all-matching", "--status", "active", "--dry-run"];
    let (code, preview, err) = gh(&db, Some("admin@x.io"), PW, &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(preview["dry_run"], true, "{preview}");
    let by = |r: &Value, email: &str| {
        r["rows"].as_array().unwrap().iter().find(|o| o["email"] == email).cloned().unwrap_or_default()
    };
    assert_eq!(by(&preview, "m1@x.io")["result"], "disabled");
    assert_eq!(by(&preview, OWNER)["result"], "skipped");
    assert!(by(&preview, OWNER)["reason"].as_str().unwrap().starts_with("last_owner"), "{preview}");
    let page = ok(&db, &["members", "list", "--org", ORG]);
    assert_eq!(row(&page, "m1@x.io")["status"], "active");
    // The real run does what the preview said, and its reply has no dry_run.
    let (code, run, err) = gh(&db, Some("admin@x.io"), PW, &args[..args.len() - 1]);
    assert_eq!(code, 0, "{err}");
    assert!(run.get("dry_run").is_none(), "{run}");
    assert_eq!(run["rows"], preview["rows"]);
    let page = ok(&db, &["members", "list", "--org", ORG]);
    assert_eq!(row(&page, "m1@x.io")["status"], "disabled");
    assert_eq!(row(&page, OWNER)["status"], "active");
}
