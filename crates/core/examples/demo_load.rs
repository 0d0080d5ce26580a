//! `demo` of N members into a new file, timed, with what SQLite did meanwhile: every statement
//! that took over 50 ms (its SQL's start and its time), pages written by the page cache and spilled,
//! and the database and WAL sizes after. For measuring `demo` (issue 9):
//! `cargo run --release -p gatehouse-core --example demo_load -- N [DIR]` (`KEEP=1` keeps the
//! file). "cpu since the last" is the process's CPU time (helper threads included) since the last
//! statement printed, so it counts the small statements and the Rust work between them too; the
//! line after COMMIT is the WAL checkpoint that follows a commit.

use gatehouse_core::usecases::{demo, orgs};
use gatehouse_core::Database;
use rusqlite::ffi;
use std::ffi::{c_int, c_uint, c_void, CStr};
use std::time::Instant;

const NOW: i64 = 1_800_000_000;

/// This process's CPU time (all threads), in seconds.
fn process_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / 100.0
}

static LAST_CPU: std::sync::Mutex<f64> = std::sync::Mutex::new(0.0);

/// SAFETY: called by SQLite for SQLITE_TRACE_PROFILE only, which passes the statement and a pointer
/// to its time in nanoseconds.
unsafe extern "C" fn profile(_kind: c_uint, _ctx: *mut c_void, stmt: *mut c_void, nanos: *mut c_void) -> c_int {
    let ns = unsafe { *(nanos as *const i64) };
    if ns > 50_000_000 {
        let sql = unsafe { CStr::from_ptr(ffi::sqlite3_sql(stmt as *mut ffi::sqlite3_stmt)) };
        let sql = sql.to_string_lossy().split_whitespace().collect::<Vec<_>>().join(" ");
        let now = process_cpu();
        let mut last = LAST_CPU.lock().unwrap();
        eprintln!(
            "{:>8.2} s wall {:>7.2} s cpu since the last  {}",
            ns as f64 / 1e9,
            now - *last,
            &sql[..sql.len().min(90)]
        );
        *last = now;
    }
    0
}

fn status(db: &Database, op: c_int) -> i64 {
    let (mut current, mut high) = (0, 0);
    // SAFETY: a valid handle and two out-parameters.
    unsafe { ffi::sqlite3_db_status(db.sqlite_connection().unwrap().handle(), op, &mut current, &mut high, 0) };
    current as i64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: i64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let dir = args.next().unwrap_or_else(|| "/tmp".into());
    let path = std::path::Path::new(&dir).join(format!("demo-load-{}.db", std::process::id()));
    let mut db = Database::open(&path).unwrap();
    orgs::init(&mut db, "Bench", "owner@bench.io", "Owner Bench", "bench-password", NOW).unwrap();
    let who = gatehouse_core::auth::sign_in(&mut db, "owner@bench.io", "bench-password", NOW).unwrap();
    // SAFETY: the callback only reads what SQLite hands it.
    unsafe {
        ffi::sqlite3_trace_v2(
            db.sqlite_connection().unwrap().handle(),
            ffi::SQLITE_TRACE_PROFILE as c_uint,
            Some(profile),
            std::ptr::null_mut(),
        )
    };
    let cpu = || {
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
        s.split_whitespace().next().unwrap().parse::<f64>().unwrap() / 1e9
    };
    *LAST_CPU.lock().unwrap() = process_cpu();
    let (started, cpu0) = (Instant::now(), cpu());
    let report = demo::demo(&mut db, &who, "demo", n, NOW).unwrap();
    let (secs, cpu_secs) = (started.elapsed().as_secs_f64(), cpu() - cpu0);
    eprintln!("{:>8} s wall {:>7.2} s cpu since the last  (the end)", "", process_cpu() - *LAST_CPU.lock().unwrap());
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
    let wal = path.with_extension("db-wal");
    println!(
        "demo {n}: {} rows in {secs:.2} s ({cpu_secs:.2} s on CPU) = {:.0} rows/s; cache writes {} spills {}; db {:.0} MiB, wal {:.0} MiB; load {}",
        report.rows,
        report.rows as f64 / secs,
        status(&db, ffi::SQLITE_DBSTATUS_CACHE_WRITE),
        status(&db, ffi::SQLITE_DBSTATUS_CACHE_SPILL),
        size(&path),
        size(&wal),
        std::fs::read_to_string("/proc/loadavg").unwrap().trim(),
    );
    drop(db);
    if std::env::var_os("KEEP").is_some() {
        println!("kept {}", path.display());
        return;
    }
    for ext in ["db", "db-wal", "db-shm"] {
        let _ = std::fs::remove_file(path.with_extension(ext));
    }
}
