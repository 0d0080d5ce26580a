//! Listening: TCP (plain on loopback, TLS anywhere), a Unix socket (0600), one hyper HTTP/1.1
//! connection per client with a header read timeout (a client that sends its headers slowly is
//! closed once it runs out), the middleware every request passes through, and graceful shutdown:
//! on SIGTERM or SIGINT stop accepting, let in-flight requests finish within a bounded wait, let a
//! write still running end (commit or roll back), and return.

use crate::app::{App, AppState};
use crate::limits::{self, ClientKey, FailureBound};
use crate::pool::{Conn, Pool, Sizes};
use crate::routes;
use axum::error_handling::HandleErrorLayer;
use gatehouse_core::db::OpenOptions;
use gatehouse_core::usecases::audit;
use gatehouse_core::{sql, time, Database, Error, ErrorCode, Result};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tower::{ServiceBuilder, ServiceExt};

/// How `gatehouse serve` runs; the CLI fills it from its arguments.
#[derive(Debug, Clone)]
pub struct Options {
    pub database: PathBuf,
    /// `ADDR:PORT`; none (and no socket) means 127.0.0.1:7878.
    pub listen: Option<String>,
    pub socket: Option<PathBuf>,
    pub tls: Option<TlsFiles>,
    /// How long a client may take to send its request headers, and between parts of its body.
    pub read_timeout: Duration,
    /// How long one request may take in all.
    pub deadline: Duration,
    /// Requests served at once; more are refused with 503 and `Retry-After`.
    pub max_requests: usize,
    /// Failed authentications from one address in a minute before it gets 429.
    pub max_auth_failures: u32,
    /// How long a session lasts, in seconds.
    pub session_lifetime: i64,
    /// Database connections in all (`--connections`); none means the default of the backend
    /// (`pool_sizes`).
    pub connections: Option<usize>,
}

/// What `gatehouse serve --json` prints once it accepts connections.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listening {
    /// `http://ADDR:PORT`, `https://ADDR:PORT`, `unix:PATH`.
    pub listening: Vec<String>,
    pub database: String,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM: the certificate chain, the server's first.
    pub cert: PathBuf,
    /// PEM: the private key.
    pub key: PathBuf,
}

impl Options {
    pub fn new(database: PathBuf) -> Options {
        Options {
            database,
            listen: None,
            socket: None,
            tls: None,
            read_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(30),
            max_requests: 512,
            max_auth_failures: 20,
            session_lifetime: gatehouse_core::usecases::sessions::DEFAULT_LIFETIME_SECONDS,
            connections: None,
        }
    }
}

/// Connections the service opens on PostgreSQL unless told (`--connections`): four per core of
/// this machine, 8 to 32. A `check` holds its connection for a dozen round trips, so a few per
/// core keep the cores busy; more only add sessions that compete for the same cores. Measured
/// with `scripts/bench-serve --pg` on 2 cores shared with PostgreSQL: two services of 16
/// connections each answered 0.43× what one did, of 8 each 1.12× (docs/SCALING.md).
pub fn default_pg_connections() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).saturating_mul(4).clamp(8, 32)
}

/// The most `--connections` may ask for.
pub const MAX_CONNECTIONS: usize = 1000;

/// How many readers and writers. SQLite: one writer (one write lock per file; see `pool`) and
/// readers enough that a slow read (an export) never holds up the questions, two per core.
/// PostgreSQL: `connections` in all, a quarter of them writers.
pub fn pool_sizes(postgres: bool, connections: Option<usize>) -> Sizes {
    if postgres {
        let n = connections.unwrap_or_else(default_pg_connections).max(2);
        let writers = (n / 4).max(1);
        Sizes { readers: n - writers, writers }
    } else {
        let readers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8) * 2;
        Sizes { readers: connections.map_or(readers, |n| n.max(2) - 1), writers: 1 }
    }
}

/// The database as the service names it (`/healthz`, its first line): a file's full path, or a
/// server's `postgres://user@host:port/db` without its password or options.
pub fn database_name(database: &Path) -> String {
    match database.to_str().filter(|p| sql::is_postgres_url(p)) {
        Some(url) => match sql::PgOptions::from_url(url) {
            Ok(options) => format!("postgres://{}", options.shown),
            Err(_) => "postgres://".into(),
        },
        None => std::fs::canonicalize(database).unwrap_or_else(|_| database.to_path_buf()).display().to_string(),
    }
}

