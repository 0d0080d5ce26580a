//! The Gatehouse command line as a library: parse the arguments (clap), resolve who is calling,
//! call one core use case, print text or one JSON document, and return the exit code of the CLI
//! contract (PRODUCT.md §3). No SQL and no authorization here: both live in `gatehouse-core`.

mod args;
/// Tables for people, and the CSV/JSON export formats (the desktop app writes the same files).
pub mod output;
mod progress;

use args::*;
use clap::Parser;
use gatehouse_core::db::OpenOptions;
use gatehouse_core::formats::ExportFormat;
use gatehouse_core::replies::{self, Items};
use gatehouse_core::store::organizations::WorkspaceAccessMode;
use gatehouse_core::usecases::{
    audit, check, demo, invitations, members, orgs, restore, review, roles, service_accounts, workspaces,
};
use gatehouse_core::{time, Database, Error, Principal, Result};
use output::Out;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Run the CLI with these arguments (the first is the program name); returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return 0;
        }
        Err(e) => {
            // A usage error is bad input: under --json it is reported like every other error.
            if args.iter().any(|a| a == "--json") {
                let message = e
                    .render()
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("invalid arguments")
                    .trim_start_matches("error: ")
                    .to_string();
                return Out { json: true }.error(&Error::invalid("arguments", message));
            }
            let _ = e.print();
            return 2;
        }
    };
    let out = Out { json: cli.json };
    progress::install_log(cli.json);
    match execute(&cli, &out) {
        Ok(()) => 0,
        Err(e) => out.error(&e),
    }
}

/// The URL scheme of invitation links: `gatehouse://invite/TOKEN`.
pub const LINK_SCHEME: &str = "gatehouse://";

/// With no arguments, or with only a `gatehouse://` link (which is how the system hands a clicked
/// link to the app), `gatehouse` opens the desktop window; anything else is a CLI command.
pub fn wants_window(args: &[OsString]) -> bool {
    match args.len() {
        0 | 1 => true,
        2 => args[1].to_str().is_some_and(|a| a.starts_with(LINK_SCHEME)),
        _ => false,
    }
}

/// Whether a window can open: on Linux and the BSDs GTK needs an X11 or Wayland display, and
/// without one the desktop program would end in a GTK panic; Windows and macOS always have one.
/// `var` reads an environment variable (`std::env::var_os` outside tests).
pub fn has_display(var: impl Fn(&str) -> Option<OsString>) -> bool {
    if cfg!(any(windows, target_os = "macos")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|name| var(name).is_some_and(|v| !v.is_empty()))
}

/// What `gatehouse` and `gatehouse-desktop` say, before exiting 2, when there is no display.
pub fn no_display_message(program: &str) -> String {
    format!(
        "{program}: there is no display here ($DISPLAY and $WAYLAND_DISPLAY are not set, as over SSH), \
         so the window cannot open.\n\
         Gatehouse works here as a command line: gatehouse --help (a first database: gatehouse init --help)"
    )
}

/// Where the database lives: --db, else $GATEHOUSE_DB, else the platform's app-data folder.
pub fn default_db_path() -> PathBuf {
    if let Some(p) = std::env::var_os("GATEHOUSE_DB").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    app_data_dir().join("gatehouse.db")
}

/// The platform's app-data folder of Gatehouse (the database file, the desktop app's settings).
pub fn app_data_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    let base = if cfg!(target_os = "windows") {
        std::env::var_os("APPDATA").map(PathBuf::from).unwrap_or(home)
    } else if cfg!(target_os = "macos") {
        home.join("Library/Application Support")
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".local/share"))
    };
    base.join(APP_IDENTIFIER)
}

/// The bundle identifier; the desktop app keeps its data in the same folder.
pub const APP_IDENTIFIER: &str = "dev.gatehouse.app";

fn password_from_env_or_prompt(prompt: &str) -> Result<String> {
    if let Ok(p) = std::env::var("GATEHOUSE_PASSWORD") {
        return Ok(p);
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return rpassword::prompt_password(prompt)
            .map_err(|e| Error::Internal(format!("cannot read the password: {e}")));
    }
    Err(Error::invalid("password", "set GATEHOUSE_PASSWORD (no terminal to ask on)"))
}

