use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[derive(Debug)]
pub struct PlainError;

#[circuit_breaker(threshold = 2)]
fn complete() -> Result<String, PlainError> {
    Ok(String::new())
}

fn main() {}
