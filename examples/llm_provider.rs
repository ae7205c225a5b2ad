//! A simulated, flaky LLM provider behind one circuit breaker per model, and one for the
//! provider as a whole.
//!
//! Four callers send completions for three models for about three seconds. `gpt-4o` goes
//! down for a while and comes back; `claude-sonnet` fails now and then and has a short
//! outage of its own; `llama` is always up and serves as the fallback while a circuit is
//! open. Every state transition is printed as it happens (a `tracing_subscriber` fmt layer
//! listening to the `breaker` target), then a summary per model.
//!
//! The per-model breakers come from `#[derive(CircuitBreakers)]` on the `Model` enum; the
//! provider client is a trait under `#[circuit_breaker]`, whose generated wrapper guards the
//! provider as a whole (it opens only if every model fails at once).
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

use breaker::{
    BreakerError, CircuitBreakers, CircuitOpen, CircuitState, StateChange, circuit_breaker,
};

/// The models the application uses; `llama` is the fallback. One breaker each: three
/// consecutive failures open a model's circuit for 300 ms.
#[derive(CircuitBreakers, Clone, Copy, PartialEq, Eq, Debug)]
#[breaker(
    threshold = 3,
    cooldown = "300ms",
    half_open_timeout = "2s",
    rename_all = "kebab-case"
)]
enum Model {
    #[breaker(name = "gpt-4o")]
    Gpt4o,
    ClaudeSonnet,
    Llama,
}

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
    /// The provider-wide circuit is open: the request was not sent.
    ProviderDown(CircuitOpen),
}

impl From<CircuitOpen> for ProviderError {
    fn from(open: CircuitOpen) -> Self {
        ProviderError::ProviderDown(open)
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderError::Unavailable(model) => write!(f, "{model}: 503 service unavailable"),
            ProviderError::Timeout(model) => write!(f, "{model}: request timed out"),
            ProviderError::ProviderDown(open) => write!(f, "{open}"),
        }
    }
}

impl std::error::Error for ProviderError {}

/// The provider's client. `#[circuit_breaker]` generates `ProviderBreaker<P: Provider>`, a
/// `Provider` whose calls go through one breaker for the whole provider.
#[circuit_breaker(name = "provider", threshold = 12, cooldown = "500ms")]
trait Provider: Sync {
    fn complete(&self, model: Model, prompt: &str, rng: &mut Rng) -> Result<String, ProviderError>;
}

/// The simulated provider: whether a model answers depends on when you ask.
struct Simulated {
    start: Instant,
}

impl Provider for Simulated {
    fn complete(&self, model: Model, prompt: &str, rng: &mut Rng) -> Result<String, ProviderError> {
        let name = BREAKERS_NAMES[model as usize];
        let t = self.start.elapsed();
        let ms = |n| Duration::from_millis(n);
        // A little latency, like a real call.
        thread::sleep(ms(2 + rng.below(6)));
        let down = match model {
            Model::Gpt4o => t >= ms(400) && t < ms(1_500),
            Model::ClaudeSonnet => (t >= ms(1_900) && t < ms(2_300)) || rng.below(100) < 8,
            Model::Llama => false,
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

/// The breakers' names, for the simulated provider's messages.
const BREAKERS_NAMES: [&str; 3] = ["gpt-4o", "claude-sonnet", "llama"];

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

    let breakers = ModelBreakers::new();

    // Every transition, per model, for the summary.
    let paths: Arc<Mutex<[Vec<StateChange>; 3]>> = Arc::default();
    for (model, breaker) in breakers.iter() {
        let paths = Arc::clone(&paths);
        breaker.on_transition(move |change| {
            paths.lock().unwrap()[model as usize].push(change.clone())
        });
    }

    let start = Instant::now();
    let provider = ProviderBreaker::new(Simulated { start });
    // Calls answered by the fallback model because the preferred one's circuit was open.
    let fallbacks = Mutex::new([0u64; 3]);

    let config = breakers.get(Model::Gpt4o).config();
    println!(
        "{} callers, models {:?}, threshold {}, cooldown {:?}; gpt-4o is down from 0.4 s to 1.5 s\n",
        CALLERS, BREAKERS_NAMES, config.threshold, config.cooldown
    );

    thread::scope(|scope| {
        for caller in 0..CALLERS {
            let (breakers, provider, fallbacks) = (&breakers, &provider, &fallbacks);
            scope.spawn(move || {
                let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ ((caller + 1) * 0x9E37_79B9));
                let mut local = [0u64; 3];
                let mut n = 0u64;
                while start.elapsed() < RUN_FOR {
                    n += 1;
                    // Callers prefer gpt-4o and claude-sonnet; llama is the fallback.
                    let model = if n % 2 == 0 {
                        Model::Gpt4o
                    } else {
                        Model::ClaudeSonnet
                    };
                    let prompt = format!("request {n} from caller {caller}");
                    let breaker = breakers.get(model);
                    match breaker.call(|| provider.complete(model, &prompt, &mut rng)) {
                        Ok(_answer) => {}
                        // The provider's own error, unchanged: a real caller would retry or
                        // report it.
                        Err(BreakerError::Inner(_error)) => {}
                        // The circuit is open: do not wait on a dead model, use another.
                        Err(BreakerError::Open(_open)) => {
                            if breakers
                                .get(Model::Llama)
                                .call(|| provider.complete(Model::Llama, &prompt, &mut rng))
                                .is_ok()
                            {
                                local[model as usize] += 1;
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
    let whole = provider.breaker().metrics();
    println!(
        "\nthe provider as a whole (`#[circuit_breaker]` on the trait): {}, {} calls admitted, {} failed",
        whole.state, whole.admitted, whole.failed
    );
}

fn print_summary(breakers: &ModelBreakers, fallbacks: &[u64; 3], paths: &[Vec<StateChange>; 3]) {
    println!();
    println!(
        "{:<14} {:<8} {:>4} {:>8} {:>8} {:>9} {:>7} {:>9}",
        "model", "state", "gen", "admitted", "rejected", "succeeded", "failed", "fallback"
    );
    println!("{}", "-".repeat(76));
    for (model, breaker) in breakers.iter() {
        let m = breaker.metrics();
        println!(
            "{:<14} {:<8} {:>4} {:>8} {:>8} {:>9} {:>7} {:>9}",
            breaker.name().as_str(),
            m.state.to_string(),
            m.generation,
            m.admitted,
            m.rejected,
            m.succeeded,
            m.failed,
            fallbacks[model as usize],
        );
    }
    println!();
    for (i, path) in paths.iter().enumerate() {
        let mut states = vec![CircuitState::Closed.to_string()];
        states.extend(path.iter().map(|change| change.to.to_string()));
        println!("{:<14} {}", BREAKERS_NAMES[i], states.join(" -> "));
    }

    let gpt: Vec<CircuitState> = paths[Model::Gpt4o as usize]
        .iter()
        .map(|change| change.to)
        .collect();
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