/// Open the existing database: a missing or empty file is `not_found` (exit 5), naming the path,
/// so that a mistyped --db never leaves a new empty database behind.
fn open(cli: &Cli) -> Result<Database> {
    open_database(cli, false)
}

/// Open the database, creating it if it does not exist: `init` and `restore` only.
fn open_or_create(cli: &Cli) -> Result<Database> {
    open_database(cli, true)
}

fn open_database(cli: &Cli, create: bool) -> Result<Database> {
    let path = cli.db.clone().unwrap_or_else(default_db_path);
    let options = OpenOptions { create, lock_wait: lock_wait()?, observer: progress::on_terminal(&path) };
    let mut db = Database::open_with(&path, options)?;
    // Expiry is a lifecycle: whatever expired since the last command is audited now — unless
    // another process holds the write lock, in which case the next write records it first
    // (`Database::write`), and this command, if it only reads, does not wait.
    audit::try_record_expiries(&mut db, time::now())?;
    Ok(db)
}

/// How long a command waits for another process's write lock before exit 7 `unavailable`:
/// $GATEHOUSE_BUSY_TIMEOUT (seconds, or a duration such as `2m`), else 30 s.
fn lock_wait() -> Result<Duration> {
    const VAR: &str = "GATEHOUSE_BUSY_TIMEOUT";
    let Some(text) = std::env::var(VAR).ok().filter(|t| !t.trim().is_empty()) else {
        return Ok(gatehouse_core::db::DEFAULT_LOCK_WAIT);
    };
    let text = text.trim();
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=86_400.0).contains(&secs) => Ok(Duration::from_secs_f64(secs)),
        Ok(_) => Err(Error::invalid(VAR, "give a number of seconds between 0 and 86400")),
        Err(_) => Ok(Duration::from_secs(time::parse_duration(VAR, text)?.max(0) as u64)),
    }
}

/// The caller: --as EMAIL with $GATEHOUSE_PASSWORD, or a service-account token in $GATEHOUSE_TOKEN.
fn identify(cli: &Cli, db: &mut Database) -> Result<Principal> {
    let now = time::now();
    if let Some(email) = &cli.as_email {
        let password = password_from_env_or_prompt(&format!("Password for {email}: "))?;
        return gatehouse_core::auth::sign_in(db, email, &password, now);
    }
    if let Ok(token) = std::env::var("GATEHOUSE_TOKEN") {
        if !token.trim().is_empty() {
            return gatehouse_core::auth::authenticate_token(db, &token, now);
        }
    }
    Err(Error::Unauthenticated(
        "who is asking? pass --as EMAIL (password in $GATEHOUSE_PASSWORD) or set $GATEHOUSE_TOKEN".into(),
    ))
}

fn when(field: &str, text: &Option<String>) -> Result<Option<i64>> {
    match text {
        Some(t) => time::parse_when(field, t, time::now()),
        None => Ok(None),
    }
}

