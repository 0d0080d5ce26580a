//! The member list reads the `roster` table (migration 0003), which triggers keep in step with
//! memberships, accounts, grants and invitations. These tests change the roster every way the use
//! cases can and check, after each change and at several moments, that (a) the roster table equals
//! what the base tables say and (b) every page, filter and sort of `members list` equals the
//! brute-force answer of the query the roster replaced.

use gatehouse_core::auth::sign_in;
use gatehouse_core::sql::named_params;
use gatehouse_core::store::{accounts, grants, memberships, organizations, roles as role_store};
use gatehouse_core::usecases::invitations::{self, Acceptor, Invitee};
use gatehouse_core::usecases::members::{
    self, MemberFilter, MemberQuery, MemberRow, MemberStatus, Selection, SortKey, StatusCounts,
};
use gatehouse_core::usecases::{demo, orgs, review, roles, workspaces};
use gatehouse_core::{Database, Principal};

mod common;

const T0: i64 = 1_800_000_000;
const DAY: i64 = 86_400;
const PW: &str = "correct horse battery";
const OWNER: &str = "owner@acme.test";

/// The member list as it was computed before the roster table: the oracle.
const ORACLE: &str = "
WITH roster AS (
  SELECT a.email AS email, a.email_norm AS email_norm, a.given_name AS given_name, a.family_name AS family_name,
         CASE WHEN a.sort_name = '' THEN a.email_norm ELSE a.sort_name END AS sort_name, m.id AS membership_id,
         NULL AS invite_role,
         CASE WHEN m.enabled = 0 THEN 'disabled'
              WHEN m.access_expires_at IS NOT NULL AND m.access_expires_at <= :now THEN 'expired'
              ELSE 'active' END AS status,
         a.email_confirmed AS confirmed, m.enabled AS enabled, a.created_at AS created_at,
         a.last_login_at AS last_login_at, m.access_expires_at AS access_expires_at
  FROM memberships m JOIN accounts a ON a.id = m.account_id
  WHERE m.organization_id = :org
  UNION ALL
  SELECT i.email, i.email_norm, '', '', i.email_norm, NULL, r.name,
         CASE WHEN i.status = 'rejected' THEN 'rejected' WHEN i.valid_until <= :now THEN 'invitation_expired' ELSE 'pending' END,
         0, 0, i.created_at, NULL, i.access_expires_at
  FROM invitations i JOIN roles r ON r.id = i.role_id
  WHERE i.organization_id = :org AND i.status IN ('open', 'rejected')
), everything AS (
  SELECT roster.*, CASE WHEN membership_id IS NULL THEN invite_role ELSE
    (SELECT group_concat(name, ',') FROM (SELECT r.name AS name FROM access_grants g JOIN roles r ON r.id = g.role_id
       WHERE g.membership_id = roster.membership_id AND g.workspace_id IS NULL
         AND (g.valid_from IS NULL OR g.valid_from <= :now) AND (g.expires_at IS NULL OR g.expires_at > :now)
       ORDER BY r.name COLLATE NOCASE) AS named) END AS roles
  FROM roster
)
SELECT * FROM everything";

/// Every row of the oracle at `now` as (email_norm, sort_name, role sort key, row), in no order.
fn oracle_rows(db: &Database, org_id: &str, now: i64) -> Vec<(String, String, String, MemberRow)> {
    let conn = db.connection();
    let mut st = conn.prepare(ORACLE).unwrap();
    st.query_map(named_params! {":org": org_id, ":now": now}, |r| {
        let given: String = r.get("given_name")?;
        let family: String = r.get("family_name")?;
        let roles: Option<String> = r.get("roles")?;
        let row = MemberRow {
            email: r.get("email")?,
            name: accounts::full_name(&given, &family),
            roles: roles.clone().map(|s| s.split(',').map(str::to_string).collect()).unwrap_or_default(),
            status: r.get("status")?,
            confirmed: r.get("confirmed")?,
            enabled: r.get("enabled")?,
            created_at: gatehouse_core::time::rfc3339(r.get("created_at")?),
            last_login_at: gatehouse_core::time::rfc3339_opt(r.get("last_login_at")?),
            access_expires_at: gatehouse_core::time::rfc3339_opt(r.get("access_expires_at")?),
        };
        Ok((r.get("email_norm")?, r.get("sort_name")?, roles.unwrap_or_default().to_ascii_lowercase(), row))
    })
    .unwrap()
    .collect::<gatehouse_core::sql::Result<Vec<_>>>()
    .unwrap()
}

fn parse_time(s: &Option<String>) -> Option<i64> {
    s.as_ref().map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp())
}

/// The oracle's answer to a query: the full ordered list of emails matching and the counts.
fn oracle(db: &Database, org_id: &str, q: &MemberQuery, now: i64) -> (Vec<MemberRow>, StatusCounts) {
    let search = q.filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_lowercase);
    let role = q.filter.role.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let status = q.filter.status.as_deref().filter(|s| *s != "all").map(str::to_string);
    let mut counts = StatusCounts::default();
    let mut rows = Vec::new();
    for (email_norm, sort_name, roles_key, row) in oracle_rows(db, org_id, now) {
        if let Some(s) = &search {
            if !email_norm.contains(s.as_str()) && !sort_name.contains(s.as_str()) {
                continue;
            }
        }
        if let Some(r) = &role {
            if !row.roles.iter().any(|x| x.eq_ignore_ascii_case(r)) {
                continue;
            }
        }
        match row.status {
            MemberStatus::Active => counts.active += 1,
            MemberStatus::Disabled => counts.disabled += 1,
            MemberStatus::Expired => counts.expired += 1,
            MemberStatus::Pending => counts.pending += 1,
            MemberStatus::Rejected => counts.rejected += 1,
            MemberStatus::InvitationExpired => counts.invitation_expired += 1,
        }
        counts.total += 1;
        if status.as_deref().is_some_and(|s| s != row.status.as_str()) {
            continue;
        }
        rows.push((email_norm, sort_name, roles_key, row));
    }
    type Key = (Option<String>, Option<i64>);
    let key = |(email_norm, sort_name, roles_key, row): &(String, String, String, MemberRow)| -> Key {
        match q.sort {
            SortKey::Email => (Some(email_norm.clone()), None),
            SortKey::Name => (Some(sort_name.clone()), None),
            SortKey::Role => (Some(roles_key.clone()), None),
            SortKey::Status => (Some(row.status.as_str().to_string()), None),
            SortKey::Created => (None, parse_time(&Some(row.created_at.clone()))),
            SortKey::LastLogin => (None, parse_time(&row.last_login_at)),
            SortKey::Expires => (None, parse_time(&row.access_expires_at)),
        }
    };
    // NULLs first ascending, as SQLite orders them; ties by email in the same direction.
    rows.sort_by(|a, b| {
        let o = key(a).cmp(&key(b)).then_with(|| a.0.cmp(&b.0));
        if q.descending {
            o.reverse()
        } else {
            o
        }
    });
    (rows.into_iter().map(|r| r.3).collect(), counts)
}

