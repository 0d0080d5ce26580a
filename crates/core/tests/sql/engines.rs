//! Where the facade's tests run: a fresh SQLite file always, and a fresh PostgreSQL database on the
//! server named by `$GATEHOUSE_TEST_PG` (e.g. `export GATEHOUSE_TEST_PG=$(scripts/pg start)`) when it
//! is set; each PostgreSQL test gets a database of its own, dropped at the end.

use gatehouse_core::sql::{Backend, Connection, PgOptions};
use std::path::PathBuf;
use std::time::Duration;

/// The server of the PostgreSQL tests, if any.
pub fn pg_url() -> Option<String> {
    std::env::var("GATEHOUSE_TEST_PG").ok().filter(|s| !s.trim().is_empty())
}

/// The schema a test starts from.
#[derive(Clone, Copy)]
pub enum Schema {
    /// Nothing.
    Empty,
    /// Gatehouse's, by each engine's migrations.
    Gatehouse,
    /// A script per engine.
    Script { sqlite: &'static str, postgres: &'static str },
}

/// One engine with one fresh database, from which a test opens as many connections as it needs.
pub struct Engine {
    pub backend: Backend,
    sqlite_path: Option<PathBuf>,
    pg: Option<PgOptions>,
    _dir: Option<tempfile::TempDir>,
    drop_db: Option<(String, String)>,
}

impl Engine {
    pub fn name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    pub fn open(&self) -> Connection {
        match self.backend {
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(self.sqlite_path.as_ref().unwrap()).unwrap();
                conn.busy_timeout(Duration::from_secs(30)).unwrap();
                conn.pragma_update(None, "foreign_keys", "ON").unwrap();
                conn.pragma_update(None, "journal_mode", "WAL").unwrap();
                Connection::sqlite(conn)
            }
            Backend::Postgres => Connection::postgres_with(self.pg.clone().unwrap()).unwrap(),
        }
    }

    fn sqlite(schema: Schema) -> Engine {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("facade.db");
        let engine =
            Engine { backend: Backend::Sqlite, sqlite_path: Some(path), pg: None, _dir: Some(dir), drop_db: None };
        let conn = engine.open();
        match schema {
            Schema::Empty => {}
            Schema::Gatehouse => {
                let mut raw = rusqlite::Connection::open(engine.sqlite_path.as_ref().unwrap()).unwrap();
                gatehouse_core::db::migrate(&mut raw).unwrap();
            }
            Schema::Script { sqlite, .. } => conn.execute_batch(sqlite).unwrap(),
        }
        engine
    }

    fn postgres(url: &str, schema: Schema) -> Engine {
        let admin = Connection::postgres(url).unwrap();
        let name = format!("gh_test_{}", uuid::Uuid::now_v7().simple());
        admin.execute_batch(&format!("CREATE DATABASE {name}")).unwrap();
        let mut options = PgOptions::from_url(url).unwrap();
        options.config.dbname(&name);
        let engine = Engine {
            backend: Backend::Postgres,
            sqlite_path: None,
            pg: Some(options),
            _dir: None,
            drop_db: Some((url.to_string(), name)),
        };
        let conn = engine.open();
        match schema {
            Schema::Empty => {}
            Schema::Gatehouse => gatehouse_core::sql::migrate_postgres(&conn).unwrap(),
            Schema::Script { postgres, .. } => conn.execute_batch(postgres).unwrap(),
        }
        engine
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some((url, name)) = &self.drop_db {
            if let Ok(admin) = Connection::postgres(url) {
                let _ = admin.execute_batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// SQLite, and PostgreSQL when a server is named: the engines every facade test runs on.
pub fn engines(schema: Schema) -> Vec<Engine> {
    let mut out = vec![Engine::sqlite(schema)];
    if let Some(url) = pg_url() {
        out.push(Engine::postgres(&url, schema));
    }
    out
}

/// PostgreSQL only, when a server is named.
pub fn postgres(schema: Schema) -> Option<Engine> {
    pg_url().map(|url| Engine::postgres(&url, schema))
}
