use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker(half_open_max = 0)]
fn complete() -> Result<String, ProviderError> {
    Ok(String::new())
}

#[circuit_breaker(half_open_max = 1001)]
fn embed() -> Result<String, ProviderError> {
    Ok(String::new())
}

fn main() {}