/// Every page of `members list` for `q` (per_page small) against the oracle: the same counts and
/// total, the same emails in the same order, and the same rows.
#[track_caller]
fn check_query(db: &mut Database, who: &Principal, slug: &str, org_id: &str, q: &MemberQuery, now: i64) {
    let (expected, counts) = oracle(db, org_id, q, now);
    let mut got: Vec<MemberRow> = Vec::new();
    let pages = (expected.len() as i64 + q.per_page - 1) / q.per_page + 1;
    for page in 1..=pages {
        let p = members::list(db, who, slug, &MemberQuery { page, ..q.clone() }, now).unwrap();
        assert_eq!(p.counts, counts, "counts for {q:?} at {now}");
        assert_eq!(p.total, expected.len() as i64, "total for {q:?} at {now}");
        got.extend(p.items.into_iter().map(|i| i.row));
    }
    let emails = |rows: &[MemberRow]| rows.iter().map(|r| r.email.to_lowercase()).collect::<Vec<_>>();
    assert_eq!(emails(&got), emails(&expected), "order for {q:?} at {now}");
    let mut a: Vec<String> = got.iter().map(|r| format!("{r:?}")).collect();
    let mut b: Vec<String> = expected.iter().map(|r| format!("{r:?}")).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "rows for {q:?} at {now}");
}

/// The roster table and its counters equal what the base tables say (the migration's backfill).
#[track_caller]
fn check_in_step(db: &Database) {
    let conn = db.connection();
    let dump = |sql: &str| -> Vec<String> {
        let mut st = conn.prepare(sql).unwrap();
        st.query_map([], |r| {
            Ok((0..r.column_count()).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect::<Vec<_>>().join("|"))
        })
        .unwrap()
        .collect::<gatehouse_core::sql::Result<Vec<_>>>()
        .unwrap()
    };
    const COLS: &str = "org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key, roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at";
    let stored = dump(&format!("SELECT {COLS} FROM roster ORDER BY entry_id"));
    let roles = |m: &str| {
        format!("(SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g JOIN roles r ON r.id = g.role_id WHERE g.membership_id = {m} AND g.workspace_id IS NULL)")
    };
    let expected = dump(&format!(
        "SELECT {COLS} FROM (
           SELECT o.org, m.id AS entry_id, 0 AS kind, a.email, a.email_norm, a.given_name, a.family_name,
                  CASE WHEN a.sort_name = '' THEN a.email_norm ELSE a.sort_name END AS sort_name, {r} AS roles,
                  lower(coalesce({r}, '')) AS roles_key,
                  CASE WHEN EXISTS (SELECT 1 FROM access_grants g WHERE g.membership_id = m.id AND g.workspace_id IS NULL AND (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL)) THEN 1 ELSE 0 END AS roles_timed,
                  CASE WHEN m.enabled <> 0 THEN 0 ELSE 1 END AS cls, m.access_expires_at AS until, m.access_expires_at AS expires,
                  a.email_confirmed AS confirmed, m.enabled, a.created_at, a.last_login_at
           FROM memberships m JOIN accounts a ON a.id = m.account_id JOIN roster_orgs o ON o.organization_id = m.organization_id
           UNION ALL
           SELECT o.org, i.id, 1, i.email, i.email_norm, '', '', i.email_norm, r.name, lower(r.name), 0,
                  CASE WHEN i.status = 'open' THEN 2 ELSE 3 END, CASE WHEN i.status = 'open' THEN i.valid_until END,
                  i.access_expires_at, 0, 0, i.created_at, NULL
           FROM invitations i JOIN roles r ON r.id = i.role_id JOIN roster_orgs o ON o.organization_id = i.organization_id
           WHERE i.status IN ('open', 'rejected')) AS recomputed ORDER BY entry_id",
        r = roles("m.id")
    ));
    assert_eq!(stored, expected, "roster rows");
    let counters = dump("SELECT org, roles_key, cls, n FROM roster_counts WHERE n <> 0 ORDER BY org, roles_key, cls");
    let recount = dump(
        "SELECT org, roles_key, cls, count(*) FROM roster GROUP BY org, roles_key, cls ORDER BY org, roles_key, cls",
    );
    assert_eq!(counters, recount, "roster counters");
    let orgs = dump("SELECT organization_id FROM roster_orgs ORDER BY organization_id");
    let base = dump("SELECT id FROM organizations ORDER BY id");
    assert_eq!(orgs, base, "roster organizations");
}

fn queries() -> Vec<MemberQuery> {
    let mut out = Vec::new();
    let filters = [
        MemberFilter::default(),
        MemberFilter { search: Some("a".into()), ..Default::default() },
        MemberFilter { search: Some(" Ab".into()), status: Some("active".into()), role: Some("member".into()) },
        MemberFilter { role: Some("ADMIN".into()), ..Default::default() },
        MemberFilter { role: Some("billing".into()), status: Some("pending".into()), ..Default::default() },
        MemberFilter { status: Some("expired".into()), ..Default::default() },
        MemberFilter { status: Some("invitation_expired".into()), search: Some("e".into()), ..Default::default() },
        MemberFilter { status: Some("disabled".into()), ..Default::default() },
        MemberFilter { status: Some("rejected".into()), ..Default::default() },
        MemberFilter { status: Some("all".into()), search: Some("zzz-nothing".into()), ..Default::default() },
        MemberFilter { role: Some("admin,member".into()), ..Default::default() },
    ];
    // Every sort key there is, so that a new one is covered without touching this test.
    let sorts = SortKey::ALL;
    for (i, filter) in filters.iter().enumerate() {
        for (j, sort) in sorts.iter().enumerate() {
            for descending in [false, true] {
                // Vary the page size so that pages start everywhere, including across status segments.
                let per_page = [7, 13, 50][(i + j) % 3];
                out.push(MemberQuery {
                    filter: filter.clone(),
                    sort: *sort,
                    descending,
                    page: 1,
                    per_page,
                    count_limit: None,
                    after: None,
                });
            }
        }
    }
    out
}

fn check_all(db: &mut Database, who: &Principal, slug: &str, moments: &[i64]) {
    check_in_step(db);
    let org_id = organizations::by_slug(db.connection(), slug).unwrap().unwrap().id;
    for &now in moments {
        for q in queries() {
            check_query(db, who, slug, &org_id, &q, now);
        }
    }
}

