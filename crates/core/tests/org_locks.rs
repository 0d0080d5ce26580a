//! PostgreSQL writes serialize per organization (issue 12): a write names what it will change
//! (`sql::Scope`) and waits only for the writers of the same organizations; a whole-database write
//! (restore, demo, migrations) waits for all of them, and they for it. No two writers can wait for
//! each other: the locks are taken in one order. Each test needs two connections to one server
//! (`$GATEHOUSE_TEST_PG`); on SQLite, one writer per file, there is nothing per organization to test
//! and they return at once, except the last, which runs on both engines.

mod common;

use common::*;
use gatehouse_core::audit_actions::AuditAction;
use gatehouse_core::sql::Scope;
use gatehouse_core::store::audit as chain;
use gatehouse_core::usecases::orgs;
use gatehouse_core::{Database, Principal};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

/// Long enough for a write that is not blocked to finish on a loaded 2-core machine.
const FINISHES: Duration = Duration::from_secs(20);
/// How long a blocked write is watched to stay blocked.
const STAYS_BLOCKED: Duration = Duration::from_millis(700);

/// A database on the server with organizations `acme` (Olivia's) and `beta`, and its URL.
fn two_orgs() -> Option<(String, Principal)> {
    let url = fresh_pg_url(&pg_url()?);
    let mut db = Database::open(&url).unwrap();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = gatehouse_core::auth::sign_in(&mut db, OWNER, PW, T0).unwrap();
    orgs::create(&mut db, &o, "Beta", None, T0).unwrap();
    Some((url, o))
}

/// A thread that opens its own connection and runs a write of `scope`, which holds its locks until
/// `release` says so; `held` is told once they are taken. Returns when it committed.
fn holder(url: &str, scope: Scope, held: mpsc::Sender<()>, release: mpsc::Receiver<()>) -> std::thread::JoinHandle<()> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut db = Database::open(&url).unwrap();
        db.write_in(T0 + 1, &scope, |_tx| {
            held.send(()).unwrap();
            release.recv().unwrap();
            Ok(())
        })
        .unwrap();
    })
}

/// A thread that runs `f` on its own connection and says when it is done.
fn writer(
    url: &str,
    f: impl FnOnce(&mut Database) -> gatehouse_core::Result<()> + Send + 'static,
) -> mpsc::Receiver<gatehouse_core::Result<()>> {
    let (done, finished) = mpsc::channel();
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut db = Database::open(&url).unwrap();
        let _ = done.send(f(&mut db));
    });
    finished
}

#[test]
fn a_write_in_one_organization_does_not_wait_for_a_write_in_another() {
    let Some((url, o)) = two_orgs() else { return };
    let (held_tx, held) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let acme_writer = holder(&url, Scope::org("acme"), held_tx, release_rx);
    held.recv_timeout(FINISHES).expect("the first write took acme's lock");

    // Beta's write commits while acme's is still open.
    let who = o.clone();
    let beta = writer(&url, move |db| orgs::rename(db, &who, "beta", "Beta Two", T0 + 2).map(drop));
    beta.recv_timeout(FINISHES).expect("a write in beta finished while acme's was open").unwrap();

    // A write in acme waits for the open one.
    let who = o.clone();
    let acme = writer(&url, move |db| orgs::rename(db, &who, "acme", "Acme Two", T0 + 3).map(drop));
    assert!(acme.recv_timeout(STAYS_BLOCKED).is_err(), "a second write in acme did not wait for the first");
    release.send(()).unwrap();
    acme.recv_timeout(FINISHES).expect("the second write in acme finished after the first").unwrap();
    acme_writer.join().unwrap();

    let mut db = Database::open(&url).unwrap();
    let names: Vec<String> =
        orgs::list(&mut db, &o, T0 + 4).unwrap().into_iter().map(|org| org.name).collect::<Vec<_>>();
    assert_eq!(names, ["Acme Two", "Beta Two"]);
}

