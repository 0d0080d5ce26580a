//! Printing: one JSON document with --json, else plain tables and sentences; errors on stderr.

use gatehouse_core::formats::ExportFormat;
use gatehouse_core::usecases::{
    audit::AuditEventView, invitations, members, review::ReviewRow, roles::RoleView,
    service_accounts::ServiceAccountView,
};
use gatehouse_core::{Error, ErrorBody, Result};
use serde::Serialize;
use std::path::Path;

pub struct Out {
    pub json: bool,
}

impl Out {
    pub fn value<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> Result<()> {
        if self.json {
            print_stdout(&format!("{}\n", serde_json::to_string_pretty(value)?))
        } else {
            let t = text();
            if t.is_empty() {
                return Ok(());
            }
            print_stdout(&format!("{}\n", t.trim_end()))
        }
    }

    /// Print an error the way the contract says and return its exit code.
    pub fn error(&self, e: &Error) -> i32 {
        let body = ErrorBody::from(e);
        if self.json {
            eprintln!(
                "{}",
                serde_json::to_string(&gatehouse_core::replies::ErrorReply { error: body }).unwrap_or_default()
            );
        } else {
            eprintln!("error ({}): {}", body.code.as_str(), terminal_safe(&body.message));
        }
        e.code().exit_code()
    }
}

/// A value as a terminal may show it: control characters (escape sequences, new lines, tabs) and
/// the formatting characters that reorder or hide text are written as `\u{…}`, so a stored value
/// can neither drive the terminal nor print a line of its own (rule 8).
pub fn terminal_safe(s: &str) -> String {
    if !s.chars().any(gatehouse_core::store::audit::is_unsafe_char) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if gatehouse_core::store::audit::is_unsafe_char(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Columns padded to their widest cell. Padding is written out, not left to `format!` widths,
/// which are bounded (a very long cell made them panic).
pub fn table(headers: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows.map(|r| r.iter().map(|c| terminal_safe(c)).collect()).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(c);
            out.extend(std::iter::repeat_n(' ', widths[i].saturating_sub(c.chars().count())));
        }
        out.trim_end().to_string()
    };
    let mut out = vec![line(headers.iter().map(|h| h.to_string()).collect())];
    out.extend(rows.into_iter().map(line));
    out.join("\n")
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".into())
}

pub fn members_page(p: &members::MemberPage) -> String {
    let t = table(
        &["EMAIL", "NAME", "ROLES", "WORKSPACES", "STATUS", "CONFIRMED", "ENABLED", "CREATED", "LAST LOGIN", "EXPIRES"],
        p.items.iter().map(|m| {
            vec![
                m.email.clone(),
                m.name.clone(),
                m.roles.join(","),
                m.workspaces.iter().map(|w| format!("{}:{}", w.workspace, w.role)).collect::<Vec<_>>().join(","),
                m.status.as_str().to_string(),
                if m.confirmed { "yes".into() } else { "no".into() },
                if m.enabled { "yes".into() } else { "no".into() },
                m.created_at.clone(),
                opt(&m.last_login_at),
                opt(&m.access_expires_at),
            ]
        }),
    );
    let c = &p.counts;
    let pages = ((p.total + p.per_page - 1) / p.per_page).max(1);
    format!(
        "{t}\n\n{} active · {} disabled · {} expired · {} pending · {} rejected · {} invitation expired · {} total\nPage {} / {pages} ({} rows match)",
        c.active, c.disabled, c.expired, c.pending, c.rejected, c.invitation_expired, c.total, p.page, p.total
    )
}

