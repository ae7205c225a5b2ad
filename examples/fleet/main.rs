//! A fleet of 20 instances sharing one circuit breaker through Redis, against the same fleet
//! with local breakers only.
//!
//! Each instance has its own breaker `gpt-4o` (threshold 5, cooldown 1 s, one probe at a
//! time) and calls a mock provider every 15 ms over real HTTP (axum on `127.0.0.1`, reqwest
//! clients). The provider goes down for 3.5 s, then recovers. The scenario runs twice: once
//! with every breaker attached to a fleet store (each instance its own connection), once
//! with local breakers only. The example prints, per half-open generation, which instances
//! probed and how many calls reached the dead provider, then the two runs side by side.
//!
//! It starts a `redis-server` of its own on a free loopback port (Debian's package), or
//! uses the server at `REDIS_URL` (its keys under a prefix of this run's own, kept a
//! minute). No network outside loopback.
//!
//! ```text
//! cargo run --example fleet --features redis
//! REDIS_URL=redis://127.0.0.1:6379/ cargo run --example fleet --features redis
//! ```

// The tests' starter of a real redis-server, on a free loopback port.
#[allow(dead_code, unused_imports)]
#[path = "../../tests/support/redis_server.rs"]
mod redis_server;
// Shared with the integration test (`tests/fleet`), which reads what the example does not.
#[allow(dead_code)]
mod remote;
#[allow(dead_code)]
mod scenario;

use std::error::Error;
use std::time::{Duration, Instant};

use breaker::BreakerConfig;
use breaker::fleet::FleetOptions;
use redis_server::RedisServer;
use scenario::{Outcome, Round, Scenario, Sharing};

type BoxError = Box<dyn Error + Send + Sync>;

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // Said as the error says it (a bad `REDIS_URL`, a store that does not answer).
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), BoxError> {
    // Kept until the end: dropping it stops the server.
    let mut started = None;
    let url = match std::env::var("REDIS_URL") {
        Ok(url) => url,
        Err(_) => started.insert(RedisServer::start()).url(),
    };
    let origin = if started.is_some() {
        "started for this run"
    } else {
        "from REDIS_URL"
    };
    println!("redis-server at {url} ({origin})");
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(compare(url))
}

/// The scenario the example runs.
fn scenario() -> Scenario {
    Scenario {
        instances: 20,
        config: BreakerConfig::default()
            .with_threshold(5)
            .with_cooldown(Duration::from_secs(1))
            .with_half_open_max(1)
            // A probe out longer than this is lost: the lease goes to another instance.
            .with_half_open_timeout(Duration::from_millis(500)),
        call_every: Duration::from_millis(15),
        up_before: Duration::from_millis(300),
        down_for: Duration::from_millis(3_500),
        close_within: Duration::from_secs(3),
        run_after_closing: Duration::from_millis(200),
        client_timeout: Duration::from_millis(250),
    }
}

/// The store's options: the keys of this run under a prefix of its own, so that runs
/// against a shared server (`REDIS_URL`) do not meet, and gone a minute after it.
fn store_options() -> FleetOptions {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut options = FleetOptions::default().with_prefix(format!(
        "fleet-example:{}:{}",
        std::process::id(),
        since_epoch.as_millis()
    ));
    options.retention = Duration::from_secs(60);
    options
}