/// Serve until SIGTERM or SIGINT. `ready` is told the addresses once they accept connections
/// (`http://127.0.0.1:7878`, `https://…`, `unix:/path`).
pub fn serve(options: Options, ready: impl FnOnce(&[String])) -> Result<()> {
    let tcp = match (&options.listen, &options.socket) {
        (Some(l), _) => Some(resolve(l)?),
        (None, Some(_)) => None,
        (None, None) => Some(resolve(crate::health::DEFAULT_ADDRESS)?),
    };
    if let Some(addr) = tcp {
        if !addr.ip().is_loopback() && options.tls.is_none() {
            return Err(Error::invalid(
                "listen",
                format!("{addr} is not a loopback address: serving it needs TLS (--tls-cert and --tls-key)"),
            ));
        }
    }
    #[cfg(not(unix))]
    if options.socket.is_some() {
        return Err(Error::invalid("socket", "Unix sockets exist only on Linux and macOS"));
    }
    let tls = options.tls.as_ref().map(tls_config).transpose()?;
    if let Some(n) = options.connections {
        if !(2..=MAX_CONNECTIONS).contains(&n) {
            return Err(Error::invalid("connections", format!("must be 2 to {MAX_CONNECTIONS} (was {n})")));
        }
    }
    // On SQLite the service makes the file if there is none, as it always has; on PostgreSQL a
    // database without Gatehouse's schema is refused (`not_found`): `gatehouse init --db URL`
    // makes it, and a mistyped database name gets no schema.
    let postgres = options.database.to_str().is_some_and(sql::is_postgres_url);
    let sizes = pool_sizes(postgres, options.connections);
    let pool = Pool::open(sizes, || {
        Database::open_with(&options.database, OpenOptions { create: !postgres, ..OpenOptions::default() })
    })?;
    let database = database_name(&options.database);
    let app = App(Arc::new(AppState {
        pool: pool.clone(),
        failures: FailureBound::new(options.max_auth_failures, Duration::from_secs(60)),
        database,
        backend: if postgres { "postgresql" } else { "sqlite" },
        session_lifetime: options.session_lifetime,
        tls: tls.is_some(),
    }));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the service's runtime: {e}")))?;
    let result = runtime.block_on(run(options, tcp, tls, app, pool.clone(), ready));
    // A job whose request was cut off is still finishing on the blocking pool: `run` waited for
    // the writers, so what remains are reads; do not wait long for them.
    runtime.shutdown_timeout(Duration::from_secs(1));
    // The connections close here, outside the runtime: the synchronous PostgreSQL client says
    // goodbye to the server on a runtime of its own, which cannot start inside another one.
    drop(pool);
    result
}

fn resolve(listen: &str) -> Result<SocketAddr> {
    listen
        .to_socket_addrs()
        .map_err(|e| Error::invalid("listen", format!("'{listen}' is not ADDR:PORT: {e}")))?
        .next()
        .ok_or_else(|| Error::invalid("listen", format!("'{listen}' names no address")))
}