pub fn member_details(d: &members::MemberDetails) -> String {
    let mut out = format!(
        "Email:     {}\nName:      {}\nStatus:    {}\nRoles:     {}\nConfirmed: {}\nEnabled:   {}\nCreated:   {}\nJoined:    {}\nLast login: {}\nExpires:   {}\n",
        d.row.email,
        d.row.name,
        d.row.status.as_str(),
        d.row.roles.join(", "),
        d.row.confirmed,
        d.row.enabled,
        d.row.created_at,
        opt(&d.joined_at),
        opt(&d.row.last_login_at),
        opt(&d.row.access_expires_at)
    );
    for w in &d.workspaces {
        out.push_str(&format!(
            "Workspace: {} as {} until {}{}\n",
            w.workspace,
            w.role,
            opt(&w.expires_at),
            if w.current { "" } else { " (not current)" }
        ));
    }
    out
}

pub fn bulk_report(r: &members::BulkReport) -> String {
    let t = table(
        &["EMAIL", "RESULT", "REASON"],
        r.rows.iter().map(|o| vec![o.email.clone(), o.result.clone(), opt(&o.reason)]),
    );
    if r.dry_run == Some(true) {
        format!("{t}\n\n{} would change, {} would be skipped (dry run: nothing was changed)", r.changed, r.skipped)
    } else {
        format!("{t}\n\n{} changed, {} skipped", r.changed, r.skipped)
    }
}

pub fn issued(i: &invitations::IssuedInvitations) -> String {
    let mut out =
        String::from("Hand each person their token (shown only now); they run: gatehouse invites accept TOKEN\n\n");
    for v in &i.invitations {
        out.push_str(&format!(
            "{} as {}{} (accept before {}{})\n  token: {}\n  link:  gatehouse://invite/{}\n",
            v.email,
            v.role,
            v.workspace.as_ref().map(|w| format!(" in the workspace {w}")).unwrap_or_default(),
            v.valid_until,
            v.access_expires_at.as_ref().map(|t| format!("; access until {t}")).unwrap_or_default(),
            v.token,
            v.token
        ));
    }
    out
}

pub fn invitations_table(items: &[invitations::InvitationView]) -> String {
    table(
        &["EMAIL", "ROLE", "WORKSPACE", "STATUS", "VALID UNTIL", "ACCESS EXPIRES", "SENT", "INVITED BY"],
        items.iter().map(|i| {
            vec![
                i.email.clone(),
                i.role.clone(),
                opt(&i.workspace),
                i.status.as_str().to_string(),
                i.valid_until.clone(),
                opt(&i.access_expires_at),
                i.times_sent.to_string(),
                opt(&i.invited_by),
            ]
        }),
    )
}

pub fn roles_table(items: &[RoleView]) -> String {
    table(
        &["ROLE", "GRANTS", "PERMISSIONS", "DESCRIPTION"],
        items
            .iter()
            .map(|r| vec![r.name.clone(), r.grants.to_string(), r.permissions.join(","), r.description.clone()]),
    )
}

pub fn audit_table(items: &[AuditEventView]) -> String {
    table(
        &["SEQ", "AT", "ACTOR", "ACTION", "TARGET", "DETAILS"],
        items.iter().map(|e| {
            vec![
                e.seq.to_string(),
                e.at.clone(),
                e.actor.clone(),
                e.action.clone(),
                e.target.clone(),
                e.details.to_string(),
            ]
        }),
    )
}

pub const AUDIT_HEADERS: [&str; 7] = ["seq", "at", "actor", "action", "target", "details", "hash"];

/// A text cell of a CSV export: one that a spreadsheet would run as a formula (starting with `=`,
/// `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`, so it opens as text (OWASP's
/// advice on CSV injection). Quoting of commas, quotes and new lines is the CSV writer's.
pub fn csv_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The CSV cells of an event: what callers typed (actor, action, target, details) as text.
fn audit_cells(e: &AuditEventView) -> Vec<String> {
    vec![
        e.seq.to_string(),
        e.at.clone(),
        csv_cell(&e.actor),
        csv_cell(&e.action),
        csv_cell(&e.target),
        csv_cell(&e.details.to_string()),
        e.hash.clone(),
    ]
}