fn email(i: i64) -> String {
    // demo's email for member i (names from its lists).
    const GIVEN: [&str; 24] = [
        "ada", "bruno", "chloe", "dmitri", "emma", "farid", "grace", "hiro", "ines", "jonas", "kemi", "lars", "maya",
        "nils", "olga", "pedro", "quinn", "rosa", "sven", "tara", "umar", "vera", "wei", "zoe",
    ];
    const FAMILY: [&str; 24] = [
        "abbott", "becker", "castro", "dubois", "eriksen", "fischer", "garcia", "hansen", "ito", "jensen", "kowalski",
        "lopez", "muller", "novak", "okafor", "petrov", "quinto", "rossi", "silva", "tanaka", "ulrich", "varga",
        "wong", "young",
    ];
    format!("{}.{}.{i}@demo.example", GIVEN[(i % 24) as usize], FAMILY[((i / 24) % 24) as usize])
}

#[test]
fn roster_stays_in_step_with_every_change() {
    let mut db = common::fresh_db();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    demo::demo(&mut db, &o, "demo", 400, T0).unwrap();
    let moments = [T0, T0 + 3 * DAY, T0 + 200 * DAY];
    check_all(&mut db, &o, "demo", &moments);

    let now = T0 + 60;
    // Role changes, expiry set and cleared, disable and enable, remove.
    members::set_role(&mut db, &o, "demo", &email(2), "admin", now).unwrap();
    members::set_role(&mut db, &o, "demo", &email(3), "billing", now).unwrap();
    members::set_expiry(&mut db, &o, "demo", &email(4), Some(now + DAY), now).unwrap();
    members::set_expiry(&mut db, &o, "demo", &email(13), None, now).unwrap();
    members::set_enabled(&mut db, &o, "demo", &Selection::Emails(vec![email(5), email(6)]), false, now).unwrap();
    members::set_enabled(&mut db, &o, "demo", &Selection::Emails(vec![email(81)]), true, now).unwrap();
    members::set_enabled(
        &mut db,
        &o,
        "demo",
        &Selection::AllMatching(MemberFilter {
            search: Some("zoe".into()),
            role: Some("member".into()),
            ..Default::default()
        }),
        false,
        now,
    )
    .unwrap();
    members::remove(&mut db, &o, "demo", &email(7), now).unwrap();
    // Invitations: revoke, resend (a rejected one comes back open), invite, reject, accept.
    invitations::revoke(&mut db, &o, "demo", &email(90), now).unwrap();
    invitations::resend(&mut db, &o, "demo", &email(95), now).unwrap();
    invitations::resend(&mut db, &o, "demo", &email(98), now).unwrap();
    let mk = |e: &str, role: &str, exp: Option<i64>| Invitee {
        email: e.into(),
        role: role.into(),
        access_expires_at: exp,
        workspace: None,
    };
    let issued = invitations::create(
        &mut db,
        &o,
        "demo",
        &[
            mk("new.one@x.io", "member", None),
            mk("New.Two@x.io", "admin", Some(now + 2 * DAY)),
            mk("new.three@x.io", "billing", None),
            mk(&email(99), "member", None),
        ],
        None,
        now,
    )
    .unwrap();
    let token = |i: usize| issued.invitations[i].token.clone();
    invitations::reject(&mut db, &token(2), now).unwrap();
    invitations::accept(&mut db, &token(0), Acceptor::NewAccount { full_name: "Nora One", password: PW }, now).unwrap();
    invitations::accept(&mut db, &token(1), Acceptor::NewAccount { full_name: "Ned Two", password: PW }, now).unwrap();
    // A rejected invitation and a membership for the same email, side by side.
    let again = invitations::create(&mut db, &o, "demo", &[mk("new.three@x.io", "member", None)], None, now).unwrap();
    invitations::accept(
        &mut db,
        &again.invitations[0].token,
        Acceptor::NewAccount { full_name: "Nina Three", password: PW },
        now,
    )
    .unwrap();
    // Signing in changes last_login_at; the owner's own memberships follow.
    sign_in(&mut db, "new.one@x.io", PW, now + 30).unwrap();
    // Workspace grants do not change the roster's roles; a custom role does.
    workspaces::grant(&mut db, &o, "demo", "Production", "new.one@x.io", "admin", None, now).unwrap();
    roles::create(&mut db, &o, "demo", "Auditor", &["org.view".to_string()], "", now).unwrap();
    members::set_role(&mut db, &o, "demo", &email(8), "Auditor", now).unwrap();
    // The owner of acme joins demo through an invitation too (an account in two organizations).
    let n = invitations::create(&mut db, &o, "demo", &[mk("x@acme.test", "member", None)], None, now).unwrap();
    let _ = n;
    check_all(&mut db, &o, "demo", &[now, T0 + 3 * DAY, T0 + 200 * DAY]);

    // Roles that start or end (written through the store): the list computes them at `now`.
    let conn = db.connection();
    let org_id = organizations::by_slug(conn, "demo").unwrap().unwrap().id;
    let admin = role_store::by_name(conn, &org_id, "admin").unwrap().unwrap().id;
    let billing = role_store::by_name(conn, &org_id, "billing").unwrap().unwrap().id;
    for (i, role, from, until) in [
        (10, &admin, None, Some(T0 + 2 * DAY)),
        (11, &billing, Some(T0 + 2 * DAY), None),
        (12, &admin, Some(T0 - DAY), Some(T0 + 100 * DAY)),
    ] {
        let account = accounts::by_email(conn, &email(i)).unwrap().unwrap();
        let m = memberships::of(conn, &org_id, &account.id).unwrap().unwrap();
        let g = grants::NewGrant {
            organization_id: &org_id,
            subject: grants::Subject::Membership(&m.id),
            role_id: role,
            workspace_id: None,
            valid_from: from,
            expires_at: until,
            granted_by: None,
        };
        grants::insert(conn, &g, now).unwrap();
    }
    let roles_of = |db: &mut Database, i: i64, at: i64| {
        let q =
            MemberQuery { filter: MemberFilter { search: Some(email(i)), ..Default::default() }, ..Default::default() };
        members::list(db, &o, "demo", &q, at).unwrap().items.remove(0).row.roles
    };
    assert_eq!(roles_of(&mut db, 10, now), ["admin", "member"]);
    assert_eq!(roles_of(&mut db, 10, T0 + 3 * DAY), ["member"]);
    assert_eq!(roles_of(&mut db, 11, now), ["member"]);
    assert_eq!(roles_of(&mut db, 11, T0 + 3 * DAY), ["billing", "member"]);
    check_all(&mut db, &o, "demo", &[now, T0 + 3 * DAY, T0 + 200 * DAY]);

    // Leaving; the review and the export read the roster too.
    let nina = sign_in(&mut db, "new.three@x.io", PW, now).unwrap();
    members::leave(&mut db, &nina, "demo", now).unwrap();
    check_all(&mut db, &o, "demo", &[now]);
    let export = review::export_members(&mut db, &o, "demo", now).unwrap();
    let (expected, _) = oracle(&db, &org_id, &MemberQuery { per_page: 10_000, ..Default::default() }, now);
    assert_eq!(
        export.iter().map(|r| r.email.to_lowercase()).collect::<Vec<_>>(),
        expected.iter().map(|r| r.email.to_lowercase()).collect::<Vec<_>>()
    );
    assert!(!review::review(&mut db, &o, "demo", None, now).unwrap().is_empty());
    // A workspace-only member (no organization role), and a role deleted while a rejected
    // invitation named it (the invitation's row leaves the roster with its role).
    let ws = Invitee { workspace: Some("Production".into()), ..mk("ws.only@x.io", "member", None) };
    let ws = invitations::create(&mut db, &o, "demo", &[ws], None, now).unwrap();
    invitations::accept(
        &mut db,
        &ws.invitations[0].token,
        Acceptor::NewAccount { full_name: "Wes Only", password: PW },
        now,
    )
    .unwrap();
    roles::create(&mut db, &o, "demo", "Temp", &["org.view".to_string()], "", now).unwrap();
    let temp = invitations::create(&mut db, &o, "demo", &[mk("temp@x.io", "Temp", None)], None, now).unwrap();
    invitations::reject(&mut db, &temp.invitations[0].token, now).unwrap();
    check_all(&mut db, &o, "demo", &[now]);
    roles::delete(&mut db, &o, "demo", "Temp", now).unwrap();
    check_all(&mut db, &o, "demo", &[now]);
    // The acme organization is untouched by all of this and still right.
    check_all(&mut db, &o, "acme", &[now]);
}

