//! Files Gatehouse writes for people (exports, backups, checkpoints), rule 12: always a new file,
//! never an existing one and never through a symbolic link (a dangling one included), readable by
//! its owner alone (0600). A member who may export must not be able to overwrite the database, or
//! anything else its user can write, by naming it as the output.
//!
//! `NewFile::create` opens with `O_CREAT | O_EXCL | O_NOFOLLOW` and mode 0600 in one system call,
//! so there is no moment between checking the path and creating the file. A `NewFile` that is
//! dropped without `finish` removes what it wrote: a refused or failed export leaves no file.

use crate::error::{ConflictReason, Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file this process has just created, being written.
#[derive(Debug)]
pub struct NewFile {
    file: Option<File>,
    path: PathBuf,
}

impl NewFile {
    /// Create `path`, which must not exist (not even as a symbolic link), owner-only. `field`
    /// names the argument that gave the path, for the error (`out`, `file`).
    pub fn create(path: &Path, field: &str) -> Result<NewFile> {
        let mut options = std::fs::OpenOptions::new();
        // `create_new` is O_CREAT | O_EXCL: the system refuses any existing name, and with O_EXCL a
        // symbolic link is never followed, even a dangling one.
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        }
        match options.open(path) {
            Ok(file) => Ok(NewFile { file: Some(file), path: path.to_path_buf() }),
            Err(e) => Err(create_error(path, field, &e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file, to write to.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("a NewFile is open until finish or drop")
    }

    /// Flush to disk and keep the file.
    pub fn finish(mut self) -> Result<PathBuf> {
        let file = self.file.take().expect("a NewFile is open until finish or drop");
        let path = std::mem::take(&mut self.path);
        file.sync_all().map_err(|e| write_error(&path, &e))?;
        Ok(path)
    }

    /// Keep the file without writing through this handle (another writer, such as SQLite, filled it).
    pub fn keep(mut self) -> PathBuf {
        self.file = None;
        std::mem::take(&mut self.path)
    }
}

impl Write for NewFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file().flush()
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            // Unfinished: remove the partial file this process created.
            self.file = None;
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Create `path` as a new owner-only file and write `bytes` into it (a small export, a checkpoint).
pub fn write_new(path: &Path, field: &str, bytes: &[u8]) -> Result<PathBuf> {
    let mut file = NewFile::create(path, field)?;
    file.write_all(bytes).map_err(|e| write_error(path, &e))?;
    file.finish()
}

/// Why a file could not be created, in words, with the path.
fn create_error(path: &Path, field: &str, e: &std::io::Error) -> Error {
    let shown = path.display();
    let is_link = std::fs::symlink_metadata(path).map(|m| m.file_type().is_symlink()).unwrap_or(false);
    if is_link {
        return Error::conflict(
            ConflictReason::AlreadyExists,
            format!("{shown} is a symbolic link; Gatehouse never writes through one: name a new file"),
        );
    }
    #[cfg(unix)]
    if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        return Error::conflict(
            ConflictReason::AlreadyExists,
            format!("{shown} is a symbolic link; Gatehouse never writes through one: name a new file"),
        );
    }
    match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::conflict(
            ConflictReason::AlreadyExists,
            format!("{shown} already exists; Gatehouse never overwrites a file: name a new one"),
        ),
        std::io::ErrorKind::NotFound => {
            Error::invalid(field, format!("cannot create {shown}: its folder does not exist"))
        }
        std::io::ErrorKind::PermissionDenied => {
            Error::invalid(field, format!("cannot create {shown}: permission denied"))
        }
        _ => Error::invalid(field, format!("cannot create {shown}: {e}")),
    }
}

/// Writing into a file already created failed: the disk is full, or the file system went away.
pub fn write_error(path: &Path, e: &std::io::Error) -> Error {
    Error::Unavailable(format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_private_and_kept_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        write_new(&path, "out", b"a,b\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a,b\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn an_existing_file_is_refused_and_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gatehouse.db");
        std::fs::write(&path, b"precious").unwrap();
        let e = write_new(&path, "out", b"x").unwrap_err();
        assert_eq!(e.conflict_reason(), Some(ConflictReason::AlreadyExists), "{e}");
        assert!(e.to_string().contains("gatehouse.db"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_are_refused_dangling_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"precious").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_new(&link, "out", b"x").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");

        let missing = dir.path().join("missing");
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(&missing, &dangling).unwrap();
        let e = write_new(&dangling, "out", b"x").unwrap_err();
        assert_eq!(e.conflict_reason(), Some(ConflictReason::AlreadyExists), "{e}");
        assert!(!missing.exists(), "the link's target was created");
    }

    #[test]
    fn an_unfinished_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("partial.csv");
        {
            let mut f = NewFile::create(&path, "out").unwrap();
            f.write_all(b"half").unwrap();
        }
        assert!(!path.exists());
        let e = NewFile::create(&dir.path().join("no/such/folder/x"), "out").unwrap_err();
        assert_eq!(e.field(), Some("out"));
    }
}
