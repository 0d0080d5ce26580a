//! Helpers of the black-box tests of `gatehouse serve`: start the real binary's service on a free
//! loopback port or a Unix socket, talk HTTP/1.1 to it over a plain socket (so a test can also
//! send headers slowly, hold a body half-sent, or speak TLS), and check every JSON response
//! against the service's own OpenAPI document.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub use crate::common::{setup, ORG, OWNER, PW};

/// Where a service listens.
#[derive(Debug, Clone)]
pub enum Target {
    Tcp(String),
    Unix(PathBuf),
}

/// A running `gatehouse serve`; killed when dropped unless it stopped by itself.
pub struct Service {
    pub child: Child,
    pub target: Target,
    pub db: PathBuf,
}

/// Start `gatehouse --db DB --json serve ARGS` and wait until it says where it listens.
pub fn serve(db: &Path, args: &[&str]) -> Service {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .env_remove("GATEHOUSE_TOKEN")
        .env_remove("GATEHOUSE_DB")
        .env_remove("GATEHOUSE_LISTEN")
        .arg("--db")
        .arg(db)
        .arg("--json")
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gatehouse serve");
    // `--json` prints one document once the service accepts connections.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    let started = loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            panic!("gatehouse serve {args:?} stopped before listening: {text}{err}");
        }
        text.push_str(&line);
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            break v;
        }
    };
    let first = started["listening"][0].as_str().expect("a listening address").to_string();
    let target = match first.strip_prefix("unix:") {
        Some(path) => Target::Unix(PathBuf::from(path)),
        None => Target::Tcp(first.trim_start_matches("http://").trim_start_matches("https://").to_string()),
    };
    Service { child, target, db: db.to_path_buf() }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Service {
    /// The TCP address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        match &self.target {
            Target::Tcp(a) => a.clone(),
            Target::Unix(p) => panic!("the service listens on {}", p.display()),
        }
    }

    /// Send SIGTERM.
    pub fn terminate(&self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a process id");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    }

    /// Wait (at most `limit`) for the process to end; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn stderr(&mut self) -> String {
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            e.read_to_string(&mut err).ok();
        }
        err
    }

    /// A request, its response checked against the OpenAPI document.
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        let reply = self.raw(method, path, &auth_headers(token), body.map(|b| b.to_string().into_bytes()));
        check_against_openapi(method, path, &reply);
        reply
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call("POST", path, Some(token), Some(&body))
    }

    /// `call`, asserting the status; the JSON body.
    #[track_caller]
    pub fn ok(&self, method: &str, path: &str, token: &str, body: Option<Value>, status: u16) -> Value {
        let r = self.call(method, path, Some(token), body.as_ref());
        assert_eq!(r.status, status, "{method} {path}: {}", r.json);
        r.json
    }

    /// Sign in: a session token.
    #[track_caller]
    pub fn session(&self, email: &str, password: &str) -> String {
        let r = self.call("POST", "/v1/sessions", None, Some(&json!({"email": email, "password": password})));
        assert_eq!(r.status, 201, "sign in as {email}: {}", r.json);
        r.json["token"].as_str().unwrap().to_string()
    }

    /// A request as bytes on a fresh connection (`Connection: close`), not checked.
    pub fn raw(&self, method: &str, path: &str, headers: &[(String, String)], body: Option<Vec<u8>>) -> Reply {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: gatehouse.test\r\nConnection: close\r\n");
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() || method != "GET" {
            request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(&body);
        let mut stream = self.connect();
        stream.write_all(&bytes).expect("send the request");
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).expect("read the reply");
        parse_reply(&reply)
    }

    /// A connection to the service, with a generous read timeout.
    pub fn connect(&self) -> Box<dyn Stream> {
        match &self.target {
            Target::Tcp(addr) => {
                let s = TcpStream::connect(addr).expect("connect");
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                Box::new(s)
            }
            #[cfg(unix)]
            Target::Unix(path) => {
                let s = std::os::unix::net::UnixStream::connect(path).expect("connect to the socket");
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                Box::new(s)
            }
            #[cfg(not(unix))]
            Target::Unix(_) => unreachable!(),
        }
    }
}

pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

pub fn auth_headers(token: Option<&str>) -> Vec<(String, String)> {
    token.map(|t| vec![("Authorization".to_string(), format!("Bearer {t}"))]).unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// The error code of an error reply.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error reply: {}", self.json))
    }
}

pub fn parse_reply(bytes: &[u8]) -> Reply {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| {
        panic!("no HTTP reply: {:?}", String::from_utf8_lossy(bytes));
    });
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    if headers.get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        body = dechunk(&body);
    }
    let json = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
    Reply { status, headers, body, json }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else { break };
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI document and the check of every reply against it.

/// The service's OpenAPI document, as this build serves it (fetched once per test binary from a
/// throw-away service, so that the check covers exactly what `/openapi.json` says).
pub fn openapi() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let dir = tempfile::TempDir::new().unwrap();
        let service = serve(&dir.path().join("doc.db"), &["--listen", "127.0.0.1:0"]);
        let r = service.raw("GET", "/openapi.json", &[], None);
        assert_eq!(r.status, 200);
        r.json
    })
}

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

/// The documented operation a concrete path and method fall under: (template, operation).
pub fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> Option<(String, &'a Value)> {
    let path = path.split('?').next().unwrap();
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, String, &Value)> = None;
    for (template, item) in doc["paths"].as_object()? {
        let t: Vec<&str> = template.split('/').collect();
        if t.len() != segments.len() {
            continue;
        }
        let mut exact = 0;
        let fits = t.iter().zip(&segments).all(|(a, b)| {
            if a.starts_with('{') {
                true
            } else {
                exact += 1;
                a == b
            }
        });
        let Some(op) = item.get(method.to_ascii_lowercase()) else { continue };
        if fits && best.as_ref().is_none_or(|(e, _, _)| exact > *e) {
            best = Some((exact, template.clone(), op));
        }
    }
    best.map(|(_, t, op)| (t, op))
}

/// Check a reply against the document: the route and method are documented, the status is one
/// of the operation's responses (or its 4XX/5XX range), and a JSON body fits its schema.
#[track_caller]
pub fn check_against_openapi(method: &str, path: &str, reply: &Reply) {
    static VALIDATORS: OnceLock<Validators> = OnceLock::new();
    let doc = openapi();
    let Some((template, op)) = operation(doc, method, path) else {
        // An undocumented route must be refused as such.
        assert_eq!(reply.status, 404, "{method} {path} is not in the OpenAPI document");
        return;
    };
    let status = reply.status.to_string();
    let range = format!("{}XX", &status[..1]);
    let (code, response) = [status.as_str(), range.as_str(), "default"]
        .iter()
        .find_map(|c| op["responses"].get(*c).map(|r| (c.to_string(), r)))
        .unwrap_or_else(|| panic!("{method} {template}: status {status} is not documented: {}", reply.json));
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        assert!(
            reply.body.is_empty() || response.get("content").is_some(),
            "{method} {template} {status}: undocumented body"
        );
        return;
    };
    let key = format!("{method} {template} {code}");
    let validator = {
        let mut cache = VALIDATORS.get_or_init(Default::default).lock().unwrap();
        cache
            .entry(key.clone())
            .or_insert_with(|| {
                // The response's schema as the root, with the document's components beside it so
                // that its `#/components/schemas/…` references resolve.
                let mut root = json!({ "$schema": "https://json-schema.org/draft/2020-12/schema" });
                if let (Some(r), Some(s)) = (root.as_object_mut(), schema.as_object()) {
                    r.extend(s.clone());
                    r.insert("components".into(), doc["components"].clone());
                }
                Arc::new(jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("{key}: bad schema: {e}")))
            })
            .clone()
    };
    let errors: Vec<String> =
        validator.iter_errors(&reply.json).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{key}: the reply does not fit its schema: {errors:?}\n{}", reply.json);
}
