//! The command layer through Tauri's mock runtime: the real handlers, the real core and a real
//! SQLite file, invoked the way the page invokes them (IPC with JSON arguments).

use gatehouse_app::{commands::names::COMMANDS, AppState};
use gatehouse_core::Database;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindow;

mod common;

struct App {
    _app: tauri::App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    _dir: tempfile::TempDir,
}

fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("gatehouse.db")).unwrap();
    let app = mock_builder()
        .manage(AppState::with_database(db))
        .invoke_handler(gatehouse_app::app_handlers!())
        // The real context: the real capabilities decide which commands the window may call.
        .build(gatehouse_app::context())
        .expect("mock app");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("mock window");
    App { _app: app, window, _dir: dir }
}

impl App {
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        self.call_from(LOCAL, cmd, args)
    }

    /// Invoke as a page at `url` would.
    fn call_from(&self, url: &str, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke(&self.window, url, cmd, args)
    }

    /// The database file under the app, for setting things up beside it.
    fn db_path(&self) -> std::path::PathBuf {
        self._dir.path().join("gatehouse.db")
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args.clone()).unwrap_or_else(|e| panic!("{cmd} {args} failed: {e}"))
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args.clone()) {
            Ok(v) => panic!("{cmd} {args} should fail, answered {v}"),
            Err(e) => e,
        }
    }
}

fn invoke(window: &WebviewWindow<MockRuntime>, url: &str, cmd: &str, args: Value) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: url.parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(window, request).map(|body| body.deserialize::<Value>().unwrap())
}

/// The app's own page (the embedded ui/dist served by the custom protocol).
const LOCAL: &str = if cfg!(windows) { "http://tauri.localhost" } else { "tauri://localhost" };

const PW: &str = "correct horse battery";

/// First run as the page does it: setup signs the owner in.
fn with_owner() -> App {
    let a = app();
    let status = a.ok("app_status", json!({}));
    assert_eq!(status["initialized"], false);
    assert!(status["account"].is_null());
    let done =
        a.ok("setup", json!({"org": "Acme Corp", "email": "olivia@acme.test", "name": "Olivia Owner", "password": PW}));
    assert_eq!(done["organization"]["slug"], "acme-corp");
    let status = a.ok("app_status", json!({}));
    assert_eq!(status["initialized"], true);
    assert_eq!(status["account"]["email"], "olivia@acme.test");
    a
}

#[test]
fn first_run_invite_accept_and_list() {
    let a = with_owner();
    let issued = a.ok(
        "create_invitations",
        json!({"org": "acme-corp", "rows": [{"email": "ada@acme.test", "role": "admin", "access_expires": null}, {"email": "bob@acme.test", "role": "member", "access_expires": "30d"}], "validFor": "7d"}),
    );
    let tokens: Vec<String> =
        issued["invitations"].as_array().unwrap().iter().map(|i| i["token"].as_str().unwrap().to_string()).collect();
    assert_eq!(tokens.len(), 2);
    assert!(tokens.iter().all(|t| t.starts_with("ghi_")));

    let page = a.ok("list_members", json!({"org": "acme-corp", "filter": {"status": "pending"}, "sort": "email", "descending": false, "page": 1, "perPage": 25}));
    assert_eq!(page["total"], 2);

    // Accepting while signed in as the owner would join the owner; sign out first, as the page does.
    a.ok("sign_out", json!({}));
    let accepted = a.ok("accept_invitation", json!({"token": tokens[0], "name": "Ada Admin", "password": PW}));
    assert_eq!(accepted["role"], "admin");
    assert_eq!(accepted["new_account"], true);
    // The new account is now the session.
    assert_eq!(a.ok("app_status", json!({}))["account"]["email"], "ada@acme.test");
    let access = a.ok("my_access", json!({"org": "acme-corp"}));
    assert_eq!(access["is_owner"], false);
    assert!(access["permissions"].as_array().unwrap().iter().any(|p| p == "members.invite"));

    let page = a.ok(
        "list_members",
        json!({"org": "acme-corp", "filter": {}, "sort": "name", "descending": false, "page": 1, "perPage": 25}),
    );
    let statuses: Vec<(String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["email"].as_str().unwrap().into(), r["status"].as_str().unwrap().into()))
        .collect();
    assert!(statuses.contains(&("ada@acme.test".into(), "active".into())), "{statuses:?}");
    assert!(statuses.contains(&("bob@acme.test".into(), "pending".into())), "{statuses:?}");
}

