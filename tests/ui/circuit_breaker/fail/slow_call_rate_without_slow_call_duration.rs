use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker(window = "1m", slow_call_rate = 50)]
fn complete() -> Result<(), ProviderError> {
    Ok(())
}

fn main() {}
