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