#[test]
fn a_denied_command_is_refused_by_the_core() {
    let a = with_owner();
    let issued = a.ok("create_invitations", json!({"org": "acme-corp", "rows": [{"email": "ada@acme.test", "role": "admin", "access_expires": null}], "validFor": null}));
    let token = issued["invitations"][0]["token"].as_str().unwrap().to_string();
    a.ok("sign_out", json!({}));
    a.ok("accept_invitation", json!({"token": token, "name": "Ada Admin", "password": PW}));

    // An admin may not invite an owner (no escalation): forbidden, named, and nothing written.
    let e = a.err("create_invitations", json!({"org": "acme-corp", "rows": [{"email": "eve@acme.test", "role": "owner", "access_expires": null}], "validFor": null}));
    assert_eq!(e["code"], "forbidden", "{e}");
    assert!(e["message"].as_str().unwrap().contains("owner"), "{e}");
    let page = a.ok("list_members", json!({"org": "acme-corp", "filter": {"search": "eve"}, "sort": "email", "descending": false, "page": 1, "perPage": 25}));
    assert_eq!(page["total"], 0);
    // …nor demote the owner.
    let e = a.err("set_member_role", json!({"org": "acme-corp", "email": "olivia@acme.test", "role": "member"}));
    assert_eq!(e["code"], "forbidden", "{e}");
    // The refusal is in the audit log (read as the owner).
    a.ok("sign_out", json!({}));
    a.ok("sign_in", json!({"email": "olivia@acme.test", "password": PW}));
    let events = a.ok("list_audit", json!({"org": "acme-corp", "filter": {"action": "access.denied"}}));
    assert!(events.as_array().unwrap().len() >= 2, "{events}");
}

#[test]
fn nobody_signed_in_is_unauthenticated() {
    let a = with_owner();
    a.ok("sign_out", json!({}));
    let e = a.err("list_orgs", json!({}));
    assert_eq!(e["code"], "unauthenticated");
    let e = a.err("sign_in", json!({"email": "olivia@acme.test", "password": "wrong password"}));
    assert_eq!(e["code"], "unauthenticated");
}

#[test]
fn bad_input_names_the_field_and_writes_nothing() {
    let a = with_owner();
    let e = a.err("set_member_expiry", json!({"org": "acme-corp", "email": "olivia@acme.test", "when": "someday"}));
    assert_eq!(e["code"], "invalid_input");
    assert_eq!(e["field"], "when");
    let e = a.err("create_invitations", json!({"org": "acme-corp", "rows": [{"email": "good@acme.test", "role": "member", "access_expires": null}, {"email": "not-an-email", "role": "member", "access_expires": null}], "validFor": null}));
    assert_eq!(e["code"], "invalid_input", "{e}");
    assert_eq!(e["field"], "email", "{e}");
    let page = a.ok("list_members", json!({"org": "acme-corp", "filter": {"status": "pending"}, "sort": "email", "descending": false, "page": 1, "perPage": 25}));
    assert_eq!(page["total"], 0, "the good row must not be written either");
}

