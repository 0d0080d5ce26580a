//! `gatehouse-stress` (run by `scripts/stress`): the real `gatehouse` binary under contention, in
//! one run bounded in time, through the CLI contract only (PRODUCT.md §3):
//! 1. N = 1, 4, 8 processes at once of mixed reads and writes on one database file: p50/p95/p99
//!    per command kind and throughput per N, against the targets of issue 9;
//! 2. a long write in the way (a big `demo`, one transaction): reads answer from the WAL snapshot,
//!    writers give up as exit 7 after `$GATEHOUSE_BUSY_TIMEOUT`;
//! 3. K rounds of `kill -9` during role changes, bulk invites, bulk disables and `demo`, with
//!    integrity, lost acknowledged commits and partial bulks counted after each (all must be 0).
//!
//! Exits 1 when any of those counts is not 0, or any command answered `internal` or "database is
//! locked"; the latency targets are reported as met or missed (they depend on the machine's load).
//! `--table` runs parts 1 and 2 only and prints the contention rows of issue 9's table.

mod cli;
mod kills;
mod long_write;
mod mixed;
mod stats;

use cli::{ms, Caller, Gatehouse};
use mixed::{Kind, Level, Targets};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: gatehouse-stress --bin PATH [--quick] [--table] [--seconds S] [--rounds K] [--members N]";

struct Options {
    bin: PathBuf,
    quick: bool,
    table: bool,
    seconds: f64,
    rounds: usize,
    members: i64,
    bulk_rows: usize,
    long_seconds: f64,
    bound: Duration,
}

