use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

/// Neither derives `CircuitBreakers` nor is hashable.
pub struct Model {
    pub id: f64,
}

#[circuit_breaker(key = model)]
fn complete(model: Model) -> Result<f64, ProviderError> {
    Ok(model.id)
}

#[circuit_breaker]
trait Provider {
    #[breaker(key = model)]
    fn complete(&self, model: &Model) -> Result<f64, ProviderError>;
}

fn main() {}
