//! `#[circuit_breaker]` on a function, with `failure_if` (which errors are outages),
//! `fallback` (what to answer while the circuit is open), and `config` (settings read from
//! `examples/breakers.toml` at start-up).
//!
//! Run it with `cargo run --example annotated_fn`.

use std::cell::Cell;

use breaker::{BreakerRegistry, BreakerSettings};
use breaker::{CircuitOpen, circuit_breaker};

/// What the remote answers with.
#[derive(Debug)]
pub enum ApiError {
    /// 429 or 5xx: the remote is in trouble. These count as failures.
    Unavailable(u16),
    /// 4xx: the request is wrong. Returned to the caller, but not the remote's fault.
    BadRequest(u16),
    /// The breaker rejected the call without making it.
    CircuitOpen(CircuitOpen),
}

impl From<CircuitOpen> for ApiError {
    fn from(open: CircuitOpen) -> Self {
        ApiError::CircuitOpen(open)
    }
}

impl ApiError {
    fn is_outage(&self) -> bool {
        matches!(self, ApiError::Unavailable(_))
    }
}

thread_local! {
    /// The status the simulated remote answers with next (200: success).
    static NEXT_STATUS: Cell<u16> = const { Cell::new(200) };
}

/// A call to a flaky remote, guarded: the settings come from `[weather-api]` in
/// `examples/breakers.toml` (three outages in a row open the circuit for 30 s); without the
/// file, from the attribute (five outages, one minute).
#[circuit_breaker(
    name = "weather-api",
    threshold = 5,
    cooldown = "1m",
    config = "weather-api",
    failure_if = ApiError::is_outage,
    fallback = cached_forecast
)]
fn forecast(city: &str) -> Result<String, ApiError> {
    match NEXT_STATUS.with(Cell::get) {
        200 => Ok(format!("{city}: sunny, 21°C")),
        status @ (429 | 500..=599) => Err(ApiError::Unavailable(status)),
        status => Err(ApiError::BadRequest(status)),
    }
}

/// Another remote, whose breaker trips on the failure rate over a minute
/// (`[geocoding-api]` in `examples/breakers.toml`).
#[circuit_breaker(config = "geocoding-api", failure_if = ApiError::is_outage)]
fn geocode(call: u32) -> Result<(f64, f64), ApiError> {
    // Every other call fails: a streak of failures never builds, the rate does.
    if call % 2 == 0 {
        Ok((38.72, -9.14))
    } else {
        Err(ApiError::Unavailable(503))
    }
}

/// Answers while the circuit is open: same arguments, same result type.
fn cached_forecast(city: &str) -> Result<String, ApiError> {
    Ok(format!("{city}: sunny, 20°C (cached)"))
}

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/breakers.toml");
    let text = std::fs::read_to_string(path).expect("examples/breakers.toml is readable");
    let settings: BreakerSettings = toml::from_str(&text).expect("the settings are valid");
    BreakerRegistry::global()
        .load(settings)
        .expect("settings read with serde are valid");

    let script = [200, 400, 404, 503, 500, 429, 200, 200];
    for status in script {
        NEXT_STATUS.with(|next| next.set(status));
        let answer = forecast("Lisbon");
        let state = forecast_breaker().state();
        println!("remote answers {status}: {answer:?} -> breaker {state}");
    }
    let breaker = forecast_breaker();
    let metrics = breaker.metrics();
    println!(
        "\n`weather-api` (threshold {} from breakers.toml): {} admitted, {} rejected, {} succeeded, {} failed, {} ignored (4xx)",
        breaker.config().threshold,
        metrics.admitted,
        metrics.rejected,
        metrics.succeeded,
        metrics.failed,
        metrics.ignored
    );

    let geocoding = geocode_breaker();
    println!("\n`geocoding-api`: {:?}", geocoding.config().policy);
    for call in 0..12 {
        let answer = geocode(call);
        let window = geocoding.metrics().window;
        println!(
            "call {call}: {} -> breaker {}, window {window:?}",
            if answer.is_ok() { "ok" } else { "error" },
            geocoding.state(),
        );
    }
}
