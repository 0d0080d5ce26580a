//! Where a PostgreSQL database is and how to reach it: a `postgres://` URL completed by the standard
//! `PG*` variables (as libpq completes it: the URL wins), a password from the URL, `PGPASSWORD` or
//! the password file (`~/.pgpass`, `PGPASSFILE`), and the TLS to use.
//!
//! TLS: `sslmode=verify-full` checks the server's certificate against `sslrootcert` (a PEM file;
//! `system` or no file at all means the platform's trusted roots, `~/.postgresql/root.crt` when it
//! exists) and its name against the host. `require` and `verify-ca` are taken as `verify-full`: a
//! connection that is encrypted but unverified protects nothing against the one who can read it, so
//! Gatehouse never makes one (name the server's CA in `sslrootcert` instead). `prefer` and `allow` use
//! verified TLS when the server offers it. Without `sslmode`, a server on loopback or a Unix socket is
//! reached without TLS and any other with `verify-full`.

use super::Error;
use postgres::config::{Host, SslMode};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The TLS a connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    Disable,
    /// Verified TLS when the server offers it, plain otherwise.
    Prefer,
    /// Verified TLS or no connection.
    VerifyFull,
}

/// A parsed target: the driver's configuration and the TLS to use.
#[derive(Clone)]
pub struct PgOptions {
    pub config: postgres::Config,
    pub tls: Tls,
    pub root_cert: Option<PathBuf>,
    /// `user@host:port/database`, without the password: what messages show.
    pub shown: String,
}

impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgOptions({}, {:?})", self.shown, self.tls)
    }
}

/// Whether a database location names a PostgreSQL server rather than a file.
pub fn is_postgres_url(s: &str) -> bool {
    let s = s.trim_start();
    ["postgres://", "postgresql://"].iter().any(|p| s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p))
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}

fn invalid(message: impl Into<String>) -> Error {
    Error::Invalid(message.into())
}

