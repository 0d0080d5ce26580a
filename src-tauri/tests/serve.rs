//! Black-box tests of `gatehouse serve` (PRODUCT.md §5): the real binary serves a temp-dir
//! database on a free loopback port or a Unix socket, and the tests drive it over HTTP. Every JSON
//! reply is checked against the service's own OpenAPI document (`serve_common`).

mod common;
mod serve_common;

use serde_json::{json, Value};
use serve_common::*;
use std::io::{Read, Write};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const LOOPBACK: [&str; 2] = ["--listen", "127.0.0.1:0"];

fn enc(s: &str) -> String {
    s.replace('@', "%40").replace('+', "%2B")
}

/// Invite `email` as `role` (by `by`'s session) and accept as a new account; returns its session.
fn add_member(s: &Service, by: &str, email: &str, role: &str) -> String {
    let issued = s.ok("POST", "/v1/orgs/acme/invitations", by, Some(json!({"emails": email, "role": role})), 201);
    let token = issued["invitations"][0]["token"].as_str().unwrap().to_string();
    let r = s.call(
        "POST",
        "/v1/invitations/accept",
        None,
        Some(&json!({"token": token, "name": "Nia New", "password": PW})),
    );
    assert_eq!(r.status, 200, "accept: {}", r.json);
    s.session(email, PW)
}

fn cli_json(db: &std::path::Path, args: &[&str]) -> Value {
    common::ok(db, args)
}

/// Whether the test database is a PostgreSQL server's (`$GATEHOUSE_TEST_PG`), not a file.
fn is_server(db: &std::path::Path) -> bool {
    gatehouse_core::sql::is_postgres_url(db.to_str().unwrap_or_default())
}

/// The database as `/healthz` names it: a file's full path; a server's URL without its options
/// (the test URLs carry no password).
fn database_name(db: &std::path::Path) -> String {
    let text = db.to_str().unwrap();
    if is_server(db) {
        text.split('?').next().unwrap().to_string()
    } else {
        std::fs::canonicalize(db).unwrap().display().to_string()
    }
}

