use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

fn cached(pair: (u32, u32)) -> Result<u32, ProviderError> {
    Ok(pair.0)
}

#[circuit_breaker(fallback = cached)]
fn complete((a, b): (u32, u32)) -> Result<u32, ProviderError> {
    Ok(a + b)
}

fn main() {}
