use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker(threshold = 0)]
trait Provider {
    fn complete(&self, prompt: &str) -> Result<String, ProviderError>;
}

struct Client;

impl Provider for Client {
    fn complete(&self, prompt: &str) -> Result<String, ProviderError> {
        Ok(prompt.to_string())
    }
}

// The wrapper is still there, with its API: the bad argument is the only error.
fn main() {
    let provider = ProviderBreaker::new(Client);
    let _ = provider.complete("hi");
    let _ = provider.breaker().state();
    let _ = provider.into_inner();
}