/// On PostgreSQL, something that changes whenever anything is written to the database: a digest
/// of every row of every table with the id of the transaction that wrote it.
fn rows_digest(db: &std::path::Path) -> String {
    let c = gatehouse_core::sql::Connection::postgres(db.to_str().unwrap()).unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<gatehouse_core::sql::Result<_>>()
        .unwrap();
    tables
        .iter()
        .map(|t| {
            let digest: String = c
                .query_row(
                    &format!("SELECT coalesce(md5(string_agg(xmin::text || ':' || x::text, ',' ORDER BY ctid)), '') FROM {t} x"),
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            format!("{t}={digest}")
        })
        .collect::<Vec<_>>()
        .join(";")
}

// ---------------------------------------------------------------------------------------------
// Every route with its success shape

#[test]
fn every_route_answers_with_the_cli_shapes() {
    let (_dir, db) = setup();
    let s = serve(&db, &LOOPBACK);
    let ada = s.session(OWNER, PW);

    // Service routes.
    let health = s.call("GET", "/healthz", None, None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json["status"], "ok");
    assert_eq!(health.json["database"], database_name(&db));
    let doc = s.call("GET", "/openapi.json", None, None);
    assert_eq!(doc.json["openapi"], "3.1.0");

    // Organizations.
    assert_eq!(
        s.get("/v1/orgs", &ada).json,
        json!({"items": [{"slug": "acme", "name": "Acme", "workspace_access": "separate"}]})
    );
    let beta = s.ok("POST", "/v1/orgs", &ada, Some(json!({"name": "Beta Labs", "workspace_access": "inherit"})), 201);
    assert_eq!(beta, json!({"slug": "beta-labs", "name": "Beta Labs", "workspace_access": "inherit"}));
    let renamed = s.ok("PATCH", "/v1/orgs/beta-labs", &ada, Some(json!({"name": "Beta"})), 200);
    assert_eq!(renamed, json!({"slug": "beta-labs", "name": "Beta", "workspace_access": "inherit"}));
    let separate = s.ok("PATCH", "/v1/orgs/beta-labs", &ada, Some(json!({"workspace_access": "separate"})), 200);
    assert_eq!(separate["workspace_access"], "separate");

    // Invitations: many at once, list, resend, revoke, reject, accept.
    let issued = s.ok(
        "POST",
        "/v1/orgs/acme/invitations",
        &ada,
        Some(json!({"emails": "bob@x.io, carl@y.io; dora@z.io", "role": "member", "access_expires": "90d"})),
        201,
    );
    let invitations = issued["invitations"].as_array().unwrap();
    assert_eq!(invitations.len(), 3);
    assert_eq!(
        common::keys(&invitations[0]),
        common::set(&["email", "role", "token", "valid_until", "access_expires_at"])
    );
    let by_row = s.ok(
        "POST",
        "/v1/orgs/acme/invitations",
        &ada,
        Some(json!({"invitees": [{"email": "erin@x.io", "role": "admin"}], "valid_for": "2d"})),
        201,
    );
    assert_eq!(by_row["invitations"][0]["role"], "admin");
    let csv =
        s.ok("POST", "/v1/orgs/acme/invitations", &ada, Some(json!({"csv": "email,role\nfay@x.io,member\n"})), 201);
    assert_eq!(csv["invitations"][0]["email"], "fay@x.io");
    let listed = s.get("/v1/orgs/acme/invitations?status=pending", &ada).json;
    assert_eq!(listed["items"].as_array().unwrap().len(), 5);
    let resent = s.ok("POST", "/v1/orgs/acme/invitations/carl%40y.io/resend", &ada, None, 200);
    assert_ne!(resent["invitations"][0]["token"], invitations[1]["token"]);
    assert_eq!(s.ok("DELETE", "/v1/orgs/acme/invitations/fay%40x.io", &ada, None, 200), json!({"revoked": "fay@x.io"}));
    let rejected = s.call("POST", "/v1/invitations/reject", None, Some(&json!({"token": invitations[2]["token"]})));
    assert_eq!((rejected.status, rejected.json["status"].as_str()), (200, Some("rejected")));
    let accepted = s.call(
        "POST",
        "/v1/invitations/accept",
        None,
        Some(&json!({"token": invitations[0]["token"], "name": "Bob Jones", "password": PW})),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.json);
    assert_eq!(accepted.json["email"], "bob@x.io");
    assert_eq!(accepted.json["new_account"], true);
    // Ada accepts an invitation to Beta signed in, with her session.
    let beta_invite =
        s.ok("POST", "/v1/orgs/beta-labs/invitations", &ada, Some(json!({"emails": "bob@x.io", "role": "admin"})), 201);
    let bob = s.session("bob@x.io", PW);
    let joined = s.ok(
        "POST",
        "/v1/invitations/accept",
        &bob,
        Some(json!({"token": beta_invite["invitations"][0]["token"]})),
        200,
    );
    assert_eq!((joined["new_account"].as_bool(), joined["role"].as_str()), (Some(false), Some("admin")));

    // Members.
    let page = s.get("/v1/orgs/acme/members?search=bob&sort=name&per_page=10", &ada).json;
    assert_eq!(common::keys(&page), common::set(&["items", "page", "per_page", "total", "counts"]));
    assert_eq!(page["items"][0]["email"], "bob@x.io");
    let details = s.get("/v1/orgs/acme/members/bob%40x.io", &ada).json;
    assert_eq!(details["given_name"], "Bob");
    let role = s.ok("PUT", "/v1/orgs/acme/members/bob%40x.io/role", &ada, Some(json!({"role": "admin"})), 200);
    assert_eq!(role, json!({"email": "bob@x.io", "role": "admin"}));
    let expiry =
        s.ok("PUT", "/v1/orgs/acme/members/bob%40x.io/expiry", &ada, Some(json!({"access_expires": "30d"})), 200);
    assert!(expiry["access_expires_at"].as_str().is_some_and(common::is_rfc3339_utc));
    let cleared =
        s.ok("PUT", "/v1/orgs/acme/members/bob%40x.io/expiry", &ada, Some(json!({"access_expires": "never"})), 200);
    assert_eq!(cleared, json!({"email": "bob@x.io", "access_expires_at": null}));
    let off = s.ok("POST", "/v1/orgs/acme/members/disable", &ada, Some(json!({"emails": ["bob@x.io"]})), 200);
    assert_eq!((off["changed"].as_i64(), off["rows"][0]["result"].as_str()), (Some(1), Some("disabled")));
    let on = s.ok(
        "POST",
        "/v1/orgs/acme/members/enable",
        &ada,
        Some(json!({"all_matching": true, "status": "disabled"})),
        200,
    );
    assert_eq!(on["changed"], 1);

    // The same JSON as the CLI's --json (read after the CLI signed in, which sets last_login_at).
    let cli_page = cli_json(&db, &["members", "list", "--org", ORG, "--per-page", "100"]);
    assert_eq!(s.get("/v1/orgs/acme/members?per_page=100", &ada).json, cli_page);
    assert_eq!(s.get("/v1/orgs/acme/roles", &ada).json, cli_json(&db, &["roles", "list", "--org", ORG]));
    assert_eq!(s.get("/v1/orgs", &ada).json, cli_json(&db, &["orgs", "list"]));
    assert_eq!(
        s.get("/v1/orgs/acme/members/bob%40x.io", &ada).json,
        cli_json(&db, &["members", "show", "--org", ORG, "bob@x.io"])
    );

    // Roles and permissions.
    let perm = s.ok(
        "POST",
        "/v1/orgs/acme/permissions",
        &ada,
        Some(json!({"name": "billing.access", "description": "Billing"})),
        201,
    );
    assert_eq!((perm["name"].as_str(), perm["built_in"].as_bool()), (Some("billing.access"), Some(false)));
    let perms = s.get("/v1/orgs/acme/permissions", &ada).json;
    assert!(perms["items"].as_array().unwrap().iter().any(|p| p["name"] == "billing.access"));
    let billing = s.ok(
        "POST",
        "/v1/orgs/acme/roles",
        &ada,
        Some(json!({"name": "Billing", "permissions": ["org.view", "billing.access"]})),
        201,
    );
    assert_eq!(billing["permissions"], json!(["billing.access", "org.view"]));
    let updated = s.ok("PUT", "/v1/orgs/acme/roles/Billing", &ada, Some(json!({"permissions": ["org.view"]})), 200);
    assert_eq!(updated["permissions"], json!(["org.view"]));
    assert_eq!(s.get("/v1/orgs/acme/roles/Billing", &ada).json["name"], "Billing");
    assert_eq!(s.ok("DELETE", "/v1/orgs/acme/roles/Billing", &ada, None, 200), json!({"deleted": "Billing"}));

    // Workspaces.
    let w = s.ok("POST", "/v1/orgs/acme/workspaces", &ada, Some(json!({"name": "prod"})), 201);
    assert_eq!(w["name"], "prod");
    assert_eq!(s.get("/v1/orgs/acme/workspaces", &ada).json["items"][0]["name"], "prod");
    let g = s.ok(
        "PUT",
        "/v1/orgs/acme/workspaces/prod/members/bob%40x.io",
        &ada,
        Some(json!({"role": "member", "expires": "7d"})),
        200,
    );
    assert_eq!((g["workspace"].as_str(), g["role"].as_str()), (Some("prod"), Some("member")));
    let check_ws = s.post(
        "/v1/check",
        &ada,
        json!({"org": "acme", "user": "bob@x.io", "permission": "org.view", "workspace": "prod"}),
    );
    assert_eq!(check_ws.json["allowed"], true);
    assert_eq!(
        s.ok("DELETE", "/v1/orgs/acme/workspaces/prod/members/bob%40x.io", &ada, None, 200),
        json!({"workspace": "prod", "revoked": "bob@x.io"})
    );

    // Service accounts: created with its token once, listed without it, revoked.
    let sa = s.ok("POST", "/v1/orgs/acme/service-accounts", &ada, Some(json!({"name": "ci", "role": "member"})), 201);
    let sa_token = sa["token"].as_str().unwrap().to_string();
    assert!(sa_token.starts_with("ghs_"));
    let listed = s.get("/v1/orgs/acme/service-accounts", &ada).json;
    assert!(listed["items"][0].get("token").is_none());
    let asked =
        s.post("/v1/check", &sa_token, json!({"org": "acme", "user": "bob@x.io", "permission": "members.manage"}));
    assert_eq!(asked.json, json!({"allowed": true, "reason": "a current role grants members.manage"}));
    let revoked = s.ok("DELETE", "/v1/orgs/acme/service-accounts/ci", &ada, None, 200);
    assert_eq!(revoked["status"], "revoked");

    // Check, one and many.
    let answer = s.post("/v1/check", &ada, json!({"org": "acme", "user": "carl@y.io", "permission": "org.view"}));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["allowed"], false);
    let batch = s.post(
        "/v1/check/batch",
        &ada,
        json!({"checks": [
            {"org": "acme", "user": "bob@x.io", "permission": "members.invite"},
            {"org": "acme", "user": "bob@x.io", "permission": "owners.manage"},
            {"org": "nope", "user": "bob@x.io", "permission": "org.view"}
        ]}),
    );
    assert_eq!(batch.status, 200);
    let results = batch.json["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!((results[0]["allowed"].as_bool(), results[1]["allowed"].as_bool()), (Some(true), Some(false)));
    assert_eq!(
        (results[2]["allowed"].as_bool(), results[2]["error"]["code"].as_str()),
        (Some(false), Some("not_found"))
    );

    // Audit, review, exports.
    let events = s.get("/v1/orgs/acme/audit?action=members&since=1h", &ada).json;
    assert!(events["items"].as_array().unwrap().iter().any(|e| e["action"] == "members.role_changed"), "{events}");
    assert_eq!(s.get("/v1/orgs/acme/audit/verify", &ada).json["ok"], true);
    let exported = s.get("/v1/orgs/acme/export/audit", &ada).json;
    assert_eq!(exported["items"][0]["action"], "org.created");
    let review = s.get("/v1/orgs/acme/review?expiring_within=90d", &ada).json;
    assert!(review["items"].is_array());
    let roster = s.get("/v1/orgs/acme/export/members", &ada).json;
    assert!(roster["items"].as_array().unwrap().iter().any(|m| m["email"] == "bob@x.io"));

    // Removing a member, leaving, signing out.
    assert_eq!(s.ok("DELETE", "/v1/orgs/acme/members/bob%40x.io", &ada, None, 200), json!({"removed": "bob@x.io"}));
    assert_eq!(s.ok("POST", "/v1/orgs/beta-labs/leave", &bob, None, 200), json!({"left": "beta-labs"}));
    let out = s.call("DELETE", "/v1/sessions/current", Some(&ada), None);
    assert_eq!(out.status, 204);
    assert_eq!(s.get("/v1/orgs", &ada).status, 401);
}

// ---------------------------------------------------------------------------------------------
// Errors: each status of §5 with the CLI's error shape

#[test]
fn each_error_has_its_status_and_the_cli_error_shape() {
    let (_dir, db) = setup();
    let s = serve(&db, &LOOPBACK);
    let ada = s.session(OWNER, PW);
    let nia = add_member(&s, &ada, "nia@x.io", "member");

    // 400: a malformed body, a bad value naming its field.
    let r = s.raw("POST", "/v1/check", &auth_headers(Some(&ada)), Some(b"{not json".to_vec()));
    check_against_openapi("POST", "/v1/check", &r);
    assert_eq!((r.status, r.code()), (400, "invalid_input"));
    let r = s.post("/v1/orgs/acme/invitations", &ada, json!({"emails": "not-an-email", "role": "member"}));
    assert_eq!((r.status, r.code()), (400, "invalid_input"));
    assert_eq!(r.json["error"]["field"], "email");
    let r = s.get("/v1/orgs/acme/members?sort=shoe", &ada);
    assert_eq!((r.status, r.json["error"]["field"].as_str()), (400, Some("sort")));
    // 401: no token, a token that is no token, a wrong password.
    let r = s.call("GET", "/v1/orgs", None, None);
    assert_eq!((r.status, r.code()), (401, "unauthenticated"));
    assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")));
    assert_eq!(s.get("/v1/orgs", "hunter2").status, 401);
    assert_eq!(s.get("/v1/orgs", "ghp_0000").status, 401);
    let r = s.call("POST", "/v1/sessions", None, Some(&json!({"email": OWNER, "password": "wrong"})));
    assert_eq!((r.status, r.code()), (401, "unauthenticated"));
    // 403: a member may not manage members (rule 1), nor invite an owner.
    let r = s.post("/v1/orgs/acme/members/disable", &nia, json!({"emails": [OWNER]}));
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    // 404: no such organization, member, route.
    assert_eq!(s.get("/v1/orgs/nope/members", &ada).code(), "not_found");
    assert_eq!(s.get("/v1/orgs/acme/members/ghost%40x.io", &ada).status, 404);
    let r = s.call("GET", "/v1/nothing-here", Some(&ada), None);
    assert_eq!((r.status, r.code()), (404, "not_found"));
    // 405 for a route that exists with other methods.
    assert_eq!(s.raw("DELETE", "/v1/check", &auth_headers(Some(&ada)), None).status, 405);
    // 409: the last owner cannot leave (rule 3).
    let r = s.call("POST", "/v1/orgs/acme/leave", Some(&ada), None);
    assert_eq!((r.status, r.code(), r.json["error"]["reason"].as_str()), (409, "conflict", Some("last_owner")));
    // 409: inviting someone twice.
    let r = s.post("/v1/orgs/acme/invitations", &ada, json!({"emails": "nia@x.io", "role": "member"}));
    assert_eq!((r.status, r.json["error"]["reason"].as_str()), (409, Some("already_member")));
}

#[test]
fn a_token_revoked_expired_or_of_another_organization_is_refused() {
    let (_dir, db) = setup();
    let s = serve(&db, &LOOPBACK);
    let ada = s.session(OWNER, PW);
    let question = json!({"org": "acme", "user": OWNER, "permission": "org.view"});
    let make = |org: &str, name: &str, extra: Value| {
        let mut body = json!({"name": name, "role": "member"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        s.ok("POST", &format!("/v1/orgs/{org}/service-accounts"), &ada, Some(body), 201)["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Revoked: works, then refused.
    let revoked = make("acme", "deploy", json!({}));
    assert_eq!(s.post("/v1/check", &revoked, question.clone()).status, 200);
    s.ok("DELETE", "/v1/orgs/acme/service-accounts/deploy", &ada, None, 200);
    let r = s.post("/v1/check", &revoked, question.clone());
    assert_eq!((r.status, r.code()), (401, "unauthenticated"));
    assert!(r.json["error"]["message"].as_str().unwrap().contains("revoked"));
    // Expired: a token that ends in six seconds (not two: on a loaded machine a debug build's first
    // answer took longer than that, and the token had already expired).
    let expiring = make("acme", "brief", json!({"expires": "6s"}));
    assert_eq!(s.post("/v1/check", &expiring, question.clone()).status, 200);
    std::thread::sleep(Duration::from_millis(7100));
    let r = s.post("/v1/check", &expiring, question.clone());
    assert_eq!(r.status, 401);
    assert!(r.json["error"]["message"].as_str().unwrap().contains("expired"));
    // Another organization's token: refused there, and the refusal is audited — in the system
    // chain, since the caller is an outsider to acme (rule 8: outsiders cannot flood acme's chain).
    s.ok("POST", "/v1/orgs", &ada, Some(json!({"name": "Other"})), 201);
    let foreign = make("other", "spy", json!({}));
    let r = s.post("/v1/check", &foreign, question.clone());
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    let r = s.get("/v1/orgs/acme/members", &foreign);
    assert_eq!(r.status, 403);
    let log = s.get("/v1/orgs/acme/audit?action=access.denied", &ada).json;
    assert!(!log["items"].as_array().unwrap().iter().any(|e| e["actor"] == "service-account:spy"), "{log}");
    let system = cli_json(&s.db, &["audit", "list", "--system", "--action", "access.denied"]);
    assert!(
        system["items"].as_array().unwrap().iter().any(|e| e["actor"] == "service-account:spy"),
        "the refusal is audited: {system}"
    );
}

#[test]
fn sessions_expire_are_revoked_and_sign_in_locks_out() {
    let (_dir, db) = setup();
    // Six seconds, not two: at load 14 a debug build's sign-in and first request together took
    // longer than two, and the test failed on a session that had already expired.
    let s = serve(&db, &["--listen", "127.0.0.1:0", "--session-lifetime", "6s"]);
    // A session works, then expires.
    let short = s.session(OWNER, PW);
    assert!(short.starts_with("ghp_"));
    assert_eq!(s.get("/v1/orgs", &short).status, 200);
    std::thread::sleep(Duration::from_millis(7100));
    let r = s.get("/v1/orgs", &short);
    assert_eq!(r.status, 401);
    assert!(r.json["error"]["message"].as_str().unwrap().contains("expired"));
    // Signed out: the token stops working at once, and signing out twice is refused.
    let t = s.session(OWNER, PW);
    assert_eq!(s.call("DELETE", "/v1/sessions/current", Some(&t), None).status, 204);
    assert_eq!(s.get("/v1/orgs", &t).status, 401);
    assert_eq!(s.call("DELETE", "/v1/sessions/current", Some(&t), None).status, 401);
    // Only the hash is stored: not in any row (a backup file holds every row, on either backend),
    // nor, on SQLite, in the database file itself.
    let copy = _dir.path().join("rows.db");
    common::ok(&db, &["backup", copy.to_str().unwrap()]);
    let mut files = vec![copy];
    if !is_server(&db) {
        files.push(db.clone());
    }
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!bytes.windows(t.len()).any(|w| w == t.as_bytes()), "the session token is in {}", file.display());
    }
    // Five wrong passwords lock the email: then even the right one is refused, saying until when.
    for _ in 0..5 {
        let r = s.call("POST", "/v1/sessions", None, Some(&json!({"email": OWNER, "password": "wrong"})));
        assert_eq!(r.status, 401);
    }
    let r = s.call("POST", "/v1/sessions", None, Some(&json!({"email": OWNER, "password": PW})));
    assert_eq!(r.status, 401);
    assert!(r.json["error"]["message"].as_str().unwrap().contains("locked"), "{}", r.json);
    // The same lockout holds for the CLI: it is the core's.
    common::fails(&db, Some(OWNER), &["orgs", "list"], 3, "unauthenticated");
}

#[test]
fn a_refused_call_is_audited() {
    let (_dir, db) = setup();
    let s = serve(&db, &LOOPBACK);
    let ada = s.session(OWNER, PW);
    let nia = add_member(&s, &ada, "nia@x.io", "member");
    let r = s.call("PUT", "/v1/orgs/acme/members/ada%40acme.io/role", Some(&nia), Some(&json!({"role": "member"})));
    assert_eq!(r.status, 403);
    let log = s.get("/v1/orgs/acme/audit?action=access.denied", &ada).json;
    let event =
        log["items"].as_array().unwrap().iter().find(|e| e["actor"] == "nia@x.io").expect("the refusal is audited");
    assert_eq!(event["target"], OWNER);
    // The CLI reads the same event: one log, whatever the front door.
    let cli = cli_json(&db, &["audit", "list", "--org", ORG, "--action", "access.denied"]);
    assert!(cli["items"].as_array().unwrap().iter().any(|e| e["actor"] == "nia@x.io"));
    assert_eq!(s.get("/v1/orgs/acme/audit/verify", &ada).json["ok"], true);
}

#[test]
fn two_owners_demoting_each_other_over_http_leave_exactly_one() {
    for round in 0..3 {
        let (_dir, db) = setup();
        let s = serve(&db, &LOOPBACK);
        let ada = s.session(OWNER, PW);
        let bob = add_member(&s, &ada, "bob@x.io", "owner");
        let s = Arc::new(s);
        let start = Arc::new(Barrier::new(2));
        let race = |by: String, target: &'static str| {
            let (s, start) = (s.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                s.call(
                    "PUT",
                    &format!("/v1/orgs/acme/members/{}/role", enc(target)),
                    Some(&by),
                    Some(&json!({"role": "admin"})),
                )
            })
        };
        let a = race(ada.clone(), "bob@x.io");
        let b = race(bob.clone(), OWNER);
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        // One wins. The other, serialized behind it, finds itself no longer an owner (403) or
        // would leave no owner (409 last_owner): never both demoted.
        let (winner, loser) = if a.status == 200 { (&a, &b) } else { (&b, &a) };
        assert_eq!(winner.status, 200, "round {round}: {} / {}", a.json, b.json);
        assert!(
            loser.status == 403 || (loser.status == 409 && loser.json["error"]["reason"] == "last_owner"),
            "round {round}: {}",
            loser.json
        );
        let owners = cli_json(&db, &["members", "list", "--org", ORG, "--role", "owner", "--status", "active"]);
        assert_eq!(owners["total"], 1, "round {round}: exactly one owner left");
    }
}

// ---------------------------------------------------------------------------------------------
// Limits

#[test]
fn a_body_over_the_limit_is_413_and_a_bulk_invite_over_10000_rows_too() {
    let (_dir, db) = setup();
    let s = serve(&db, &LOOPBACK);
    let ada = s.session(OWNER, PW);
    let big = format!("{{\"org\":\"acme\",\"user\":\"a@b.io\",\"permission\":\"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let r = s.raw("POST", "/v1/check", &auth_headers(Some(&ada)), Some(big.into_bytes()));
    check_against_openapi("POST", "/v1/check", &r);
    assert_eq!((r.status, r.code()), (413, "invalid_input"));
    let emails: Vec<String> = (0..10_001).map(|i| format!("p{i}@x.io")).collect();
    let r = s.post("/v1/orgs/acme/invitations", &ada, json!({"emails": emails.join(","), "role": "member"}));
    assert_eq!(r.status, 413, "{}", r.json);
    // Nothing was invited.
    assert_eq!(s.get("/v1/orgs/acme/invitations", &ada).json["items"], json!([]));
}

#[test]
fn a_client_sending_headers_slowly_is_closed_within_the_read_timeout() {
    let (_dir, db) = setup();
    let s = serve(&db, &["--listen", "127.0.0.1:0", "--read-timeout", "2"]);
    let mut slow = s.connect();
    let started = Instant::now();
    // Half a request line, then a header every 500 ms: never the blank line that ends them.
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut closed = false;
    for i in 0..20 {
        std::thread::sleep(Duration::from_millis(500));
        if slow.write_all(format!("X-Slow-{i}: y\r\n").as_bytes()).is_err() {
            closed = true;
            break;
        }
        if started.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    if !closed {
        let mut rest = Vec::new();
        let _ = slow.read_to_end(&mut rest);
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the slow client was closed after {took:?}, not within the 2 s read timeout"
    );
    // Meanwhile the service answers everyone else.
    assert_eq!(s.call("GET", "/healthz", None, None).status, 200);
}

#[test]
fn over_the_bound_of_concurrent_requests_is_503_with_retry_after() {
    let (_dir, db) = setup();
    let s = serve(&db, &["--listen", "127.0.0.1:0", "--max-requests", "2", "--read-timeout", "20"]);
    let ada = s.session(OWNER, PW);
    // Two requests that hold their slot: headers sent, the body promised and not yet sent.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = s.connect();
        let head = format!(
            "POST /v1/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ada}\r\nContent-Length: 100\r\n\r\n{{\"org\""
        );
        c.write_all(head.as_bytes()).unwrap();
        held.push(c);
    }
    std::thread::sleep(Duration::from_millis(300));
    let r = s.call("GET", "/healthz", None, None);
    assert_eq!((r.status, r.code()), (503, "unavailable"));
    assert_eq!(r.header("retry-after"), Some("1"));
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.call("GET", "/healthz", None, None).status, 200);
}

#[test]
fn repeated_bad_tokens_from_one_address_get_429() {
    let (_dir, db) = setup();
    let s = serve(&db, &["--listen", "127.0.0.1:0", "--max-auth-failures", "3"]);
    let ada = s.session(OWNER, PW);
    for i in 0..3 {
        let r = s.get("/v1/orgs", &format!("ghs_guess{i}"));
        assert_eq!(r.status, 401);
    }
    let r = s.get("/v1/orgs", "ghs_guess4");
    assert_eq!((r.status, r.code()), (429, "unauthenticated"));
    assert!(r.header("retry-after").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| (1..=60).contains(&s)));
    // Until the window ends, even a good token from that address waits.
    assert_eq!(s.get("/v1/orgs", &ada).status, 429);
}