#[test]
fn a_whole_database_write_waits_for_organization_writes_and_they_for_it() {
    let Some((url, o)) = two_orgs() else { return };

    // An organization's write is open: a whole-database write (restore's, demo's) waits for it.
    let (held_tx, held) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let acme_writer = holder(&url, Scope::org("acme"), held_tx, release_rx);
    held.recv_timeout(FINISHES).unwrap();
    let whole = writer(&url, |db| db.write(T0 + 2, |_tx| Ok(())));
    assert!(whole.recv_timeout(STAYS_BLOCKED).is_err(), "a whole-database write did not wait for acme's");
    release.send(()).unwrap();
    whole.recv_timeout(FINISHES).expect("the whole-database write finished after acme's").unwrap();
    acme_writer.join().unwrap();

    // A whole-database write is open: writes in any organization, and of the system, wait for it.
    let (held_tx, held) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let whole_writer = holder(&url, Scope::whole(), held_tx, release_rx);
    held.recv_timeout(FINISHES).unwrap();
    let who = o.clone();
    let beta = writer(&url, move |db| orgs::rename(db, &who, "beta", "Beta Two", T0 + 3).map(drop));
    let system = writer(&url, |db| gatehouse_core::usecases::sessions::create(db, OWNER, PW, 3600, T0 + 3).map(drop));
    assert!(beta.recv_timeout(STAYS_BLOCKED).is_err(), "beta's write did not wait for the whole-database one");
    assert!(system.recv_timeout(Duration::ZERO).is_err(), "a sign-in's session did not wait for it");
    release.send(()).unwrap();
    beta.recv_timeout(FINISHES).unwrap().unwrap();
    system.recv_timeout(FINISHES).unwrap().unwrap();
    whole_writer.join().unwrap();
}

