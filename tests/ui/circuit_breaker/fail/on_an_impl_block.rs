use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

struct Client;

#[circuit_breaker(threshold = 2)]
impl Client {
    fn complete(&self) -> Result<String, ProviderError> {
        Ok(String::new())
    }
}

fn main() {}
