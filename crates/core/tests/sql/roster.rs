//! The roster's triggers of each engine's schema (SQLite's 0003_roster.sql, PostgreSQL's PL/pgSQL in
//! migrations/postgres/0001_init.sql) against a recomputation from the base tables, after every kind
//! of write the use cases make, written as raw SQL; and the two engines' rosters against each other.

use crate::dump;
use crate::engines::{engines, Schema};
use gatehouse_core::sql::{params, Connection};

const T0: i64 = 1_800_000_000;

const COLS: &str = "org, entry_id, kind, email, email_norm, given_name, family_name, sort_name, roles, roles_key, \
                    roles_timed, cls, until, expires, confirmed, enabled, created_at, last_login_at";

/// The roster as the base tables say it should be, in SQL both engines run.
fn recomputed() -> String {
    let roles = "(SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM access_grants g
                  JOIN roles r ON r.id = g.role_id WHERE g.membership_id = m.id AND g.workspace_id IS NULL)";
    format!(
        "SELECT {COLS} FROM (
           SELECT o.org, m.id AS entry_id, 0 AS kind, a.email, a.email_norm, a.given_name, a.family_name,
                  CASE WHEN a.sort_name = '' THEN a.email_norm ELSE a.sort_name END AS sort_name,
                  {roles} AS roles, lower(coalesce({roles}, '')) AS roles_key,
                  CASE WHEN EXISTS (SELECT 1 FROM access_grants g WHERE g.membership_id = m.id AND g.workspace_id IS NULL
                                      AND (g.valid_from IS NOT NULL OR g.expires_at IS NOT NULL)) THEN 1 ELSE 0 END AS roles_timed,
                  CASE WHEN m.enabled <> 0 THEN 0 ELSE 1 END AS cls, m.access_expires_at AS until,
                  m.access_expires_at AS expires, a.email_confirmed AS confirmed, m.enabled AS enabled,
                  a.created_at AS created_at, a.last_login_at AS last_login_at
           FROM memberships m JOIN accounts a ON a.id = m.account_id JOIN roster_orgs o ON o.organization_id = m.organization_id
           UNION ALL
           SELECT o.org, i.id, 1, i.email, i.email_norm, '', '', i.email_norm, r.name, lower(r.name), 0,
                  CASE WHEN i.status = 'open' THEN 2 ELSE 3 END, CASE WHEN i.status = 'open' THEN i.valid_until END,
                  i.access_expires_at, 0, 0, i.created_at, NULL
           FROM invitations i JOIN roles r ON r.id = i.role_id JOIN roster_orgs o ON o.organization_id = i.organization_id
           WHERE i.status IN ('open', 'rejected')) x ORDER BY entry_id"
    )
}

/// The roster, its counters and its organizations equal the recomputation; the stored roster.
#[track_caller]
fn in_step(conn: &Connection, engine: &str, step: &str) -> Vec<String> {
    let stored = dump(conn, &format!("SELECT {COLS} FROM roster ORDER BY entry_id"));
    assert_eq!(stored, dump(conn, &recomputed()), "{engine}, after {step}: roster rows");
    let counters =
        dump(conn, "SELECT org, roles_key, cls, n FROM roster_counts WHERE n <> 0 ORDER BY org, roles_key, cls");
    let recount = dump(
        conn,
        "SELECT org, roles_key, cls, count(*) FROM roster GROUP BY org, roles_key, cls ORDER BY org, roles_key, cls",
    );
    assert_eq!(counters, recount, "{engine}, after {step}: roster counters");
    let orgs = dump(conn, "SELECT organization_id FROM roster_orgs ORDER BY organization_id");
    assert_eq!(orgs, dump(conn, "SELECT id FROM organizations ORDER BY id"), "{engine}, after {step}: organizations");
    let mut all = stored;
    all.extend(counters);
    all
}

