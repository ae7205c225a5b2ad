use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

fn cached(prompt: &str, retries: u32) -> Result<String, ProviderError> {
    let _ = (prompt, retries);
    Ok(String::new())
}

#[circuit_breaker(fallback = cached)]
fn complete(prompt: &str) -> Result<String, ProviderError> {
    Ok(prompt.to_string())
}

fn main() {}
