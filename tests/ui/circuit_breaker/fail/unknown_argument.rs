use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker(treshold = 5)]
fn complete() -> Result<String, ProviderError> {
    Ok(String::new())
}

fn main() {}