/// Many writers, each naming two organizations picked at random (and the system, one time in
/// three), appending to each chain it named: all finish (no deadlock: the locks are taken in one
/// order), no write is lost, every chain verifies. Runs on SQLite too.
#[test]
fn many_writers_on_random_organizations_all_finish_and_every_chain_holds() {
    const ORGS: usize = 5;
    const THREADS: usize = 6;
    const WRITES: usize = 25;
    let url = match pg_url() {
        Some(server) => fresh_pg_url(&server),
        None => tempfile::tempdir().unwrap().keep().join("g.db").to_string_lossy().into_owned(),
    };
    let mut db = Database::open(&url).unwrap();
    orgs::init(&mut db, "Org 0", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = gatehouse_core::auth::sign_in(&mut db, OWNER, PW, T0).unwrap();
    for i in 1..ORGS {
        orgs::create(&mut db, &o, &format!("Org {i}"), None, T0).unwrap();
    }
    let ids: Vec<String> = (0..ORGS)
        .map(|i| {
            gatehouse_core::store::organizations::by_slug(db.connection(), &format!("org-{i}")).unwrap().unwrap().id
        })
        .collect();
    let before: Vec<i64> =
        ids.iter().chain([&String::new()]).map(|id| chain::head(db.connection(), id).unwrap().0).collect();

    let start = Arc::new(Barrier::new(THREADS));
    let (done, finished) = mpsc::channel();
    for t in 0..THREADS {
        let (url, ids, start, done) = (url.clone(), ids.clone(), start.clone(), done.clone());
        std::thread::spawn(move || {
            let mut db = Database::open(&url).unwrap();
            // One count per chain (the organizations', then the system's) of the events appended.
            let mut appended = vec![0i64; ORGS + 1];
            start.wait();
            for w in 0..WRITES {
                let a = rand::random::<u64>() as usize % ORGS;
                let b = (a + 1 + rand::random::<u64>() as usize % (ORGS - 1)) % ORGS;
                let system = rand::random::<u64>() % 3 == 0;
                let mut scope = Scope::org(&format!("org-{a}")).and_org(&format!("org-{b}"));
                if system {
                    scope = scope.and_system();
                }
                let mut chains: Vec<usize> = vec![a, b];
                if system {
                    chains.push(ORGS);
                }
                db.write_in(T0 + 1, &scope, |tx| {
                    for &c in &chains {
                        let id = if c == ORGS { "" } else { ids[c].as_str() };
                        chain::append(
                            tx,
                            id,
                            "writer",
                            AuditAction::OrgUpdated,
                            &format!("t{t}w{w}"),
                            &serde_json::json!({}),
                            T0 + 1,
                        )?;
                    }
                    Ok(())
                })
                .unwrap();
                for c in chains {
                    appended[c] += 1;
                }
            }
            done.send(appended).unwrap();
        });
    }
    drop(done);
    let mut appended = vec![0i64; ORGS + 1];
    for _ in 0..THREADS {
        let counts = finished.recv_timeout(Duration::from_secs(300)).expect("every writer finished");
        for (sum, n) in appended.iter_mut().zip(counts) {
            *sum += n;
        }
    }
    for (i, id) in ids.iter().chain([&String::new()]).enumerate() {
        let (events, _) = chain::head(db.connection(), id).unwrap();
        assert_eq!(events, before[i] + appended[i], "chain {i}: no append lost");
        match chain::verify(db.connection(), id).unwrap() {
            chain::ChainState::Intact { events: n } => assert_eq!(n, events),
            broken => panic!("chain {i} broken: {broken:?}"),
        }
    }
}

/// The figure of docs/SCALING.md: two connections (as two processes) each writing in its own
/// organization as fast as they can (a rename and its audit event, as `orgs rename` writes), with
/// each write's locks named as the use cases name them (`Scope::org`) against the whole database
/// (every write before issue 12's per-organization locks), alternated in rounds of `SECONDS`.
/// `GATEHOUSE_TEST_PG=… cargo nextest run --workspace -E 'test(/writes_per_second/)' --run-ignored
/// only --no-capture`
#[test]
#[ignore]
fn writes_per_second_in_two_organizations_at_once() {
    const SECONDS: f64 = 3.0;
    const ROUNDS: usize = 5;
    let Some((url, _)) = two_orgs() else { return };
    let db = Database::open(&url).unwrap();
    let ids: Vec<String> = ["acme", "beta"]
        .iter()
        .map(|s| gatehouse_core::store::organizations::by_slug(db.connection(), s).unwrap().unwrap().id)
        .collect();
    let run = |whole: bool| -> f64 {
        let start = Arc::new(Barrier::new(2));
        let threads: Vec<_> = ["acme", "beta"]
            .into_iter()
            .zip(ids.clone())
            .map(|(slug, id)| {
                let (url, start) = (url.clone(), start.clone());
                std::thread::spawn(move || {
                    let mut db = Database::open(&url).unwrap();
                    let scope = if whole { Scope::whole() } else { Scope::org(slug) };
                    start.wait();
                    let began = std::time::Instant::now();
                    let mut n = 0u64;
                    while began.elapsed().as_secs_f64() < SECONDS {
                        db.write_in(T0 + 1, &scope, |tx| {
                            gatehouse_core::store::organizations::rename(tx, &id, &format!("{slug} {n}"))?;
                            chain::append(
                                tx,
                                &id,
                                "bench",
                                AuditAction::OrgRenamed,
                                slug,
                                &serde_json::json!({}),
                                T0 + 1,
                            )
                        })
                        .unwrap();
                        n += 1;
                    }
                    n as f64 / began.elapsed().as_secs_f64()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    };
    let (mut whole, mut per_org) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        whole.push(run(true));
        per_org.push(run(false));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (w, p) = (median(&mut whole), median(&mut per_org));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "writes/s, two connections in two organizations, median of {ROUNDS} rounds of {SECONDS} s: \
         whole-database lock {w:.0}, per-organization locks {p:.0}, ratio {:.2} (whole {whole:.0?}, per org \
         {per_org:.0?}; load {})",
        p / w,
        load.trim()
    );
}

/// A write that did not name an organization it touches takes that lock late (`Connection::
/// lock_org`), out of the one order: two such writes can deadlock. PostgreSQL finds it (40P01), and
/// the write that lost runs again with the late lock named up front; both finish, nothing surfaces.
#[test]
fn a_lock_taken_late_that_deadlocks_is_retried_with_it_named_up_front() {
    let Some((url, _)) = two_orgs() else { return };
    let db = Database::open(&url).unwrap();
    let ids: Vec<String> = ["acme", "beta"]
        .iter()
        .map(|s| gatehouse_core::store::organizations::by_slug(db.connection(), s).unwrap().unwrap().id)
        .collect();
    let both_hold = Arc::new(Barrier::new(2));
    let threads: Vec<_> = [(0, 1), (1, 0)]
        .into_iter()
        .map(|(named, late)| {
            let (url, ids, both_hold) = (url.clone(), ids.clone(), both_hold.clone());
            std::thread::spawn(move || {
                let mut db = Database::open(&url).unwrap();
                let mut attempts = 0;
                db.write_in(T0 + 1, &Scope::org_id(&ids[named]), |tx| {
                    attempts += 1;
                    chain::append(
                        tx,
                        &ids[named],
                        "w",
                        AuditAction::OrgUpdated,
                        "named",
                        &serde_json::json!({}),
                        T0 + 1,
                    )?;
                    if attempts == 1 {
                        both_hold.wait();
                    }
                    chain::append(tx, &ids[late], "w", AuditAction::OrgUpdated, "late", &serde_json::json!({}), T0 + 1)
                })
                .unwrap();
                attempts
            })
        })
        .collect();
    let mut attempts: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    attempts.sort();
    assert_eq!(attempts, [1, 2], "one write deadlocked and ran once more");
    for id in &ids {
        assert!(matches!(chain::verify(db.connection(), id).unwrap(), chain::ChainState::Intact { .. }));
    }
}

/// What `org`'s chain holds of `access.expired` events.
fn expired_events(db: &mut Database, who: &Principal, org: &str, now: i64) -> usize {
    use gatehouse_core::usecases::audit;
    let events = audit::list(db, who, org, &audit::AuditQuery::default(), now).unwrap();
    events.iter().filter(|e| e.action == "access.expired").count()
}

/// Round trips to the server of `f` (after a first run of the same statements prepared them).
fn round_trips(db: &mut Database, f: impl FnOnce(&mut Database)) -> u64 {
    let before = db.connection().round_trips().unwrap();
    f(db);
    db.connection().round_trips().unwrap() - before
}

/// The expiry sweep at the start of a write (issue 12) looks only at the organizations the write
/// locks, and asks in BEGIN's round trip. Before: every write sent a probe of every organization
/// (`EXISTS (… expires_at <= $1)`, prepared, which PostgreSQL planned as a read of all of
/// `access_grants` after five uses: 26-39 ms a write at 100k), and, while some organization had an
/// expiry waiting that the write could not record (its lock held elsewhere), read every waiting
/// expiry of every organization and threw them away: 3 round trips for an empty write in beta, 5
/// while acme had one waiting (7 the first time; 68 ms a write at 100k with 8,000 waiting). Now:
/// BEGIN and COMMIT.
/// Acme's expiry is recorded by acme's next write, in acme's chain, once.
#[test]
fn a_write_does_not_read_the_expiries_another_organization_has_waiting() {
    let Some((url, o)) = two_orgs() else { return };
    let mut db = Database::open(&url).unwrap();
    add(&mut db, &o, "temp@acme.test", "member", Some(T0 + 10), T0);
    let empty_write = |now: i64| move |db: &mut Database| db.write_in(now, &Scope::org("beta"), |_tx| Ok(())).unwrap();
    empty_write(T0 + 5)(&mut db);
    assert_eq!(round_trips(&mut db, empty_write(T0 + 5)), 2, "an empty write in beta: BEGIN with its locks, COMMIT");

    // Acme's member expires at T0 + 10; acme's lock is held by another writer meanwhile.
    let (held_tx, held) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let acme_writer = holder(&url, Scope::org("acme"), held_tx, release_rx);
    held.recv_timeout(FINISHES).unwrap();
    for i in 0..8 {
        assert_eq!(
            round_trips(&mut db, empty_write(T0 + 20 + i)),
            2,
            "an empty write in beta while acme has an expiry waiting that it cannot record"
        );
    }
    orgs::rename(&mut db, &o, "beta", "Beta Two", T0 + 30).unwrap();
    assert_eq!(expired_events(&mut db, &o, "beta", T0 + 30), 0);
    release.send(()).unwrap();
    acme_writer.join().unwrap();
    assert_eq!(expired_events(&mut db, &o, "acme", T0 + 30), 0, "nothing recorded acme's expiry yet");

    // Acme's next write records it first, in acme's chain, dated when it passed; once.
    orgs::rename(&mut db, &o, "acme", "Acme Two", T0 + 40).unwrap();
    orgs::rename(&mut db, &o, "acme", "Acme Three", T0 + 41).unwrap();
    assert_eq!(expired_events(&mut db, &o, "acme", T0 + 42), 1);
    assert_eq!(expired_events(&mut db, &o, "beta", T0 + 42), 0);
    let acme = gatehouse_core::store::organizations::by_slug(db.connection(), "acme").unwrap().unwrap().id;
    assert!(matches!(chain::verify(db.connection(), &acme).unwrap(), chain::ChainState::Intact { .. }));
}

/// What a command's front door pays when nothing has expired: `try_record_expiries` asks which
/// organizations have an expiry due in one statement with no transaction around it, one round
/// trip (it was BEGIN, the statement, COMMIT: three, before every CLI command and every request
/// of `serve`). A write that names several organizations records the expiries of each in its own
/// chain.
#[test]
fn the_front_doors_sweep_asks_once_and_each_chain_gets_its_own_expiries() {
    use gatehouse_core::usecases::audit;
    let Some((url, o)) = two_orgs() else { return };
    let mut db = Database::open(&url).unwrap();
    audit::try_record_expiries(&mut db, T0 + 1).unwrap();
    let trips = round_trips(&mut db, |db| assert_eq!(audit::try_record_expiries(db, T0 + 1).unwrap(), Some(0)));
    assert_eq!(trips, 1, "the front door's sweep with nothing expired");

    // A member of each organization whose access ends at T0 + 10 (acme) and T0 + 12 (beta).
    add(&mut db, &o, "temp@acme.test", "member", Some(T0 + 10), T0 + 2);
    use gatehouse_core::usecases::invitations::{self, Acceptor, Invitee};
    let invitee = Invitee {
        email: "temp@beta.test".into(),
        role: "member".into(),
        access_expires_at: Some(T0 + 12),
        workspace: None,
    };
    let token = invitations::create(&mut db, &o, "beta", &[invitee], None, T0 + 2).unwrap().invitations.remove(0).token;
    invitations::accept(&mut db, &token, Acceptor::NewAccount { full_name: "Temp Beta", password: PW }, T0 + 2)
        .unwrap();
    let ids: Vec<String> = ["acme", "beta"]
        .iter()
        .map(|slug| gatehouse_core::store::organizations::by_slug(db.connection(), slug).unwrap().unwrap().id)
        .collect();
    db.write_in(T0 + 20, &Scope::org("acme").and_org("beta"), |_tx| Ok(())).unwrap();
    assert_eq!(expired_events(&mut db, &o, "acme", T0 + 21), 1);
    assert_eq!(expired_events(&mut db, &o, "beta", T0 + 21), 1);
    for id in &ids {
        assert!(matches!(chain::verify(db.connection(), id).unwrap(), chain::ChainState::Intact { .. }));
    }
}

/// A workspace grant to a person who is not yet a member makes them one, and the new membership's
/// roster row copies their account (name, last sign-in). The account is the system's: a sign-in
/// writes its `last_login_at` under the system's lock, and the roster rows of the memberships it
/// sees with it. A grant that held only its organization's lock copied the account as it stood
/// when its INSERT began, the sign-in saw no new membership yet, and both committed: the member
/// list showed "never signed in" for someone who just had, until their next sign-in a minute
/// later. The interleaving: the grant is held after its INSERT (a transaction of beta holds the
/// row of acme's chain head it updates last), the sign-in commits, the grant commits.
#[test]
fn a_sign_in_while_a_workspace_grant_makes_the_person_a_member_is_not_lost_from_the_roster() {
    use gatehouse_core::usecases::invitations::{self, Acceptor, Invitee};
    use gatehouse_core::usecases::{members, workspaces};
    const PERSON: &str = "pat@beta.test";
    let Some((url, o)) = two_orgs() else { return };
    let mut db = Database::open(&url).unwrap();
    workspaces::create(&mut db, &o, "acme", "ops", T0).unwrap();
    // Pat has an account (a member of beta), and none of acme.
    let invitee = Invitee { email: PERSON.into(), role: "member".into(), access_expires_at: None, workspace: None };
    let token = invitations::create(&mut db, &o, "beta", &[invitee], None, T0).unwrap().invitations.remove(0).token;
    invitations::accept(&mut db, &token, Acceptor::NewAccount { full_name: "Pat Person", password: PW }, T0).unwrap();
    let acme_id = gatehouse_core::store::organizations::by_slug(db.connection(), "acme").unwrap().unwrap().id;

    // A write of beta holds the row of acme's chain head: acme's next write stops at its end.
    let (held_tx, held) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let head_holder = {
        let url = url.clone();
        std::thread::spawn(move || {
            let mut db = Database::open(&url).unwrap();
            db.write_in(T0 + 1, &Scope::org("beta"), |tx| {
                tx.execute("UPDATE audit_heads SET events = events WHERE organization_id = ?1", [&acme_id])?;
                held_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok(())
            })
            .unwrap();
        })
    };
    held.recv_timeout(FINISHES).unwrap();
    let who = o.clone();
    let grant =
        writer(&url, move |db| workspaces::grant(db, &who, "acme", "ops", PERSON, "member", None, T0 + 2).map(drop));
    assert!(grant.recv_timeout(STAYS_BLOCKED).is_err(), "the grant stopped at acme's chain head");

    // Pat signs in meanwhile (the sign-in records the last login, as it is free to).
    let sign_in = writer(&url, |db| gatehouse_core::auth::sign_in(db, PERSON, PW, T0 + 100).map(drop));
    // It may also wait for the grant, or skip its bookkeeping: either is right.
    let early = sign_in.recv_timeout(FINISHES).ok();
    release.send(()).unwrap();
    grant.recv_timeout(FINISHES).expect("the grant finished").unwrap();
    head_holder.join().unwrap();
    early.unwrap_or_else(|| sign_in.recv_timeout(FINISHES).expect("the sign-in finished after the grant")).unwrap();

    let rows = members::list(&mut db, &o, "acme", &members::MemberQuery::default(), T0 + 200).unwrap().items;
    let pat = rows.iter().find(|r| r.row.email == PERSON).expect("Pat is a member of acme");
    let shown = db
        .read(T0 + 200, |tx| {
            Ok(tx.query_row("SELECT last_login_at FROM accounts WHERE email_norm = ?1", [PERSON], |r| {
                r.get::<_, Option<i64>>(0)
            })?)
        })
        .unwrap();
    assert_eq!(
        pat.row.last_login_at,
        shown.map(gatehouse_core::time::rfc3339),
        "acme's member list shows Pat's last sign-in as the account has it"
    );
}

/// The other side of a late lock's deadlock: a write that names an organization and the system up
/// front (an invitation's acceptance) holds the system's lock (the lower key) and waits at BEGIN
/// for the organization's, held by a write that then takes the system's lock late (a new
/// membership, an event of the system chain). PostgreSQL ends the one whose wait began first: the
/// write waiting at BEGIN. Nothing of it had run, and it must begin again, not fail (it did: the
/// error of its BEGIN was returned at once, code unavailable/internal instead of the acceptance).
#[test]
fn a_write_ended_by_a_deadlock_while_taking_its_locks_up_front_begins_again() {
    let Some((url, o)) = two_orgs() else { return };
    let mut db = Database::open(&url).unwrap();
    // An organization whose lock comes after the system's in the one order (keys are hashes).
    let mut n = 0;
    let org = loop {
        let slug = if n == 0 { "acme".to_string() } else { format!("org-{n}") };
        if n > 0 {
            orgs::create(&mut db, &o, &format!("Org {n}"), None, T0).unwrap();
        }
        let id = gatehouse_core::store::organizations::by_slug(db.connection(), &slug).unwrap().unwrap().id;
        let after: bool = db
            .connection()
            .query_row(
                "SELECT hashtextextended('gatehouse org ' || ?1, 0) > hashtextextended('gatehouse system', 0)",
                [&id],
                |r| r.get(0),
            )
            .unwrap();
        if after {
            break id;
        }
        n += 1;
    };

    let (held_tx, held) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let late = {
        let (url, org) = (url.clone(), org.clone());
        std::thread::spawn(move || {
            let mut db = Database::open(&url).unwrap();
            let mut attempts = 0;
            db.write_in(T0 + 1, &Scope::org_id(&org), |tx| {
                attempts += 1;
                if attempts == 1 {
                    held_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                }
                chain::append(tx, "", "w", AuditAction::OrgUpdated, "late", &serde_json::json!({}), T0 + 1)
            })
        })
    };
    held.recv_timeout(FINISHES).unwrap();
    let up_front = {
        let org = org.clone();
        writer(&url, move |db| {
            db.write_in(T0 + 1, &Scope::org_id(&org).and_system(), |tx| {
                chain::append(tx, &org, "w", AuditAction::OrgUpdated, "up front", &serde_json::json!({}), T0 + 1)
            })
        })
    };
    // It holds the system's lock and waits for the organization's; then the late lock closes the cycle.
    assert!(up_front.recv_timeout(STAYS_BLOCKED).is_err(), "the write naming both waits for the organization");
    go.send(()).unwrap();
    late.join().unwrap().expect("the write with the late lock finished");
    up_front.recv_timeout(FINISHES).expect("the write naming both finished").expect("and did not fail");
    for id in [org.as_str(), ""] {
        assert!(matches!(chain::verify(db.connection(), id).unwrap(), chain::ChainState::Intact { .. }));
    }
}

/// Waits until another session of this database waits for an advisory lock (PostgreSQL), or until
/// `waiting` says a writer of the file waits for its write lock (SQLite: the busy handler tells
/// the observer after a quiet wait). Not a timing: it returns when the waiter is seen waiting.
fn until_a_writer_waits(admin: Option<&gatehouse_core::sql::Connection>, waiting: &mpsc::Receiver<()>) {
    match admin {
        Some(admin) => {
            let began = std::time::Instant::now();
            loop {
                let n: i64 = admin
                    .query_row(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                        [],
                        |r| r.get(0),
                    )
                    .unwrap();
                if n > 0 {
                    return;
                }
                assert!(began.elapsed() < FINISHES, "no writer came to wait for the lock");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        None => waiting.recv_timeout(FINISHES).expect("no writer came to wait for the lock"),
    }
}

/// Rule 7 against a guesser who also holds the right password (left by h-review): the right
/// password is verified outside any transaction, then its sign-in sees four failures and no lock
/// and clears them in a write of its own. A fifth failure committed between that look and that
/// write set the lock, and the clear wiped it: the sign-in succeeded after the lock, and the
/// lockout was gone for the guesses after it. The interleaving, on both engines: a write holding
/// the system's lock records the fifth failure; the sign-in with the right password comes to wait
/// for that lock to clear the four it saw; the fifth commits first. Now the write looks again
/// inside: locked, it answers as locked, and the lock stays.
#[test]
fn a_right_password_racing_the_fifth_failure_does_not_wipe_the_lock() {
    use gatehouse_core::db::{Notice, OpenOptions};
    use gatehouse_core::store::accounts;
    let url = match pg_url() {
        Some(server) => fresh_pg_url(&server),
        None => tempfile::tempdir().unwrap().keep().join("g.db").to_string_lossy().into_owned(),
    };
    let mut db = Database::open(&url).unwrap();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    for _ in 0..4 {
        let refused = gatehouse_core::auth::sign_in(&mut db, OWNER, "wrong password!", T0 + 1);
        assert_eq!(refused.unwrap_err().to_string(), gatehouse_core::auth::WRONG_CREDENTIALS);
    }
    let admin = pg_url().map(|_| gatehouse_core::sql::Connection::postgres(&url).unwrap());

    // The fifth failure, written and not yet committed, under the system's lock.
    let (held_tx, held) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let fifth = {
        let url = url.clone();
        std::thread::spawn(move || {
            let mut db = Database::open(&url).unwrap();
            db.write_in(T0 + 2, &Scope::system(), |tx| {
                accounts::set_attempts(tx, OWNER, 5, Some(T0 + 2 + gatehouse_core::auth::FIRST_LOCK_SECONDS), T0 + 2)?;
                held_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok(())
            })
            .unwrap();
        })
    };
    held.recv_timeout(FINISHES).unwrap();

    let (waiting_tx, waiting) = mpsc::channel();
    let waiting_tx = std::sync::Mutex::new(waiting_tx);
    let observer: gatehouse_core::db::Observer = Arc::new(move |notice: &Notice| {
        if matches!(notice, Notice::Waiting { .. }) {
            let _ = waiting_tx.lock().unwrap().send(());
        }
    });
    let right = {
        let url = url.clone();
        std::thread::spawn(move || {
            let options = OpenOptions { observer: Some(observer), ..OpenOptions::default() };
            let mut db = Database::open_with(&url, options).unwrap();
            gatehouse_core::auth::sign_in(&mut db, OWNER, PW, T0 + 3)
        })
    };
    until_a_writer_waits(admin.as_ref(), &waiting);
    release.send(()).unwrap();
    fifth.join().unwrap();
    let answer = right.join().unwrap();
    assert!(
        answer.as_ref().is_err_and(|e| e.to_string().contains("locked")),
        "the right password after the fifth failure is answered as locked: {answer:?}"
    );
    let (failures, locked_until) = accounts::attempts(db.connection(), OWNER).unwrap();
    assert_eq!(
        (failures, locked_until),
        (5, Some(T0 + 2 + gatehouse_core::auth::FIRST_LOCK_SECONDS)),
        "the lock stays"
    );
    let again = gatehouse_core::auth::sign_in(&mut db, OWNER, PW, T0 + 4);
    assert!(again.is_err_and(|e| e.to_string().contains("locked")), "and holds for the next attempt");
}

/// A lock taken late (left by h-review): a write that finds an organization it did not name takes
/// its lock when it looks it up (`access::organization`, `Connection::lock_org`). Its expiry sweep
/// ran at BEGIN, over what it named, so an expiry due in the organization found late was not
/// recorded before the write acted there: acme's chain had the write's event, and no
/// `access.expired` before it (that came at acme's next named write, after). Now the late lock
/// asks, in its round trip, whether the organization has an expiry due, and it is recorded first.
#[test]
fn a_lock_taken_late_records_that_organizations_expiries_before_the_write_acts() {
    let Some((url, o)) = two_orgs() else { return };
    let mut db = Database::open(&url).unwrap();
    add(&mut db, &o, "temp@acme.test", "member", Some(T0 + 10), T0);
    db.write_in(T0 + 20, &Scope::org("beta"), |tx| {
        let acme = gatehouse_core::usecases::access::organization(tx, "acme")?;
        assert!(tx.held().unwrap().contains(&acme.id), "acme's lock, taken late");
        chain::append(tx, &acme.id, "w", AuditAction::OrgUpdated, "found late", &serde_json::json!({}), T0 + 20)
    })
    .unwrap();
    let events = events(&mut db, &o, T0 + 21);
    let seq_of =
        |action: &str, target: &str| events.iter().find(|e| e.action == action && e.target == target).map(|e| e.seq);
    let written = seq_of("org.updated", "found late").expect("the write's event");
    let expired = seq_of("access.expired", "temp@acme.test");
    assert!(
        expired.is_some_and(|s| s < written),
        "acme's expiry recorded before the write acted: {expired:?} < {written}"
    );
    assert_eq!(expired_events(&mut db, &o, "acme", T0 + 22), 1);
}

/// Organization ids outside `[A-Za-z0-9_-]` (left by h-review; only a hand-made database has
/// one, restored or migrated): BEGIN's locks are written into its SQL, and such an id was left
/// out, lest it carry SQL. So a write naming it by id (an invitation's acceptance, a refused
/// token's event, the front doors' expiry sweep) held no lock of it until late, its retry after a
/// deadlock could not name it up front either, and the expiry sweep of the front doors, naming it
/// by id, held nothing and recorded nothing (`Some(0)` with an expiry waiting). Now any id or slug
/// is written as hex (`convert_from(decode(…))`), so it is locked at BEGIN and carries no SQL:
/// slugs that look like SQL name no organization, and BEGIN neither fails nor runs them.
#[test]
fn an_organization_id_with_any_characters_is_locked_at_begin_and_a_slug_carries_no_sql() {
    let Some((url, o)) = two_orgs() else { return };
    let mut db = Database::open(&url).unwrap();
    let Principal::Account { id: olivia, .. } = &o else { unreachable!() };
    let odd = "org.1 'é' $$ \\x";
    db.connection()
        .execute(
            "INSERT INTO organizations (id, name, slug, created_at) VALUES (?1, 'Odd', 'odd', ?2)",
            gatehouse_core::sql::params![odd, T0],
        )
        .unwrap();
    db.connection()
        .execute(
            "INSERT INTO memberships (id, organization_id, account_id, enabled, access_expires_at, joined_at)
             VALUES ('m-odd', ?1, ?2, 1, ?3, ?4)",
            gatehouse_core::sql::params![odd, olivia, T0 + 10, T0],
        )
        .unwrap();
    db.write_in(T0 + 1, &Scope::org_id(odd), |tx| {
        assert_eq!(tx.held().unwrap(), [odd.to_string()], "the odd organization's lock, taken at BEGIN");
        Ok(())
    })
    .unwrap();
    for slug in ["x'); SELECT pg_sleep(60); --", "odd' OR 'a' = 'a", "$$ OR TRUE $$", "é\\'", "\u{0}"] {
        db.write_in(T0 + 1, &Scope::org(slug).and_org_id(slug), |tx| {
            assert_eq!(tx.held().unwrap(), Vec::<String>::new(), "{slug:?} names no organization");
            Ok(())
        })
        .unwrap();
    }
    use gatehouse_core::usecases::audit;
    assert_eq!(audit::try_record_expiries(&mut db, T0 + 20).unwrap(), Some(1), "the front door's sweep records it");
    assert_eq!(chain::head(db.connection(), odd).unwrap().0, 1, "in the odd organization's chain");
}
