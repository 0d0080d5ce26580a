//! `restore` (rule 12): replace the whole database with a backup, only when the backup passes every
//! check Gatehouse can make and the person restoring proves to be an owner in it.
//!
//! Two steps, so that a refused restore changes nothing: `stage` checks the backup and builds a
//! private, upgraded copy of it beside the database (the live database is not even opened);
//! `apply` copies that into the live database in one transaction. Between them a front door may
//! keep the previous database aside.
//!
//! Who may restore: a restore replaces every organization in the file, so the person restoring
//! signs in with their password *as it stands in the backup* (their current password does not
//! matter: the live database may be the damaged one) and must be a lasting owner of every
//! organization in the backup. Whoever can write the database file can replace it without
//! Gatehouse; what this adds is that no one restores through Gatehouse a backup in which they
//! are not an owner (a planted one in which another person is owner, one with zero owners), and
//! that every organization's chain says who restored it and when (`database.restored`).

use crate::audit_actions::AuditAction;
use crate::auth::{self, Principal};
use crate::db::Database;
use crate::error::{ConflictReason, Error, Result};
use crate::files::NewFile;
use crate::store::{audit, rights};
use crate::time::Timestamp;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A checked copy of a backup, ready to replace the live database; its file is removed when it
/// is dropped.
pub struct Staged {
    db: Database,
    path: PathBuf,
    /// The slugs of the organizations it holds.
    pub organizations: Vec<String>,
    /// Its schema version before it was upgraded to this binary's.
    pub schema_version: i64,
    pub restored_by: String,
}

impl Drop for Staged {
    fn drop(&mut self) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
}

/// What `apply` did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub organizations: Vec<String>,
    pub restored_by: String,
    pub backup_schema_version: i64,
}

/// Check the backup at `source` and stage it: a sound Gatehouse database (`Database::stage_backup`),
/// every organization with a lasting owner (rule 3), every audit chain intact, and `email` with
/// `password` an owner of every organization in it; then record `database.restored` in each
/// organization's chain of the staged copy. The copy is made in `folder` (the live database's
/// folder, so that the final copy stays on one file system), under a new private name.
pub fn stage(source: &Path, folder: &Path, email: &str, password: &str, now: Timestamp) -> Result<Staged> {
    let path = folder.join(format!(".gatehouse-restoring-{}.db", crate::store::new_id()));
    let file = NewFile::create(&path, "db")?;
    // From here on, `Staged` (or `file` until it exists) removes the copy whatever happens.
    let (db, schema_version) = Database::stage_backup(source, &path)?;
    let mut staged =
        Staged { db, path: file.keep(), organizations: Vec::new(), schema_version, restored_by: String::new() };
    let db = &mut staged.db;

    let organizations: Vec<(String, String)> = db.read(now, |tx| {
        let mut st = tx.prepare("SELECT id, slug FROM organizations ORDER BY slug")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<crate::sql::Result<_>>()?)
    })?;
    if organizations.is_empty() {
        return Err(Error::invalid("file", format!("{} holds no organization", source.display())));
    }
    db.read(now, |tx| {
        // Every chain: each organization's and the one of events of no organization (sign-ins).
        let mut chains: Vec<(String, String)> = organizations.clone();
        chains.push((String::new(), "(no organization)".into()));
        for (id, slug) in &chains {
            if let audit::ChainState::Broken { why, .. } = audit::verify(tx, id)? {
                return Err(Error::conflict(
                    ConflictReason::ChainBroken,
                    format!("the backup's audit chain of {slug} is broken ({why}); it cannot be restored"),
                ));
            }
        }
        for (id, slug) in &organizations {
            if rights::lasting_owners(tx, id, now)? == 0 {
                return Err(Error::conflict(
                    ConflictReason::LastOwner,
                    format!("in the backup, {slug} has no lasting owner (rule 3); it cannot be restored"),
                ));
            }
        }
        Ok(())
    })?;

    let who = auth::sign_in(db, email, password, now).map_err(|e| match e {
        Error::Unauthenticated(m) => {
            Error::Unauthenticated(format!("{m} (restore checks the password as it stands in the backup)"))
        }
        e => e,
    })?;
    let Principal::Account { id: account_id, email } = &who else {
        return Err(Error::Unauthenticated("restore needs a person's email and password".into()));
    };
    db.read(now, |tx| {
        for (id, slug) in &organizations {
            if !rights::is_lasting_owner(tx, id, account_id, now)? {
                return Err(Error::forbidden(format!(
                    "{email} is not an owner of {slug} in the backup; a restore replaces every organization, so \
                     only a person who owns each one in the backup may restore it"
                )));
            }
        }
        Ok(())
    })?;
    db.write(now, |tx| {
        for (id, slug) in &organizations {
            audit::append(
                tx,
                id,
                email,
                AuditAction::DatabaseRestored,
                slug,
                &serde_json::json!({ "backup_schema_version": schema_version, "organizations": organizations.len() }),
                now,
            )?;
        }
        Ok(())
    })?;
    staged.organizations = organizations.into_iter().map(|(_, slug)| slug).collect();
    staged.restored_by = email.clone();
    Ok(staged)
}

/// Replace the live database with the staged copy, in one transaction.
pub fn apply(live: &mut Database, staged: Staged) -> Result<Restored> {
    live.replace_with(&staged.db)?;
    Ok(Restored {
        organizations: staged.organizations.clone(),
        restored_by: staged.restored_by.clone(),
        backup_schema_version: staged.schema_version,
    })
}
