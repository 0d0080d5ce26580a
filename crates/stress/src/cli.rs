//! The `gatehouse` binary as the stress run calls it: one process per command, through the CLI
//! contract (PRODUCT.md §3) only — `--db`, `--json`, the caller from `--as` with
//! `$GATEHOUSE_PASSWORD` or from `$GATEHOUSE_TOKEN`, and the exit codes.

use serde_json::Value;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Who a command runs as.
#[derive(Clone, Copy, Debug)]
pub enum Caller {
    /// The owner of every organization, by email and password (argon2 on every call).
    Owner,
    /// The `stress` service account of the `demo` organization (role admin), by token.
    Token,
}

/// The binary, the database file and the two identities every command runs as.
pub struct Gatehouse {
    pub bin: PathBuf,
    pub db: PathBuf,
    pub owner: String,
    pub password: String,
    pub token: String,
}

/// How one process ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit code; -1 when a signal ended it.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// The JSON document on stdout (every command runs with `--json`).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or(Value::Null)
    }

    /// The stable error code of a failure (`{"error":{"code",…}}` on stderr).
    pub fn error_code(&self) -> String {
        serde_json::from_str::<Value>(&self.stderr)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// What must never happen whatever the contention: `internal` (exit 1), a death by signal we
    /// did not send, or SQLite's own words reaching the caller.
    pub fn is_fault(&self) -> bool {
        self.code == 1 || self.code < 0 || self.stderr.to_lowercase().contains("database is locked")
    }

    pub fn describe(&self) -> String {
        format!("exit {} after {:.0} ms: {}", self.code, ms(self.elapsed), self.stderr.trim())
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Gatehouse {
    /// A `gatehouse --db DB --json [--as OWNER] ARGS…` command with only the environment it needs.
    pub fn command(&self, caller: Option<Caller>, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(&self.bin);
        for var in ["GATEHOUSE_DB", "GATEHOUSE_TOKEN", "GATEHOUSE_PASSWORD", "GATEHOUSE_BUSY_TIMEOUT"] {
            cmd.env_remove(var);
        }
        cmd.arg("--db").arg(&self.db).arg("--json");
        match caller {
            Some(Caller::Owner) => {
                cmd.arg("--as").arg(&self.owner).env("GATEHOUSE_PASSWORD", &self.password);
            }
            Some(Caller::Token) => {
                cmd.env("GATEHOUSE_TOKEN", &self.token);
            }
            None => {
                cmd.env("GATEHOUSE_PASSWORD", &self.password);
            }
        }
        cmd.args(args).envs(env.iter().copied()).stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, caller: Caller, args: &[&str]) -> Outcome {
        self.run_env(Some(caller), args, &[])
    }

    pub fn run_env(&self, caller: Option<Caller>, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let start = Instant::now();
        match self.command(caller, args, env).output() {
            Ok(out) => Outcome {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                elapsed: start.elapsed(),
            },
            Err(e) => Outcome {
                code: -1,
                stdout: String::new(),
                stderr: format!("could not start {}: {e}", self.bin.display()),
                elapsed: start.elapsed(),
            },
        }
    }

    /// Start a command whose output goes to files under `dir` (a bulk command's reply can be larger
    /// than a pipe holds, and the process may be killed before anyone reads it).
    pub fn spawn(&self, caller: Caller, args: &[&str], env: &[(&str, &str)], dir: &Path, name: &str) -> Running {
        let out = dir.join(format!("{name}.out"));
        let err = dir.join(format!("{name}.err"));
        let mut cmd = self.command(Some(caller), args, env);
        cmd.stdout(File::create(&out).expect("stdout file")).stderr(File::create(&err).expect("stderr file"));
        Running { child: cmd.spawn().expect("start gatehouse"), start: Instant::now(), out, err }
    }

    /// Every item of a member list with this search (and more arguments), all pages.
    pub fn members(&self, org: &str, search: &str, more: &[&str]) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        for page in 1.. {
            let page = page.to_string();
            let mut args =
                vec!["members", "list", "--org", org, "--search", search, "--per-page", "1000", "--page", &page];
            args.extend_from_slice(more);
            let out = self.run(Caller::Owner, &args);
            if !out.ok() {
                return Err(format!("members list --org {org} --search {search}: {}", out.describe()));
            }
            let v = out.json();
            let got = v["items"].as_array().cloned().unwrap_or_default();
            let done = got.len() < 1000;
            items.extend(got);
            if done {
                break;
            }
        }
        Ok(items)
    }

    /// The reply of `members list --per-page 1` (its `total` and `counts`).
    pub fn counts(&self, org: &str, args: &[&str]) -> Result<Value, String> {
        let mut all = vec!["members", "list", "--org", org, "--per-page", "1"];
        all.extend_from_slice(args);
        let out = self.run(Caller::Owner, &all);
        if out.ok() {
            Ok(out.json())
        } else {
            Err(format!("members list --org {org} {}: {}", args.join(" "), out.describe()))
        }
    }
}

/// A command started in the background.
pub struct Running {
    pub child: Child,
    pub start: Instant,
    out: PathBuf,
    err: PathBuf,
}

impl Running {
    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `kill -9` (SIGKILL) if it has not ended; true when it was still running.
    pub fn kill(&mut self) -> bool {
        let was = self.running();
        if was {
            let _ = self.child.kill();
        }
        was
    }

    pub fn finish(mut self) -> Outcome {
        let status = self.child.wait().expect("wait for gatehouse");
        Outcome {
            code: status.code().unwrap_or(-1),
            stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.err).unwrap_or_default(),
            elapsed: self.start.elapsed(),
        }
    }
}