fn tls_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|i| i.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| {
            Error::invalid("tls_cert", format!("cannot read certificates from {}: {e}", files.cert.display()))
        })?;
    if certs.is_empty() {
        return Err(Error::invalid("tls_cert", format!("{} holds no certificate", files.cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        Error::invalid("tls_key", format!("cannot read a private key from {}: {e}", files.key.display()))
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::invalid("tls_key", format!("the certificate and key do not go together: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The service as one value that every request clones: the routes inside the limits.
type Service = tower::util::BoxCloneService<
    axum::http::Request<hyper::body::Incoming>,
    axum::response::Response,
    std::convert::Infallible,
>;

async fn run(
    options: Options,
    tcp: Option<SocketAddr>,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: App,
    pool: Arc<Pool>,
    ready: impl FnOnce(&[String]),
) -> Result<()> {
    // Per route: the deadline, the body's read timeout (between any two parts of it; the deadline
    // bounds the whole) and its size.
    let router = routes::router(app)
        .layer(axum::middleware::from_fn_with_state(options.deadline, limits::deadline))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(options.read_timeout))
        .layer(axum::extract::DefaultBodyLimit::max(limits::MAX_BODY_BYTES));
    // Around everything, shared by all connections: the bound on concurrent requests, refused
    // at once when reached; and the caller's X-Request-ID echoed (AuthZEN asks for it).
    let service = ServiceBuilder::new()
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(HandleErrorLayer::<_, ()>::new(limits::overloaded))
        .load_shed()
        .concurrency_limit(options.max_requests)
        .service(router);
    let service: Service = tower::util::BoxCloneService::new(service);

    let (stop_tx, stop_rx) = watch::channel(false);
    let graceful = Arc::new(GracefulShutdown::new());
    let mut loops = Vec::new();
    let mut urls = Vec::new();
    let mut socket_path = None;

    if let Some(addr) = tcp {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot listen on {addr}: {e}")))?;
        let bound = listener.local_addr().map_err(|e| Error::Internal(e.to_string()))?;
        urls.push(format!("{}://{bound}", if tls.is_some() { "https" } else { "http" }));
        let acceptor = tls.clone().map(tokio_rustls::TlsAcceptor::from);
        let (service, graceful, stop, read_timeout) =
            (service.clone(), graceful.clone(), stop_rx.clone(), options.read_timeout);
        loops.push(tokio::spawn(
            async move { accept_tcp(listener, acceptor, service, graceful, stop, read_timeout).await },
        ));
    }
    #[cfg(unix)]
    if let Some(path) = &options.socket {
        let listener = bind_unix(path)?;
        socket_path = Some(path.clone());
        urls.push(format!("unix:{}", path.display()));
        let (service, graceful, stop, read_timeout) =
            (service.clone(), graceful.clone(), stop_rx.clone(), options.read_timeout);
        loops.push(tokio::spawn(async move { accept_unix(listener, service, graceful, stop, read_timeout).await }));
    }

    // Expiries are recorded as they pass (rule 9), by a writer, so that questions never write.
    // It also tells the log when the database becomes unreachable and when it is back (once
    // each, not every second), while requests meanwhile answer 503 `unavailable`.
    let sweeper = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut reachable = true;
            loop {
                tick.tick().await;
                let swept = pool.run(Conn::Write, |db| audit::record_expiries(db, time::now())).await;
                match swept.and_then(|r| r) {
                    Ok(_) if !reachable => {
                        reachable = true;
                        eprintln!("gatehouse serve: the database answers again");
                    }
                    Ok(_) => {}
                    Err(e) if e.code() == ErrorCode::Unavailable => {
                        if reachable {
                            reachable = false;
                            eprintln!(
                                "gatehouse serve: the database is unavailable ({e}); answering 503 until it is back"
                            );
                        }
                    }
                    Err(e) => eprintln!("gatehouse serve: recording expiries failed: {e}"),
                }
            }
        })
    };

    // Signals are caught from before the service says it is ready, so a SIGTERM sent at once
    // still stops it gracefully.
    let stop_signal = signal()?;
    ready(&urls);
    stop_signal.await;
    eprintln!("gatehouse serve: stopping: no new connections; finishing the requests under way");

    let _ = stop_tx.send(true);
    for l in loops {
        let _ = l.await;
    }
    sweeper.abort();
    if let Ok(graceful) = Arc::try_unwrap(graceful) {
        // In-flight requests get as long as their deadline allows, and a little more.
        let grace = options.deadline + Duration::from_secs(2);
        if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
            eprintln!("gatehouse serve: some requests did not finish within {} s", grace.as_secs());
        }
    }
    // A write whose request was cut off still runs to its commit or rollback.
    let _ = tokio::time::timeout(options.deadline, pool.quiesce()).await;
    if let Some(path) = socket_path {
        let _ = std::fs::remove_file(path);
    }
    eprintln!("gatehouse serve: stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C on Windows).
fn signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let catch = |kind| signal(kind).map_err(|e| Error::Internal(format!("cannot catch signals: {e}")));
        let (mut term, mut int) = (catch(SignalKind::terminate())?, catch(SignalKind::interrupt())?);
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Serve one client's connection until it closes, times out, or shutdown asks it to finish.
fn serve_connection<I>(
    io: I,
    client: ClientKey,
    service: Service,
    watcher: hyper_util::server::graceful::Watcher,
    read_timeout: Duration,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let per_request = hyper::service::service_fn(move |mut request: axum::http::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(client);
        service.clone().oneshot(request)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(read_timeout)
        .serve_connection(TokioIo::new(io), per_request);
    tokio::spawn(watcher.watch(connection));
}

async fn accept_tcp(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    service: Service,
    graceful: Arc<GracefulShutdown>,
    mut stop: watch::Receiver<bool>,
    read_timeout: Duration,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                eprintln!("gatehouse serve: accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let client = ClientKey::Ip(peer.ip().to_canonical());
        let watcher = graceful.watcher();
        match &tls {
            None => serve_connection(stream, client, service.clone(), watcher, read_timeout),
            Some(acceptor) => {
                let (acceptor, service) = (acceptor.clone(), service.clone());
                // The handshake gets no longer than the headers would.
                tokio::spawn(async move {
                    if let Ok(Ok(stream)) = tokio::time::timeout(read_timeout, acceptor.accept(stream)).await {
                        serve_connection(stream, client, service, watcher, read_timeout);
                    }
                });
            }
        }
    }
}

#[cfg(unix)]
async fn accept_unix(
    listener: tokio::net::UnixListener,
    service: Service,
    graceful: Arc<GracefulShutdown>,
    mut stop: watch::Receiver<bool>,
    read_timeout: Duration,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                serve_connection(stream, ClientKey::UnixSocket, service.clone(), graceful.watcher(), read_timeout)
            }
            Err(e) => {
                eprintln!("gatehouse serve: accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Bind the Unix socket readable and writable by this user alone, from its first moment: the
/// umask is narrowed around `bind`, so no other user can connect in between.
#[cfg(unix)]
fn bind_unix(path: &std::path::Path) -> Result<tokio::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(Error::invalid("socket", format!("{} exists and is not a socket", path.display())));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(Error::Unavailable(format!("another service already listens on {}", path.display())));
        }
        // A socket left behind by a service that did not stop cleanly.
        std::fs::remove_file(path)
            .map_err(|e| Error::Unavailable(format!("cannot replace {}: {e}", path.display())))?;
    }
    use rustix::fs::Mode;
    let before = rustix::process::umask(Mode::from_raw_mode(0o177));
    let bound = std::os::unix::net::UnixListener::bind(path);
    rustix::process::umask(before);
    let listener = bound.map_err(|e| Error::Unavailable(format!("cannot listen on {}: {e}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    tokio::net::UnixListener::from_std(listener).map_err(|e| Error::Internal(format!("socket: {e}")))
}