fn execute(cli: &Cli, out: &Out) -> Result<()> {
    let now = time::now();
    match &cli.command {
        Command::Init { org, email, name } => {
            let mut db = open_or_create(cli)?;
            let password = password_from_env_or_prompt("Password for the new owner: ")?;
            let done = orgs::init(&mut db, org, email, name, &password, now)?;
            out.value(&done, || {
                format!(
                    "Created organization {} ({}) owned by {} <{}>",
                    done.organization.name, done.organization.slug, done.account.name, done.account.email
                )
            })
        }
        Command::Orgs(cmd) => {
            let mut db = open(cli)?;
            let who = identify(cli, &mut db)?;
            match cmd {
                OrgsCommand::List => {
                    let items = orgs::list(&mut db, &who, now)?;
                    out.value(&Items::from(items.clone()), || {
                        output::table(
                            &["SLUG", "NAME", "WORKSPACE ACCESS"],
                            items
                                .iter()
                                .map(|o| vec![o.slug.clone(), o.name.clone(), o.workspace_access.as_str().into()]),
                        )
                    })
                }
                OrgsCommand::Create { name, workspace_access } => {
                    let mode = WorkspaceAccessMode::parse("workspace_access", workspace_access)?;
                    let o = orgs::create(&mut db, &who, name, Some(mode), now)?;
                    out.value(&o, || {
                        format!(
                            "Created organization {} ({}), workspace access {}",
                            o.name,
                            o.slug,
                            o.workspace_access.as_str()
                        )
                    })
                }
                OrgsCommand::Update { org, workspace_access } => {
                    let mode = WorkspaceAccessMode::parse("workspace_access", workspace_access)?;
                    let o = orgs::update(&mut db, &who, org, mode, now)?;
                    out.value(&o, || format!("{}: workspace access {}", o.slug, o.workspace_access.as_str()))
                }
                OrgsCommand::Rename { org, name } => {
                    let o = orgs::rename(&mut db, &who, org, name, now)?;
                    out.value(&o, || format!("Renamed {} to {}", o.slug, o.name))
                }
            }
        }
        Command::Members(cmd) => members_command(cli, out, cmd),
        Command::Workspaces(cmd) => {
            let mut db = open(cli)?;
            let who = identify(cli, &mut db)?;
            match cmd {
                WorkspacesCommand::List { org } => {
                    let items = workspaces::list(&mut db, &who, org, now)?;
                    out.value(&Items::from(items.clone()), || {
                        output::table(
                            &["WORKSPACE", "CREATED"],
                            items.iter().map(|w| vec![w.name.clone(), w.created_at.clone()]),
                        )
                    })
                }
                WorkspacesCommand::Create { org, name } => {
                    let w = workspaces::create(&mut db, &who, org, name, now)?;
                    out.value(&w, || format!("Created workspace {}", w.name))
                }
                WorkspacesCommand::Grant { org, workspace, email, role, expires } => {
                    let g =
                        workspaces::grant(&mut db, &who, org, workspace, email, role, when("expires", expires)?, now)?;
                    out.value(&g, || {
                        format!(
                            "{} has {} in {}{}",
                            g.email,
                            g.role,
                            g.workspace,
                            g.expires_at.as_ref().map(|t| format!(" until {t}")).unwrap_or_default()
                        )
                    })
                }
                WorkspacesCommand::Revoke { org, workspace, email } => {
                    workspaces::revoke(&mut db, &who, org, workspace, email, now)?;
                    out.value(
                        &replies::WorkspaceRevoked { workspace: workspace.clone(), revoked: email.clone() },
                        || format!("{email} no longer has access to {workspace}"),
                    )
                }
            }
        }
        Command::ServiceAccounts(cmd) => {
            let mut db = open(cli)?;
            let who = identify(cli, &mut db)?;
            match cmd {
                ServiceAccountsCommand::Create { org, name, role, expires } => {
                    let c = service_accounts::create(&mut db, &who, org, name, role, when("expires", expires)?, now)?;
                    out.value(&c, || format!("Created service account {} with role {}.\nIts token, shown only now (use it as $GATEHOUSE_TOKEN):\n{}", c.account.name, c.account.role.clone().unwrap_or_default(), c.token))
                }
                ServiceAccountsCommand::List { org } => {
                    let items = service_accounts::list(&mut db, &who, org, now)?;
                    out.value(&Items::from(items.clone()), || output::service_accounts_table(&items))
                }
                ServiceAccountsCommand::Revoke { org, name } => {
                    let v = service_accounts::revoke(&mut db, &who, org, name, now)?;
                    out.value(&v, || format!("Revoked service account {}", v.name))
                }
            }
        }
        Command::Review { org, expiring_within, format } => {
            let mut db = open(cli)?;
            let who = identify(cli, &mut db)?;
            let within = expiring_within.as_deref().map(|d| time::parse_duration("expiring_within", d)).transpose()?;
            let rows = review::review(&mut db, &who, org, within, now)?;
            if cli.json || format == "json" {
                output::print_stdout(&format!("{}\n", serde_json::to_string_pretty(&Items::from(rows))?))
            } else if format == "csv" {
                output::print_stdout(&output::review_csv(&rows)?)
            } else {
                out.value(&rows, || output::review_table(&rows))
            }
        }
        Command::Backup { file } => {
            let db = open(cli)?;
            let mut progress = progress::copy_on_terminal("backed up");
            db.backup_to_with(file, &mut progress)?;
            out.value(&serde_json::json!({"backup": file}), || format!("Backed up to {}", file.display()))
        }
        Command::Migrate { to } => {
            let mut db = open(cli)?;
            let mut progress = progress::copy_on_terminal("copied");
            let report = gatehouse_core::transfer::migrate_to_postgres(&mut db, to, now, &mut progress)?;
            out.value(&report, || {
                format!(
                    "Migrated to {}: {}. Use --db or $GATEHOUSE_DB with that URL from now on.",
                    report.migrated_to,
                    report.copied.summary()
                )
            })
        }
        Command::Restore { file } => {
            // A person proves who they are against the backup itself, so a token cannot restore.
            let Some(email) = &cli.as_email else {
                return Err(Error::Unauthenticated(
                    "restore needs --as EMAIL: an owner of every organization in the backup, with the password \
                     as it stands in the backup ($GATEHOUSE_PASSWORD)"
                        .into(),
                ));
            };
            let password = password_from_env_or_prompt(&format!("Password for {email} (as in the backup): "))?;
            let path = cli.db.clone().unwrap_or_else(default_db_path);
            let folder = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
                Some(d) if d.is_dir() => d.to_path_buf(),
                Some(_) => std::env::temp_dir(),
                None => PathBuf::from("."),
            };
            // Check the backup before the live database is even opened: a refused restore changes nothing.
            let staged = restore::stage(file, &folder, email, &password, now)?;
            // Restoring onto a machine that has no database yet makes one from the backup.
            let mut db = open_or_create(cli)?;
            let keep = match db.path() {
                Some(p) => Some(keep_previous(&db, p, now)?),
                None => None,
            };
            let done = restore::apply(&mut db, staged)?;
            out.value(
                &serde_json::json!({
                    "restored": file,
                    "previous_kept_at": keep,
                    "organizations": done.organizations,
                    "restored_by": done.restored_by,
                }),
                || {
                    format!(
                        "Restored from {} ({}){}",
                        file.display(),
                        done.organizations.join(", "),
                        keep.as_ref()
                            .map(|k| format!("; the previous database is kept at {}", k.display()))
                            .unwrap_or_default()
                    )
                },
            )
        }
        Command::Demo { org, members: n } => {
            let mut db = open(cli)?;
            let who = identify(cli, &mut db)?;
            let started = std::time::Instant::now();
            let r = demo::demo(&mut db, &who, org, *n, now)?;
            let secs = started.elapsed().as_secs_f64();
            out.value(&serde_json::json!({"organization": r.organization, "members": r.members, "rows": r.rows, "seconds": secs, "rows_per_second": (r.rows as f64 / secs.max(1e-9)).round()}), || {
                format!("Created demo organization {} with {} members ({} rows in {:.2} s, {:.0} rows/s)", r.organization.slug, r.members, r.rows, secs, r.rows as f64 / secs.max(1e-9))
            })
        }
        Command::Invites(cmd) => invites_command(cli, out, cmd),
        Command::Serve(args) => serve(cli, out, args),
        Command::Roles(cmd) => {
            let mut db = open(cli)?;
            let who = identify(cli, &mut db)?;
            match cmd {
                RolesCommand::List { org } => {
                    let items = roles::list(&mut db, &who, org, now)?;
                    out.value(&Items::from(items.clone()), || output::roles_table(&items))
                }
                RolesCommand::Show { org, role } => {
                    let r = roles::show(&mut db, &who, org, role, now)?;
                    out.value(&r, || output::roles_table(std::slice::from_ref(&r)))
                }
                RolesCommand::Create { org, name, permissions, description } => {
                    let r = roles::create(
                        &mut db,
                        &who,
                        org,
                        name,
                        &split_list(permissions),
                        description.as_deref().unwrap_or(""),
                        now,
                    )?;
                    out.value(&r, || format!("Created role {} with {}", r.name, r.permissions.join(", ")))
                }
                RolesCommand::Update { org, role, permissions, description } => {
                    let r =
                        roles::update(&mut db, &who, org, role, &split_list(permissions), description.as_deref(), now)?;
                    out.value(&r, || format!("Role {} now has {}", r.name, r.permissions.join(", ")))
                }
                RolesCommand::Delete { org, role } => {
                    roles::delete(&mut db, &who, org, role, now)?;
                    out.value(&replies::Deleted { deleted: role.clone() }, || format!("Deleted role {role}"))
                }
            }
        }
        Command::Permissions(cmd) => {
            let mut db = open(cli)?;
            let who = identify(cli, &mut db)?;
            match cmd {
                PermissionsCommand::List { org } => {
                    let items = roles::list_permissions(&mut db, &who, org, now)?;
                    out.value(&Items::from(items.clone()), || {
                        output::table(
                            &["PERMISSION", "KIND", "DESCRIPTION"],
                            items.iter().map(|p| {
                                vec![
                                    p.name.clone(),
                                    if p.built_in { "built-in".into() } else { "custom".into() },
                                    p.description.clone(),
                                ]
                            }),
                        )
                    })
                }
                PermissionsCommand::Create { org, name, description } => {
                    let p =
                        roles::create_permission(&mut db, &who, org, name, description.as_deref().unwrap_or(""), now)?;
                    out.value(&p, || format!("Created permission {}", p.name))
                }
            }
        }
        Command::Check { org, user, permission, workspace } => {
            let mut db = open(cli)?;
            let who = identify(cli, &mut db)?;
            let answer = check::check(&mut db, &who, org, user, permission, workspace.as_deref(), now)?;
            out.value(&answer, || format!("{}: {}", if answer.allowed { "allowed" } else { "denied" }, answer.reason))
        }
        Command::Audit(cmd) => {
            let mut db = open(cli)?;
            let who = identify(cli, &mut db)?;
            match cmd {
                AuditCommand::List { org, system: _, actor, action, since, until } => {
                    let q = audit::AuditQuery {
                        actor: actor.clone(),
                        action: action.clone(),
                        target: None,
                        since: past("since", since)?,
                        until: past("until", until)?,
                        limit: None,
                    };
                    // clap makes --org and --system exclusive, one of them required.
                    let items = match org {
                        Some(org) => audit::list(&mut db, &who, org, &q, now)?,
                        None => audit::list_system(&mut db, &who, &q, now)?,
                    };
                    out.value(&Items::from(items.clone()), || output::audit_table(&items))
                }
                AuditCommand::Export { org, format, out: file } => {
                    // Streamed oldest first, event by event, into a new private file or stdout.
                    let format = ExportFormat::parse(format)?;
                    let mut sink = output::ExportSink::open(file.as_deref())?;
                    let mut progress = progress::RowCount::new("events");
                    let mut export = output::Export::of_format(&mut sink, format, &output::AUDIT_HEADERS);
                    let events = audit::export_each(&mut db, &who, org, now, |e| {
                        progress.tick();
                        export.audit_event(&e)
                    })
                    .and_then(|events| export.finish().map(|_| events));
                    let events = sink.unless_reader_gone(events)?;
                    sink.finish()?;
                    progress.done();
                    if let Some(f) = file {
                        out.value(&serde_json::json!({ "written": f, "events": events }), || {
                            format!("Wrote {events} events to {}", f.display())
                        })?;
                    }
                    Ok(())
                }
                AuditCommand::Verify { org, system: _, checkpoint } => {
                    // clap makes --org and --system exclusive, one of them required.
                    let r = match (org, checkpoint) {
                        (Some(org), Some(file)) => {
                            let text = std::fs::read_to_string(file).map_err(|e| {
                                Error::invalid("checkpoint", format!("cannot read {}: {e}", file.display()))
                            })?;
                            audit::verify_checkpoint(&mut db, &who, org, &audit::Checkpoint::parse(&text)?, now)?
                        }
                        (Some(org), None) => audit::verify(&mut db, &who, org, now)?,
                        (None, _) => audit::verify_system(&mut db, &who, now)?,
                    };
                    out.value(&r, || format!("The audit chain is intact: {} events", r.events))
                }
                AuditCommand::Checkpoint { org, out: file } => {
                    let cp = audit::checkpoint(&mut db, &who, org, now)?;
                    match file {
                        Some(f) => {
                            let mut new = gatehouse_core::files::NewFile::create(f, "out")?;
                            std::io::Write::write_all(
                                &mut new,
                                format!("{}\n", serde_json::to_string_pretty(&cp)?).as_bytes(),
                            )
                            .map_err(|e| Error::Unavailable(format!("cannot write {}: {e}", f.display())))?;
                            new.finish()?;
                            out.value(
                                &serde_json::json!({ "written": f, "events": cp.events, "head": cp.head }),
                                || {
                                    format!(
                                        "Wrote the checkpoint of {} ({} events) to {}",
                                        cp.organization,
                                        cp.events,
                                        f.display()
                                    )
                                },
                            )
                        }
                        None => output::print_stdout(&format!("{}\n", serde_json::to_string_pretty(&cp)?)),
                    }
                }
            }
        }
    }
}

