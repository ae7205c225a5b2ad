use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker(window_size = 20, window_buckets = 4)]
fn complete() -> Result<(), ProviderError> {
    Ok(())
}

fn main() {}
