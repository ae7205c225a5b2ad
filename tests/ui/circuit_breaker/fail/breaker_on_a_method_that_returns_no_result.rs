use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker(threshold = 3)]
trait Provider {
    fn complete(&self) -> Result<String, ProviderError>;
    #[breaker(threshold = 1)]
    fn name(&self) -> &str;
}

fn main() {}