#[test]
fn sigterm_during_a_bulk_invite_completes_it_or_rolls_it_back_and_exits_0() {
    let (_dir, db) = setup();
    let mut s = serve(&db, &LOOPBACK);
    let ada = s.session(OWNER, PW);
    let emails: Vec<String> = (0..5000).map(|i| format!("bulk{i}@x.io")).collect();
    let body = json!({"emails": emails.join(","), "role": "member"}).to_string();
    let mut c = s.connect();
    let request = format!(
        "POST /v1/orgs/acme/invitations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ada}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    c.write_all(request.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    s.terminate();
    let mut reply = Vec::new();
    let _ = c.read_to_end(&mut reply);
    let code = s.wait_exit(Duration::from_secs(60));
    assert_eq!(code, Some(0), "serve exits 0 after SIGTERM: {}", s.stderr());
    let invited = cli_json(&db, &["invites", "list", "--org", ORG])["items"].as_array().unwrap().len();
    if reply.is_empty() {
        assert!(invited == 0 || invited == 5000, "half a bulk invite: {invited}");
    } else {
        let r = parse_reply(&reply);
        assert_eq!(r.status, 201, "{}", r.json);
        assert_eq!(invited, 5000, "the answered bulk invite is whole");
    }
    assert_eq!(cli_json(&db, &["audit", "verify", "--org", ORG])["ok"], true);
}

/// `--connections` sizes the pool: out of 2..=1000 is refused before anything starts, naming the
/// field; within it the service serves, and `/healthz` names the backend.
#[test]
fn connections_out_of_range_are_refused_naming_the_field() {
    let (_dir, db) = setup();
    for bad in ["0", "1", "1001"] {
        let (code, _, err) = common::gh(&db, None, PW, &["serve", "--listen", "127.0.0.1:0", "--connections", bad]);
        assert_eq!(code, 2, "--connections {bad}: {err}");
        assert_eq!(
            (err["error"]["code"].as_str(), err["error"]["field"].as_str()),
            (Some("invalid_input"), Some("connections"))
        );
    }
    let s = serve(&db, &["--listen", "127.0.0.1:0", "--connections", "2"]);
    let health = s.call("GET", "/healthz", None, None);
    assert_eq!(health.status, 200);
    let backend = if db.to_str().is_some_and(|p| p.starts_with("postgres")) { "postgresql" } else { "sqlite" };
    assert_eq!(health.json["backend"], backend);
    let ada = s.session(OWNER, PW);
    assert_eq!(s.get("/v1/orgs", &ada).status, 200);
}

// ---------------------------------------------------------------------------------------------
// Transports

#[cfg(unix)]
#[test]
fn the_unix_socket_is_0600_and_serves_the_same_routes() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, db) = setup();
    let path = dir.path().join("gatehouse.sock");
    let mut s = serve(&db, &["--socket", path.to_str().unwrap()]);
    assert!(matches!(s.target, Target::Unix(_)));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(s.call("GET", "/healthz", None, None).status, 200);
    let ada = s.session(OWNER, PW);
    let r = s.post("/v1/check", &ada, json!({"org": "acme", "user": OWNER, "permission": "owners.manage"}));
    assert_eq!(r.json["allowed"], true);
    // A second service on the same socket is refused; the first goes on.
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["--db", db.to_str().unwrap(), "--json", "serve", "--socket", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(7), "{}", String::from_utf8_lossy(&second.stderr));
    // SIGTERM removes the socket.
    s.terminate();
    assert_eq!(s.wait_exit(Duration::from_secs(20)), Some(0));
    assert!(!path.exists());
}