#[test]
fn bulk_disable_all_matching_skips_the_last_owner() {
    let a = with_owner();
    let issued = a.ok("create_invitations", json!({"org": "acme-corp", "rows": [{"email": "m1@acme.test", "role": "member", "access_expires": null}, {"email": "m2@acme.test", "role": "member", "access_expires": null}], "validFor": null}));
    a.ok("sign_out", json!({}));
    for inv in issued["invitations"].as_array().unwrap() {
        a.ok("accept_invitation", json!({"token": inv["token"], "name": "Member Person", "password": PW}));
        a.ok("sign_out", json!({}));
    }
    a.ok("sign_in", json!({"email": "olivia@acme.test", "password": PW}));
    // The confirmation's preview says the same, and changes nothing.
    let preview =
        a.ok("preview_members_enabled", json!({"org": "acme-corp", "emails": [], "allMatching": {}, "enabled": false}));
    assert_eq!((preview["changed"].as_i64(), preview["skipped"].as_i64()), (Some(2), Some(1)), "{preview}");
    let page = a.ok("list_members", json!({"org": "acme-corp", "filter": {"status": "disabled"}, "sort": "email", "descending": false, "page": 1, "perPage": 25}));
    assert_eq!(page["total"], 0, "the preview disabled someone");
    let report =
        a.ok("set_members_enabled", json!({"org": "acme-corp", "emails": [], "allMatching": {}, "enabled": false}));
    assert_eq!(report["changed"], 2, "{report}");
    assert_eq!(report["skipped"], 1, "{report}");
    let page = a.ok("list_members", json!({"org": "acme-corp", "filter": {"status": "disabled"}, "sort": "email", "descending": false, "page": 1, "perPage": 25}));
    assert_eq!(page["total"], 2);
}

#[test]
fn every_declared_command_is_registered_and_granted() {
    let a = app();
    for cmd in COMMANDS {
        // An unregistered command fails inside Tauri before any argument is looked at.
        if let Err(e) = a.call(cmd, json!({})) {
            let text = e.to_string();
            assert!(!text.contains("not found"), "{cmd} is declared but not registered: {text}");
        }
    }
    let capability: Value = serde_json::from_str(include_str!("../capabilities/main.json")).unwrap();
    let granted: Vec<&str> = capability["permissions"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for cmd in COMMANDS {
        let permission = format!("allow-{}", cmd.replace('_', "-"));
        assert!(granted.contains(&permission.as_str()), "capabilities/main.json does not grant {permission}");
    }
    let app_permissions = granted.iter().filter(|p| p.starts_with("allow-")).count();
    assert_eq!(app_permissions, COMMANDS.len(), "the capability grants a command that is not declared");
    let csp = serde_json::from_str::<Value>(include_str!("../tauri.conf.json")).unwrap()["app"]["security"]["csp"]
        .to_string();
    assert!(!csp.contains("unsafe-eval") && !csp.contains("unsafe-inline"), "the CSP must stay strict: {csp}");
}

#[test]
fn a_page_from_elsewhere_may_call_nothing() {
    let a = with_owner();
    // Signed in, and the same command works from the app's own page…
    a.ok("list_orgs", json!({}));
    // …but the capability grants it to local pages only: a remote page is refused by Tauri's ACL.
    let e = a.call_from("https://evil.example", "list_orgs", json!({})).expect_err("a remote page must be refused");
    assert!(e.to_string().contains("not allowed"), "{e}");
}

#[test]
fn an_invitation_is_read_before_acting_and_a_signed_in_person_accepts_their_own() {
    let a = with_owner();
    let invite = |org: &str, email: &str, role: &str| {
        let issued = a.ok(
            "create_invitations",
            json!({"org": org, "rows": [{"email": email, "role": role, "access_expires": null}], "validFor": null}),
        );
        issued["invitations"][0]["token"].as_str().unwrap().to_string()
    };
    let token = invite("acme-corp", "ann@acme.test", "admin");
    a.ok("sign_out", json!({}));
    // Nobody signed in: the token alone shows what it offers.
    let p = a.ok("preview_invitation", json!({"token": token}));
    assert_eq!(p["organization"], "Acme Corp");
    assert_eq!(p["role"], "admin");
    assert_eq!(p["invited_by"], "olivia@acme.test");
    assert_eq!(p["invited_by_name"], "Olivia Owner");
    assert_eq!(p["status"], "pending");
    assert_eq!(p["account_exists"], false);
    assert_eq!(a.err("preview_invitation", json!({"token": "nonsense"}))["field"], "token");
    a.ok("accept_invitation", json!({"token": token, "name": "Ann Admin", "password": PW}));

    // Signed in as ann, an invitation to another organization is offered without its token.
    a.ok("sign_out", json!({}));
    a.ok("sign_in", json!({"email": "olivia@acme.test", "password": PW}));
    a.ok("create_org", json!({"name": "Globex"}));
    invite("globex", "ann@acme.test", "member");
    a.ok("sign_out", json!({}));
    assert_eq!(a.err("my_invitations", json!({}))["code"], "unauthenticated");
    a.ok("sign_in", json!({"email": "ann@acme.test", "password": PW}));
    let mine = a.ok("my_invitations", json!({}));
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["organization"]["slug"], "globex");
    let joined = a.ok("accept_my_invitation", json!({"id": mine[0]["id"]}));
    assert_eq!(joined["organization"]["slug"], "globex");
    let orgs = a.ok("list_orgs", json!({}));
    assert!(orgs.as_array().unwrap().iter().any(|o| o["slug"] == "globex"), "{orgs}");
    assert_eq!(a.err("decline_my_invitation", json!({"id": mine[0]["id"]}))["code"], "conflict");
}