/// Every kind of write, in order: (what it is, the statements).
fn script() -> Vec<(&'static str, Vec<String>)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut steps = vec![
        ("organizations", s(&[
            "INSERT INTO organizations (id, name, slug, created_at) VALUES ('o1', 'One', 'one', 1)",
            "INSERT INTO organizations (id, name, slug, created_at) VALUES ('o2', 'Two', 'two', 2)",
        ])),
        ("roles", s(&[
            "INSERT INTO roles (id, organization_id, name, is_owner, created_at) VALUES ('r-owner', 'o1', 'owner', 1, 1)",
            "INSERT INTO roles (id, organization_id, name, created_at) VALUES ('r-admin', 'o1', 'admin', 1)",
            "INSERT INTO roles (id, organization_id, name, created_at) VALUES ('r-member', 'o1', 'member', 1)",
            "INSERT INTO roles (id, organization_id, name, created_at) VALUES ('r-billing', 'o1', 'Billing', 1)",
            "INSERT INTO roles (id, organization_id, name, is_owner, created_at) VALUES ('r2-owner', 'o2', 'owner', 1, 2)",
            "INSERT INTO workspaces (id, organization_id, name, created_at) VALUES ('w1', 'o1', 'Prod', 1)",
        ])),
    ];
    let mut people = Vec::new();
    for (i, (email, given, family)) in [
        ("ann@x.test", "Ann", "Archer"),
        ("Bob@x.test", "Bob", ""),
        ("cy@x.test", "Cy", "Cole"),
        ("di@x.test", "Di", "Dunn"),
        ("ed@x.test", "Ed", "Eng"),
        ("fay@y.test", "Fay", "Fox"),
    ]
    .iter()
    .enumerate()
    {
        people.push(format!(
            "INSERT INTO accounts (id, email, email_norm, given_name, family_name, sort_name, email_confirmed, created_at, last_login_at)
             VALUES ('a{i}', '{email}', lower('{email}'), '{given}', '{family}', lower('{given} {family}'), {}, {}, {})",
            i % 2,
            T0 + i as i64,
            if i % 3 == 0 { "NULL".to_string() } else { (T0 + 100).to_string() }
        ));
    }
    steps.push(("accounts", people));
    steps.push(("memberships", s(&[
        "INSERT INTO memberships (id, organization_id, account_id, joined_at) VALUES ('m0', 'o1', 'a0', 1)",
        "INSERT INTO memberships (id, organization_id, account_id, joined_at) VALUES ('m1', 'o1', 'a1', 1)",
        "INSERT INTO memberships (id, organization_id, account_id, access_expires_at, joined_at) VALUES ('m2', 'o1', 'a2', 1900000000, 1)",
        "INSERT INTO memberships (id, organization_id, account_id, enabled, joined_at) VALUES ('m3', 'o1', 'a3', 0, 1)",
        "INSERT INTO memberships (id, organization_id, account_id, joined_at) VALUES ('m5', 'o2', 'a5', 2)",
    ])));
    steps.push(("grants", s(&[
        "INSERT INTO access_grants (id, organization_id, membership_id, role_id, granted_at) VALUES ('g0', 'o1', 'm0', 'r-owner', 1)",
        "INSERT INTO access_grants (id, organization_id, membership_id, role_id, granted_at) VALUES ('g1', 'o1', 'm1', 'r-member', 1)",
        "INSERT INTO access_grants (id, organization_id, membership_id, role_id, granted_at) VALUES ('g1b', 'o1', 'm1', 'r-billing', 1)",
        "INSERT INTO access_grants (id, organization_id, membership_id, role_id, workspace_id, granted_at) VALUES ('g2w', 'o1', 'm2', 'r-admin', 'w1', 1)",
        "INSERT INTO access_grants (id, organization_id, membership_id, role_id, valid_from, expires_at, granted_at) VALUES ('g3', 'o1', 'm3', 'r-admin', 5, 1900000000, 1)",
        "INSERT INTO access_grants (id, organization_id, membership_id, role_id, granted_at) VALUES ('g5', 'o2', 'm5', 'r2-owner', 2)",
    ])));
    steps.push(("invitations", s(&[
        "INSERT INTO invitations (id, organization_id, email, email_norm, role_id, valid_until, token_hash, status, created_at, last_sent_at)
         VALUES ('i0', 'o1', 'New@x.test', 'new@x.test', 'r-member', 1800100000, X'01', 'open', 10, 10)",
        "INSERT INTO invitations (id, organization_id, email, email_norm, role_id, access_expires_at, valid_until, token_hash, status, created_at, last_sent_at)
         VALUES ('i1', 'o1', 'no@x.test', 'no@x.test', 'r-billing', 1900000000, 1800100000, X'02', 'rejected', 11, 11)",
        "INSERT INTO invitations (id, organization_id, email, email_norm, role_id, valid_until, token_hash, status, created_at, last_sent_at)
         VALUES ('i2', 'o1', 'yes@x.test', 'yes@x.test', 'r-admin', 1800100000, X'03', 'accepted', 12, 12)",
    ])));
    steps.extend([
        ("disable and enable", s(&["UPDATE memberships SET enabled = 0 WHERE id = 'm0'", "UPDATE memberships SET enabled = 1 WHERE id = 'm3'"])),
        ("expiry", s(&["UPDATE memberships SET access_expires_at = 1850000000, expiry_recorded = 0 WHERE id = 'm1'"])),
        ("account edits", s(&[
            "UPDATE accounts SET last_login_at = 1800000500 WHERE id = 'a2'",
            "UPDATE accounts SET given_name = 'Anne', sort_name = 'anne archer', email_confirmed = 1 WHERE id = 'a0'",
            "UPDATE accounts SET given_name = '', family_name = '', sort_name = '' WHERE id = 'a2'",
        ])),
        ("role change", s(&[
            "DELETE FROM access_grants WHERE membership_id = 'm1' AND workspace_id IS NULL",
            "INSERT INTO access_grants (id, organization_id, membership_id, role_id, granted_at) VALUES ('g1c', 'o1', 'm1', 'r-admin', 3)",
        ])),
        ("grant moved and retimed", s(&[
            "UPDATE access_grants SET workspace_id = NULL WHERE id = 'g2w'",
            "UPDATE access_grants SET expires_at = NULL, valid_from = NULL WHERE id = 'g3'",
            "UPDATE access_grants SET membership_id = 'm2' WHERE id = 'g1c'",
        ])),
        ("invitation answered and resent", s(&[
            "UPDATE invitations SET status = 'rejected', responded_at = 20 WHERE id = 'i0'",
            "UPDATE invitations SET status = 'open', valid_until = 1800200000, responded_at = NULL WHERE id = 'i1'",
            "UPDATE invitations SET status = 'revoked' WHERE id = 'i0'",
        ])),
        ("role renamed", s(&["UPDATE roles SET name = 'Administrators' WHERE id = 'r-admin'"])),
        ("role deleted, its rejected invitation keeps the name", s(&[
            "INSERT INTO roles (id, organization_id, name, created_at) VALUES ('r-temp', 'o1', 'temp', 1)",
            "INSERT INTO invitations (id, organization_id, email, email_norm, role_id, valid_until, token_hash, status, created_at, last_sent_at)
             VALUES ('i3', 'o1', 'gone@x.test', 'gone@x.test', 'r-temp', 1800100000, X'04', 'rejected', 14, 14)",
            "UPDATE invitations SET role_name = 'temp' WHERE role_id = 'r-temp'",
            "DELETE FROM roles WHERE id = 'r-temp'",
        ])),
        ("bulk load deferred", s(&[
            "UPDATE roster_orgs SET deferred = 1 WHERE organization_id = 'o1'",
            "INSERT INTO accounts (id, email, email_norm, given_name, family_name, sort_name, created_at) VALUES ('a9', 'zed@x.test', 'zed@x.test', 'Zed', '', 'zed', 9)",
            "INSERT INTO memberships (id, organization_id, account_id, joined_at) VALUES ('m9', 'o1', 'a9', 9)",
            "INSERT INTO access_grants (id, organization_id, membership_id, role_id, granted_at) VALUES ('g9', 'o1', 'm9', 'r-member', 9)",
            "INSERT INTO invitations (id, organization_id, email, email_norm, role_id, valid_until, token_hash, status, created_at, last_sent_at)
             VALUES ('i9', 'o1', 'later@x.test', 'later@x.test', 'r-member', 1800100000, X'09', 'open', 13, 13)",
        ])),
    ]);
    steps
}

