//! What the desktop app remembers between runs: which database it uses, "this computer" (the
//! SQLite file in the app's data folder) or "a team server" (a PostgreSQL URL). Chosen on the
//! first run (no database yet), kept in `settings.json` in the app's data folder (owner-only,
//! since a URL may carry a password), and changed from the screen that says a server cannot be
//! reached. `$GATEHOUSE_DB` overrides it when it names a server or an existing file, as for the
//! CLI; a path there that does not exist yet is the "this computer" file of a first run.

use gatehouse_core::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// Where the app keeps its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum DatabaseChoice {
    /// The SQLite file on this computer.
    ThisComputer,
    /// A PostgreSQL server the team shares (`postgres://USER@HOST:PORT/DATABASE`).
    TeamServer { url: String },
}

/// The settings file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseChoice>,
}

/// The files the choice is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Places {
    /// `settings.json`.
    pub settings: PathBuf,
    /// The "this computer" database file.
    pub local_db: PathBuf,
    /// `$GATEHOUSE_DB` when it is a `postgres://` URL: used whatever the settings say.
    pub forced_url: Option<String>,
    /// `local_db` is `$GATEHOUSE_DB`'s file: once it exists, it is used whatever the settings say.
    pub env_file: bool,
}

impl Places {
    /// This user's: the app's data folder, and `$GATEHOUSE_DB`.
    pub fn of_this_user() -> Places {
        let folder = gatehouse_cli::app_data_dir();
        Places::new(&folder, std::env::var_os("GATEHOUSE_DB").filter(|v| !v.is_empty()).map(PathBuf::from))
    }

    /// The places in `folder`, with `env_db` (`$GATEHOUSE_DB`) overriding the database.
    pub fn new(folder: &Path, env_db: Option<PathBuf>) -> Places {
        let url = env_db.as_ref().and_then(|p| p.to_str()).filter(|p| gatehouse_core::sql::is_postgres_url(p));
        Places {
            settings: folder.join("settings.json"),
            local_db: match (&env_db, url) {
                (Some(path), None) => path.clone(),
                _ => folder.join("gatehouse.db"),
            },
            forced_url: url.map(str::to_string),
            env_file: env_db.is_some() && url.is_none(),
        }
    }

    /// The database to open at start, or `None` on a first run: nothing chosen yet and no file.
    pub fn database_to_open(&self) -> Option<PathBuf> {
        if let Some(url) = &self.forced_url {
            return Some(PathBuf::from(url));
        }
        if self.env_file && self.local_db.exists() {
            return Some(self.local_db.clone());
        }
        match self.load().database {
            Some(DatabaseChoice::TeamServer { url }) => Some(PathBuf::from(url)),
            Some(DatabaseChoice::ThisComputer) => Some(self.local_db.clone()),
            // A database from before the choice existed is this computer's.
            None if self.local_db.exists() => Some(self.local_db.clone()),
            None => None,
        }
    }

    /// Why the window may not change the database: `$GATEHOUSE_DB` names it (a server, or a file
    /// that exists), and would win again at the next start.
    pub fn fixed_by_environment(&self) -> Option<String> {
        if let Some(url) = &self.forced_url {
            return Some(format!(
                "$GATEHOUSE_DB names the database ({}); unset it to choose the database here",
                shown_url(url)
            ));
        }
        if self.env_file {
            return Some(format!(
                "$GATEHOUSE_DB names the database ({}); unset it to choose the database here",
                self.local_db.display()
            ));
        }
        None
    }

    /// The database a choice means.
    pub fn database_of(&self, choice: &DatabaseChoice) -> PathBuf {
        match choice {
            DatabaseChoice::ThisComputer => self.local_db.clone(),
            DatabaseChoice::TeamServer { url } => PathBuf::from(url),
        }
    }

    /// The saved settings; none when the file is missing or unreadable (the choice is offered again).
    pub fn load(&self) -> Settings {
        std::fs::read(&self.settings).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
    }

    /// Save, replacing the file whole (a new file renamed over the old one), owner-only.
    pub fn save(&self, settings: &Settings) -> Result<()> {
        let cannot = |e: std::io::Error| {
            Error::Unavailable(format!("cannot save the settings {}: {e}", self.settings.display()))
        };
        if let Some(folder) = self.settings.parent() {
            std::fs::create_dir_all(folder).map_err(cannot)?;
        }
        let mut next = self.settings.as_os_str().to_owned();
        next.push(".new");
        let next = PathBuf::from(next);
        let _ = std::fs::remove_file(&next);
        let text = serde_json::to_vec_pretty(settings).map_err(|e| Error::Internal(e.to_string()))?;
        {
            let mut file = gatehouse_core::files::NewFile::create(&next, "settings")?;
            std::io::Write::write_all(&mut file, &text).map_err(cannot)?;
            file.finish()?;
        }
        std::fs::rename(&next, &self.settings).map_err(cannot)
    }
}

/// A server's URL as the window shows it: `postgres://user@host:port/database`, never its password.
pub fn shown_url(url: &str) -> String {
    match gatehouse_core::sql::PgOptions::from_url(url) {
        Ok(options) => format!("postgres://{}", options.shown),
        Err(_) => "postgres://".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_run_is_no_choice_and_no_file_and_a_choice_is_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let places = Places::new(dir.path(), None);
        assert_eq!(places.database_to_open(), None);
        let url = "postgres://gh@db.example:5432/gatehouse".to_string();
        places.save(&Settings { database: Some(DatabaseChoice::TeamServer { url: url.clone() }) }).unwrap();
        assert_eq!(places.database_to_open(), Some(PathBuf::from(&url)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&places.settings).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        places.save(&Settings { database: Some(DatabaseChoice::ThisComputer) }).unwrap();
        assert_eq!(places.database_to_open(), Some(dir.path().join("gatehouse.db")));
    }

    #[test]
    fn an_existing_file_is_this_computer_and_gatehouse_db_overrides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gatehouse.db"), b"").unwrap();
        assert_eq!(Places::new(dir.path(), None).database_to_open(), Some(dir.path().join("gatehouse.db")));
        let url = "postgres://gh@127.0.0.1/x";
        let forced = Places::new(dir.path(), Some(PathBuf::from(url)));
        assert_eq!(forced.database_to_open(), Some(PathBuf::from(url)));
        let other = dir.path().join("other.db");
        let file = Places::new(dir.path(), Some(other.clone()));
        assert_eq!(file.local_db, other);
        // A path in $GATEHOUSE_DB that does not exist yet is a first run: the choice is offered.
        assert_eq!(file.database_to_open(), None);
    }
}
