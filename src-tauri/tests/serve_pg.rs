//! `gatehouse serve` on PostgreSQL (issue 12, PRODUCT.md §5–6): real `serve` processes of the built
//! binary on a fresh database of the server named by `$GATEHOUSE_TEST_PG`
//! (`export GATEHOUSE_TEST_PG=$(scripts/pg start)`); each test says it was skipped when that is
//! unset. Two services on one database answer as one; a database server that cannot be reached is
//! 503 `unavailable`, and the service recovers by itself when it is back; a session the server
//! ended is replaced, not reused broken.

mod common;
mod serve_common;

use serde_json::{json, Value};
use serve_common::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LOOPBACK: [&str; 2] = ["--listen", "127.0.0.1:0"];

/// The server of `$GATEHOUSE_TEST_PG`, or `None` after saying that the test is skipped.
fn pg_server() -> Option<String> {
    let url = std::env::var("GATEHOUSE_TEST_PG").ok().filter(|s| !s.trim().is_empty());
    if url.is_none() {
        eprintln!(
            "skipped: set GATEHOUSE_TEST_PG to a PostgreSQL server (export GATEHOUSE_TEST_PG=$(scripts/pg start))"
        );
    }
    url
}

/// Invite `email` as `role` through `s` (by `by`'s session) and accept as a new account.
fn add_member(s: &Service, by: &str, email: &str, role: &str) {
    let issued = s.ok("POST", "/v1/orgs/acme/invitations", by, Some(json!({"emails": email, "role": role})), 201);
    let token = issued["invitations"][0]["token"].as_str().unwrap().to_string();
    let r = s.call(
        "POST",
        "/v1/invitations/accept",
        None,
        Some(&json!({"token": token, "name": "Bo Brown", "password": PW})),
    );
    assert_eq!(r.status, 200, "accept: {}", r.json);
}

/// A service account of acme with the admin role (it may ask `check` about anyone): its token.
fn checker(s: &Service, by: &str, name: &str) -> String {
    let sa = s.ok("POST", "/v1/orgs/acme/service-accounts", by, Some(json!({"name": name, "role": "admin"})), 201);
    sa["token"].as_str().unwrap().to_string()
}

/// `POST /v1/check` through `s`: the whole reply.
fn ask(s: &Service, token: &str, user: &str, permission: &str) -> Reply {
    s.call("POST", "/v1/check", Some(token), Some(&json!({"org": ORG, "user": user, "permission": permission})))
}

#[track_caller]
fn allowed(s: &Service, token: &str, user: &str, permission: &str) -> bool {
    let r = ask(s, token, user, permission);
    assert_eq!(r.status, 200, "check: {}", r.json);
    r.json["allowed"].as_bool().unwrap()
}

/// The database's name in its URL (`…/gh_c_PID_N`).
fn db_name(url: &str) -> String {
    url.rsplit('/').next().unwrap().split('?').next().unwrap().to_string()
}