#[test]
fn off_loopback_needs_tls_and_tls_serves() {
    let (dir, db) = setup();
    // Refused before anything listens.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["--db", db.to_str().unwrap(), "--json", "serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(
        (err["error"]["code"].as_str(), err["error"]["field"].as_str()),
        (Some("invalid_input"), Some("listen"))
    );

    // A throw-away certificate for localhost; the service speaks TLS on loopback with it.
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    let s = serve(
        &db,
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert_file.to_str().unwrap(),
            "--tls-key",
            key_file.to_str().unwrap(),
        ],
    );
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut tcp = std::net::TcpStream::connect(s.addr()).unwrap();
    let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
    stream
        .write_all(b"GET /.well-known/authzen-configuration HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let r = parse_reply(&reply);
    assert_eq!(r.status, 200);
    assert_eq!(r.json["policy_decision_point"], "https://localhost");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = s.connect();
    plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/"), "{:?}", String::from_utf8_lossy(&answer));
}

// ---------------------------------------------------------------------------------------------
// AuthZEN 1.0 and check

/// Alice (`alice@acmecorp.com`, the specification's subject) is a member of acme who holds
/// `admin` in workspaces "1" and "3" and nothing in "2", so the specification's three documents
/// read as three workspaces where she may or may not manage members: allowed, denied, allowed.
fn authzen_setup() -> (tempfile::TempDir, std::path::PathBuf, Service, String) {
    let (dir, db) = setup();
    let s = serve(&db, &LOOPBACK);
    let ada = s.session(OWNER, PW);
    add_member(&s, &ada, "alice@acmecorp.com", "member");
    for w in ["1", "2", "3"] {
        s.ok("POST", "/v1/orgs/acme/workspaces", &ada, Some(json!({"name": w})), 201);
    }
    for w in ["1", "3"] {
        s.ok(
            "PUT",
            &format!("/v1/orgs/acme/workspaces/{w}/members/alice%40acmecorp.com"),
            &ada,
            Some(json!({"role": "admin"})),
            200,
        );
    }
    (dir, db, s, ada)
}