/// The audit export of the desktop app: events as `audit::list` gives them (newest first),
/// written oldest first, as a log is read, in the format the page asked for.
pub fn audit_export(items: &[AuditEventView], format: ExportFormat) -> Result<String> {
    let mut export = Export::of_format(Vec::new(), format, &AUDIT_HEADERS);
    for e in items.iter().rev() {
        export.audit_event(e)?;
    }
    String::from_utf8(export.finish()?).map_err(|e| Error::Internal(e.to_string()))
}

/// A file or stdout that an export is written to, buffered. A file is a new owner-only one
/// (rule 12), removed again if the export fails.
/// Write `text` to standard output. A reader that stopped reading (`gatehouse … | head`) is not a
/// failure: what it read is what it wanted, so the rest is dropped and the command ends as it would
/// have (`println!` panicked there, exit 101).
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Unavailable(format!("cannot write to standard output: {e}")))
        }
        _ => Ok(()),
    }
}

pub enum ExportSink {
    File(std::io::BufWriter<gatehouse_core::files::NewFile>),
    /// `reader_gone`: a write found the pipe closed by its reader.
    Stdout {
        out: std::io::BufWriter<std::io::Stdout>,
        reader_gone: bool,
    },
}

impl ExportSink {
    pub fn open(file: Option<&Path>) -> Result<ExportSink> {
        Ok(match file {
            Some(path) => ExportSink::File(std::io::BufWriter::with_capacity(
                1 << 16,
                gatehouse_core::files::NewFile::create(path, "out")?,
            )),
            None => ExportSink::Stdout {
                out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()),
                reader_gone: false,
            },
        })
    }

    /// Everything written: flush, and keep the file.
    pub fn finish(self) -> Result<()> {
        match self {
            ExportSink::File(w) => {
                let file = w.into_inner().map_err(|e| write_failed(e.error()))?;
                file.finish().map(drop)
            }
            ExportSink::Stdout { out: mut w, reader_gone } => match w.flush() {
                Err(e) if !reader_gone && e.kind() != std::io::ErrorKind::BrokenPipe => Err(write_failed(&e)),
                _ => Ok(()),
            },
        }
    }

    /// The export's outcome, where an export cut short because the reader of standard output
    /// stopped reading (`| head`) is not a failure: the reader has all it asked for.
    pub fn unless_reader_gone<T: Default>(&self, outcome: Result<T>) -> Result<T> {
        match (outcome, self) {
            (Err(_), ExportSink::Stdout { reader_gone: true, .. }) => Ok(T::default()),
            (outcome, _) => outcome,
        }
    }
}

impl std::io::Write for ExportSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            ExportSink::File(w) => w.write(buf),
            ExportSink::Stdout { out, reader_gone } => {
                let written = out.write(buf);
                if written.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) {
                    *reader_gone = true;
                }
                written
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            ExportSink::File(w) => w.flush(),
            ExportSink::Stdout { out, reader_gone } => {
                let flushed = out.flush();
                if flushed.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) {
                    *reader_gone = true;
                }
                flushed
            }
        }
    }
}

use std::io::Write as _;

fn write_failed(e: &std::io::Error) -> Error {
    Error::Unavailable(format!("cannot write the export: {e}"))
}

enum Encoding<W: std::io::Write> {
    Csv {
        out: csv::Writer<W>,
        headers: &'static [&'static str],
    },
    /// `{"items":[…]}`, one row a line: the shape of `--json` lists.
    JsonItems(W),
    /// One JSON document a line.
    JsonLines(W),
}

/// An export written row by row as the rows come out of the database: memory stays bounded
/// whatever the number of rows. Nothing is written before the first row or `finish` (a refused
/// export prints nothing, not even a CSV header).
pub struct Export<W: std::io::Write> {
    encoding: Encoding<W>,
    rows: u64,
}