async fn compare(url: String) -> Result<(), BoxError> {
    let scenario = scenario();
    let config = &scenario.config;
    println!(
        "{} instances, each with its own breaker `{}` (threshold {}, cooldown {:?}, \
         half_open_max {}), calling every {:?};",
        scenario.instances,
        scenario::BREAKER,
        config.threshold,
        config.cooldown,
        config.half_open_max,
        scenario.call_every,
    );
    println!(
        "the provider goes down {:?} after the start, for {:?}.\n",
        scenario.up_before, scenario.down_for
    );

    let began = Instant::now();
    let sharing = Sharing::Store {
        url,
        options: store_options(),
    };
    let shared = scenario::run(&scenario, &sharing).await?;
    println!(
        "run 1, shared through the store: {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let began = Instant::now();
    let local = scenario::run(&scenario, &Sharing::Local).await?;
    println!(
        "run 2, local breakers only:      {:.1} s",
        began.elapsed().as_secs_f64()
    );
    for (run, outcome) in [("1", &shared), ("2", &local)] {
        if outcome.log_truncated {
            println!("(run {run}: the provider's log was full: the figures below are short)");
        }
    }

    print_generations(&shared, &local);
    print_comparison(&shared, &local);
    Ok(())
}

/// Per half-open generation, side by side: when, who probed, the calls that reached the
/// dead provider.
fn print_generations(shared: &Outcome, local: &Outcome) {
    let (shared_rounds, local_rounds) = (shared.rounds(), local.rounds());
    println!("\nhalf-open generations (times since the provider went down; calls: those that");
    println!("reached the dead provider until the next generation; `up`: the probe found it up)\n");
    println!("{:<5} | {:<36} | local breakers only", "", "with the store");
    println!(
        "{:<5} | {:>7} {:>6} {:<15} {:>5} | {:>7} {:>6} {:<15} {:>5}",
        "gen", "at", "probes", " probed by", "calls", "at", "probes", " probed by", "calls"
    );
    println!("{}", "-".repeat(82));
    println!(
        "{:<5} | {:>7} {:>6} {:<15} {:>5} | {:>7} {:>6} {:<15} {:>5}",
        "trip",
        "",
        "",
        "",
        shared.failures_before_every_instance_rejected(),
        "",
        "",
        "",
        local.failures_before_every_instance_rejected(),
    );
    for i in 0..shared_rounds.len().max(local_rounds.len()) {
        let line = format!(
            "{:<5} | {} | {}",
            i + 1,
            round_cells(shared_rounds.get(i), shared.instances),
            round_cells(local_rounds.get(i), local.instances),
        );
        println!("{}", line.trim_end());
    }
}

fn round_cells(round: Option<&Round>, instances: usize) -> String {
    let Some(round) = round else {
        return format!("{:36}", "");
    };
    let mut probed_by = probers(&round.probers, instances);
    if round.recovered {
        probed_by.push_str(" (up)");
    }
    format!(
        "{:>5.2} s {:>6}  {:<14} {:>5}",
        round.at.as_secs_f64(),
        round.probers.len(),
        probed_by,
        round.calls_while_down
    )
}

/// The instances that probed, in short.
fn probers(probers: &[u32], instances: usize) -> String {
    let mut distinct = probers.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    match distinct.len() {
        n if n == instances && n > 2 => format!("all {n}"),
        1 | 2 => distinct
            .iter()
            .map(|i| format!("i{i}"))
            .collect::<Vec<_>>()
            .join(", "),
        n => format!("i{}, i{}, … ({n})", distinct[0], distinct[1]),
    }
}

/// The two runs' figures, side by side.
fn print_comparison(shared: &Outcome, local: &Outcome) {
    println!("\n{:<48} {:>15} {:>15}", "", "with the store", "local only");
    println!("{}", "-".repeat(80));
    let row = |what: &str, of: &dyn Fn(&Outcome) -> String| {
        println!("{what:<48} {:>15} {:>15}", of(shared), of(local));
    };
    row("calls that reached the dead provider", &|o| {
        o.calls_while_down().to_string()
    });
    row("failures before every instance rejected", &|o| {
        o.failures_before_every_instance_rejected().to_string()
    });
    row("probes per half-open generation", &|o| {
        let probes: Vec<String> = o
            .rounds()
            .iter()
            .map(|round| round.probers.len().to_string())
            .collect();
        probes.join(" ")
    });
    row("every instance open, after the provider fell", &|o| {
        o.every_instance_open()
            .map_or_else(|| "never".to_owned(), |at| millis(at - o.down_at))
    });
    row("first to last instance open (max; p50)", &|o| {
        let after = o.opened_after_the_first();
        match (after.last(), after.get(after.len() / 2)) {
            (Some(max), Some(p50)) => format!("{}; {}", millis(*max), millis(*p50)),
            _ => "-".to_owned(),
        }
    });
    row("every instance closed, after the recovery", &|o| {
        o.every_instance_closed_after_recovery()
            .map_or_else(|| "not all".to_owned(), millis)
    });
    row("calls the breakers rejected", &|o| o.rejected.to_string());
    row("store commands (all instances)", &|o| {
        o.store
            .map_or_else(|| "-".to_owned(), |store| store.commands.to_string())
    });
    row("store commands per instance per second", &|o| {
        o.store.map_or_else(
            || "-".to_owned(),
            |store| {
                let per_second = store.commands as f64 / o.ran_for.as_secs_f64();
                format!("{:.1}", per_second / o.instances as f64)
            },
        )
    });
}

fn millis(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1e3)
}