/// The page can always ask where the database stands (it shows "upgrading the database" from it).
#[test]
fn database_status_answers_ready() {
    let app = app();
    let status = app.ok("database_status", json!({}));
    assert_eq!(status["state"], "ready", "{status}");
}

/// The audit screen's "Export JSON" sends `json`: the file is JSON named `.json`, not CSV (issue 8,
/// "While there"); each format the page may send is written as itself.
#[test]
fn audit_exports_write_the_format_asked_for() {
    // Exports go to Downloads, else the home folder: a throw-away one (nextest runs each test in
    // a process of its own).
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("HOME", home.path());
    std::env::remove_var("XDG_DOWNLOAD_DIR");
    let a = with_owner();
    let filter = json!({});
    let read = |format: &str| {
        let path = a.ok("export_audit", json!({"org": "acme-corp", "filter": filter, "format": format}));
        let path = std::path::PathBuf::from(path.as_str().unwrap());
        assert!(path.starts_with(home.path()), "{}", path.display());
        assert_eq!(path.extension().unwrap(), format, "{}", path.display());
        std::fs::read_to_string(&path).unwrap()
    };
    let json: Value = serde_json::from_str(&read("json")).expect("Export JSON writes JSON");
    assert_eq!(json["items"][0]["action"], "org.created", "{json}");
    let jsonl = read("jsonl");
    assert!(jsonl.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()), "{jsonl}");
    assert!(read("csv").starts_with("seq,at,actor,action,target,details,hash"));
    let e = a.err("export_audit", json!({"org": "acme-corp", "filter": filter, "format": "xml"}));
    assert!(e.to_string().contains("xml") || e.to_string().contains("variant"), "{e}");
}

/// The owner's organization `wide` with `n` demo members beside Acme (made in the file directly,
/// as `gatehouse demo` does).
fn with_demo(n: i64) -> App {
    let a = with_owner();
    let mut db = Database::open_existing(a.db_path()).unwrap();
    let now = gatehouse_core::time::now();
    let owner = gatehouse_core::auth::sign_in(&mut db, "olivia@acme.test", PW, now).unwrap();
    gatehouse_core::usecases::demo::demo(&mut db, &owner, "wide", n, now).unwrap();
    a
}

/// The status counts of `wide`, and how many `members.disabled` events its audit log holds.
fn wide_state(a: &App) -> (Value, usize) {
    let page = a.ok(
        "list_members",
        json!({"org": "wide", "filter": {}, "sort": "email", "descending": false, "page": 1, "perPage": 10}),
    );
    let events = a.ok("list_audit", json!({"org": "wide", "filter": {"action": "members.disabled", "limit": 10000}}));
    (page["counts"].clone(), events.as_array().unwrap().len())
}

