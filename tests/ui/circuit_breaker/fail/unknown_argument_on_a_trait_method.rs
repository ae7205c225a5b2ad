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
    #[breaker(skp)]
    fn complete(&self) -> Result<String, ProviderError>;
    #[breaker(name = "other")]
    fn embed(&self) -> Result<String, ProviderError>;
}

fn main() {}