#[test]
fn migration_backfills_the_roster_of_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let mut db = Database::open(&path).unwrap();
        orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
        let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
        demo::demo(&mut db, &o, "demo", 150, T0).unwrap();
        members::set_role(&mut db, &o, "demo", &email(2), "admin", T0).unwrap();
        members::set_enabled(&mut db, &o, "demo", &Selection::Emails(vec![email(5)]), false, T0).unwrap();
        // Back to what schema version 2 had: no roster, no triggers; then 0003 and 0004 (which
        // rewrote 0003's triggers) alone run again (the migrations after them changed other tables
        // and must not run twice).
        let conn = db.sqlite_connection().unwrap();
        let triggers: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'roster%'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for t in triggers {
            conn.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
        }
        conn.execute_batch(
            "DROP TABLE roster; DROP TABLE roster_counts; DROP TABLE roster_orgs;
             CREATE INDEX accounts_sort_name ON accounts(sort_name, email_norm);
             CREATE INDEX accounts_created ON accounts(created_at, email_norm);",
        )
        .unwrap();
        for (i, expected) in [(2, "0003_roster"), (3, "0004_roster_portable")] {
            let (name, sql) = gatehouse_core::db::MIGRATIONS[i];
            assert_eq!(name, expected);
            conn.execute_batch(sql).unwrap();
        }
    }
    let mut db = Database::open(&path).unwrap();
    assert_eq!(db.schema_version().unwrap(), gatehouse_core::db::MIGRATIONS.len() as i64);
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    check_all(&mut db, &o, "demo", &[T0, T0 + 200 * DAY]);
}

/// The name sort key of a row without a name (an invitation) is its email, so invitations sort
/// among the names instead of all first (page 1 of 100k nameless invitations was a walk past them).
#[test]
fn rows_without_a_name_sort_by_their_email_among_the_names() {
    let mut db = Database::open_in_memory().unwrap();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    let mk = |e: &str| Invitee { email: e.into(), role: "member".into(), access_expires_at: None, workspace: None };
    let issued =
        invitations::create(&mut db, &o, "acme", &[mk("zed@x.io"), mk("aaa@x.io"), mk("zzz@x.io")], None, T0).unwrap();
    invitations::accept(
        &mut db,
        &issued.invitations[0].token,
        Acceptor::NewAccount { full_name: "Zed Zimmer", password: PW },
        T0,
    )
    .unwrap();
    let q = MemberQuery { sort: SortKey::Name, ..Default::default() };
    let page = members::list(&mut db, &o, "acme", &q, T0).unwrap();
    let emails: Vec<&str> = page.items.iter().map(|r| r.email.as_str()).collect();
    // "aaa@x.io" < "olivia owner" < "zed zimmer" < "zzz@x.io"
    assert_eq!(emails, ["aaa@x.io", OWNER, "zed@x.io", "zzz@x.io"]);
}