/// `serve`: run the local service on the database until SIGTERM or SIGINT.
fn serve(cli: &Cli, out: &Out, args: &ServeArgs) -> Result<()> {
    let path = cli.db.clone().unwrap_or_else(default_db_path);
    let mut options = gatehouse_server::Options::new(path.clone());
    options.listen = args.listen.clone().filter(|l| !l.trim().is_empty());
    options.socket = args.socket.clone();
    options.tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(gatehouse_server::TlsFiles { cert: cert.clone(), key: key.clone() }),
        _ => None,
    };
    options.read_timeout = std::time::Duration::from_secs(args.read_timeout.max(1));
    options.deadline = std::time::Duration::from_secs(args.deadline.max(1));
    options.max_requests = args.max_requests.max(1);
    options.max_auth_failures = args.max_auth_failures.max(1);
    options.session_lifetime = time::parse_duration("session_lifetime", &args.session_lifetime)?;
    options.connections = args.connections;
    // A postgres:// URL is shown without its password.
    let shown = gatehouse_server::database_name(&path);
    gatehouse_server::serve(options, |urls| {
        let started = gatehouse_server::Listening { listening: urls.to_vec(), database: shown.clone() };
        let _ = out.value(&started, || format!("Gatehouse serves {shown} on {}", urls.join(", ")));
    })
}

