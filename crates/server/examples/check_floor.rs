//! The floor under the service's `POST /v1/check`: the same core `check`, in process, on one
//! connection, as the service's reader would call it (token resolved, then the check), timed per
//! call. `scripts/bench-serve` prints it beside the HTTP figures.
//!
//! Usage: check_floor DB ORG USER PERMISSION TOKEN SECONDS → one JSON line {"p50_us","p99_us","per_second"}.

use gatehouse_core::usecases::{check, sessions};
use gatehouse_core::{time, Database};
use std::time::{Duration, Instant};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let [_, db, org, user, permission, token, seconds] = &a[..] else {
        eprintln!("usage: check_floor DB ORG USER PERMISSION TOKEN SECONDS");
        std::process::exit(2);
    };
    let mut db = Database::open(db).expect("open the database");
    let limit = Duration::from_secs_f64(seconds.parse().expect("seconds"));
    let mut took = Vec::new();
    let started = Instant::now();
    while started.elapsed() < limit {
        let t = Instant::now();
        let now = time::now();
        let who = sessions::authenticate_bearer(&mut db, token, now).expect("the token");
        let answer = check::check(&mut db, &who, org, user, permission, None, now).expect("check");
        std::hint::black_box(answer);
        took.push(t.elapsed());
    }
    let total = started.elapsed().as_secs_f64();
    took.sort();
    let at = |q: f64| took[((took.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e6;
    println!(
        "{{\"p50_us\":{:.1},\"p99_us\":{:.1},\"per_second\":{:.0},\"calls\":{}}}",
        at(0.5),
        at(0.99),
        took.len() as f64 / total,
        took.len()
    );
}
