use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

// Durations are capped at a year, as in a settings file; exactly a year is allowed.
#[circuit_breaker(cooldown = "1000 years", half_open_timeout = "1year 1s")]
fn complete() -> Result<String, ProviderError> {
    Ok(String::new())
}

#[circuit_breaker(cooldown = "1year", half_open_timeout = "365d", backoff = "exponential", max_cooldown = "1year")]
fn longest() -> Result<String, ProviderError> {
    Ok(String::new())
}

#[circuit_breaker(window = "2year")]
fn window() -> Result<String, ProviderError> {
    Ok(String::new())
}

fn main() {}