/// What `store::roster::rebuild` does after a bulk load, in SQL both engines run.
fn rebuild() -> Vec<String> {
    vec![
        "DELETE FROM roster WHERE org = (SELECT org FROM roster_orgs WHERE organization_id = 'o1')".into(),
        format!(
            "INSERT INTO roster ({COLS}) SELECT {COLS} FROM ({}) x WHERE org = (SELECT org FROM roster_orgs WHERE organization_id = 'o1')",
            recomputed().replace(" ORDER BY entry_id", "")
        ),
        "UPDATE roster_orgs SET deferred = 0 WHERE organization_id = 'o1'".into(),
    ]
}

fn after_rebuild() -> Vec<(&'static str, Vec<String>)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        ("rebuilt", rebuild()),
        (
            "removals",
            s(&[
                "DELETE FROM memberships WHERE id = 'm2'",
                "DELETE FROM invitations WHERE id = 'i1'",
                "DELETE FROM accounts WHERE id = 'a3'",
            ]),
        ),
        ("organization deleted", s(&["DELETE FROM organizations WHERE id = 'o2'"])),
    ]
}

#[test]
fn roster_triggers_equal_a_recomputation_on_both_engines() {
    let mut per_engine = Vec::new();
    for e in engines(Schema::Gatehouse) {
        let conn = e.open();
        let mut states = Vec::new();
        for (step, statements) in script() {
            conn.write(|tx| {
                for sql in &statements {
                    tx.execute(sql, [])?;
                }
                Ok::<_, gatehouse_core::sql::Error>(())
            })
            .unwrap_or_else(|err| panic!("{}, {step}: {err}", e.name()));
            if step == "bulk load deferred" {
                // The deferred organization's new rows are not in the roster until the rebuild.
                let n: i64 = conn
                    .query_row("SELECT count(*) FROM roster WHERE entry_id IN ('m9', 'i9')", [], |r| r.get(0))
                    .unwrap();
                assert_eq!(n, 0, "{}", e.name());
                continue;
            }
            states.push(in_step(&conn, e.name(), step));
        }
        for (step, statements) in after_rebuild() {
            conn.write(|tx| {
                for sql in &statements {
                    tx.execute(sql, params![])?;
                }
                Ok::<_, gatehouse_core::sql::Error>(())
            })
            .unwrap_or_else(|err| panic!("{}, {step}: {err}", e.name()));
            states.push(in_step(&conn, e.name(), step));
        }
        let roles: String =
            conn.query_row("SELECT roles FROM roster WHERE entry_id = 'm1'", [], |r| r.get(0)).unwrap_or_default();
        assert_eq!(roles, "", "{}: m1's admin grant moved to m2", e.name());
        per_engine.push((e.name(), states));
    }
    if let [(_, sqlite), (_, pg)] = &per_engine[..] {
        for (i, (a, b)) in sqlite.iter().zip(pg).enumerate() {
            assert_eq!(a, b, "step {i}: the two engines' rosters differ");
        }
    }
}