impl<W: std::io::Write> Export<W> {
    pub fn csv(out: W, headers: &'static [&'static str]) -> Self {
        Export { encoding: Encoding::Csv { out: csv::Writer::from_writer(out), headers }, rows: 0 }
    }

    pub fn json_items(out: W) -> Self {
        Export { encoding: Encoding::JsonItems(out), rows: 0 }
    }

    pub fn json_lines(out: W) -> Self {
        Export { encoding: Encoding::JsonLines(out), rows: 0 }
    }

    /// The encoding of `format` (`{"items":[…]}` for json), matched with no catch-all arm: a format
    /// a front door may send is always written as itself.
    pub fn of_format(out: W, format: ExportFormat, headers: &'static [&'static str]) -> Self {
        match format {
            ExportFormat::Csv => Export::csv(out, headers),
            ExportFormat::Json => Export::json_items(out),
            ExportFormat::Jsonl => Export::json_lines(out),
        }
    }

    fn start(&mut self) -> Result<()> {
        if self.rows > 0 {
            return Ok(());
        }
        match &mut self.encoding {
            Encoding::Csv { out, headers } => out.write_record(*headers).map_err(csv_failed),
            Encoding::JsonItems(out) => out.write_all(b"{\"items\":[").map_err(|e| write_failed(&e)),
            Encoding::JsonLines(_) => Ok(()),
        }
    }

    /// One row: `value` for the JSON forms, `cells` for CSV.
    pub fn row<T: Serialize>(&mut self, value: &T, cells: impl FnOnce() -> Vec<String>) -> Result<()> {
        self.start()?;
        let first = self.rows == 0;
        self.rows += 1;
        match &mut self.encoding {
            Encoding::Csv { out, .. } => out.write_record(cells()).map_err(csv_failed),
            Encoding::JsonItems(out) => {
                out.write_all(if first { b"\n" } else { b",\n" }).map_err(|e| write_failed(&e))?;
                serde_json::to_writer(&mut *out, value).map_err(json_failed)
            }
            Encoding::JsonLines(out) => {
                serde_json::to_writer(&mut *out, value).map_err(json_failed)?;
                out.write_all(b"\n").map_err(|e| write_failed(&e))
            }
        }
    }

    pub fn member(&mut self, m: &members::MemberRow) -> Result<()> {
        self.row(m, || member_cells(m))
    }

    pub fn audit_event(&mut self, e: &AuditEventView) -> Result<()> {
        self.row(e, || audit_cells(e))
    }

    /// Close the document (a header alone when there were no rows) and hand the writer back.
    pub fn finish(mut self) -> Result<W> {
        let empty = self.rows == 0;
        if empty && matches!(self.encoding, Encoding::Csv { .. }) {
            // A CSV export of nothing is its header alone.
            self.start()?;
        }
        match self.encoding {
            Encoding::Csv { out, .. } => out.into_inner().map_err(|e| write_failed(e.error())),
            Encoding::JsonItems(mut out) => {
                out.write_all(if empty { b"{\"items\":[]}\n" } else { b"\n]}\n" }).map_err(|e| write_failed(&e))?;
                Ok(out)
            }
            Encoding::JsonLines(out) => Ok(out),
        }
    }
}

/// serde_json reports a failed write as its own error: a write that failed is `unavailable` as with
/// CSV (a full disk is not a bug), anything else is.
fn json_failed(e: serde_json::Error) -> Error {
    match e.io_error_kind() {
        Some(kind) => write_failed(&std::io::Error::from(kind)),
        None => Error::Internal(format!("json: {e}")),
    }
}

fn csv_failed(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => write_failed(&e),
        other => Error::Internal(format!("csv: {other:?}")),
    }
}

