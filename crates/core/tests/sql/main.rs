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
        assert!(conn.query_row("SELECT name FROM items WHERE id = 1", [], |r| r.get::<i64>(0)).is_err());
        // Nothing found.
        let missing = conn.query_row("SELECT name FROM items WHERE id = ?1", [99], |r| r.get::<String>(0));
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
            ("unique", "INSERT INTO parents (id) VALUES (1)"),
            ("foreign key", "INSERT INTO children (id, parent, n) VALUES (2, 42, 1)"),
            ("check", "INSERT INTO children (id, parent, n) VALUES (3, 1, -5)"),
            ("not null", "INSERT INTO children (id, parent, n) VALUES (4, NULL, 1)"),
        ];
        for (what, sql) in attempts {
            let err = conn.execute(sql, []).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Constraint, "{} {what}: {err}", e.name());
            let core = Error::from(err);
            assert_eq!(core.code(), ErrorCode::Conflict, "{} {what}", e.name());
            assert_eq!(core.conflict_reason(), Some(ConflictReason::AlreadyExists));
        }
        // A syntax error is not a conflict, and never shows as one.
        let err = Error::from(conn.execute("INSERT INTO nowhere VALUES (1)", []).unwrap_err());
        assert_eq!(err.code(), ErrorCode::Internal, "{}", e.name());
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
/// gets its PostgreSQL twin and its name here (when the store moves onto the facade).
const MIRRORED: [&str; 4] = ["0001_init", "0002_member_list", "0003_roster", "0005_workspace_scopes"];

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
