//! The command-line grammar (clap derive). Names and options are a stable contract: scripts and
//! the acceptance tests rely on them (PRODUCT.md §3).

use clap::{Args, Parser, Subcommand};
use gatehouse_core::usecases::members::MemberFilter;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "gatehouse",
    version,
    about = "Gatehouse: organizations, members, roles, invitations and expiring access, on one machine.",
    long_about = "Gatehouse keeps who-may-do-what for small teams: offline in one SQLite file, or for a team\n\
on a shared PostgreSQL server (--db postgres://…).\n\
With a subcommand it is this command line; with no arguments it opens the desktop window\n\
(where a display exists).\n\n\
Who is calling: --as EMAIL with the password in $GATEHOUSE_PASSWORD (asked for on a terminal),\n\
or a service-account token in $GATEHOUSE_TOKEN.\n\n\
Only `init` (and `restore`) create a database; every other command needs an existing one.\n\
A command that must write waits for another Gatehouse process's write lock up to\n\
$GATEHOUSE_BUSY_TIMEOUT (seconds, default 30), then exits 7.\n\n\
Exit codes: 0 ok, 2 invalid_input, 3 unauthenticated, 4 forbidden, 5 not_found, 6 conflict,\n\
7 unavailable (the database cannot be opened or used: locked, read-only, disk full, newer schema), 1 internal.\n\
WHEN is RFC 3339 (2027-01-31T17:00:00Z), a duration from now (90d, 12h, 30m, 45s) or never.",
    after_help = "Start: GATEHOUSE_PASSWORD=… gatehouse init --org \"Acme\" --email you@acme.io --name \"Ada Lovelace\""
)]
pub struct Cli {
    /// The database file, or a PostgreSQL server as postgres://USER@HOST:PORT/DATABASE [default: $GATEHOUSE_DB,
    /// else a file in the platform's app-data folder]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Print one JSON document on stdout; errors as {"error":{"code","message"}} on stderr
    #[arg(long, global = true)]
    pub json: bool,
    /// Act as this account (password from $GATEHOUSE_PASSWORD, or asked for)
    #[arg(long = "as", global = true, value_name = "EMAIL")]
    pub as_email: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new database with its first organization and that organization's owner
    Init {
        /// The organization's name (its slug is made from it)
        #[arg(long)]
        org: String,
        /// The owner's email
        #[arg(long)]
        email: String,
        /// The owner's name, "GIVEN FAMILY"
        #[arg(long)]
        name: String,
    },
    /// List, create, rename organizations and change their settings (workspace access)
    #[command(subcommand)]
    Orgs(OrgsCommand),
    /// The member list and what can be done to a member
    #[command(subcommand)]
    Members(MembersCommand),
    /// Invite people (no mail server: each invitation is a token to hand over), accept or reject
    #[command(subcommand)]
    Invites(InvitesCommand),
    /// Roles and their permissions
    #[command(subcommand)]
    Roles(RolesCommand),
    /// The built-in and custom permissions of an organization
    #[command(subcommand)]
    Permissions(PermissionsCommand),
    /// May USER do PERMISSION right now? Prints {"allowed","reason"} and exits 0 either way
    Check {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        permission: String,
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Read, export and verify the audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Workspaces (sub-scopes of an organization) and the roles granted in them
    #[command(subcommand)]
    Workspaces(WorkspacesCommand),
    /// Non-human principals (agents, scripts, CI) with a role and a token
    #[command(subcommand, name = "service-accounts")]
    ServiceAccounts(ServiceAccountsCommand),
    /// Access review: who has what, until when (for recertification)
    Review {
        #[arg(long)]
        org: String,
        /// Only access that ends within this duration (e.g. 30d)
        #[arg(long, value_name = "DURATION")]
        expiring_within: Option<String>,
        #[arg(long, default_value = "table", value_parser = ["table", "csv", "json"])]
        format: String,
    },
    /// Copy the whole database into a new file, owner-only (consistent while others write; never
    /// over an existing file or through a symbolic link)
    Backup { file: PathBuf },
    /// Copy this SQLite database (--db) into an empty PostgreSQL database, in one transaction
    /// there, every audit chain verified on both sides; then use --db URL (or $GATEHOUSE_DB)
    /// everywhere. A target that holds anything is refused and left as it was. The server's
    /// system chain records database.migrated (the file, the database role)
    Migrate {
        /// The empty target: postgres://USER@HOST:PORT/DATABASE (the PG* variables and
        /// ~/.pgpass complete it)
        #[arg(long)]
        to: String,
    },
    /// Replace the database with a backup that passes every check (integrity, exactly Gatehouse's
    /// schema, an owner in every organization, intact audit chains). Needs --as EMAIL: an owner of
    /// every organization in the backup, with the password as it stands in the backup. The
    /// current database is kept beside it first; each organization's chain records
    /// database.restored
    Restore { file: PathBuf },
    /// Make a demo organization owned by you (--as) with N synthetic members of every status
    Demo {
        #[arg(long)]
        org: String,
        #[arg(long)]
        members: i64,
    },
    /// The local service: other programs ask over HTTP (AuthZEN, /v1/check) and administer the
    /// roster with the same JSON as --json; callers send a service-account or session token
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Listen on ADDR:PORT [default: 127.0.0.1:7878]; an address off loopback needs --tls-cert/--tls-key
    #[arg(long, value_name = "ADDR:PORT", env = "GATEHOUSE_LISTEN")]
    pub listen: Option<String>,
    /// Listen on a Unix socket (created 0600), instead of TCP unless --listen is given too
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Serve TLS with this PEM certificate chain
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds a client may take to send its headers, or between parts of its body
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub read_timeout: u64,
    /// Seconds one request may take in all
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub deadline: u64,
    /// Requests served at once; more get 503 with Retry-After
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_requests: usize,
    /// Failed authentications from one address in a minute before it gets 429
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_auth_failures: u32,
    /// How long a session from POST /v1/sessions lasts
    #[arg(long, value_name = "DURATION", default_value = "12h")]
    pub session_lifetime: String,
    /// Database connections to keep open, 2 to 1000. PostgreSQL: N in all, a quarter of them for
    /// writes [default: 4 per core, 8 to 32]. SQLite: one writer and N-1 readers [default: 2
    /// readers per core, 4 to 16]
    #[arg(long, value_name = "N", env = "GATEHOUSE_CONNECTIONS")]
    pub connections: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum WorkspacesCommand {
    List {
        #[arg(long)]
        org: String,
    },
    Create {
        #[arg(long)]
        org: String,
        name: String,
    },
    /// Give a member a role in one workspace; a person with an account who is not a member
    /// becomes one, with no organization role
    Grant {
        #[arg(long)]
        org: String,
        #[arg(long)]
        workspace: String,
        email: String,
        role: String,
        #[arg(long, value_name = "WHEN")]
        expires: Option<String>,
    },
    /// Take a member's access to one workspace away
    Revoke {
        #[arg(long)]
        org: String,
        #[arg(long)]
        workspace: String,
        email: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ServiceAccountsCommand {
    /// A new service account; its token is printed once
    Create {
        #[arg(long)]
        org: String,
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long, value_name = "WHEN")]
        expires: Option<String>,
    },
    List {
        #[arg(long)]
        org: String,
    },
    /// Stop a service account's token from working
    Revoke {
        #[arg(long)]
        org: String,
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum OrgsCommand {
    /// The organizations you belong to
    List,
    /// A new organization, owned by you
    Create {
        name: String,
        /// separate: an organization role gives nothing inside a workspace and a workspace grant
        /// no organization permission; inherit: organization roles apply in every workspace too
        #[arg(long, value_name = "MODE", value_parser = ["separate", "inherit"], default_value = "separate")]
        workspace_access: String,
    },
    /// Change an organization's settings (needs org.manage)
    Update {
        org: String,
        /// separate or inherit: whether organization roles apply inside workspaces
        #[arg(long, value_name = "MODE", value_parser = ["separate", "inherit"])]
        workspace_access: String,
    },
    /// Give an organization a new name (its slug stays)
    Rename { org: String, name: String },
}

/// Filters shared by `members list` and the bulk commands.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Search in emails and names
    #[arg(long)]
    pub search: Option<String>,
    /// active, disabled, expired, pending, rejected or invitation_expired
    #[arg(long)]
    pub status: Option<String>,
    /// Only members holding this role
    #[arg(long)]
    pub role: Option<String>,
}

impl FilterArgs {
    pub fn to_core(&self) -> MemberFilter {
        MemberFilter { search: self.search.clone(), status: self.status.clone(), role: self.role.clone() }
    }
}

#[derive(Args, Debug)]
pub struct EnableArgs {
    #[arg(long)]
    pub org: String,
    /// Every member matching --search/--status/--role instead of the emails named
    #[arg(long)]
    pub all_matching: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// The members' emails
    #[arg(required_unless_present = "all_matching", conflicts_with = "all_matching")]
    pub emails: Vec<String>,
    /// Change nothing: report row by row what would be done and what would be skipped, and why
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Subcommand, Debug)]
pub enum MembersCommand {
    /// The member list, with invitations as pending/rejected/invitation_expired rows
    List {
        #[arg(long)]
        org: String,
        #[command(flatten)]
        filter: FilterArgs,
        /// email, name, role, status, created, last_login or expires
        #[arg(long, default_value = "email")]
        sort: String,
        #[arg(long)]
        desc: bool,
        #[arg(long, default_value_t = 1)]
        page: i64,
        #[arg(long, default_value_t = 50)]
        per_page: i64,
    },
    /// One member's details: status, roles, workspaces, expiry
    Show {
        #[arg(long)]
        org: String,
        email: String,
    },
    /// Give a member a new organization role
    Role {
        #[arg(long)]
        org: String,
        email: String,
        role: String,
    },
    /// Set (WHEN) or clear (never) a member's access expiry
    Expire {
        #[arg(long)]
        org: String,
        email: String,
        when: String,
    },
    /// Disable members: access stops at once, the record stays
    Disable(EnableArgs),
    /// Enable disabled members
    Enable(EnableArgs),
    /// Remove a member and their grants (their audit events and what they created stay)
    Remove {
        #[arg(long)]
        org: String,
        email: String,
    },
    /// The whole roster as CSV or JSON, for other systems
    Export {
        #[arg(long)]
        org: String,
        #[arg(long, value_parser = ["csv", "json"])]
        format: String,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Leave an organization yourself
    Leave {
        #[arg(long)]
        org: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum InvitesCommand {
    /// Invite one or many: --emails "a@x.io, b@y.io" --role ROLE, or --from-csv FILE
    Create {
        #[arg(long)]
        org: String,
        /// Emails separated by commas, semicolons, spaces or new lines
        #[arg(long, conflicts_with = "from_csv")]
        emails: Option<String>,
        #[arg(long, conflicts_with = "from_csv")]
        role: Option<String>,
        /// When the invitee's access will end (carried into the membership)
        #[arg(long, value_name = "WHEN")]
        access_expires: Option<String>,
        /// Invite to this workspace only: the invitee gets the role there and no organization role
        #[arg(long, value_name = "W", conflicts_with = "from_csv")]
        workspace: Option<String>,
        /// How long the invitation can be accepted [default: 7d]
        #[arg(long, value_name = "DURATION")]
        valid_for: Option<String>,
        /// A CSV file with the header email,role[,access_expires][,workspace]
        #[arg(long, value_name = "FILE")]
        from_csv: Option<PathBuf>,
    },
    /// Invitations of an organization
    List {
        #[arg(long)]
        org: String,
        /// pending, invitation_expired, rejected, accepted or revoked
        #[arg(long)]
        status: Option<String>,
    },
    /// A new token for an invitation; the old one stops working
    Resend {
        #[arg(long)]
        org: String,
        email: String,
    },
    /// Withdraw an invitation
    Revoke {
        #[arg(long)]
        org: String,
        email: String,
    },
    /// Accept an invitation: a new account takes its password from $GATEHOUSE_PASSWORD
    Accept {
        token: String,
        /// The new account's name, "GIVEN FAMILY"
        #[arg(long)]
        name: Option<String>,
    },
    /// Reject an invitation
    Reject { token: String },
}

#[derive(Subcommand, Debug)]
pub enum RolesCommand {
    /// Every role with its permissions
    List {
        #[arg(long)]
        org: String,
    },
    Show {
        #[arg(long)]
        org: String,
        role: String,
    },
    /// A custom role; you must hold every permission you give it
    Create {
        #[arg(long)]
        org: String,
        name: String,
        /// Comma-separated, e.g. org.view,billing.access
        #[arg(long, default_value = "")]
        permissions: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Replace a role's permissions
    Update {
        #[arg(long)]
        org: String,
        role: String,
        #[arg(long)]
        permissions: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a role no grant or open invitation uses
    Delete {
        #[arg(long)]
        org: String,
        role: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PermissionsCommand {
    List {
        #[arg(long)]
        org: String,
    },
    /// A custom permission for your own applications, e.g. billing.access
    Create {
        #[arg(long)]
        org: String,
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Events, newest first; --system: the chain of no organization (failed sign-ins, unknown
    /// tokens, outsiders' refused attempts), which owners of any organization may read
    List {
        #[arg(long, required_unless_present = "system", conflicts_with = "system")]
        org: Option<String>,
        /// The system chain instead of an organization's
        #[arg(long)]
        system: bool,
        #[arg(long, value_name = "EMAIL")]
        actor: Option<String>,
        /// An action, or its prefix (members)
        #[arg(long)]
        action: Option<String>,
        /// RFC 3339, or a duration meaning that long ago (7d)
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        #[arg(long, value_name = "WHEN")]
        until: Option<String>,
    },
    /// The whole log as CSV or JSON lines
    Export {
        #[arg(long)]
        org: String,
        #[arg(long, value_parser = ["csv", "jsonl"])]
        format: String,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Recompute the chain of hashes; exits 6 (conflict) when an event was edited or deleted, the
    /// chain does not start with the organization's creation, or it no longer extends --checkpoint
    Verify {
        #[arg(long, required_unless_present = "system", conflicts_with = "system")]
        org: Option<String>,
        /// The system chain instead of an organization's
        #[arg(long, conflicts_with = "checkpoint")]
        system: bool,
        /// A file written by `audit checkpoint`: the chain must still extend it
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// The chain's event count and head hash as JSON {"organization","events","head","at"}: keep
    /// it outside the database, and `audit verify --checkpoint FILE` detects truncation and rewrites
    Checkpoint {
        #[arg(long)]
        org: String,
        /// Write to a new file (never overwritten) instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}