fn csv_of(headers: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<String> {
    let mut w = csv::Writer::from_writer(vec![]);
    let err = |e: csv::Error| Error::Internal(e.to_string());
    w.write_record(headers).map_err(err)?;
    for r in rows {
        w.write_record(&r).map_err(err)?;
    }
    String::from_utf8(w.into_inner().map_err(|e| Error::Internal(e.to_string()))?)
        .map_err(|e| Error::Internal(e.to_string()))
}

pub const MEMBER_HEADERS: [&str; 9] =
    ["email", "name", "roles", "status", "confirmed", "enabled", "created_at", "last_login_at", "access_expires_at"];

fn member_cells(m: &members::MemberRow) -> Vec<String> {
    vec![
        m.email.clone(),
        m.name.clone(),
        m.roles.join(";"),
        m.status.as_str().to_string(),
        m.confirmed.to_string(),
        m.enabled.to_string(),
        m.created_at.clone(),
        m.last_login_at.clone().unwrap_or_default(),
        m.access_expires_at.clone().unwrap_or_default(),
    ]
}

pub fn members_csv(rows: &[members::MemberRow]) -> Result<String> {
    csv_of(&MEMBER_HEADERS, rows.iter().map(member_cells))
}

fn review_cells(r: &ReviewRow) -> Vec<String> {
    vec![
        r.kind.clone(),
        r.subject.clone(),
        r.name.clone(),
        r.status.clone(),
        r.role.clone(),
        r.scope.clone(),
        r.expires_at.clone().unwrap_or_default(),
        r.last_login_at.clone().unwrap_or_default(),
    ]
}

const REVIEW_HEADERS: [&str; 8] = ["kind", "subject", "name", "status", "role", "scope", "expires_at", "last_seen_at"];

pub fn review_csv(rows: &[ReviewRow]) -> Result<String> {
    csv_of(&REVIEW_HEADERS, rows.iter().map(review_cells))
}

pub fn review_table(rows: &[ReviewRow]) -> String {
    let headers: Vec<String> = REVIEW_HEADERS.iter().map(|h| h.to_uppercase()).collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    table(
        &headers,
        rows.iter().map(|r| review_cells(r).into_iter().map(|c| if c.is_empty() { "-".into() } else { c }).collect()),
    )
}

pub fn service_accounts_table(items: &[ServiceAccountView]) -> String {
    table(
        &["NAME", "ROLE", "TOKEN", "STATUS", "EXPIRES", "LAST USED", "CREATED BY"],
        items.iter().map(|s| {
            vec![
                s.name.clone(),
                opt(&s.role),
                format!("{}…", s.token_prefix),
                s.status.clone(),
                opt(&s.expires_at),
                opt(&s.last_used_at),
                opt(&s.created_by),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        n: u32,
    }

    fn cells(n: u32) -> Vec<String> {
        vec![n.to_string()]
    }

    /// The streamed forms are whole documents whatever the number of rows, and nothing is written
    /// before the first row (a refused export prints nothing, not even a header).
    #[test]
    fn streamed_exports_are_whole_documents() {
        for rows in [0u32, 1, 3] {
            let mut json = Export::json_items(Vec::new());
            let mut csv = Export::csv(Vec::new(), &["n"]);
            let mut lines = Export::json_lines(Vec::new());
            for n in 0..rows {
                json.row(&Row { n }, || cells(n)).unwrap();
                csv.row(&Row { n }, || cells(n)).unwrap();
                lines.row(&Row { n }, || cells(n)).unwrap();
            }
            let json: serde_json::Value = serde_json::from_slice(&json.finish().unwrap()).unwrap();
            assert_eq!(json["items"].as_array().unwrap().len(), rows as usize, "{json}");
            let csv = String::from_utf8(csv.finish().unwrap()).unwrap();
            assert_eq!(csv.lines().count(), rows as usize + 1, "{csv}");
            let lines = String::from_utf8(lines.finish().unwrap()).unwrap();
            assert_eq!(lines.lines().filter(|l| serde_json::from_str::<Row2>(l).is_ok()).count(), rows as usize);
        }
        let mut untouched = Vec::new();
        drop(Export::csv(&mut untouched, &["n"]));
        assert!(untouched.is_empty());
    }

    #[derive(serde::Deserialize)]
    struct Row2 {
        #[allow(dead_code)]
        n: u32,
    }
}
