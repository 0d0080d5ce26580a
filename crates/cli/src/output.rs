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
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            let t = text();
            if !t.is_empty() {
                println!("{}", t.trim_end());
            }
        }
        Ok(())
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
                m.status.clone(),
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
        d.row.status,
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

pub fn audit_export(items: &[AuditEventView], format: ExportFormat) -> Result<String> {
    // Exports run oldest first, as a log is read.
    let ordered = items.iter().rev();
    match format {
        ExportFormat::Jsonl => Ok(ordered
            .map(|e| serde_json::to_string(e).map(|s| s + "\n"))
            .collect::<std::result::Result<String, _>>()?),
        ExportFormat::Json => Ok(serde_json::to_string_pretty(&ordered.collect::<Vec<_>>())? + "\n"),
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(vec![]);
            w.write_record(["seq", "at", "actor", "action", "target", "details", "hash"])
                .map_err(|e| Error::Internal(e.to_string()))?;
            for e in ordered {
                w.write_record([
                    e.seq.to_string(),
                    e.at.clone(),
                    csv_cell(&e.actor),
                    csv_cell(&e.action),
                    csv_cell(&e.target),
                    csv_cell(&e.details.to_string()),
                    e.hash.clone(),
                ])
                .map_err(|e| Error::Internal(e.to_string()))?;
            }
            String::from_utf8(w.into_inner().map_err(|e| Error::Internal(e.to_string()))?)
                .map_err(|e| Error::Internal(e.to_string()))
        }
    }
}

/// The roster in an export format (`members export`).
pub fn members_export(rows: &[members::MemberRow], format: ExportFormat) -> Result<String> {
    match format {
        ExportFormat::Csv => members_csv(rows),
        ExportFormat::Json => {
            Ok(serde_json::to_string_pretty(&gatehouse_core::replies::Items::from(rows.to_vec()))? + "\n")
        }
        ExportFormat::Jsonl => Ok(rows
            .iter()
            .map(|r| serde_json::to_string(r).map(|s| s + "\n"))
            .collect::<std::result::Result<String, _>>()?),
    }
}

pub fn write_or_print(file: Option<&Path>, text: &str) -> Result<()> {
    match file {
        Some(f) => {
            std::fs::write(f, text).map_err(|e| Error::invalid("out", format!("cannot write {}: {e}", f.display())))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Write `text` to a new file readable by its user alone (0600). An existing path, a symbolic link
/// (dangling or not) included, is refused as a conflict (exit 6): nothing is overwritten and no
/// link is followed (`O_CREAT | O_EXCL`).
pub fn write_new_file(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::conflict(
            gatehouse_core::error::ConflictReason::AlreadyExists,
            format!("{} already exists; choose a new file name", path.display()),
        ),
        _ => Error::invalid("out", format!("cannot write {}: {e}", path.display())),
    })?;
    file.write_all(text.as_bytes()).map_err(|e| Error::invalid("out", format!("cannot write {}: {e}", path.display())))
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

pub fn members_csv(rows: &[members::MemberRow]) -> Result<String> {
    csv_of(
        &[
            "email",
            "name",
            "roles",
            "status",
            "confirmed",
            "enabled",
            "created_at",
            "last_login_at",
            "access_expires_at",
        ],
        rows.iter().map(|m| {
            vec![
                m.email.clone(),
                m.name.clone(),
                m.roles.join(";"),
                m.status.clone(),
                m.confirmed.to_string(),
                m.enabled.to_string(),
                m.created_at.clone(),
                m.last_login_at.clone().unwrap_or_default(),
                m.access_expires_at.clone().unwrap_or_default(),
            ]
        }),
    )
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
