//! A simulated, flaky LLM provider behind one circuit breaker per model.
//!
//! Four callers send completions for three models for about three seconds. `gpt-4o` goes
//! down for a while and comes back; `claude-sonnet` fails now and then and has a short
//! outage of its own; `llama` is always up and serves as the fallback while a circuit is
//! open. Every state transition is printed as it happens (a `tracing_subscriber` fmt layer
//! listening to the `breaker` target), then a summary per model.
//!
//! No network: the provider is a function of the time since start and a random draw.
//!
//! ```text
//! cargo run --example llm_provider
//! ```

use std::fmt;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use breaker::{BreakerConfig, BreakerError, CircuitBreaker, CircuitState, StateChange};

/// The models the application uses, in order of preference.
const MODELS: [&str; 3] = ["gpt-4o", "claude-sonnet", "llama"];
const GPT: usize = 0;
const CLAUDE: usize = 1;
const LLAMA: usize = 2;

/// How long the demo runs.
const RUN_FOR: Duration = Duration::from_millis(3_000);
/// The callers.
const CALLERS: u64 = 4;

/// Why the provider failed a request.
#[derive(Debug)]
enum ProviderError {
    /// 503 from the provider: the model is down.
    Unavailable(&'static str),
    /// The request took too long.
    Timeout(&'static str),
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderError::Unavailable(model) => write!(f, "{model}: 503 service unavailable"),
            ProviderError::Timeout(model) => write!(f, "{model}: request timed out"),
        }
    }
}

impl std::error::Error for ProviderError {}

/// The simulated provider: whether a model answers depends on when you ask.
struct Provider {
    start: Instant,
}

impl Provider {
    fn complete(&self, model: usize, prompt: &str, rng: &mut Rng) -> Result<String, ProviderError> {
        let name = MODELS[model];
        let t = self.start.elapsed();
        let ms = |n| Duration::from_millis(n);
        // A little latency, like a real call.
        thread::sleep(ms(2 + rng.below(6)));
        let down = match model {
            GPT => t >= ms(400) && t < ms(1_500),
            CLAUDE => (t >= ms(1_900) && t < ms(2_300)) || rng.below(100) < 8,
            _ => false,
        };
        if down {
            return Err(if rng.below(2) == 0 {
                ProviderError::Unavailable(name)
            } else {
                ProviderError::Timeout(name)
            });
        }
        Ok(format!("{name} says: {} characters received", prompt.len()))
    }
}

/// A small xorshift generator, so the demo needs no dependency for randomness.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn main() {
    // Transitions are `tracing` events with target `breaker`; print them as they happen,
    // stamped with the time since start.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();

    let config = BreakerConfig::default()
        .with_threshold(3)
        .with_cooldown(Duration::from_millis(300))
        .with_half_open_max(1)
        .with_half_open_timeout(Duration::from_secs(2));
    let breakers = MODELS.map(|model| CircuitBreaker::new(model, config.clone()));

    // Every transition, per model, for the summary.
    let paths: Arc<Mutex<[Vec<StateChange>; 3]>> = Arc::default();
    for (i, breaker) in breakers.iter().enumerate() {
        let paths = Arc::clone(&paths);
        breaker.on_transition(move |change| paths.lock().unwrap()[i].push(change.clone()));
    }

    let provider = Provider {
        start: Instant::now(),
    };
    // Calls answered by the fallback model because the preferred one's circuit was open.
    let fallbacks = Mutex::new([0u64; 3]);

    println!(
        "{} callers, models {:?}, threshold {}, cooldown {:?}; gpt-4o is down from 0.4 s to 1.5 s\n",
        CALLERS, MODELS, config.threshold, config.cooldown
    );

    thread::scope(|scope| {
        for caller in 0..CALLERS {
            let (breakers, provider, fallbacks) = (&breakers, &provider, &fallbacks);
            scope.spawn(move || {
                let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ ((caller + 1) * 0x9E37_79B9));
                let mut local = [0u64; 3];
                let mut n = 0u64;
                while provider.start.elapsed() < RUN_FOR {
                    n += 1;
                    // Callers prefer gpt-4o and claude-sonnet; llama is the fallback.
                    let model = if n % 2 == 0 { GPT } else { CLAUDE };
                    let prompt = format!("request {n} from caller {caller}");
                    match breakers[model].call(|| provider.complete(model, &prompt, &mut rng)) {
                        Ok(_answer) => {}
                        // The provider's own error, unchanged: a real caller would retry or
                        // report it.
                        Err(BreakerError::Inner(_error)) => {}
                        // The circuit is open: do not wait on a dead model, use another.
                        Err(BreakerError::Open(_open)) => {
                            if breakers[LLAMA]
                                .call(|| provider.complete(LLAMA, &prompt, &mut rng))
                                .is_ok()
                            {
                                local[model] += 1;
                            }
                        }
                    }
                    thread::sleep(Duration::from_millis(5));
                }
                let mut fallbacks = fallbacks.lock().unwrap();
                for (total, mine) in fallbacks.iter_mut().zip(local) {
                    *total += mine;
                }
            });
        }
    });

    print_summary(
        &breakers,
        &fallbacks.lock().unwrap(),
        &paths.lock().unwrap(),
    );
}

fn print_summary(
    breakers: &[CircuitBreaker; 3],
    fallbacks: &[u64; 3],
    paths: &[Vec<StateChange>; 3],
) {
    println!();
    println!(
        "{:<14} {:<8} {:>4} {:>8} {:>8} {:>9} {:>7} {:>9}",
        "model", "state", "gen", "admitted", "rejected", "succeeded", "failed", "fallback"
    );
    println!("{}", "-".repeat(76));
    for (i, breaker) in breakers.iter().enumerate() {
        let m = breaker.metrics();
        println!(
            "{:<14} {:<8} {:>4} {:>8} {:>8} {:>9} {:>7} {:>9}",
            MODELS[i],
            m.state.to_string(),
            m.generation,
            m.admitted,
            m.rejected,
            m.succeeded,
            m.failed,
            fallbacks[i],
        );
    }
    println!();
    for (i, path) in paths.iter().enumerate() {
        let mut states = vec![CircuitState::Closed.to_string()];
        states.extend(path.iter().map(|change| change.to.to_string()));
        println!("{:<14} {}", MODELS[i], states.join(" -> "));
    }

    let gpt: Vec<CircuitState> = paths[GPT].iter().map(|change| change.to).collect();
    let recovered = gpt.first() == Some(&CircuitState::Open)
        && gpt.contains(&CircuitState::HalfOpen)
        && gpt.last() == Some(&CircuitState::Closed);
    println!();
    if recovered {
        println!(
            "gpt-4o went Closed -> Open -> HalfOpen -> Closed: tripped on the outage, probed, recovered."
        );
    } else {
        println!(
            "gpt-4o did not complete Closed -> Open -> HalfOpen -> Closed this run (machine too slow?)"
        );
        std::process::exit(1);
    }
}