/// Every `bulk-progress` event, as it arrives.
fn progress_events(a: &App) -> std::sync::mpsc::Receiver<Value> {
    use tauri::Listener;
    let (tx, rx) = std::sync::mpsc::channel();
    a._app.listen_any("bulk-progress", move |event| {
        let _ = tx.send(serde_json::from_str::<Value>(event.payload()).unwrap());
    });
    rx
}

/// "Disable all matching" in the window: the page hears how far the job has got, named by its
/// job, up to every row, and the answer is the report of the whole command.
#[test]
fn a_bulk_disable_tells_the_page_its_progress() {
    let a = with_demo(300);
    let heard = progress_events(&a);
    let (before, _) = wide_state(&a);
    let active = before["active"].as_u64().unwrap();
    assert!(active > 100, "{before}");
    let report = a.ok(
        "set_members_enabled",
        json!({"org": "wide", "emails": [], "allMatching": {"status": "active"}, "enabled": false, "job": "job-1"}),
    );
    let events: Vec<Value> = heard.try_iter().collect();
    assert!(!events.is_empty(), "no progress was told");
    assert!(events.iter().all(|e| e["job"] == "job-1"), "{events:?}");
    let total = events[0]["total"].as_u64().unwrap();
    assert_eq!(total, active, "{events:?}");
    assert_eq!(events[0]["done"], 0, "the page hears the total at once: {events:?}");
    let last = events.last().unwrap();
    assert_eq!((last["done"].as_u64(), last["total"].as_u64()), (Some(total), Some(total)), "{events:?}");
    let done: Vec<u64> = events.iter().map(|e| e["done"].as_u64().unwrap()).collect();
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "{done:?}");
    // All-or-nothing, and all: every active member but the owner (oneself) is disabled now.
    assert_eq!(report["changed"].as_u64().unwrap() + report["skipped"].as_u64().unwrap(), active, "{report}");
    let (after, audited) = wide_state(&a);
    assert_eq!(
        after["disabled"].as_u64(),
        Some(before["disabled"].as_u64().unwrap() + report["changed"].as_u64().unwrap())
    );
    assert_eq!(audited as u64, report["changed"].as_u64().unwrap());
    // Without a job name the command is the same and tells nothing.
    a.ok(
        "set_members_enabled",
        json!({"org": "wide", "emails": [], "allMatching": {"status": "disabled"}, "enabled": true}),
    );
    assert!(heard.try_iter().next().is_none(), "a command without a job told progress");
}