#[test]
fn capped_counts_are_exact_or_a_marked_lower_bound_and_pages_stay_the_same() {
    // Both backends: on PostgreSQL 15 the capped count's subquery needs a name (it failed there).
    let mut db = common::fresh_db();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    demo::demo(&mut db, &o, "demo", 1_500, T0).unwrap();
    let org_id = organizations::by_slug(db.connection(), "demo").unwrap().unwrap().id;
    let now = T0 + 3 * DAY;
    let limit = 40;
    let filter = |search: &str, status: Option<&str>, role: Option<&str>| MemberFilter {
        search: Some(search.into()),
        status: status.map(str::to_string),
        role: role.map(str::to_string),
    };
    // Members who hold two roles that neither start nor end ("billing,member"): a role's capped
    // count finds them past its seek on the rows whose one role is the filter.
    {
        let conn = db.connection();
        let billing = role_store::by_name(conn, &org_id, "billing").unwrap().unwrap().id;
        for i in (3..1_500).step_by(7).filter(|i| i % 20 > 1) {
            let Some(account) = accounts::by_email(conn, &email(i)).unwrap() else { continue };
            let Some(m) = memberships::of(conn, &org_id, &account.id).unwrap() else { continue };
            let g = grants::NewGrant {
                organization_id: &org_id,
                subject: grants::Subject::Membership(&m.id),
                role_id: &billing,
                workspace_id: None,
                valid_from: None,
                expires_at: None,
                granted_by: None,
            };
            grants::insert(conn, &g, T0).unwrap();
        }
    }
    let filters = [
        filter("a", Some("active"), Some("member")),
        filter("a", Some("active"), Some("billing")),
        filter("a", None, Some("member")),
        filter("e", None, Some("billing")),
        filter("o", Some("disabled"), Some("member")),
        filter("a", Some("rejected"), Some("member")),
        filter("e", Some("expired"), Some("admin")),
        filter("a", None, None),
        filter("abbott", Some("disabled"), None),
        filter("varga", Some("rejected"), None),
        filter("zzz-nobody", None, None),
    ];
    let mut estimates = 0;
    for f in filters {
        for sort in [SortKey::Name, SortKey::Email, SortKey::Status] {
            let exact = MemberQuery { filter: f.clone(), sort, per_page: 25, ..Default::default() };
            let (expected, counts) = oracle(&db, &org_id, &exact, now);
            let q = MemberQuery { count_limit: Some(limit), ..exact.clone() };
            for page in 1..=3 {
                let p = members::list(&mut db, &o, "demo", &MemberQuery { page, ..q.clone() }, now).unwrap();
                let estimated = p.estimated.clone().unwrap_or_default();
                estimates += estimated.len();
                let want: Vec<&str> =
                    expected.iter().skip((page as usize - 1) * 25).take(25).map(|r| r.email.as_str()).collect();
                let got: Vec<&str> = p.items.iter().map(|r| r.email.as_str()).collect();
                assert_eq!(got, want, "page {page} of {q:?}");
                let pairs = [
                    ("active", p.counts.active, counts.active),
                    ("disabled", p.counts.disabled, counts.disabled),
                    ("expired", p.counts.expired, counts.expired),
                    ("pending", p.counts.pending, counts.pending),
                    ("rejected", p.counts.rejected, counts.rejected),
                    ("invitation_expired", p.counts.invitation_expired, counts.invitation_expired),
                ];
                for (name, shown, real) in pairs {
                    if estimated.iter().any(|e| e == name) {
                        assert!(sort != SortKey::Status, "the status sort counts exactly");
                        assert!(shown == limit && real > limit, "{name}: {shown} of {real} for {q:?}");
                    } else {
                        assert_eq!(shown, real, "{name} for {q:?}");
                    }
                }
                assert_eq!(estimated.iter().any(|e| e == "total"), !estimated.is_empty());
                let status_bound = match &f.status {
                    Some(s) => estimated.contains(s),
                    None => !estimated.is_empty(),
                };
                if !status_bound {
                    assert_eq!(p.total, expected.len() as i64, "total of {q:?}");
                } else {
                    assert_eq!(p.total, if f.status.is_some() { limit } else { p.counts.total });
                }
            }
        }
    }
    assert!(estimates > 0, "no count reached the limit");
}

/// Every page of `q` asked by cursor (`MemberPage::next` as the next `MemberQuery::after`) is the
/// page of the same number asked by offset: same rows in the same order, same counts and total.
/// Returns how many pages were asked by cursor.
#[track_caller]
fn check_cursor_pages(db: &mut Database, who: &Principal, q: &MemberQuery, now: i64) -> i64 {
    let emails = |p: &members::MemberPage| p.items.iter().map(|r| r.email.clone()).collect::<Vec<_>>();
    let (mut page, mut after, mut by_cursor) = (1, None, 0);
    loop {
        let numbered = members::list(db, who, "demo", &MemberQuery { page, after: None, ..q.clone() }, now).unwrap();
        let sought =
            members::list(db, who, "demo", &MemberQuery { page, after: after.clone(), ..q.clone() }, now).unwrap();
        assert_eq!(emails(&sought), emails(&numbered), "page {page} of {q:?} at {now}");
        assert_eq!((sought.total, &sought.counts), (numbered.total, &numbered.counts), "counts of {q:?}");
        let seeks = q.sort != SortKey::Status && q.sort != SortKey::Role;
        if seeks && numbered.items.len() as i64 == q.per_page {
            assert!(sought.next.is_some(), "a full page of {q:?} says where the next starts");
        }
        by_cursor += after.is_some() as i64;
        match sought.next {
            Some(next) => (page, after) = (page + 1, Some(next)),
            None => return by_cursor,
        }
    }
}

#[test]
fn pages_asked_by_cursor_are_the_pages_asked_by_number() {
    let (mut db, o) = demo_world(400);
    let mut by_cursor = 0;
    for now in [T0, T0 + 200 * DAY] {
        for q in queries() {
            by_cursor += check_cursor_pages(&mut db, &o, &q, now);
        }
    }
    assert!(by_cursor > 1_000, "only {by_cursor} pages were asked by cursor");
    // Positions with NULL in them (no last login, no expiry), both directions, and a row changed
    // between two pages: the next page still starts right after where the last one ended.
    for sort in [SortKey::LastLogin, SortKey::Expires] {
        for descending in [false, true] {
            let q = MemberQuery { sort, descending, per_page: 9, ..Default::default() };
            check_cursor_pages(&mut db, &o, &q, T0);
        }
    }
    let q = MemberQuery { sort: SortKey::Name, per_page: 10, ..Default::default() };
    let first = members::list(&mut db, &o, "demo", &q, T0).unwrap();
    let second = members::list(&mut db, &o, "demo", &MemberQuery { page: 2, ..q.clone() }, T0).unwrap();
    members::remove(&mut db, &o, "demo", &first.items[3].email, T0).unwrap();
    let after = MemberQuery { page: 2, after: first.next.clone(), ..q.clone() };
    let moved = members::list(&mut db, &o, "demo", &after, T0).unwrap();
    assert_eq!(
        moved.items.iter().map(|r| &r.email).collect::<Vec<_>>(),
        second.items.iter().map(|r| &r.email).collect::<Vec<_>>()
    );
    // A cursor of another sort or direction, or not one at all, names the field.
    for (sort, descending, text) in [
        (SortKey::Email, false, first.next.clone().unwrap()),
        (SortKey::Name, true, first.next.clone().unwrap()),
        (SortKey::Name, false, "zz".to_string()),
        (SortKey::Name, false, hex::encode("{\"sort\":\"name\",\"desc\":false,\"key\":[1]}")),
    ] {
        let bad = MemberQuery { sort, descending, after: Some(text), ..q.clone() };
        let e = members::list(&mut db, &o, "demo", &bad, T0).unwrap_err();
        assert!(matches!(&e, gatehouse_core::Error::InvalidInput { field, .. } if field == "after"), "{e:?}");
    }
}

fn demo_world(n: i64) -> (Database, Principal) {
    let mut db = Database::open_in_memory().unwrap();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    demo::demo(&mut db, &o, "demo", n, T0).unwrap();
    (db, o)
}

static STEPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn tick(_: *mut std::ffi::c_void) -> std::ffi::c_int {
    STEPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    0
}

