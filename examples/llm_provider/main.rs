//! An LLM provider over real HTTP, one circuit breaker per model, and fallbacks.
//!
//! The example starts an OpenAI-compatible mock provider on `127.0.0.1` (axum, on a port of
//! the system's choosing) whose models go down, time out, get overloaded and rate-limit on
//! a schedule of a few seconds. Four callers (tokio tasks) ask it for completions through
//! an async client (reqwest) guarded by one breaker per model; while a model's circuit is
//! open or the model is rate limited, a call falls back to the next model. Transitions
//! print live through `tracing`; at the end, a table per model.
//!
//! No network outside loopback.
//!
//! ```text
//! cargo run --example llm_provider
//! ```

// Shared with the integration test (`tests/llm_provider`), which uses what the demo does not.
#[allow(dead_code)]
#[path = "../../tests/support/mock_provider.rs"]
mod mock_provider;

#[allow(dead_code)]
mod client;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use breaker::CircuitState;
use client::{
    Model, OpenAiClient, Provider, ProviderBreaker, ProviderError, breaker_of,
    complete_with_fallback,
};
use mock_provider::{Behaviour, MockProvider, RateLimitHint};

/// How long the callers run.
const RUN_FOR: Duration = Duration::from_millis(3_500);
/// The callers.
const CALLERS: usize = 4;
/// How long the client waits for an answer.
const TIMEOUT: Duration = Duration::from_millis(250);

/// What the callers saw of one model.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    calls: u64,
    successes: u64,
    failures: u64,
    rate_limited: u64,
    rejected: u64,
    fallbacks: u64,
    time_open: Duration,
}

type Tallies = Mutex<[Tally; 3]>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The breakers report transitions as `tracing` events (target `breaker`).
    tracing_subscriber::fmt()
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();

    let server = MockProvider::start(Model::ALL.map(Model::api_name)).await?;
    follow_the_schedule(&server);
    let provider = Arc::new(ProviderBreaker::new(OpenAiClient::new(
        server.base_url(),
        TIMEOUT,
    )?));
    let tallies: Arc<Tallies> = Arc::default();
    let open_since = watch_open_time(&provider, &tallies);
    println!(
        "mock provider on {}; {CALLERS} callers for {RUN_FOR:?}\n",
        server.base_url()
    );

    let start = Instant::now();
    let callers: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let (provider, tallies) = (Arc::clone(&provider), Arc::clone(&tallies));
            tokio::spawn(async move {
                let mut n = 0;
                while start.elapsed() < RUN_FOR {
                    n += 1;
                    // Half the traffic prefers gpt-4o, half claude-sonnet.
                    let model = if (n + caller) % 2 == 0 {
                        Model::Gpt4o
                    } else {
                        Model::ClaudeSonnet
                    };
                    let prompt = format!("request {n} from caller {caller}");
                    ask(&*provider, model, &prompt, &tallies).await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await?;
    }

    let mut tallies = *tallies.lock().unwrap();
    for (model, since) in open_since.lock().unwrap().iter().enumerate() {
        // A circuit still open at the end counts until now.
        if let Some(since) = since {
            tallies[model].time_open += since.elapsed();
        }
    }
    print_table(&provider, &tallies);
    println!("\nthe server received: {}", received(&server));
    Ok(())
}

/// What each model of the mock provider does, in time since the server started.
fn follow_the_schedule(server: &MockProvider) {
    let at = Duration::from_millis;
    let down = Behaviour::Down {
        retry_after_secs: None,
    };
    server.follow(
        "gpt-4o",
        vec![
            (at(500), down),
            (at(1_100), Behaviour::Hangs),
            (at(1_500), Behaviour::Up),
            (
                at(2_400),
                Behaviour::RateLimited(RateLimitHint::ResetRequests("600ms")),
            ),
            (at(2_700), Behaviour::Up),
        ],
    );
    server.follow(
        "claude-sonnet",
        vec![
            (
                at(800),
                Behaviour::RateLimited(RateLimitHint::RetryAfterSecs(1)),
            ),
            (at(1_000), Behaviour::Up),
            (at(1_800), Behaviour::Overloaded),
            (
                at(2_200),
                Behaviour::Down {
                    retry_after_secs: Some(1),
                },
            ),
            (at(2_500), Behaviour::Up),
        ],
    );
    server.follow(
        "llama",
        vec![
            (
                at(1_900),
                Behaviour::RateLimited(RateLimitHint::RetryAfterMs(300)),
            ),
            (at(2_000), Behaviour::Up),
        ],
    );
}

/// Asks `model` (or its fallbacks) and counts what each model asked answered.
async fn ask(provider: &impl Provider, model: Model, prompt: &str, tallies: &Tallies) {
    let asked = complete_with_fallback(provider, model, prompt).await;
    let mut tallies = tallies.lock().unwrap();
    for (position, (model, answer)) in asked.iter().enumerate() {
        let tally = &mut tallies[*model as usize];
        tally.calls += 1;
        match answer {
            Ok(_) => tally.successes += 1,
            Err(ProviderError::Rejected(_)) => tally.rejected += 1,
            Err(error) if error.moves_on() => tally.rate_limited += 1,
            Err(_) => tally.failures += 1,
        }
        // Every model but the one that answered last handed the call on.
        if position > 0 {
            tally.fallbacks += 1;
        }
    }
}

/// Adds up the time each model's circuit spends open; returns since when each is open now.
fn watch_open_time<P>(
    provider: &ProviderBreaker<P>,
    tallies: &Arc<Tallies>,
) -> Arc<Mutex<[Option<Instant>; 3]>> {
    let open_since: Arc<Mutex<[Option<Instant>; 3]>> = Arc::default();
    for (model, breaker) in Model::ALL.map(|model| (model, breaker_of(provider, model))) {
        let (open_since, tallies) = (Arc::clone(&open_since), Arc::clone(tallies));
        breaker.on_transition(move |change| {
            let since = &mut open_since.lock().unwrap()[model as usize];
            if change.to == CircuitState::Open {
                since.get_or_insert_with(Instant::now);
            } else if let Some(opened) = since.take() {
                tallies.lock().unwrap()[model as usize].time_open += opened.elapsed();
            }
        });
    }
    open_since
}

fn print_table<P>(provider: &ProviderBreaker<P>, tallies: &[Tally; 3]) {
    println!();
    println!(
        "{:<14} {:<9} {:>6} {:>9} {:>8} {:>12} {:>8} {:>9} {:>9}",
        "model",
        "state",
        "calls",
        "successes",
        "failures",
        "rate limited",
        "rejected",
        "fallbacks",
        "time open"
    );
    println!("{}", "-".repeat(92));
    for (model, breaker) in Model::ALL.map(|model| (model, breaker_of(provider, model))) {
        let tally = tallies[model as usize];
        println!(
            "{:<14} {:<9} {:>6} {:>9} {:>8} {:>12} {:>8} {:>9} {:>9}",
            model.api_name(),
            breaker.state().to_string(),
            tally.calls,
            tally.successes,
            tally.failures,
            tally.rate_limited,
            tally.rejected,
            tally.fallbacks,
            format!("{:.2} s", tally.time_open.as_secs_f64()),
        );
    }
}

/// The requests that reached the server, per model.
fn received(server: &MockProvider) -> String {
    Model::ALL
        .map(|model| format!("{} {}", model.api_name(), server.requests(model.api_name())))
        .join(", ")
}