/// Cancel from the page while the job runs: the answer is `conflict` `cancelled` and nothing was
/// changed, audit log included. The page's Cancel answers while the job holds the database.
#[test]
fn cancelling_a_bulk_disable_rolls_everything_back() {
    let a = with_demo(300);
    let (before, audited_before) = wide_state(&a);
    // The job waits at its first progress event until the cancel was answered, so the cancel
    // lands mid-job whatever the speed of the machine.
    let (first_tx, first_rx) = std::sync::mpsc::channel::<Value>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let go_rx = std::sync::Mutex::new(go_rx);
    {
        use tauri::Listener;
        a._app.listen_any("bulk-progress", move |event| {
            let e: Value = serde_json::from_str(event.payload()).unwrap();
            if first_tx.send(e).is_ok() {
                let _ = go_rx.lock().unwrap().recv_timeout(std::time::Duration::from_secs(20));
            }
        });
    }
    let window = a.window.clone();
    let job = std::thread::spawn(move || {
        invoke(
            &window,
            LOCAL,
            "set_members_enabled",
            json!({"org": "wide", "emails": [], "allMatching": {}, "enabled": false, "job": "job-2"}),
        )
    });
    let first = first_rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the job told its progress");
    assert_eq!(first["job"], "job-2");
    assert!(first["total"].as_u64().unwrap() > 100, "{first}");
    // Another job's name stops nothing; this one's does.
    a.ok("cancel_bulk", json!({"job": "another"}));
    a.ok("cancel_bulk", json!({"job": "job-2"}));
    drop(first_rx);
    go_tx.send(()).unwrap();
    let e = job.join().unwrap().expect_err("a cancelled job must fail");
    assert_eq!((e["code"].as_str(), e["reason"].as_str()), (Some("conflict"), Some("cancelled")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("nothing was changed"), "{e}");
    assert_eq!(wide_state(&a), (before, audited_before), "a cancelled bulk changed something");
    // The same command then runs to the end: the cancel was for that job only.
    let report = a.ok(
        "set_members_enabled",
        json!({"org": "wide", "emails": [], "allMatching": {}, "enabled": false, "job": "job-3"}),
    );
    assert!(report["changed"].as_u64().unwrap() > 100, "{report}");
}

/// A cancel that reaches the app before its job has begun still stops it; nobody signed in may
/// cancel nothing; a job's name is bounded.
#[test]
fn a_cancel_sent_before_the_job_starts_still_stops_it() {
    let a = with_demo(20);
    let (before, audited) = wide_state(&a);
    a.ok("cancel_bulk", json!({"job": "early"}));
    let e = a.err(
        "set_members_enabled",
        json!({"org": "wide", "emails": [], "allMatching": {}, "enabled": false, "job": "early"}),
    );
    assert_eq!(e["reason"], "cancelled", "{e}");
    assert_eq!(wide_state(&a), (before, audited));
    let e = a.err(
        "set_members_enabled",
        json!({"org": "wide", "emails": [], "allMatching": {}, "enabled": false, "job": "x".repeat(101)}),
    );
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("invalid_input"), Some("job")), "{e}");
    a.ok("sign_out", json!({}));
    assert_eq!(a.err("cancel_bulk", json!({"job": "early"}))["code"], "unauthenticated");
}

/// An app on its first run: no database yet, nothing chosen; its settings and file in a folder
/// of its own.
fn choosing_app() -> App {
    use gatehouse_app::settings::Places;
    let dir = tempfile::tempdir().unwrap();
    let app = mock_builder()
        .manage(AppState::choosing(Places::new(dir.path(), None)))
        .invoke_handler(gatehouse_app::app_handlers!())
        .build(gatehouse_app::context())
        .expect("mock app");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("mock window");
    App { _app: app, window, _dir: dir }
}

/// The first run asks where the data lives. A team server is tried before the choice is saved: an
/// unreachable one, or something that is not a postgres:// URL, answers why and keeps nothing.
/// "This computer" makes the file, remembers the choice, and the first-run setup follows.
#[test]
fn the_first_run_chooses_the_database_and_an_unreachable_server_is_not_saved() {
    use gatehouse_app::settings::Places;
    let a = choosing_app();
    let settings = a._dir.path().join("settings.json");
    assert_eq!(a.ok("database_status", json!({}))["state"], "choosing");

    let e = a.err(
        "choose_database",
        json!({"choice": {"kind": "team_server", "url": "postgres://gh@127.0.0.1:1/gatehouse?connect_timeout=5"}}),
    );
    assert_eq!(e["code"], "unavailable", "{e}");
    assert!(e["message"].as_str().unwrap().contains("127.0.0.1:1"), "the message names the server: {e}");
    let e = a.err("choose_database", json!({"choice": {"kind": "team_server", "url": "db.example:5432"}}));
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("invalid_input"), Some("url")), "{e}");
    assert!(!settings.exists(), "a refused choice was saved");
    assert_eq!(a.ok("database_status", json!({}))["state"], "choosing");

    let status = a.ok("choose_database", json!({"choice": {"kind": "this_computer"}}));
    assert_eq!(status["state"], "ready");
    assert!(a.db_path().exists());
    let places = Places::new(a._dir.path(), None);
    assert_eq!(places.database_to_open(), Some(a.db_path()), "the choice is remembered");
    assert_eq!(std::fs::read_to_string(&settings).unwrap().contains("this_computer"), true);
    assert_eq!(a.ok("app_status", json!({}))["initialized"], false);
    a.ok("setup", json!({"org": "Acme Corp", "email": "olivia@acme.test", "name": "Olivia Owner", "password": PW}));
    assert_eq!(a.ok("app_status", json!({}))["account"]["email"], "olivia@acme.test");
}