/// SQLite virtual-machine instructions (in tens) of one `members list`.
fn instructions(db: &mut Database, who: &Principal, q: &MemberQuery) -> u64 {
    STEPS.store(0, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: the handle is valid while `db` lives; the handler is removed before it is dropped,
    // and `tick` touches only a static counter.
    unsafe {
        rusqlite::ffi::sqlite3_progress_handler(
            db.sqlite_connection().unwrap().handle(),
            10,
            Some(tick),
            std::ptr::null_mut(),
        )
    };
    members::list(db, who, "demo", q, T0).unwrap();
    unsafe {
        rusqlite::ffi::sqlite3_progress_handler(db.sqlite_connection().unwrap().handle(), 0, None, std::ptr::null_mut())
    };
    STEPS.load(std::sync::atomic::Ordering::Relaxed)
}

/// The window's query (search "a", active, member, by name, capped counts): a deep page asked by
/// cursor costs what page 1 costs, where asked by number it walks every row before it.
#[test]
fn a_deep_page_by_cursor_costs_what_page_one_costs() {
    let (mut db, o) = demo_world(6_000);
    let q = MemberQuery {
        filter: MemberFilter { search: Some("a".into()), status: Some("active".into()), role: Some("member".into()) },
        sort: SortKey::Name,
        per_page: 20,
        count_limit: Some(100),
        ..Default::default()
    };
    let mut after = None;
    for _ in 1..150 {
        after = members::list(&mut db, &o, "demo", &MemberQuery { after, ..q.clone() }, T0).unwrap().next;
    }
    let first = instructions(&mut db, &o, &q);
    let deep = instructions(&mut db, &o, &MemberQuery { page: 150, after, ..q.clone() });
    let numbered = instructions(&mut db, &o, &MemberQuery { page: 150, ..q.clone() });
    assert!(deep * 2 <= first * 3, "page 150 by cursor: {deep}, page 1: {first} (tens of instructions)");
    assert!(numbered > first * 3, "page 150 by number: {numbered}, page 1: {first}: the test measures nothing");
}

fn schema(db: &Database) -> Vec<(String, String, String)> {
    let mut st = db
        .sqlite_connection()
        .unwrap()
        .prepare(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name",
        )
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

/// The connection's settings that `demo` changes for its load (`Database::bulk_load_settings`).
fn settings(db: &Database) -> Vec<i64> {
    let conn = db.sqlite_connection().unwrap();
    ["cache_size", "temp_store", "threads"]
        .iter()
        .map(|p| conn.pragma_query_value(None, p, |r| r.get(0)).unwrap())
        .collect()
}

/// `demo` drops the roster's per-row insert triggers (and, when it is most of the database, the
/// secondary indexes) for its load and makes them again: the schema ends exactly as it began, both
/// ways, the roster equals its recomputation, and a load that fails leaves everything as it was,
/// the connection's settings included.
#[test]
fn demo_leaves_the_schema_as_it_found_it_and_a_failed_load_changes_nothing() {
    let mut db = Database::open_in_memory().unwrap();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    let before = schema(&db);
    let configured = settings(&db);
    assert!(before.iter().any(|(_, name, _)| name == "roster_by_name"));
    // Most of the database: indexes suspended and built afterwards.
    demo::demo(&mut db, &o, "demo", 300, T0).unwrap();
    assert_eq!(schema(&db), before);
    assert_eq!(settings(&db), configured);
    check_in_step(&db);
    // A small load into a larger database: the indexes are kept row by row.
    demo::demo(&mut db, &o, "small", 20, T0).unwrap();
    assert_eq!(schema(&db), before);
    check_in_step(&db);
    // A load refused half-way (member 261's email is taken) rolls the suspension back with it.
    let taken = email(261).replace("@demo.", "@clash.");
    db.connection()
        .execute(
            "INSERT INTO accounts (id, email, email_norm, given_name, family_name, sort_name, created_at)
             VALUES ('taken', ?1, ?1, '', '', '', 0)",
            [&taken],
        )
        .unwrap();
    let rows: i64 = db.connection().query_row("SELECT count(*) FROM roster", [], |r| r.get(0)).unwrap();
    assert!(demo::demo(&mut db, &o, "clash", 2_000, T0).is_err());
    assert_eq!(schema(&db), before);
    assert_eq!(settings(&db), configured);
    let after: i64 = db.connection().query_row("SELECT count(*) FROM roster", [], |r| r.get(0)).unwrap();
    assert_eq!(after, rows);
    assert!(organizations::by_slug(db.connection(), "clash").unwrap().is_none());
    let r: gatehouse_core::Result<()> = db.write(T0, |tx| {
        let _suspended = gatehouse_core::store::roster::suspend(tx, &gatehouse_core::store::roster::INDEXES)?;
        Err(gatehouse_core::Error::Internal("killed".into()))
    });
    assert!(r.is_err());
    assert_eq!(schema(&db), before);
    check_all(&mut db, &o, "demo", &[T0]);
}

/// Pages the connection looked up in its page cache (hits and misses) since the last call: every
/// step down a B-tree is one, so it counts index upkeep as a clock would, but deterministically.
fn page_lookups(db: &Database) -> i64 {
    let mut total = 0;
    for op in [rusqlite::ffi::SQLITE_DBSTATUS_CACHE_HIT, rusqlite::ffi::SQLITE_DBSTATUS_CACHE_MISS] {
        let (mut current, mut high) = (0, 0);
        // SAFETY: a valid handle and two out-parameters; 1 resets the counter.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_db_status(db.sqlite_connection().unwrap().handle(), op, &mut current, &mut high, 1)
        };
        assert_eq!(rc, 0);
        total += current as i64;
    }
    total
}

/// `demo` writes each member's rows without keeping the roster row by row: no roster trigger runs
/// its WHEN subquery per membership, grant and invitation, no counter is bumped per roster row, and
/// when the load is most of the database its secondary indexes are built once from the loaded rows
/// instead of descended into for every row. Counted in page lookups per member.
#[test]
fn demo_keeps_no_index_or_trigger_row_by_row() {
    let mut db = Database::open_in_memory().unwrap();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    let n = 3_000;
    page_lookups(&db);
    demo::demo(&mut db, &o, "demo", n, T0).unwrap();
    let per_member = page_lookups(&db) / n;
    // 64 when every row went into every index and past every trigger; 27 when this was written.
    assert!(per_member <= 40, "demo: {per_member} page lookups per member");
    check_in_step(&db);
}

/// A member's account and membership as `demo_writes_every_member_as_its_number_says` reads them,
/// in its SELECT's column order.
struct DemoMember {
    email: String,
    norm: String,
    given: String,
    family: String,
    sort_name: String,
    no_password: bool,
    confirmed: i64,
    created: i64,
    last_login: Option<i64>,
    enabled: i64,
    expires: Option<i64>,
    recorded: i64,
    joined: i64,
}

impl DemoMember {
    fn from_row(r: &gatehouse_core::sql::Row) -> gatehouse_core::sql::Result<Self> {
        Ok(Self {
            email: r.get(0)?,
            norm: r.get(1)?,
            given: r.get(2)?,
            family: r.get(3)?,
            sort_name: r.get(4)?,
            no_password: r.get(5)?,
            confirmed: r.get(6)?,
            created: r.get(7)?,
            last_login: r.get(8)?,
            enabled: r.get(9)?,
            expires: r.get(10)?,
            recorded: r.get(11)?,
            joined: r.get(12)?,
        })
    }
}

/// An invitation as `demo_writes_every_member_as_its_number_says` reads it, in its SELECT's column
/// order.
struct DemoInvitation {
    email: String,
    norm: String,
    role: String,
    access: Option<i64>,
    valid_until: i64,
    token: Vec<u8>,
    status: String,
    by: Option<String>,
    created: i64,
    sent: i64,
    times: i64,
    workspace: Option<String>,
}

impl DemoInvitation {
    fn from_row(r: &gatehouse_core::sql::Row) -> gatehouse_core::sql::Result<Self> {
        Ok(Self {
            email: r.get(0)?,
            norm: r.get(1)?,
            role: r.get(2)?,
            access: r.get(3)?,
            valid_until: r.get(4)?,
            token: r.get(5)?,
            status: r.get(6)?,
            by: r.get(7)?,
            created: r.get(8)?,
            sent: r.get(9)?,
            times: r.get(10)?,
            workspace: r.get(11)?,
        })
    }
}

/// What `demo` writes, member by member, as its number `i` says (the email carries it): the name,
/// the role (every 20th an admin, the next a billing member), the status bucket (`i % 100`: 80
/// active or expiring later, 5 disabled, 5 expired, 5 pending, 3 rejected, 2 invitations expired),
/// every 25th member's workspace grant, and where a value is random, the range it is drawn from;
/// the counts, the rows reported, the service accounts, roles and workspaces, the audit events, and
/// a roster equal to its recomputation. On both engines: however `demo` writes, it writes this.
#[test]
fn demo_writes_every_member_as_its_number_says() {
    const GIVEN: [&str; 24] = [
        "Ada", "Bruno", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars", "Maya",
        "Nils", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Zoë",
    ];
    const FAMILY: [&str; 24] = [
        "Abbott", "Becker", "Castro", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ito", "Jensen", "Kowalski",
        "Lopez", "Müller", "Novak", "Okafor", "Petrov", "Quinto", "Rossi", "Silva", "Tanaka", "Ulrich", "Varga",
        "Wong", "Young",
    ];
    const WORKSPACES: [&str; 3] = ["Production", "Staging", "Analytics"];
    let mut db = common::fresh_db();
    orgs::init(&mut db, "Acme", OWNER, "Olivia Owner", PW, T0).unwrap();
    let o = sign_in(&mut db, OWNER, PW, T0).unwrap();
    let n: i64 = 1_300;
    let now = T0 + 500;
    let report = demo::demo(&mut db, &o, "demo", n, now).unwrap();
    assert_eq!((report.members, report.organization.slug.as_str()), (n, "demo"));
    let org_id = organizations::by_slug(db.connection(), "demo").unwrap().unwrap().id;
    let conn = db.connection();
    let number = |email: &str| -> i64 {
        let (local, domain) = email.split_once('@').unwrap();
        assert_eq!(domain, "demo.example");
        local.rsplit('.').next().unwrap().parse().unwrap()
    };
    let role_of = |i: i64| match i % 20 {
        0 => "admin",
        1 => "billing",
        _ => "member",
    };
    let within = |what: &str, v: i64, lo: i64, hi: i64| assert!((lo..hi).contains(&v), "{what}: {v} not in {lo}..{hi}");
    let year = 365 * DAY;

    // Members: account, membership and grants.
    let members: Vec<DemoMember> = conn
        .prepare(
            "SELECT a.email, a.email_norm, a.given_name, a.family_name, a.sort_name, a.password_hash IS NULL,
                    a.email_confirmed, a.created_at, a.last_login_at, m.enabled, m.access_expires_at,
                    m.expiry_recorded, m.joined_at
             FROM memberships m JOIN accounts a ON a.id = m.account_id
             WHERE m.organization_id = ?1 AND a.email_norm <> ?2",
        )
        .unwrap()
        .query_map([&org_id, &OWNER.to_string()], DemoMember::from_row)
        .unwrap()
        .collect::<gatehouse_core::sql::Result<_>>()
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for DemoMember {
        email: em,
        norm,
        given,
        family,
        sort_name,
        no_password,
        confirmed,
        created,
        last_login,
        enabled,
        expires,
        recorded,
        joined,
    } in &members
    {
        let i = number(em);
        assert!(seen.insert(i), "member {i} twice");
        assert!(i % 100 < 90, "member {i} should be an invitation");
        assert_eq!(*em, email(i));
        assert_eq!(norm, em);
        assert_eq!((given.as_str(), family.as_str()), (GIVEN[(i % 24) as usize], FAMILY[((i / 24) % 24) as usize]));
        assert_eq!(*sort_name, format!("{given} {family}").to_lowercase());
        assert!(*no_password, "demo accounts cannot sign in");
        assert_eq!(*confirmed, (i % 7 != 0) as i64, "{i} confirmed");
        within("created", *created, now - 60 - year + 1, now - 59);
        assert_eq!(joined, created);
        match last_login {
            Some(t) => {
                assert!(i % 100 < 80 && i % 3 != 0, "{i} signed in");
                within("last login", *t, *created, now.max(created + 1));
            }
            None => assert!(i % 100 >= 80 || i % 3 == 0, "{i} never signed in"),
        }
        match i % 100 {
            80..=84 => assert_eq!((*enabled, *expires, *recorded), (0, None, 0), "{i} disabled"),
            85..=89 => {
                assert_eq!((*enabled, *recorded), (1, 1), "{i} expired");
                within("expired", expires.unwrap(), now - 90 * DAY + 1, now - 59);
            }
            _ if i % 10 == 3 => {
                assert_eq!((*enabled, *recorded), (1, 0), "{i} expiring");
                within("expiring", expires.unwrap(), now + 3600, now + 120 * DAY);
            }
            _ => assert_eq!((*enabled, *expires, *recorded), (1, None, 0), "{i} active"),
        }
    }
    let expected_members = (0..n).filter(|i| i % 100 < 90).count();
    assert_eq!(seen.len(), expected_members);

    type GrantDump = (String, String, Option<String>, Option<i64>, Option<i64>, Option<String>, i64, i64, i64);
    let grants: Vec<GrantDump> = conn
        .prepare(
            "SELECT a.email, r.name, w.name, g.valid_from, g.expires_at, g.granted_by, g.granted_at, a.created_at,
                    g.expiry_recorded
             FROM access_grants g JOIN memberships m ON m.id = g.membership_id JOIN accounts a ON a.id = m.account_id
                  JOIN roles r ON r.id = g.role_id LEFT JOIN workspaces w ON w.id = g.workspace_id
             WHERE g.organization_id = ?1 AND a.email_norm <> ?2",
        )
        .unwrap()
        .query_map([&org_id, &OWNER.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
        })
        .unwrap()
        .collect::<gatehouse_core::sql::Result<_>>()
        .unwrap();
    let mut org_grants = std::collections::BTreeSet::new();
    let mut ws_grants = std::collections::BTreeSet::new();
    for (em, role, workspace, valid_from, expires, by, at, created, recorded) in &grants {
        let i = number(em);
        assert_eq!(role, role_of(i), "{i}'s role");
        assert_eq!((valid_from, by.as_deref(), at, recorded), (&None, Some("demo"), created, &0), "{i}'s grant");
        match workspace {
            None => {
                assert!(org_grants.insert(i), "{i} has two organization grants");
                assert_eq!(*expires, None);
            }
            Some(w) => {
                assert_eq!(i % 25, 0, "{i} has a workspace grant");
                assert_eq!(w, WORKSPACES[(i / 25 % 3) as usize]);
                assert!(ws_grants.insert(i));
                match expires {
                    Some(t) => {
                        assert_eq!(i % 50, 0);
                        within("workspace grant until", *t, now + DAY, now + 60 * DAY);
                    }
                    None => assert_ne!(i % 50, 0),
                }
            }
        }
    }
    assert_eq!(org_grants, seen, "one organization grant per member");
    assert_eq!(ws_grants, (0..n).filter(|i| i % 25 == 0).collect());

    // Invitations.
    let invitations: Vec<DemoInvitation> = conn
        .prepare(
            "SELECT i.email, i.email_norm, r.name, i.access_expires_at, i.valid_until, i.token_hash, i.status,
                    i.invited_by, i.created_at, i.last_sent_at, i.times_sent, i.workspace_id
             FROM invitations i JOIN roles r ON r.id = i.role_id WHERE i.organization_id = ?1",
        )
        .unwrap()
        .query_map([&org_id], DemoInvitation::from_row)
        .unwrap()
        .collect::<gatehouse_core::sql::Result<_>>()
        .unwrap();
    let mut invited = std::collections::BTreeSet::new();
    let mut tokens = std::collections::BTreeSet::new();
    for DemoInvitation {
        email: em,
        norm,
        role,
        access,
        valid_until,
        token,
        status,
        by,
        created,
        sent,
        times,
        workspace,
    } in &invitations
    {
        let i = number(em);
        assert!(invited.insert(i));
        assert_eq!(*em, email(i));
        assert_eq!(norm, em);
        assert_eq!(role, role_of(i), "{i}'s invitation role");
        assert_eq!((access, by.as_deref(), times, workspace), (&None, Some("demo"), &1, &None), "{i}");
        assert_eq!(token.len(), 32);
        assert!(tokens.insert(token.clone()), "two invitations with one token");
        assert_eq!(sent, created);
        match i % 100 {
            90..=94 => {
                assert_eq!(status, "open");
                within("pending valid until", *valid_until, now + 3600, now + 7 * DAY);
                within("pending sent", *created, now - 60 - year + 1, now - 59);
            }
            95..=97 => {
                assert_eq!(status, "rejected");
                within("rejected sent", *created, now - 60 - year + 1, now - 59);
                assert_eq!(*valid_until, created + 7 * DAY);
            }
            98..=99 => {
                assert_eq!(status, "open");
                within("expired valid until", *valid_until, now - 30 * DAY + 1, now - 59);
                within("expired sent", *created, now - 60 - year + 1, valid_until - 59);
            }
            _ => panic!("member {i} should not be an invitation"),
        }
    }
    assert_eq!(invited, (0..n).filter(|i| i % 100 >= 90).collect());
    assert_eq!(report.rows, 8 + 4 + 3 * expected_members as i64 + ws_grants.len() as i64 + invited.len() as i64);

    // What else the organization holds.
    let names = |sql: &str| -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([&org_id], |r| r.get(0))
            .unwrap()
            .collect::<gatehouse_core::sql::Result<Vec<String>>>()
            .unwrap()
    };
    assert_eq!(
        names("SELECT name FROM workspaces WHERE organization_id = ?1 ORDER BY name"),
        ["Analytics", "Production", "Staging"]
    );
    assert_eq!(names("SELECT name FROM custom_permissions WHERE organization_id = ?1"), ["billing.access"]);
    assert_eq!(
        names(
            "SELECT r.name || ':' || p.permission FROM roles r JOIN role_permissions p ON p.role_id = r.id
               WHERE r.organization_id = ?1 AND r.name = 'billing' ORDER BY p.permission"
        ),
        ["billing:billing.access", "billing:org.view"]
    );
    assert_eq!(
        names("SELECT s.name || ':' || r.name || ':' || substr(s.token_prefix, 1, 4) || ':' || coalesce(s.created_by_account, '')
               FROM service_accounts s JOIN access_grants g ON g.service_account_id = s.id JOIN roles r ON r.id = g.role_id
               WHERE s.organization_id = ?1 ORDER BY s.name"),
        [format!("billing-agent:billing:ghs_:{}", o.account_id().unwrap()), format!("ci-pipeline:member:ghs_:{}", o.account_id().unwrap())]
    );
    assert_eq!(
        names("SELECT action || ' ' || target FROM audit_events WHERE organization_id = ?1 ORDER BY seq"),
        ["org.created demo", "demo.created demo"]
    );
    let note = "demo members' past expiries are recorded as already audited";
    let details = names("SELECT details FROM audit_events WHERE organization_id = ?1 AND action = 'demo.created'");
    let details: serde_json::Value = serde_json::from_str(&details[0]).unwrap();
    assert_eq!(details, serde_json::json!({"members": n, "rows": report.rows, "note": note}));
    let q = MemberQuery { per_page: 10, ..MemberQuery::default() };
    let page = members::list(&mut db, &o, "demo", &q, now).unwrap();
    assert_eq!(page.counts.total, n + 1);
    check_in_step(&db);
}
