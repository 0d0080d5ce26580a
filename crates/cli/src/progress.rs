//! What the CLI says on stderr besides its answer: why it waits (another process's write lock, a
//! schema upgrade) and how an upgrade progresses — on a terminal only, so that scripts see
//! nothing but the contract — and the diagnostic log (raw database errors, which never go into an
//! error message): a `gatehouse:` line on stderr in text mode, and appended to $GATEHOUSE_LOG.

use gatehouse_core::db::{Notice, Observer, WaitReason};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// An observer that tells a person at a terminal why the command waits; `None` when stderr is
/// not a terminal.
pub fn on_terminal(path: &Path) -> Option<Observer> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let path = path.display().to_string();
    // A "… 12 s" progress line is rewritten in place; the next message starts on a clean line.
    let progress_line_open = AtomicBool::new(false);
    Some(Arc::new(move |notice: &Notice| {
        let mut err = std::io::stderr().lock();
        if progress_line_open.swap(false, Ordering::Relaxed) {
            let _ = write!(err, "\r\x1b[K");
        }
        let _ = match notice {
            Notice::Waiting { reason: WaitReason::Write, bound } => writeln!(
                err,
                "gatehouse: waiting for another Gatehouse process to finish writing to {path} (at most {} s)…",
                bound.as_secs()
            ),
            Notice::Waiting { reason: WaitReason::Upgrade, .. } => writeln!(
                err,
                "gatehouse: waiting for another Gatehouse process, which is upgrading the database {path} to a \
                 newer schema…"
            ),
            Notice::DoneWaiting => Ok(()),
            Notice::Upgrading { from, to } => writeln!(
                err,
                "gatehouse: upgrading the database {path} from schema {from} to {to} (a large database takes a \
                 while; other Gatehouse processes wait for it)"
            ),
            Notice::UpgradeStep { step, steps, name } => writeln!(err, "gatehouse:   step {step} of {steps}: {name}"),
            Notice::StillUpgrading { elapsed } => {
                progress_line_open.store(true, Ordering::Relaxed);
                write!(err, "gatehouse:   … {} s", elapsed.as_secs())
            }
            Notice::Upgraded { elapsed, .. } => {
                writeln!(err, "gatehouse: database upgraded in {:.1} s", elapsed.as_secs_f64())
            }
        };
    }))
}

/// A watcher for a bulk command: on a terminal, a "verb: done of total" line rewritten in place at
/// most ten times a second once the work has run for half a second (short work prints nothing),
/// then cleared. Never cancels (Ctrl-C ends the process, and the open transaction rolls back).
pub fn rows_on_terminal(verb: &'static str) -> impl FnMut(gatehouse_core::usecases::members::Progress) -> bool {
    let on_terminal = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut last: Option<std::time::Instant> = None;
    move |p| {
        if !on_terminal {
            return true;
        }
        let mut err = std::io::stderr().lock();
        if p.done == p.total {
            if last.is_some() {
                let _ = write!(err, "\r\x1b[K");
            }
            return true;
        }
        let due = match last {
            None => started.elapsed() >= std::time::Duration::from_millis(500),
            Some(t) => t.elapsed() >= std::time::Duration::from_millis(100),
        };
        if due {
            last = Some(std::time::Instant::now());
            let _ = write!(err, "\r\x1b[Kgatehouse: {verb}: {} of {} rows", p.done, p.total);
        }
        true
    }
}

/// A copy between engines (`migrate`, `backup` from PostgreSQL) on a terminal: "copied: N of M
/// rows" rewritten in place at most four times a second once the copy has run for half a second
/// (a small database prints nothing), then cleared. Scripts see nothing.
pub fn copy_on_terminal(verb: &'static str) -> impl FnMut(gatehouse_core::transfer::Progress) {
    let on_terminal = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut last: Option<std::time::Instant> = None;
    move |p| {
        if !on_terminal {
            return;
        }
        let mut err = std::io::stderr().lock();
        if p.done == p.total {
            if last.is_some() {
                let _ = write!(err, "\r\x1b[K");
            }
            return;
        }
        let due = match last {
            None => started.elapsed() >= std::time::Duration::from_millis(500),
            Some(t) => t.elapsed() >= std::time::Duration::from_millis(250),
        };
        if due {
            last = Some(std::time::Instant::now());
            let _ = write!(err, "\r\x1b[Kgatehouse: {verb} {} of {} rows", p.done, p.total);
            let _ = err.flush();
        }
    }
}

/// Where the core's diagnostics go.
struct Diagnostics {
    to_stderr: bool,
    file: Option<Mutex<std::fs::File>>,
}

impl log::Log for Diagnostics {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if self.to_stderr {
            eprintln!("gatehouse: {}", record.args());
        }
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(file, "{} {}", gatehouse_core::time::rfc3339(gatehouse_core::time::now()), record.args());
        }
    }

    fn flush(&self) {}
}

/// Send the core's diagnostics to stderr (text mode: `--json` keeps stderr to the one error
/// document) and to the file named by $GATEHOUSE_LOG (appended, created owner-only).
pub fn install_log(json: bool) {
    let file = std::env::var_os("GATEHOUSE_LOG").filter(|p| !p.is_empty()).and_then(|path| {
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(path).ok().map(Mutex::new)
    });
    if log::set_boxed_logger(Box::new(Diagnostics { to_stderr: !json, file })).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

/// How many rows a long export has written, on a terminal only (stderr): one line rewritten in
/// place at most four times a second, and the total at the end. Scripts see nothing.
pub struct RowCount {
    what: &'static str,
    rows: u64,
    on_terminal: bool,
    shown: bool,
    started: std::time::Instant,
    last: std::time::Instant,
}

impl RowCount {
    pub fn new(what: &'static str) -> RowCount {
        let now = std::time::Instant::now();
        RowCount { what, rows: 0, on_terminal: std::io::stderr().is_terminal(), shown: false, started: now, last: now }
    }

    pub fn tick(&mut self) {
        self.rows += 1;
        if self.on_terminal && self.rows % 1024 == 0 && self.last.elapsed() >= std::time::Duration::from_millis(250) {
            self.last = std::time::Instant::now();
            self.shown = true;
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[Kgatehouse: {} {} exported…", self.rows, self.what);
            let _ = err.flush();
        }
    }

    /// The export is complete (or failed): end the progress line, if one was shown.
    pub fn done(&mut self) {
        if self.shown {
            self.shown = false;
            let _ = writeln!(
                std::io::stderr(),
                "\r\x1b[Kgatehouse: {} {} exported in {:.1} s",
                self.rows,
                self.what,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

impl Drop for RowCount {
    fn drop(&mut self) {
        self.done();
    }
}