/// The settings file's permission bits.
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// After the first run the window's Database settings show where the data is and change it. A
/// server is tried before the choice is saved: an unreachable one or a URL that is not one answers
/// why, naming `url`, and nothing changes (same settings file, same database, still signed in).
/// A change that works signs the person out (accounts belong to a database).
#[test]
fn the_database_can_be_changed_after_the_first_run_and_an_unreachable_server_changes_nothing() {
    let a = choosing_app();
    let settings = a._dir.path().join("settings.json");
    a.ok("choose_database", json!({"choice": {"kind": "this_computer"}}));
    a.ok("setup", json!({"org": "Acme Corp", "email": "olivia@acme.test", "name": "Olivia Owner", "password": PW}));
    let shown = a.ok("database_settings", json!({}));
    assert_eq!(shown["current"], json!({"kind": "this_computer"}), "{shown}");
    assert_eq!(shown["shown"], a.db_path().display().to_string());
    assert_eq!(shown["this_computer"], a.db_path().display().to_string());
    assert!(shown["fixed"].is_null(), "{shown}");
    let saved = std::fs::read(&settings).unwrap();

    let e = a.err(
        "choose_database",
        json!({"choice": {"kind": "team_server", "url": "postgres://gh:secret@127.0.0.1:1/gatehouse?connect_timeout=5"}}),
    );
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("unavailable"), Some("url")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("127.0.0.1:1"), "the message names the server: {e}");
    assert!(!e["message"].as_str().unwrap().contains("secret"), "the message shows no password: {e}");
    let e = a.err("choose_database", json!({"choice": {"kind": "team_server", "url": "db.example:5432"}}));
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("invalid_input"), Some("url")), "{e}");
    assert_eq!(std::fs::read(&settings).unwrap(), saved, "a refused choice changed the settings");
    assert_eq!(a.ok("database_status", json!({}))["state"], "ready");
    assert_eq!(a.ok("app_status", json!({}))["account"]["email"], "olivia@acme.test", "still signed in, same database");
    assert_eq!(a.ok("list_orgs", json!({})).as_array().unwrap().len(), 1);

    // Choosing again (here the same file) opens it anew and signs out.
    assert_eq!(a.ok("choose_database", json!({"choice": {"kind": "this_computer"}}))["state"], "ready");
    let status = a.ok("app_status", json!({}));
    assert_eq!((status["initialized"].as_bool(), status["account"].is_null()), (Some(true), true), "{status}");
    assert_eq!(a.err("list_orgs", json!({}))["code"], "unauthenticated");
    #[cfg(unix)]
    assert_eq!(mode(&settings), 0o600);
}

/// `$GATEHOUSE_DB` names the database: the window shows it and says why it cannot be changed
/// there (the variable would win again at the next start), and `choose_database` refuses.
#[test]
fn a_database_named_by_gatehouse_db_is_shown_and_not_changed_from_the_window() {
    use gatehouse_app::settings::Places;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env.db");
    let state = AppState::with_database(Database::open(&file).unwrap());
    state.set_places(Places::new(dir.path(), Some(file.clone())));
    let app = mock_builder()
        .manage(state)
        .invoke_handler(gatehouse_app::app_handlers!())
        .build(gatehouse_app::context())
        .expect("mock app");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("mock window");
    let a = App { _app: app, window, _dir: dir };
    let shown = a.ok("database_settings", json!({}));
    assert_eq!(shown["shown"], file.display().to_string(), "{shown}");
    let fixed = shown["fixed"].as_str().unwrap_or_default();
    assert!(fixed.contains("$GATEHOUSE_DB") && fixed.contains("env.db"), "{shown}");
    let e = a.err("choose_database", json!({"choice": {"kind": "this_computer"}}));
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("invalid_input"), Some("database")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("$GATEHOUSE_DB"), "{e}");
    assert!(!a._dir.path().join("settings.json").exists());
}