impl PgOptions {
    /// From a URL and the process's environment.
    pub fn from_url(url: &str) -> Result<PgOptions, Error> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        PgOptions::parse(url, &|name| std::env::var(name).ok().filter(|v| !v.is_empty()), home.as_deref())
    }

    /// From a URL, variables read through `env`, and the home directory (for `~/.pgpass` and
    /// `~/.postgresql/root.crt`).
    pub fn parse(url: &str, env: &dyn Fn(&str) -> Option<String>, home: Option<&Path>) -> Result<PgOptions, Error> {
        let url = url.trim();
        if !is_postgres_url(url) {
            return Err(invalid("a PostgreSQL URL starts with postgres:// or postgresql://"));
        }
        // The driver refuses options it does not know; take libpq's TLS and password-file ones out.
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        let (mut sslmode, mut sslrootcert, mut passfile) = (None, None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match decode(key).as_str() {
                "sslmode" => sslmode = Some(decode(value)),
                "sslrootcert" => sslrootcert = Some(decode(value)),
                "passfile" => passfile = Some(decode(value)),
                k @ ("sslcert" | "sslkey" | "sslpassword" | "sslcrl" | "sslcrldir" | "sslsni") => {
                    return Err(invalid(format!("the database URL option {k} is not supported (client certificates)")))
                }
                _ => kept.push(pair),
            }
        }
        let rebuilt = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
        let mut config: postgres::Config = rebuilt.parse().map_err(|e| {
            // The driver's message names the option, never the password.
            invalid(format!("the database URL is not valid: {e}"))
        })?;

        if config.get_hosts().is_empty() {
            match env("PGHOST") {
                Some(hosts) => {
                    for h in hosts.split(',') {
                        if h.starts_with('/') {
                            config.host_path(h);
                        } else {
                            config.host(h);
                        }
                    }
                }
                // libpq's default on Debian: the local server's socket directory.
                None if Path::new("/var/run/postgresql").is_dir() => {
                    config.host_path("/var/run/postgresql");
                }
                None => {
                    config.host("localhost");
                }
            }
        }
        if config.get_ports().is_empty() {
            if let Some(port) = env("PGPORT") {
                config.port(port.parse().map_err(|_| invalid("PGPORT is not a port number"))?);
            }
        }
        if config.get_user().is_none() {
            let user = env("PGUSER").or_else(|| env("USER")).or_else(|| env("LOGNAME")).ok_or_else(|| {
                invalid("name the database user in the URL (postgres://USER@HOST/DATABASE) or in PGUSER")
            })?;
            config.user(&user);
        }
        if config.get_dbname().is_none() {
            if let Some(db) = env("PGDATABASE") {
                config.dbname(&db);
            }
        }
        if config.get_application_name().is_none() {
            config.application_name(&env("PGAPPNAME").unwrap_or_else(|| "gatehouse".into()));
        }
        if config.get_connect_timeout().is_none() {
            let secs = env("PGCONNECT_TIMEOUT").and_then(|s| s.parse::<u64>().ok()).filter(|s| *s > 0).unwrap_or(10);
            config.connect_timeout(Duration::from_secs(secs));
        }
        if config.get_options().is_none() {
            if let Some(options) = env("PGOPTIONS") {
                config.options(&options);
            }
        }

        let host = config.get_hosts().first().cloned().unwrap_or(Host::Tcp("localhost".into()));
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or_default().to_string();
        let dbname = config.get_dbname().unwrap_or(&user).to_string();
        let host_name = match &host {
            Host::Tcp(h) => h.clone(),
            Host::Unix(p) => p.display().to_string(),
        };
        if config.get_password().is_none() {
            if let Some(pw) = env("PGPASSWORD") {
                config.password(pw);
            } else {
                let file = passfile
                    .map(PathBuf::from)
                    .or_else(|| env("PGPASSFILE").map(PathBuf::from))
                    .or_else(|| home.map(|h| h.join(".pgpass")));
                // In the password file a Unix socket is "localhost", as libpq matches it.
                let match_host = if matches!(host, Host::Unix(_)) { "localhost" } else { host_name.as_str() };
                if let Some(pw) =
                    file.and_then(|f| password_from_file(&f, match_host, port, &dbname, &user).unwrap_or(None))
                {
                    config.password(pw);
                }
            }
        }

        let local = config.get_hosts().iter().all(|h| match h {
            Host::Unix(_) => true,
            Host::Tcp(name) => {
                name.eq_ignore_ascii_case("localhost")
                    || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
        });
        let tls = match sslmode.or_else(|| env("PGSSLMODE")).as_deref() {
            None if local => Tls::Disable,
            None => Tls::VerifyFull,
            Some("disable") => Tls::Disable,
            Some("allow" | "prefer") => Tls::Prefer,
            Some("require" | "verify-ca" | "verify-full") => Tls::VerifyFull,
            Some(other) => {
                return Err(invalid(format!(
                    "sslmode {other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )))
            }
        };
        config.ssl_mode(match tls {
            Tls::Disable => SslMode::Disable,
            Tls::Prefer => SslMode::Prefer,
            Tls::VerifyFull => SslMode::Require,
        });
        let root_cert = match sslrootcert.or_else(|| env("PGSSLROOTCERT")) {
            Some(s) if s == "system" => None,
            Some(s) => Some(PathBuf::from(s)),
            None => home.map(|h| h.join(".postgresql/root.crt")).filter(|p| p.is_file()),
        };
        let shown = match &host {
            Host::Tcp(_) => format!("{user}@{host_name}:{port}/{dbname}"),
            Host::Unix(_) => format!("{user}@{host_name}/{dbname}"),
        };
        Ok(PgOptions { config, tls, root_cert, shown })
    }

    /// The rustls configuration for `verify-full`: the named roots, or the platform's.
    pub fn tls_config(&self) -> Result<rustls::ClientConfig, Error> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let mut roots = rustls::RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| invalid(format!("cannot read sslrootcert {}: {e}", path.display())))?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(invalid(format!("sslrootcert {} holds no certificate", path.display())));
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(invalid(
                        "no trusted root certificates on this machine: name the server's CA with sslrootcert",
                    ));
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }
}

/// The password for a connection from a libpq password file (`host:port:database:user:password`,
/// `*` matches anything, `\` escapes `:` and `\`). Like libpq, a file that others may read is ignored.
pub fn password_from_file(path: &Path, host: &str, port: u16, db: &str, user: &str) -> std::io::Result<Option<String>> {
    let Ok(meta) = std::fs::metadata(path) else { return Ok(None) };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Ok(None);
        }
    }
    if !meta.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)?;
    let port = port.to_string();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() != 5 {
            continue;
        }
        let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        if matches(&fields[0], host)
            && matches(&fields[1], &port)
            && matches(&fields[2], db)
            && matches(&fields[3], user)
        {
            return Ok(Some(fields.swap_remove(4)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(url: &str, vars: &[(&str, &str)]) -> Result<PgOptions, Error> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        PgOptions::parse(url, &|k| vars.get(k).cloned(), None)
    }

    #[test]
    fn url_wins_over_variables_and_variables_fill_the_rest() {
        let o = parse("postgres://alice:s3cret@db.example:6543/gate", &[("PGUSER", "bob"), ("PGPORT", "1")]).unwrap();
        assert_eq!(o.config.get_user(), Some("alice"));
        assert_eq!(o.config.get_password(), Some(&b"s3cret"[..]));
        assert_eq!(o.config.get_ports(), &[6543]);
        assert_eq!(o.shown, "alice@db.example:6543/gate");
        assert_eq!(o.tls, Tls::VerifyFull, "a remote server gets verified TLS by default");

        let o = parse(
            "postgres://",
            &[
                ("PGHOST", "db.internal"),
                ("PGPORT", "5433"),
                ("PGUSER", "gh"),
                ("PGDATABASE", "g"),
                ("PGPASSWORD", "pw"),
            ],
        )
        .unwrap();
        assert_eq!(o.config.get_hosts(), &[Host::Tcp("db.internal".into())]);
        assert_eq!(o.config.get_ports(), &[5433]);
        assert_eq!(o.config.get_dbname(), Some("g"));
        assert_eq!(o.config.get_password(), Some(&b"pw"[..]));
        assert_eq!(o.config.get_application_name(), Some("gatehouse"));
    }

    #[test]
    fn tls_modes() {
        let mode = |url: &str, vars: &[(&str, &str)]| parse(url, vars).unwrap().tls;
        assert_eq!(mode("postgres://gh@127.0.0.1:54329/postgres", &[]), Tls::Disable);
        assert_eq!(mode("postgres://gh@localhost/postgres", &[]), Tls::Disable);
        assert_eq!(mode("postgres://gh@127.0.0.1/postgres?sslmode=verify-full", &[]), Tls::VerifyFull);
        assert_eq!(mode("postgres://gh@db.example/x?sslmode=disable", &[]), Tls::Disable);
        assert_eq!(mode("postgres://gh@db.example/x?sslmode=require", &[]), Tls::VerifyFull);
        assert_eq!(mode("postgres://gh@db.example/x", &[("PGSSLMODE", "prefer")]), Tls::Prefer);
        let o = parse("postgres://gh@db.example/x?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3", &[])
            .unwrap();
        assert_eq!(o.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(o.config.get_connect_timeout(), Some(&Duration::from_secs(3)));
        assert!(parse("postgres://gh@db.example/x?sslmode=sometimes", &[]).is_err());
        assert!(parse("postgres://gh@db.example/x?sslcert=/c.pem", &[]).is_err());
    }

    #[test]
    fn errors_never_show_the_password() {
        let e = parse("postgres://gh:topsecret@db.example/x?nonsense=1", &[]).unwrap_err();
        assert!(!e.to_string().contains("topsecret"), "{e}");
        assert!(format!("{:?}", parse("postgres://gh:topsecret@h/x", &[]).unwrap()).find("topsecret").is_none());
    }

    #[test]
    fn password_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "# comment\nother:*:*:*:no\ndb.example:5432:gate:ali\\:ce:pa\\:ss\n*:*:*:*:fallback\n")
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(password_from_file(&path, "db.example", 5432, "gate", "ali:ce").unwrap().as_deref(), Some("pa:ss"));
        assert_eq!(password_from_file(&path, "db.example", 5433, "gate", "x").unwrap().as_deref(), Some("fallback"));
        let o = parse(&format!("postgres://ali%3Ace@db.example/gate?passfile={}", path.display()), &[]).unwrap();
        assert_eq!(o.config.get_password(), Some(&b"pa:ss"[..]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(password_from_file(&path, "db.example", 5432, "gate", "ali:ce").unwrap(), None);
        }
    }
}