#[test]
fn authzen_answers_the_specifications_examples() {
    let (_dir, _db, s, ada) = authzen_setup();
    let config = s.call("GET", "/.well-known/authzen-configuration", None, None);
    assert_eq!(config.status, 200);
    assert_eq!(config.json["policy_decision_point"], "http://gatehouse.test");
    assert_eq!(config.json["access_evaluation_endpoint"], "http://gatehouse.test/access/v1/evaluation");
    assert_eq!(config.json["access_evaluations_endpoint"], "http://gatehouse.test/access/v1/evaluations");

    // The Access Evaluation example, with an organization for a resource; X-Request-ID comes back.
    let mut headers = auth_headers(Some(&ada));
    headers.push(("X-Request-ID".into(), "bfe9eb29-ab87-4ca3-be83-a1d5d8305716".into()));
    let body = json!({
        "subject": {"type": "user", "id": "alice@acmecorp.com"},
        "resource": {"type": "organization", "id": "acme"},
        "action": {"name": "org.view", "properties": {"method": "GET"}},
        "context": {"time": "1985-10-26T01:22-07:00"}
    });
    let r = s.raw("POST", "/access/v1/evaluation", &headers, Some(body.to_string().into_bytes()));
    check_against_openapi("POST", "/access/v1/evaluation", &r);
    assert_eq!(r.status, 200);
    assert_eq!(r.json["decision"], true);
    assert_eq!(r.header("x-request-id"), Some("bfe9eb29-ab87-4ca3-be83-a1d5d8305716"));
    let denied = s.post(
        "/access/v1/evaluation",
        &ada,
        json!({"subject": {"type": "user", "id": "alice@acmecorp.com"}, "resource": {"type": "organization", "id": "acme"}, "action": {"name": "members.manage"}}),
    );
    assert_eq!(denied.json["decision"], false);
    assert!(denied.json["context"]["reason"].is_string());

    // The evaluations examples: defaults for subject and action, and the three semantics.
    let three = |semantic: Option<&str>| {
        let mut body = json!({
            "subject": {"type": "user", "id": "alice@acmecorp.com"},
            "action": {"name": "members.manage"},
            "evaluations": [
                {"resource": {"type": "workspace", "id": "acme/1"}},
                {"resource": {"type": "workspace", "id": "acme/2"}},
                {"resource": {"type": "workspace", "id": "acme/3"}}
            ]
        });
        if let Some(sem) = semantic {
            body["options"] = json!({"evaluations_semantic": sem});
        }
        let r = s.post("/access/v1/evaluations", &ada, body);
        assert_eq!(r.status, 200, "{}", r.json);
        r.json["evaluations"].as_array().unwrap().iter().map(|d| d["decision"].as_bool().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(three(None), [true, false, true]);
    assert_eq!(three(Some("execute_all")), [true, false, true]);
    assert_eq!(three(Some("deny_on_first_deny")), [true, false]);
    assert_eq!(three(Some("permit_on_first_permit")), [true]);

    // A default overridden by one evaluation (the specification's can_read / can_edit example).
    let r = s.post(
        "/access/v1/evaluations",
        &ada,
        json!({
            "subject": {"type": "user", "id": "alice@acmecorp.com"},
            "context": {"time": "2024-05-31T15:22-07:00"},
            "action": {"name": "org.view"},
            "evaluations": [
                {"resource": {"type": "organization", "id": "acme"}},
                {"action": {"name": "members.manage"}, "resource": {"type": "organization", "id": "acme"}}
            ]
        }),
    );
    let d: Vec<bool> =
        r.json["evaluations"].as_array().unwrap().iter().map(|d| d["decision"].as_bool().unwrap()).collect();
    assert_eq!(d, [true, false]);

    // The specification's own documents are not Gatehouse resources: closed, with the error.
    let r = s.post(
        "/access/v1/evaluations",
        &ada,
        json!({
            "subject": {"type": "user", "id": "alice@acmecorp.com"},
            "action": {"name": "can_read"},
            "evaluations": [{"resource": {"type": "document", "id": "boxcarring.md"}}]
        }),
    );
    assert_eq!(r.json["evaluations"][0]["decision"], false);
    assert_eq!(r.json["evaluations"][0]["context"]["error"]["status"], 400);
    // Without an evaluations array, the request is one evaluation.
    let r = s.post(
        "/access/v1/evaluations",
        &ada,
        json!({"subject": {"type": "user", "id": "alice@acmecorp.com"}, "action": {"name": "members.manage"}, "resource": {"type": "workspace", "id": "acme/3"}}),
    );
    assert_eq!(r.json["decision"], true);
    // No token: 401, as the specification's transport says.
    assert_eq!(s.call("POST", "/access/v1/evaluation", None, Some(&json!({}))).status, 401);
}

#[test]
fn questions_write_nothing_on_success() {
    let (_dir, db) = setup();
    let s = serve(&db, &LOOPBACK);
    let ada = s.session(OWNER, PW);
    // Let a sign-in's writes settle, then look from outside while asking: on SQLite the file's
    // commit counter; on PostgreSQL every row with the transaction that wrote it (an update, even
    // to the same values, makes a new row version with a new xmin).
    let probe = (!is_server(&db)).then(|| gatehouse_core::Database::open(&db).unwrap());
    let version = || match &probe {
        Some(probe) => {
            let v: i64 =
                probe.sqlite_connection().unwrap().pragma_query_value(None, "data_version", |r| r.get(0)).unwrap();
            v.to_string()
        }
        None => rows_digest(&db),
    };
    let before = version();
    for _ in 0..20 {
        let r = s.post("/v1/check", &ada, json!({"org": "acme", "user": OWNER, "permission": "org.view"}));
        assert_eq!(r.json["allowed"], true);
        let r = s.post(
            "/access/v1/evaluation",
            &ada,
            json!({"subject": {"type": "user", "id": OWNER}, "resource": {"type": "organization", "id": "acme"}, "action": {"name": "org.view"}}),
        );
        assert_eq!(r.json["decision"], true);
    }
    assert_eq!(version(), before, "a check wrote to the database");
    // The probe sees a write (a row updated, on either backend): the comparison above can fail.
    let r = s.call("PATCH", "/v1/orgs/acme", Some(&ada), Some(&json!({"name": "Acme Two"})));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_ne!(version(), before, "the probe did not see a write");
}

#[test]
fn the_openapi_document_is_openapi_3_1() {
    let doc = openapi();
    let text = doc.to_string();
    let spec = oas3::from_json(&text).expect("the document parses as OpenAPI 3.1");
    assert_eq!(spec.validate_version().unwrap().to_string(), "3.1.0");
    // Every schema is valid JSON Schema 2020-12, and every reference points at a schema.
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        jsonschema::draft202012::meta::validate(schema).unwrap_or_else(|e| panic!("schema {name}: {e}"));
    }
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        assert!(doc.pointer(r.trim_start_matches('#')).is_some(), "dangling reference {r}");
    }
    // Every route the service has is documented, with its replies.
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {template} documents no reply"
            );
        }
    }
    for route in ["/v1/check", "/v1/check/batch", "/access/v1/evaluation", "/access/v1/evaluations", "/v1/sessions"] {
        assert!(doc["paths"].get(route).is_some(), "{route} is not documented");
    }
}