/// A team server that answers is opened (its schema made), remembered, and the first run goes on
/// there. Runs when `$GATEHOUSE_TEST_PG` names a server.
#[test]
fn the_first_run_on_a_team_server_remembers_its_url() {
    use gatehouse_app::settings::Places;
    let Some(server) = std::env::var("GATEHOUSE_TEST_PG").ok().filter(|s| !s.trim().is_empty()) else { return };
    let url = common::fresh_pg_url(&server);
    let a = choosing_app();
    let status = a.ok("choose_database", json!({"choice": {"kind": "team_server", "url": format!(" {url} ")}}));
    assert_eq!(status["state"], "ready");
    let places = Places::new(a._dir.path(), None);
    assert_eq!(places.database_to_open(), Some(std::path::PathBuf::from(&url)));
    assert!(!a.db_path().exists(), "no file on this computer");
    assert_eq!(a.ok("app_status", json!({}))["initialized"], false);
    a.ok("setup", json!({"org": "Acme Corp", "email": "olivia@acme.test", "name": "Olivia Owner", "password": PW}));
    let db = Database::open_existing(&url).unwrap();
    let orgs: i64 = db.connection().query_row("SELECT count(*) FROM organizations", [], |r| r.get(0)).unwrap();
    assert_eq!(orgs, 1, "the organization was made on the server");
}

/// From this computer to a team server and back, from the window's Database settings: the server
/// is opened (its schema made) and remembered, the window shows it without its password, its first
/// run follows; back on this computer the file's organization is there again. Runs when
/// `$GATEHOUSE_TEST_PG` names a server.
#[test]
fn the_window_moves_from_this_computer_to_a_team_server_and_back() {
    use gatehouse_app::settings::Places;
    let Some(server) = std::env::var("GATEHOUSE_TEST_PG").ok().filter(|s| !s.trim().is_empty()) else { return };
    let url = common::fresh_pg_url(&server);
    let a = choosing_app();
    a.ok("choose_database", json!({"choice": {"kind": "this_computer"}}));
    a.ok("setup", json!({"org": "Acme Corp", "email": "olivia@acme.test", "name": "Olivia Owner", "password": PW}));

    assert_eq!(a.ok("choose_database", json!({"choice": {"kind": "team_server", "url": url}}))["state"], "ready");
    assert_eq!(Places::new(a._dir.path(), None).database_to_open(), Some(std::path::PathBuf::from(&url)));
    let shown = a.ok("database_settings", json!({}));
    assert_eq!(shown["current"]["kind"], "team_server", "{shown}");
    assert!(shown["shown"].as_str().unwrap().starts_with("postgres://gh@127.0.0.1:"), "{shown}");
    let status = a.ok("app_status", json!({}));
    assert_eq!((status["initialized"].as_bool(), status["account"].is_null()), (Some(false), true), "{status}");
    a.ok("setup", json!({"org": "Team Co", "email": "tara@team.test", "name": "Tara", "password": PW}));
    assert_eq!(a.ok("list_orgs", json!({}))[0]["slug"], "team-co");

    assert_eq!(a.ok("choose_database", json!({"choice": {"kind": "this_computer"}}))["state"], "ready");
    assert_eq!(Places::new(a._dir.path(), None).database_to_open(), Some(a.db_path()));
    a.ok("sign_in", json!({"email": "olivia@acme.test", "password": PW}));
    assert_eq!(a.ok("list_orgs", json!({}))[0]["slug"], "acme-corp");
}
