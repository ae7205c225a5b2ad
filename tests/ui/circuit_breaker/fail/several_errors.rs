use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker(threshold = 0, cooldown = "soon", half_open_max = 1, retries = 3, name = "")]
fn complete() -> Result<String, ProviderError> {
    Ok(String::new())
}

fn main() {}
