use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker(threshold = 3, failure_rate = 50)]
fn complete() -> Result<(), ProviderError> {
    Ok(())
}

fn main() {}