/// --since/--until: RFC 3339, or a duration meaning that long ago.
fn past(field: &str, text: &Option<String>) -> Result<Option<i64>> {
    let Some(t) = text else { return Ok(None) };
    time::parse_past(field, t, time::now())
}

/// `DB.<stem>.db`, or `DB.<stem>-2.db`, `-3`… when that file exists already.
/// Copy the database aside before a restore, beside it under a new name
/// (`gatehouse.before-restore-SECONDS.db`, then `-2`, `-3`… when that is taken).
fn keep_previous(db: &Database, path: &std::path::Path, now: gatehouse_core::Timestamp) -> Result<PathBuf> {
    for n in 1..100 {
        let suffix = if n == 1 { format!("before-restore-{now}") } else { format!("before-restore-{now}-{n}") };
        let candidate = path.with_extension(format!("{suffix}.db"));
        match db.backup_to(&candidate) {
            Err(e) if e.conflict_reason() == Some(gatehouse_core::ConflictReason::AlreadyExists) => continue,
            other => return other.map(|()| candidate),
        }
    }
    Err(Error::Internal("no free name to keep the previous database under".into()))
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

fn members_command(cli: &Cli, out: &Out, cmd: &MembersCommand) -> Result<()> {
    let now = time::now();
    let mut db = open(cli)?;
    let who = identify(cli, &mut db)?;
    match cmd {
        MembersCommand::List { org, filter, sort, desc, page, per_page } => {
            let q = members::MemberQuery {
                filter: filter.to_core(),
                sort: members::SortKey::parse(sort)?,
                descending: *desc,
                page: *page,
                per_page: *per_page,
                count_limit: None,
                after: None,
            };
            // `--page` pages; the JSON keeps the shape of PRODUCT.md §3 (no position of the next page).
            let p = members::MemberPage { next: None, ..members::list(&mut db, &who, org, &q, now)? };
            out.value(&p, || output::members_page(&p))
        }
        MembersCommand::Show { org, email } => {
            let d = members::show(&mut db, &who, org, email, now)?;
            out.value(&d, || output::member_details(&d))
        }
        MembersCommand::Role { org, email, role } => {
            members::set_role(&mut db, &who, org, email, role, now)?;
            out.value(&replies::RoleChanged { email: email.clone(), role: role.clone() }, || {
                format!("{email} now has the role {role}")
            })
        }
        MembersCommand::Expire { org, email, when: w } => {
            let at = when("when", &Some(w.clone()))?;
            members::set_expiry(&mut db, &who, org, email, at, now)?;
            let shown = time::rfc3339_opt(at);
            out.value(&replies::ExpiryChanged { email: email.clone(), access_expires_at: shown.clone() }, || {
                match &shown {
                    Some(t) => format!("{email}'s access expires at {t}"),
                    None => format!("{email}'s access no longer expires"),
                }
            })
        }
        MembersCommand::Disable(sel) | MembersCommand::Enable(sel) => {
            let enable = matches!(cmd, MembersCommand::Enable(_));
            let selection = if sel.all_matching {
                members::Selection::AllMatching(sel.filter.to_core())
            } else {
                members::Selection::Emails(sel.emails.clone())
            };
            let r = if sel.dry_run {
                members::preview_set_enabled(&mut db, &who, &sel.org, &selection, enable, now)?
            } else {
                let mut watch = progress::rows_on_terminal(if enable { "enabling" } else { "disabling" });
                members::set_enabled_watched(&mut db, &who, &sel.org, &selection, enable, now, &mut watch)?
            };
            out.value(&r, || output::bulk_report(&r))
        }
        MembersCommand::Remove { org, email } => {
            members::remove(&mut db, &who, org, email, now)?;
            out.value(&replies::Removed { removed: email.clone() }, || format!("Removed {email} from {org}"))
        }
        MembersCommand::Export { org, format, out: file } => {
            // Streamed row by row in email order, into a new private file or stdout.
            let format = ExportFormat::parse(format)?;
            let mut sink = output::ExportSink::open(file.as_deref())?;
            let mut progress = progress::RowCount::new("members");
            let mut export = output::Export::of_format(&mut sink, format, &output::MEMBER_HEADERS);
            let rows = review::export_members_each(&mut db, &who, org, now, |m| {
                progress.tick();
                export.member(&m)
            })
            .and_then(|rows| export.finish().map(|_| rows));
            let rows = sink.unless_reader_gone(rows)?;
            sink.finish()?;
            progress.done();
            if let Some(f) = file {
                eprintln!("Wrote {rows} members to {}", f.display());
            }
            Ok(())
        }
        MembersCommand::Leave { org } => {
            members::leave(&mut db, &who, org, now)?;
            out.value(&replies::Left { left: org.clone() }, || format!("You left {org}"))
        }
    }
}

fn invites_command(cli: &Cli, out: &Out, cmd: &InvitesCommand) -> Result<()> {
    let now = time::now();
    let mut db = open(cli)?;
    match cmd {
        InvitesCommand::Create { org, emails, role, access_expires, workspace, valid_for, from_csv } => {
            let who = identify(cli, &mut db)?;
            let invitees = match (from_csv, emails) {
                (Some(file), None) => {
                    let text = std::fs::read_to_string(file)
                        .map_err(|e| Error::invalid("from_csv", format!("cannot read {}: {e}", file.display())))?;
                    invitations::parse_csv(&text, now)?
                }
                (None, Some(list)) => {
                    let role =
                        role.clone().ok_or_else(|| Error::invalid("role", "name the role to invite to (--role)"))?;
                    let expires = when("access_expires", access_expires)?;
                    invitations::split_emails(list)
                        .into_iter()
                        .map(|email| invitations::Invitee {
                            email,
                            role: role.clone(),
                            access_expires_at: expires,
                            workspace: workspace.clone(),
                        })
                        .collect()
                }
                _ => return Err(Error::invalid("emails", "give either --emails with --role, or --from-csv")),
            };
            let valid_for = valid_for.as_deref().map(|v| time::parse_duration("valid_for", v)).transpose()?;
            let issued = invitations::create(&mut db, &who, org, &invitees, valid_for, now)?;
            out.value(&issued, || output::issued(&issued))
        }
        InvitesCommand::List { org, status } => {
            let who = identify(cli, &mut db)?;
            let items = invitations::list(&mut db, &who, org, status.as_deref(), now)?;
            out.value(&Items::from(items.clone()), || output::invitations_table(&items))
        }
        InvitesCommand::Resend { org, email } => {
            let who = identify(cli, &mut db)?;
            let issued = invitations::resend(&mut db, &who, org, email, now)?;
            out.value(&issued, || output::issued(&issued))
        }
        InvitesCommand::Revoke { org, email } => {
            let who = identify(cli, &mut db)?;
            invitations::revoke(&mut db, &who, org, email, now)?;
            out.value(&replies::Revoked { revoked: email.clone() }, || format!("Revoked the invitation of {email}"))
        }
        InvitesCommand::Accept { token, name } => {
            let accepted = if cli.as_email.is_some() || std::env::var("GATEHOUSE_TOKEN").is_ok_and(|t| !t.is_empty()) {
                let who = identify(cli, &mut db)?;
                invitations::accept(&mut db, token, invitations::Acceptor::SignedIn(&who), now)?
            } else {
                let name = name.clone().ok_or_else(|| {
                    Error::invalid("name", "a new account needs --name \"GIVEN FAMILY\" (or sign in with --as)")
                })?;
                let password = password_from_env_or_prompt("Choose a password: ")?;
                invitations::accept(
                    &mut db,
                    token,
                    invitations::Acceptor::NewAccount { full_name: &name, password: &password },
                    now,
                )?
            };
            out.value(&accepted, || match &accepted.workspace {
                Some(w) => format!(
                    "{} joined {} as {} in the workspace {w}",
                    accepted.email, accepted.organization.slug, accepted.role
                ),
                None => format!("{} joined {} as {}", accepted.email, accepted.organization.slug, accepted.role),
            })
        }
        InvitesCommand::Reject { token } => {
            let v = invitations::reject(&mut db, token, now)?;
            out.value(&v, || format!("Rejected the invitation of {}", v.email))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_display_is_an_x11_or_wayland_one_that_is_set_and_not_empty() {
        let with = |set: &'static [(&'static str, &'static str)]| {
            has_display(move |name| set.iter().find(|(n, _)| *n == name).map(|(_, v)| OsString::from(v)))
        };
        assert!(with(&[("DISPLAY", ":0")]));
        assert!(with(&[("WAYLAND_DISPLAY", "wayland-0")]));
        if cfg!(any(windows, target_os = "macos")) {
            return;
        }
        assert!(!with(&[]));
        assert!(!with(&[("DISPLAY", ""), ("WAYLAND_DISPLAY", "")]));
    }

    #[test]
    fn window_or_cli() {
        let a = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(wants_window(&a(&["gatehouse"])));
        assert!(wants_window(&a(&["gatehouse", "gatehouse://invite/ghi_abc"])));
        assert!(!wants_window(&a(&["gatehouse", "--help"])));
        assert!(!wants_window(&a(&["gatehouse", "members", "list"])));
        assert!(!wants_window(&a(&["gatehouse", "gatehouse://invite/x", "more"])));
    }
}