/// End every session of `database` on the server (as a restart, an idle timeout or a network cut
/// would), waiting until they have ended; how many there were.
fn end_sessions(server: &str, database: &str) -> i64 {
    let admin = gatehouse_core::sql::Connection::postgres(server).unwrap();
    admin
        .query_row(
            "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity
             WHERE datname = ?1 AND pid <> pg_backend_pid()",
            [database],
            |r| r.get(0),
        )
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Two services, one database

/// Two `serve` processes on one PostgreSQL database, as two machines behind a load balancer: a
/// change made through one is what the other answers at once, in both directions, round after
/// round (no cache, no stale snapshot in either). A session made through one works on the other.
#[test]
fn two_services_on_one_database_answer_a_change_made_through_the_other_at_once() {
    let Some(_) = pg_server() else { return };
    let (_dir, db) = setup();
    let a = serve(&db, &LOOPBACK);
    let b = serve(&db, &LOOPBACK);
    let health = b.call("GET", "/healthz", None, None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json["backend"], "postgresql");
    let name = db_name(db.to_str().unwrap());
    assert!(health.json["database"].as_str().unwrap().ends_with(&format!("/{name}")), "{}", health.json);

    let ada_a = a.session(OWNER, PW);
    // A session is a row in the shared database: made through A, it works through B.
    let ada_b = ada_a.clone();
    add_member(&a, &ada_a, "bo@x.io", "member");
    let ask_a = checker(&a, &ada_a, "checker-a");
    let ask_b = checker(&b, &ada_b, "checker-b");
    assert!(!allowed(&b, &ask_b, "bo@x.io", "members.invite"), "a member may not invite");

    for round in 0..10 {
        // Grant through A: B allows at once.
        a.ok("PUT", "/v1/orgs/acme/members/bo%40x.io/role", &ada_a, Some(json!({"role": "admin"})), 200);
        assert!(allowed(&b, &ask_b, "bo@x.io", "members.invite"), "round {round}: B did not see A's grant");
        // Revoke through B: A denies at once.
        b.ok("PUT", "/v1/orgs/acme/members/bo%40x.io/role", &ada_b, Some(json!({"role": "member"})), 200);
        assert!(!allowed(&a, &ask_a, "bo@x.io", "members.invite"), "round {round}: A did not see B's revoke");
    }
    // Disabled through A: B says why at once; enabled through B: A allows again.
    a.ok("POST", "/v1/orgs/acme/members/disable", &ada_a, Some(json!({"emails": ["bo@x.io"]})), 200);
    assert!(!allowed(&b, &ask_b, "bo@x.io", "org.view"));
    b.ok("POST", "/v1/orgs/acme/members/enable", &ada_b, Some(json!({"emails": ["bo@x.io"]})), 200);
    assert!(allowed(&a, &ask_a, "bo@x.io", "org.view"));
    // Both services wrote into one audit chain, and it holds.
    let verified = b.get("/v1/orgs/acme/audit/verify", &ada_b).json;
    assert_eq!(verified["ok"], true, "{verified}");
}

// ---------------------------------------------------------------------------------------------
// The database server gone, and back

/// A TCP relay between the service and the database server that the test can cut and restore,
/// as a network cut or a server restart would: while cut, every relayed connection is closed and
/// new ones are closed as soon as they arrive.
struct Relay {
    addr: String,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up2, open2) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else { continue };
                let mut list = open2.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(server.try_clone().unwrap());
                drop(list);
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Relay { addr, up, open }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// `postgres://user@HOST:PORT/db?…` with HOST:PORT replaced by `addr`; `None` for a URL this
/// test cannot take apart (a Unix socket, several hosts).
fn through(url: &str, addr: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = rest.split_once('/')?;
    let (user, hostport) = authority.rsplit_once('@').map_or(("", authority), |(u, h)| (u, h));
    if hostport.is_empty() || hostport.contains(',') || hostport.starts_with('%') {
        return None;
    }
    let hostport = if hostport.contains(':') { hostport.to_string() } else { format!("{hostport}:5432") };
    let at = if user.is_empty() { String::new() } else { format!("{user}@") };
    Some((format!("{scheme}://{at}{addr}/{path}"), hostport))
}

/// The database server cannot be reached (every connection cut, new ones refused): every
/// request, `check` and `/healthz` included, is 503 with code `unavailable` at once, with the
/// CLI's error shape; the service says so once in its log. When the server is back, the next
/// request works without a restart of the service, and the log says it is back.
#[test]
fn an_unreachable_database_server_is_503_unavailable_and_the_service_recovers_by_itself() {
    let Some(_) = pg_server() else { return };
    let (_dir, db) = setup();
    let Some((_, upstream)) = through(db.to_str().unwrap(), "127.0.0.1:1") else {
        eprintln!("skipped: $GATEHOUSE_TEST_PG is not a postgres://user@host:port/db URL");
        return;
    };
    let relay = Relay::start(upstream);
    let (relayed, _) = through(db.to_str().unwrap(), &relay.addr).unwrap();
    let mut s = serve(std::path::Path::new(&relayed), &["--listen", "127.0.0.1:0", "--connections", "4"]);
    let ada = s.session(OWNER, PW);
    let token = checker(&s, &ada, "checker");
    assert!(allowed(&s, &token, OWNER, "org.view"));

    relay.cut();
    for _ in 0..6 {
        let started = std::time::Instant::now();
        let r = ask(&s, &token, OWNER, "org.view");
        assert_eq!((r.status, r.code()), (503, "unavailable"), "{}", r.json);
        assert!(started.elapsed() < Duration::from_secs(5), "503 took {:?}", started.elapsed());
        let message = r.json["error"]["message"].as_str().unwrap();
        assert!(message.contains("database server"), "{message}");
    }
    let health = s.call("GET", "/healthz", None, None);
    assert_eq!((health.status, health.code()), (503, "unavailable"), "{}", health.json);
    let members = s.call("GET", "/v1/orgs/acme/members", Some(&ada), None);
    assert_eq!((members.status, members.code()), (503, "unavailable"), "{}", members.json);
    let write =
        s.call("POST", "/v1/orgs/acme/invitations", Some(&ada), Some(&json!({"emails": "x@x.io", "role": "member"})));
    assert_eq!((write.status, write.code()), (503, "unavailable"), "{}", write.json);
    // Long enough for the service's once-a-second sweep to notice too.
    std::thread::sleep(Duration::from_millis(2500));

    relay.restore();
    assert!(allowed(&s, &token, OWNER, "org.view"), "the first check after the server came back");
    assert_eq!(s.call("GET", "/healthz", None, None).status, 200);
    let page: Value = s.get("/v1/orgs/acme/members", &ada).json;
    assert_eq!(page["total"], 1, "{page}");
    s.ok("POST", "/v1/orgs/acme/invitations", &ada, Some(json!({"emails": "x@x.io", "role": "member"})), 201);
    std::thread::sleep(Duration::from_millis(2500));

    s.terminate();
    let exit = s.wait_exit(Duration::from_secs(40));
    if exit.is_none() {
        let _ = s.child.kill();
    }
    let log = s.stderr();
    assert_eq!(exit, Some(0), "{log}");
    assert!(log.contains("the database is unavailable"), "{log}");
    assert!(log.contains("the database answers again"), "{log}");
    assert_eq!(log.matches("the database is unavailable").count(), 1, "said once, not every second: {log}");
}

/// Every session of the service's pool is ended by the server (`pg_terminate_backend`, as a
/// restart or an idle timeout would): the next requests, on every connection of the pool, reads
/// and writes alike, still work; none is answered with the dead session's error.
#[test]
fn sessions_ended_by_the_server_are_replaced_and_the_next_requests_work() {
    let Some(server) = pg_server() else { return };
    let (_dir, db) = setup();
    let name = db_name(db.to_str().unwrap());
    let s = Arc::new(serve(&db, &["--listen", "127.0.0.1:0", "--connections", "8"]));
    let ada = s.session(OWNER, PW);
    let token = checker(&s, &ada, "checker");
    assert!(allowed(&s, &token, OWNER, "org.view"));

    for round in 0..3 {
        let ended = end_sessions(&server, &name);
        // The pool's 8 the first time; later, those that had connected again.
        assert!(ended >= if round == 0 { 8 } else { 1 }, "round {round}: {ended} sessions ended");
        // Eight at once, so that every reader connection of the pool is used after the kill.
        let askers: Vec<_> = (0..8)
            .map(|_| {
                let (s, token) = (s.clone(), token.clone());
                std::thread::spawn(move || (0..5).map(|_| ask(&s, &token, OWNER, "org.view")).collect::<Vec<_>>())
            })
            .collect();
        for asker in askers {
            for r in asker.join().unwrap() {
                assert_eq!((r.status, r.json["allowed"].as_bool()), (200, Some(true)), "round {round}: {}", r.json);
            }
        }
        // A write (on a writer connection, also ended) works as well.
        let email = format!("p{round}@x.io");
        s.ok("POST", "/v1/orgs/acme/invitations", &ada, Some(json!({"emails": email, "role": "member"})), 201);
    }
}
