use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker]
trait Provider {
    #[breaker(skip, key = model)]
    fn complete(&self, model: &str) -> Result<String, ProviderError>;
}

fn main() {}
