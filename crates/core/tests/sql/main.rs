//! The SQL facade on both engines: one test body, run on a fresh SQLite file and, when
//! `$GATEHOUSE_TEST_PG` names a server, on a fresh PostgreSQL database. The same statements, in
//! SQLite's dialect, must give the same answers on both.

mod engines;
mod roster;
mod transactions;

use engines::{engines, Schema};
use gatehouse_core::sql::{named_params, params, Connection, ErrorKind, OptionalExtension, Row, ValueRef};
use gatehouse_core::{ConflictReason, Error, ErrorCode};

/// A value as text, the same for both engines (for comparing results).
pub fn show(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}"),
        ValueRef::Text(t) => format!("'{}'", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("x'{}'", hex::encode(b)),
    }
}

/// Every row of a query, each as its columns' values joined by `|`.
pub fn dump(conn: &Connection, sql: &str) -> Vec<String> {
    let mut st = conn.prepare(sql).unwrap();
    st.query_map([], |r: &Row<'_>| {
        Ok((0..r.column_count()).map(|i| show(r.get_ref(i).unwrap())).collect::<Vec<_>>().join("|"))
    })
    .unwrap()
    .collect::<gatehouse_core::sql::Result<Vec<_>>>()
    .unwrap()
}

const ITEMS: Schema = Schema::Script {
    sqlite: "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, n INTEGER, x REAL, data BLOB, flag INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE);
             CREATE TABLE parents (id INTEGER PRIMARY KEY);
             CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parents(id),
                                    n INTEGER CHECK (n > 0));",
    postgres: "CREATE EXTENSION IF NOT EXISTS citext;
               CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT COLLATE \"C\", n BIGINT, x DOUBLE PRECISION,
                                   data BYTEA, flag BIGINT NOT NULL DEFAULT 0);
               CREATE TABLE names (id BIGINT PRIMARY KEY, name citext COLLATE \"C\" NOT NULL UNIQUE);
               CREATE TABLE parents (id BIGINT PRIMARY KEY);
               CREATE TABLE children (id BIGINT PRIMARY KEY, parent BIGINT NOT NULL REFERENCES parents(id),
                                      n BIGINT CHECK (n > 0));",
};

