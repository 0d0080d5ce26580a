//! `GET /healthz`: that a service is up, which Gatehouse it is and which database it serves.
//! The desktop app shows this (is a service running on the configured address, and on my
//! database?), so `probe` asks a running service with a plain blocking request: no async runtime
//! and no HTTP client library in the window's process.

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;
use ts_rs::TS;

/// The address `gatehouse serve` listens on unless told otherwise.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:7878";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Health {
    /// `ok` whenever the service answers.
    pub status: String,
    /// The Gatehouse version of the service.
    pub version: String,
    /// The database the service reads and writes: a file's full path, or
    /// `postgres://user@host:port/db` (never a password).
    pub database: String,
    /// Which engine holds it: `sqlite` or `postgresql` (an older service leaves it out: `sqlite`).
    #[serde(default = "sqlite")]
    pub backend: String,
    /// The schema version of that database.
    #[ts(type = "number")]
    pub schema_version: i64,
}

fn sqlite() -> String {
    "sqlite".into()
}

/// Ask the service at `address` (`HOST:PORT`, plain HTTP) for its health; `None` when nothing
/// answers there within `timeout`, or something that is not a Gatehouse service.
pub fn probe(address: &str, timeout: Duration) -> Option<Health> {
    let addr = address.to_socket_addrs().ok()?.next()?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    write!(stream, "GET /healthz HTTP/1.1\r\nHost: {address}\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut reply = Vec::new();
    // A body larger than this is not a Gatehouse health reply.
    stream.take(64 * 1024).read_to_end(&mut reply).ok()?;
    let reply = String::from_utf8(reply).ok()?;
    let (head, body) = reply.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    serde_json::from_str(body).ok()
}
