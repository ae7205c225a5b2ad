use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

// `String` may be the name of an alias of `Result`, so the method is guarded, and the
// compiler says, once, that it is not one.
#[circuit_breaker(threshold = 3)]
trait Provider {
    fn complete(&self) -> Result<String, ProviderError>;
    fn model(&self) -> String;
}

fn main() {}