fn options() -> Result<Options, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut o = Options {
        bin: PathBuf::new(),
        quick,
        table: args.iter().any(|a| a == "--table"),
        seconds: if quick { 4.0 } else { 20.0 },
        rounds: if quick { 8 } else { 24 },
        members: if quick { 2_000 } else { 20_000 },
        bulk_rows: if quick { 1_000 } else { 5_000 },
        long_seconds: if quick { 4.0 } else { 15.0 },
        bound: Duration::from_secs(if quick { 1 } else { 2 }),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value\n{USAGE}"));
        match a.as_str() {
            "--quick" | "--table" => {}
            "--bin" => o.bin = PathBuf::from(value("--bin")?),
            "--seconds" => o.seconds = value("--seconds")?.parse().map_err(|_| "--seconds: a number of seconds")?,
            "--rounds" => o.rounds = value("--rounds")?.parse().map_err(|_| "--rounds: a whole number")?,
            "--members" => o.members = value("--members")?.parse().map_err(|_| "--members: a whole number")?,
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if o.bin.as_os_str().is_empty() {
        return Err(format!("--bin is required\n{USAGE}"));
    }
    if o.members < 500 {
        return Err("--members: at least 500 (the workers need members of their own)".into());
    }
    Ok(o)
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("gatehouse-stress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a working folder");
    let failed = match run(&o, &dir) {
        Ok(failed) => failed,
        Err(e) => {
            eprintln!("stress: {e}");
            true
        }
    };
    if failed {
        eprintln!("stress: FAILED; the database and the commands' output are kept in {}", dir.display());
        std::process::exit(1);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn step(what: &str) {
    eprintln!("stress: {what}");
}

fn fmt_ms(d: Duration) -> String {
    let v = ms(d);
    if v < 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// Everything; true when a count that must be 0 is not.
fn run(o: &Options, dir: &std::path::Path) -> Result<bool, String> {
    let g0 = Gatehouse {
        bin: o.bin.clone(),
        db: dir.join("stress.db"),
        owner: "owner@stress.io".into(),
        password: "stress-owner-password".into(),
        token: String::new(),
    };
    let load_before = load();
    let started = Instant::now();
    step("set-up: init, demo, a service account");
    let out = g0.run_env(None, &["init", "--org", "Stress", "--email", &g0.owner, "--name", "Stress Owner"], &[]);
    if !out.ok() {
        return Err(format!("init: {}", out.describe()));
    }
    let members = o.members.to_string();
    let out = g0.run(Caller::Owner, &["demo", "--org", "demo", "--members", &members]);
    if !out.ok() {
        return Err(format!("demo: {}", out.describe()));
    }
    let demo_time = out.elapsed;
    let rate = o.members as f64 / demo_time.as_secs_f64();
    let out = g0.run(Caller::Owner, &["service-accounts", "create", "--org", "demo", "stress", "--role", "admin"]);
    let token = out.json()["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("service-accounts create: {}", out.describe()))?;
    let g = Gatehouse { token, ..g0 };
    let demo_extra = g.counts("demo", &[])?["total"].as_i64().unwrap_or(0) - o.members;

    // Members of their own for every worker and for the later parts: active, role member, named
    // Wong or Young (the bulk disables of part 3 take other family names).
    let mut own: Vec<String> = Vec::new();
    for family in ["wong", "young"] {
        for m in g.members("demo", family, &["--status", "active", "--role", "member"])? {
            own.extend(m["email"].as_str().map(str::to_string));
        }
    }
    if own.len() < 21 {
        return Err(format!("only {} active members named Wong or Young; give --members more", own.len()));
    }
    let about = own[19].clone();

    // Part 1.
    let levels: Vec<Level> = [1usize, 4, 8]
        .iter()
        .map(|&n| {
            step(&format!("part 1: {n} processes for {} s", o.seconds));
            let targets: Vec<Targets> =
                (0..n).map(|w| Targets { role: own[w].clone(), toggle: own[8 + w].clone() }).collect();
            mixed::run_level(&g, n, &targets, &about, Duration::from_secs_f64(o.seconds))
        })
        .collect();

    // Part 2: a demo sized to hold the lock about `long_seconds`, measured from the first one.
    let long_members = ((rate * o.long_seconds) as i64).max(1_000);
    step(&format!("part 2: a long write (demo of {long_members} members) in the way"));
    let long = long_write::run(&g, long_members, o.bound, &own[17], &about, dir);

    let kills = if o.table {
        None
    } else {
        // How long each victim runs, measured once here, to kill it at a random moment within.
        let role = g.run(Caller::Token, &["members", "role", "--org", "demo", &own[18], "admin"]).elapsed;
        let csv = dir.join("invites-setup.csv");
        let rows: String = (0..o.bulk_rows).map(|i| format!("setupx{i}@stress.example,member\n")).collect();
        std::fs::write(&csv, format!("email,role\n{rows}")).map_err(|e| e.to_string())?;
        let invite =
            g.run(Caller::Token, &["invites", "create", "--org", "demo", "--from-csv", &csv.to_string_lossy()]);
        if !invite.ok() {
            return Err(format!("the set-up's bulk invite: {}", invite.describe()));
        }
        let made = g.run(Caller::Owner, &["demo", "--org", "bulk0", "--members", &members]);
        if !made.ok() {
            return Err(format!("demo --org bulk0: {}", made.describe()));
        }
        let disable =
            ["members", "disable", "--org", "bulk0", "--all-matching", "--status", "active", "--role", "member"];
        let disable = g.run(Caller::Owner, &disable);
        if !disable.ok() {
            return Err(format!("the set-up's bulk disable: {}", disable.describe()));
        }
        let demo_members = o.members;
        let plan = kills::Plan {
            rounds: o.rounds,
            role_victim: &own[18],
            acker: &own[20],
            disable_members: o.members,
            bulk_rows: o.bulk_rows,
            demo_members,
            demo_extra,
            estimate: [
                role,
                invite.elapsed,
                disable.elapsed,
                demo_time.mul_f64(demo_members as f64 / o.members as f64),
            ],
        };
        step(&format!("part 3: {} kill -9 rounds", o.rounds));
        let estimates: Vec<String> = kills::Victim::ALL
            .iter()
            .zip(plan.estimate)
            .map(|(v, d)| format!("{} {} ms", v.label(), fmt_ms(d)))
            .collect();
        Some((kills::run(&g, &plan, dir), estimates.join(", ")))
    };

    let load_after = load();
    let binary = if o.bin.to_string_lossy().contains("/release/") { "release" } else { "debug" };
    println!(
        "Stress run{} of {} ({binary} build): {} members in `demo`; {} cores; load average {load_before} before, {load_after} after; {:.0} s in all\n",
        if o.quick { " (--quick)" } else { "" },
        o.bin.display(),
        o.members,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        started.elapsed().as_secs_f64()
    );
    let verdicts = Verdicts::of(&levels);
    if o.table {
        print_table(&levels, &long, &verdicts);
        return Ok(long.failures() > 0 || levels.iter().any(|l| !l.faults.is_empty()));
    }
    print_levels(&levels, o.seconds, &verdicts);
    print_long(&long);
    let (kills, estimates) = kills.expect("part 3 ran");
    print_kills(&kills, &estimates);
    println!("\n## Contention rows (issue 9)\n");
    print_table(&levels, &long, &verdicts);
    let mut failed = false;
    for l in &levels {
        for f in &l.faults {
            println!("FAULT: {f}");
            failed = true;
        }
    }
    for f in long.problems.iter().chain(&long.reads_failed).chain(&long.writers_wrong) {
        println!("LONG WRITE: {f}");
        failed = true;
    }
    for (what, list) in [
        ("INTEGRITY", &kills.integrity_failures),
        ("LOST", &kills.lost),
        ("PARTIAL", &kills.partial),
        ("FAULT", &kills.faults),
    ] {
        for f in list {
            println!("{what}: {f}");
            failed = true;
        }
    }
    Ok(failed)
}

struct Verdicts {
    check_p99_8: Duration,
    check_p50_1: Duration,
    p99_met: bool,
    throughput: Vec<f64>,
    grows: bool,
}

impl Verdicts {
    fn of(levels: &[Level]) -> Verdicts {
        let lat = |l: &Level| l.kinds.get(&Kind::CheckToken).map(|k| k.latency.clone()).unwrap_or_default();
        let check_p50_1 = lat(&levels[0]).pct(50.0);
        let check_p99_8 = lat(&levels[levels.len() - 1]).pct(99.0);
        let throughput: Vec<f64> = levels.iter().map(Level::per_second).collect();
        Verdicts {
            check_p99_8,
            check_p50_1,
            p99_met: check_p99_8 <= check_p50_1 * 3,
            grows: throughput.windows(2).all(|w| w[1] > w[0]),
            throughput,
        }
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "missed"
    }
}

fn print_levels(levels: &[Level], seconds: f64, v: &Verdicts) {
    println!("## 1. N processes at once, mixed reads and writes ({seconds} s each)\n");
    let head: Vec<String> =
        levels.iter().map(|l| format!("{} process{}", l.processes, if l.processes == 1 { "" } else { "es" })).collect();
    println!("| p50 / p95 / p99 (ms), commands | {} |", head.join(" | "));
    println!("|---|{}", "---|".repeat(levels.len()));
    for kind in Kind::ALL {
        let cells: Vec<String> = levels
            .iter()
            .map(|l| match l.kinds.get(&kind) {
                Some(k) => format!(
                    "{} / {} / {}, {}{}",
                    fmt_ms(k.latency.pct(50.0)),
                    fmt_ms(k.latency.pct(95.0)),
                    fmt_ms(k.latency.pct(99.0)),
                    k.latency.len(),
                    if k.failed.is_empty() { String::new() } else { format!(" (failed: {:?})", k.failed) }
                ),
                None => "–".into(),
            })
            .collect();
        println!("| {} | {} |", kind.label(), cells.join(" | "));
    }
    let row = |name: &str, f: &dyn Fn(&Level) -> String| {
        println!("| {name} | {} |", levels.iter().map(f).collect::<Vec<_>>().join(" | "));
    };
    row("commands/s", &|l| format!("{:.1}", l.per_second()));
    row("checks/s", &|l| format!("{:.1}", l.checks_per_second()));
    row("exit ≠ 0", &|l| l.failures().to_string());
    println!(
        "\ntarget: check (token) p99 at {} processes ≤ 3× the 1-process p50: {} ms ≤ 3 × {} ms = {} ms: {}",
        levels[levels.len() - 1].processes,
        fmt_ms(v.check_p99_8),
        fmt_ms(v.check_p50_1),
        fmt_ms(v.check_p50_1 * 3),
        met(v.p99_met)
    );
    println!(
        "target: throughput grows with the processes: {} commands/s: {}\n",
        v.throughput.iter().map(|t| format!("{t:.1}")).collect::<Vec<_>>().join(" → "),
        met(v.grows)
    );
}

fn print_long(l: &long_write::LongWrite) {
    println!("## 2. A long write in the way (`demo` of {} members, one transaction)\n", l.members);
    println!("- the long write ran {:.1} s (signing in, then one transaction)", l.held.as_secs_f64());
    println!(
        "- reads meanwhile (check by token, members list): {} of {} answered, p50 / p99 / max {} / {} / {} ms (quiet check p50 {} ms): answer at once: {}",
        l.reads.len() - l.reads_failed.len(),
        l.reads.len(),
        fmt_ms(l.reads.pct(50.0)),
        fmt_ms(l.reads.pct(99.0)),
        fmt_ms(l.reads.max()),
        fmt_ms(l.quiet.pct(50.0)),
        met(l.reads_at_once())
    );
    println!(
        "- writers (members role) with GATEHOUSE_BUSY_TIMEOUT={} s: {} gave up as exit 7 `unavailable` after {} ms (p50), {} got the lock (before the long write took it, or after it committed), {} did anything else: {}",
        l.bound.as_secs_f64(),
        l.gave_up.len(),
        fmt_ms(l.gave_up.pct(50.0)),
        l.got_it,
        l.writers_wrong.len(),
        met(l.writers_right())
    );
    for p in &l.problems {
        println!("- problem: {p}");
    }
    println!();
}

fn print_kills(k: &kills::Kills, estimates: &str) {
    println!("## 3. kill -9 rounds\n");
    println!(
        "Each victim is killed at a random moment between 0.2 and 1.1 times how long it took alone ({estimates}).\n"
    );
    println!("| round | killed during | killed after | left | found | other writer's acknowledged commits |");
    println!("|---|---|---|---|---|---|");
    for r in &k.rounds {
        let when = match r.killed_after {
            Some(d) => format!("{} ms", fmt_ms(d)),
            None => format!("ended first (exit {})", r.exit),
        };
        println!("| {} | {} | {when} | {:?} | {} | {} |", r.round, r.victim.label(), r.left, r.what, r.acknowledged);
    }
    let killed = k.rounds.iter().filter(|r| r.killed_after.is_some()).count();
    println!(
        "\n{} rounds ({killed} killed in flight): integrity failures {}, lost acknowledged commits {}, partial bulks {}, faults {}: {} in all (must be 0)",
        k.rounds.len(),
        k.integrity_failures.len(),
        k.lost.len(),
        k.partial.len(),
        k.faults.len(),
        k.failures()
    );
}

/// The contention rows of issue 9's table, for `scripts/bench-table`.
fn print_table(levels: &[Level], long: &long_write::LongWrite, v: &Verdicts) {
    let check = |l: &Level| l.kinds.get(&Kind::CheckToken).map(|k| k.latency.pct(99.0)).unwrap_or_default();
    println!("| situation | measured | target | |");
    println!("|---|---|---|---|");
    println!(
        "| `check` (token) from {} processes at once, among mixed reads and writes | p99 {} ms; {} checks/s, {} commands/s | p99 at 8 processes ≤ 3× the single-process p50 ({} ms); throughput grows with processes | {}, {} |",
        levels.iter().map(|l| l.processes.to_string()).collect::<Vec<_>>().join(" / "),
        levels.iter().map(|l| fmt_ms(check(l))).collect::<Vec<_>>().join(" / "),
        levels.iter().map(|l| format!("{:.0}", l.checks_per_second())).collect::<Vec<_>>().join(" / "),
        levels.iter().map(|l| format!("{:.0}", l.per_second())).collect::<Vec<_>>().join(" / "),
        fmt_ms(v.check_p50_1 * 3),
        met(v.p99_met),
        met(v.grows)
    );
    println!(
        "| any command while another process holds a long write (`demo` of {}, {:.1} s) | reads: {} of {} answered, p99 {} ms, max {} ms; writers: {} exit 7 after {} ms, {} other | reads answer at once from the WAL snapshot; writers fail as `unavailable` (exit 7) past $GATEHOUSE_BUSY_TIMEOUT ({} s), never SQLITE_BUSY | {}, {} |",
        long.members,
        long.held.as_secs_f64(),
        long.reads.len() - long.reads_failed.len(),
        long.reads.len(),
        fmt_ms(long.reads.pct(99.0)),
        fmt_ms(long.reads.max()),
        long.gave_up.len(),
        fmt_ms(long.gave_up.pct(50.0)),
        long.writers_wrong.len(),
        long.bound.as_secs_f64(),
        met(long.reads_at_once()),
        met(long.writers_right())
    );
}
