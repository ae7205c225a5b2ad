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
    fn connect(url: &str) -> Result<Self, ProviderError>
    where
        Self: Sized;
    fn complete(&self) -> Result<String, ProviderError>;
}

fn main() {}
