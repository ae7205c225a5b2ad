use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker(failure_if = "is_transient")]
fn complete() -> Result<String, ProviderError> {
    Ok(String::new())
}

#[circuit_breaker(failure_if = |e: &ProviderError| true)]
fn embed() -> Result<String, ProviderError> {
    Ok(String::new())
}

fn main() {}
