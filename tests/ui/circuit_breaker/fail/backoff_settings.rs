use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker(backoff = "exponentail", jitter = "half", backoff_multiplier = 0.5)]
fn unknown_values() -> Result<(), ProviderError> {
    Ok(())
}

#[circuit_breaker(cooldown = "1m", backoff = "exponential", max_cooldown = "30s")]
fn cap_below_the_cooldown() -> Result<(), ProviderError> {
    Ok(())
}

#[circuit_breaker(max_cooldown = "5m", backoff_multiplier = 3)]
fn exponential_settings_without_exponential() -> Result<(), ProviderError> {
    Ok(())
}

fn main() {}