#[test]
fn placeholders_of_every_kind() {
    for e in engines(ITEMS) {
        let conn = e.open();
        conn.execute("INSERT INTO items (id, name, n) VALUES (?1, ?2, ?3)", params![1, "one", 10]).unwrap();
        conn.execute("INSERT INTO items (id, name, n) VALUES (?, ?, ?)", params![2, "two", 20]).unwrap();
        conn.execute(
            "INSERT INTO items (id, name, n) VALUES (:id, :name, :n)",
            named_params! {":id": 3, ":name": "three", ":n": 30},
        )
        .unwrap();
        conn.prepare_cached("INSERT INTO items (id, name, n) VALUES (?1, ?2, ?1 * 10)")
            .unwrap()
            .execute(params![4, "four"])
            .unwrap();
        let names: Vec<String> = conn
            .prepare_cached("SELECT name FROM items WHERE n >= ?1 AND n <= ?2 AND name <> ?3 ORDER BY n DESC")
            .unwrap()
            .query_map(params![15, 40, "three"], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(names, ["four", "two"], "{}", e.name());
        // Named parameters bound one by one, as the member list binds them.
        let mut st =
            conn.prepare_cached("SELECT count(*) FROM items WHERE n > :min AND name <> :not AND n > :min").unwrap();
        let i = st.parameter_index(":min").unwrap().unwrap();
        st.raw_bind_parameter(i, 10).unwrap();
        let j = st.parameter_index(":not").unwrap().unwrap();
        st.raw_bind_parameter(j, "two").unwrap();
        assert_eq!(st.parameter_index(":absent").unwrap(), None);
        let mut rows = st.raw_query();
        let n: i64 = rows.next().unwrap().unwrap().get(0).unwrap();
        assert_eq!(n, 2, "{}", e.name());
        // A statement with text in literals, comments and names that look like placeholders.
        let s: String = conn
            .query_row("SELECT 'a ?1 :x it''s' || name /* ?2 */ FROM items WHERE id = ?1 -- :y", [1], |r| r.get(0))
            .unwrap();
        assert_eq!(s, "a ?1 :x it'sone");
        // A column by name.
        let (id, name): (i64, String) = conn
            .query_row("SELECT id AS the_id, name FROM items WHERE id = 2", [], |r| {
                Ok((r.get("the_id")?, r.get("name")?))
            })
            .unwrap();
        assert_eq!((id, name.as_str()), (2, "two"));
    }
}

#[test]
fn values_round_trip() {
    for e in engines(ITEMS) {
        let conn = e.open();
        let blob: Vec<u8> = vec![0, 1, 2, 255, 0];
        let cases: Vec<(i64, Option<&str>, Option<i64>, Option<f64>, Option<&[u8]>, bool)> = vec![
            (1, Some("héllo 🌍"), Some(i64::MAX), Some(1.5), Some(&blob), true),
            (2, Some(""), Some(i64::MIN), Some(-0.25), Some(&[]), false),
            (3, None, None, None, None, false),
            (4, Some("x"), Some(0), Some(1e300), Some(&[7]), true),
        ];
        for (id, name, n, x, data, flag) in &cases {
            conn.execute(
                "INSERT INTO items (id, name, n, x, data, flag) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, name, n, x, data, flag],
            )
            .unwrap();
        }
        let mut st = conn.prepare("SELECT id, name, n, x, data, flag FROM items ORDER BY id").unwrap();
        let got: Vec<(i64, Option<String>, Option<i64>, Option<f64>, Option<Vec<u8>>, bool)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let want: Vec<_> = cases
            .iter()
            .map(|(id, name, n, x, data, flag)| {
                (*id, name.map(str::to_string), *n, *x, data.map(<[u8]>::to_vec), *flag)
            })
            .collect();
        assert_eq!(got, want, "{}", e.name());
        // Aggregates and tests read as SQLite gives them: count and sum as integers, EXISTS as bool.
        let (count, sum, any): (i64, i64, bool) = conn
            .query_row("SELECT count(*), sum(flag), EXISTS (SELECT 1 FROM items WHERE flag = 1) FROM items", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((count, sum, any), (4, 2, true), "{}", e.name());
        let none: Option<i64> = conn.query_row("SELECT sum(n) FROM items WHERE id > 100", [], |r| r.get(0)).unwrap();
        assert_eq!(none, None);
        // A type that does not fit is an error, not a wrong value.
        assert!(conn.query_row("SELECT name FROM items WHERE id = 1", [], |r| r.get::<_, i64>(0)).is_err());
        // Nothing found.
        let missing = conn.query_row("SELECT name FROM items WHERE id = ?1", [99], |r| r.get::<_, String>(0));
        assert_eq!(missing.optional().unwrap(), None);
        assert_eq!(conn.execute("UPDATE items SET flag = ?1 WHERE flag = ?2", params![true, false]).unwrap(), 2);
    }
}

#[test]
fn null_parameters_where_only_a_test_for_null_names_them() {
    for e in engines(ITEMS) {
        let conn = e.open();
        for (id, name, n) in [(1, "Ann", 5), (2, "bob", 10), (3, "Cy", 15)] {
            conn.execute("INSERT INTO items (id, name, n) VALUES (?1, ?2, ?3)", params![id, name, n]).unwrap();
        }
        let sql = "SELECT count(*) FROM items WHERE (?1 IS NULL OR n >= ?1) AND (?2 IS NULL OR lower(name) = lower(?2))
                   AND (?3 IS NULL OR ?3 IS NOT NULL)";
        let count = |min: Option<i64>, name: Option<&str>, third: Option<&str>| -> i64 {
            conn.prepare_cached(sql).unwrap().query_row(params![min, name, third], |r| r.get(0)).unwrap()
        };
        assert_eq!(count(None, None, None), 3, "{}", e.name());
        assert_eq!(count(Some(10), None, Some("x")), 2, "{}", e.name());
        assert_eq!(count(None, Some("BOB"), None), 1, "{}", e.name());
        assert_eq!(count(Some(11), Some("bob"), None), 0, "{}", e.name());
        let null: Option<String> = conn.query_row("SELECT ?1", params![Option::<String>::None], |r| r.get(0)).unwrap();
        assert_eq!(null, None);
        // SQLite's "no limit".
        let all: Vec<i64> = conn
            .prepare("SELECT id FROM items ORDER BY id LIMIT ?1")
            .unwrap()
            .query_map([-1], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(all, [1, 2, 3]);
    }
}

#[test]
fn nulls_sort_where_sqlite_puts_them() {
    for e in engines(ITEMS) {
        let conn = e.open();
        for (id, n) in [(1, Some(3)), (2, None), (3, Some(1)), (4, None)] {
            conn.execute("INSERT INTO items (id, n) VALUES (?1, ?2)", params![id, n]).unwrap();
        }
        let ids = |sql: &str| -> Vec<i64> {
            conn.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
        };
        assert_eq!(ids("SELECT id FROM items ORDER BY n, id"), [2, 4, 3, 1], "{}", e.name());
        assert_eq!(ids("SELECT id FROM items ORDER BY n DESC, id DESC"), [1, 3, 4, 2], "{}", e.name());
    }
}

#[test]
fn nocase_names_compare_and_sort_alike() {
    let names = ["bob", "Alice", "alex", "ALFRED", "b_x", "B-y", "Zed", "a1", "A_", "abc"];
    let mut want: Vec<&str> = names.to_vec();
    want.sort_by_key(|n| n.to_ascii_lowercase());
    for e in engines(ITEMS) {
        let conn = e.open();
        for (i, n) in names.iter().enumerate() {
            conn.execute("INSERT INTO names (id, name) VALUES (?1, ?2)", params![i as i64, n]).unwrap();
        }
        let got: Vec<String> = conn
            .prepare("SELECT name FROM names ORDER BY name COLLATE NOCASE")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, want, "{}", e.name());
        let found: Option<i64> = conn
            .query_row("SELECT id FROM names WHERE name = ?1 COLLATE NOCASE", ["alfred"], |r| r.get(0))
            .optional()
            .unwrap();
        assert_eq!(found, Some(3), "{}", e.name());
        let upper: i64 = conn.query_row("SELECT count(*) FROM names WHERE name = ?1", ["ZED"], |r| r.get(0)).unwrap();
        assert_eq!(upper, 1, "{}: the column itself compares without case", e.name());
        // A name that differs only in case is the same name.
        let dup = conn.execute("INSERT INTO names (id, name) VALUES (?1, ?2)", params![99, "BOB"]).unwrap_err();
        assert_eq!(dup.kind(), ErrorKind::Constraint, "{}", e.name());
    }
}

#[test]
fn constraint_violations_are_conflicts() {
    for e in engines(ITEMS) {
        let conn = e.open();
        conn.execute("INSERT INTO parents (id) VALUES (1)", []).unwrap();
        conn.execute("INSERT INTO children (id, parent, n) VALUES (1, 1, 1)", []).unwrap();
        let attempts = [
            ("unique", "INSERT INTO parents (id) VALUES (1)", ErrorCode::Conflict, Some(ConflictReason::AlreadyExists)),
            (
                "foreign key",
                "INSERT INTO children (id, parent, n) VALUES (2, 42, 1)",
                ErrorCode::Conflict,
                Some(ConflictReason::InUse),
            ),
            ("check", "INSERT INTO children (id, parent, n) VALUES (3, 1, -5)", ErrorCode::Internal, None),
            ("not null", "INSERT INTO children (id, parent, n) VALUES (4, NULL, 1)", ErrorCode::Internal, None),
        ];
        for (what, sql, code, reason) in attempts {
            let err = conn.execute(sql, []).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Constraint, "{} {what}: {err}", e.name());
            let core = Error::from(err);
            assert_eq!((core.code(), core.conflict_reason()), (code, reason), "{} {what}: {core}", e.name());
        }
        // A syntax error is not a conflict, and never shows as one.
        let err = Error::from(conn.execute("INSERT INTO nowhere VALUES (1)", []).unwrap_err());
        assert_eq!(err.code(), ErrorCode::Internal, "{}", e.name());
    }
}

/// Collisions with Gatehouse's own unique constraints say the same thing on both engines.
#[test]
fn gatehouse_collisions_read_the_same_on_both_engines() {
    let mut per_engine = Vec::new();
    for e in engines(Schema::Gatehouse) {
        let conn = e.open();
        for sql in [
            "INSERT INTO organizations (id, name, slug, created_at) VALUES ('o1', 'One', 'one', 1)",
            "INSERT INTO roles (id, organization_id, name, is_owner, created_at) VALUES ('r1', 'o1', 'owner', 1, 1)",
            "INSERT INTO roles (id, organization_id, name, created_at) VALUES ('r2', 'o1', 'Member', 1)",
            "INSERT INTO accounts (id, email, email_norm, given_name, family_name, sort_name, created_at) VALUES ('a1', 'a@x', 'a@x', 'A', '', 'a', 1)",
            "INSERT INTO memberships (id, organization_id, account_id, joined_at) VALUES ('m1', 'o1', 'a1', 1)",
            "INSERT INTO roles (id, organization_id, name, created_at) VALUES ('r5', 'o1', 'granted', 1)",
            "INSERT INTO access_grants (id, organization_id, membership_id, role_id, granted_at) VALUES ('g1', 'o1', 'm1', 'r5', 1)",
            "INSERT INTO invitations (id, organization_id, email, email_norm, role_id, valid_until, token_hash, status, created_at, last_sent_at)
             VALUES ('i1', 'o1', 'b@x', 'b@x', 'r2', 9, X'01', 'open', 1, 1)",
        ] {
            conn.execute(sql, []).unwrap();
        }
        let mut messages = Vec::new();
        for sql in [
            "INSERT INTO roles (id, organization_id, name, created_at) VALUES ('r3', 'o1', 'MEMBER', 1)",
            "INSERT INTO roles (id, organization_id, name, is_owner, created_at) VALUES ('r4', 'o1', 'boss', 1, 1)",
            "INSERT INTO memberships (id, organization_id, account_id, joined_at) VALUES ('m2', 'o1', 'a1', 1)",
            "INSERT INTO invitations (id, organization_id, email, email_norm, role_id, valid_until, token_hash, status, created_at, last_sent_at)
             VALUES ('i2', 'o1', 'b@x', 'b@x', 'r2', 9, X'02', 'open', 1, 1)",
            "INSERT INTO accounts (id, email, email_norm, given_name, family_name, sort_name, created_at) VALUES ('a2', 'A@x', 'a@x', 'A', '', 'a', 1)",
            "DELETE FROM roles WHERE id = 'r5'",
        ] {
            let err = Error::from(conn.execute(sql, []).unwrap_err());
            messages.push(format!("{:?} {:?} {err}", err.code(), err.conflict_reason()));
        }
        assert!(messages[0].contains("a role with this name already exists"), "{}: {messages:?}", e.name());
        // SQLite names the columns of a partial index, not the index: the owner role's collision
        // reads as a name collision there, and as what it is on PostgreSQL.
        assert!(messages[1].starts_with("Conflict Some(AlreadyExists)"), "{}: {messages:?}", e.name());
        messages.remove(1);
        assert!(messages[1].contains("AlreadyMember"), "{}: {messages:?}", e.name());
        assert!(messages[2].contains("OpenInvitation"), "{}: {messages:?}", e.name());
        assert!(messages[4].contains("InUse"), "{}: {messages:?}", e.name());
        per_engine.push(messages);
    }
    if let [sqlite, pg] = &per_engine[..] {
        assert_eq!(sqlite, pg);
    }
}

#[test]
fn the_sqlite_dump_helper_sees_both_engines_alike() {
    let mut dumps = Vec::new();
    for e in engines(ITEMS) {
        let conn = e.open();
        conn.execute("INSERT INTO items (id, name, n, x, data) VALUES (1, 'a', 2, 0.5, ?1)", [&b"\x01\x02"[..]])
            .unwrap();
        conn.execute("INSERT INTO items (id) VALUES (2)", []).unwrap();
        dumps.push(dump(&conn, "SELECT id, name, n, x, data, flag FROM items ORDER BY id"));
    }
    assert_eq!(dumps[0], ["1|'a'|2|0.5|x'0102'|0", "2|NULL|NULL|NULL|NULL|0"]);
    if dumps.len() == 2 {
        assert_eq!(dumps[0], dumps[1]);
    }
}

#[test]
fn unreachable_server_is_unavailable_exit_7() {
    // Nothing listens on port 1 of loopback.
    let err = Connection::postgres("postgres://gh@127.0.0.1:1/gatehouse?connect_timeout=2").err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let core = Error::from(err);
    assert_eq!(core.code(), ErrorCode::Unavailable);
    assert_eq!(core.code().exit_code(), 7);
    assert!(core.to_string().contains("127.0.0.1:1"), "{core}");
    // A database that does not exist on a server that does.
    if let Some(url) = engines::pg_url() {
        let mut options = gatehouse_core::sql::PgOptions::from_url(&url).unwrap();
        options.config.dbname("gatehouse_no_such_database");
        let err = Connection::postgres_with(options).err().unwrap();
        assert_eq!(Error::from(err).code(), ErrorCode::Unavailable);
    }
}

/// The SQLite migrations that migrations/postgres/ stands for, in order. A new SQLite migration
/// gets its PostgreSQL twin and its name here (when the store moves onto the facade);
/// `0007_check_covering_grants` needs none (postgres/0001 made that index covering already).
const MIRRORED: [&str; 8] = [
    "0001_init",
    "0002_member_list",
    "0003_roster",
    "0004_roster_portable",
    "0005_workspace_scopes",
    "0005b_invitation_role_history",
    "0006_sessions",
    "0007_check_covering_grants",
];

/// The PostgreSQL schema has every table and column of the SQLite migrations it mirrors.
#[test]
fn postgres_schema_has_the_tables_and_columns_of_sqlite() {
    let Some(pg) = engines::postgres(Schema::Gatehouse) else { return };
    let lite = rusqlite::Connection::open_in_memory().unwrap();
    for (name, sql) in gatehouse_core::db::MIGRATIONS {
        if MIRRORED.contains(name) {
            lite.execute_batch(sql).unwrap();
        }
    }
    let lite = Connection::sqlite(lite);
    let columns = |conn: &Connection, sql: &str| -> Vec<String> {
        let mut v = dump(conn, sql);
        v.sort();
        v
    };
    let sqlite_columns = columns(
        &lite,
        "SELECT t.name || '.' || c.name FROM sqlite_master t JOIN pragma_table_info(t.name) c
         WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite_%'",
    );
    let pg_columns = columns(
        &pg.open(),
        "SELECT table_name || '.' || column_name FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name <> 'gatehouse_schema'",
    );
    assert_eq!(pg_columns, sqlite_columns, "migrations/postgres/ and the SQLite migrations {MIRRORED:?} differ");
}

/// The store's shapes, written as the store writes them against rusqlite, with only the imports
/// changed: functions over `&Connection` (a transaction passes for one), row mappers as `fn` items
/// over `&Row`, `optional()`, `collect::<Result<_>>()`, `get::<_, T>`.
mod store_shapes {
    use gatehouse_core::sql::{params, Connection, OptionalExtension, Result, Row};

    fn from_row(r: &Row) -> Result<(i64, Option<String>)> {
        Ok((r.get(0)?, r.get::<_, Option<String>>("name")?))
    }

    pub fn by_id(conn: &Connection, id: i64) -> gatehouse_core::Result<Option<(i64, Option<String>)>> {
        let mut st = conn.prepare_cached("SELECT id, name FROM items WHERE id = ?1")?;
        Ok(st.query_row([id], from_row).optional()?)
    }

    pub fn all(conn: &Connection) -> gatehouse_core::Result<Vec<(i64, Option<String>)>> {
        let mut st = conn.prepare_cached("SELECT id, name FROM items ORDER BY id")?;
        let rows = st.query_map([], from_row)?.collect::<Result<_>>()?;
        Ok(rows)
    }

    pub fn insert(conn: &Connection, id: i64, name: Option<&str>) -> gatehouse_core::Result<()> {
        conn.prepare_cached("INSERT INTO items (id, name) VALUES (?1, ?2)")?.execute(params![id, name])?;
        Ok(())
    }
}

#[test]
fn store_shaped_code_runs_on_both_engines() {
    for e in engines(ITEMS) {
        let conn = e.open();
        conn.write(|tx| -> gatehouse_core::Result<()> {
            store_shapes::insert(tx, 1, Some("one"))?;
            store_shapes::insert(tx, 2, None)
        })
        .unwrap();
        let got = conn.read(|tx| store_shapes::all(tx)).unwrap();
        assert_eq!(got, [(1, Some("one".to_string())), (2, None)], "{}", e.name());
        assert_eq!(store_shapes::by_id(&conn, 3).unwrap(), None);
        let dup = conn.write(|tx| store_shapes::insert(tx, 1, Some("again"))).unwrap_err();
        assert_eq!(dup.code(), ErrorCode::Conflict, "{}", e.name());
    }
}

/// `Transaction::attempt`: a row whose statement fails fails alone; what it wrote before is undone;
/// the transaction goes on and commits the other rows (on PostgreSQL a failed statement would
/// otherwise abort the transaction, and every later statement fail with it).
#[test]
fn a_failed_attempt_undoes_itself_and_the_transaction_goes_on() {
    for e in engines(ITEMS) {
        let conn = e.open();
        conn.execute("INSERT INTO parents (id) VALUES (1)", []).unwrap();
        let tx = conn.begin_write().unwrap();
        let mut outcomes = vec![];
        for (id, parent) in [(10, 1), (11, 42), (12, 1)] {
            let r = tx.attempt(|| -> gatehouse_core::sql::Result<()> {
                tx.execute("INSERT INTO items (id, name) VALUES (?1, 'written before the failure')", [id])?;
                tx.execute("INSERT INTO children (id, parent, n) VALUES (?1, ?2, 1)", [id, parent])?;
                Ok(())
            });
            outcomes.push(r.map_err(|err| err.kind()));
        }
        assert_eq!(outcomes, vec![Ok(()), Err(ErrorKind::Constraint), Ok(())], "{}", e.name());
        // A refusal decided without a failed statement undoes the row's writes as well.
        let refused = tx.attempt(|| -> gatehouse_core::sql::Result<()> {
            tx.execute("INSERT INTO items (id, name) VALUES (13, 'refused')", [])?;
            Err(gatehouse_core::sql::Error::Invalid("refused".into()))
        });
        assert!(refused.is_err());
        tx.commit().unwrap();
        assert_eq!(dump(&conn, "SELECT id FROM items ORDER BY id"), ["10", "12"], "{}", e.name());
        assert_eq!(dump(&conn, "SELECT id FROM children ORDER BY id"), ["10", "12"], "{}", e.name());
    }
}
