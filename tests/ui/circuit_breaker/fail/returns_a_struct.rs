use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

pub struct Reply(String);

fn cached(prompt: &str) -> Reply {
    Reply(prompt.to_string())
}

fn is_outage(_: &ProviderError) -> bool {
    true
}

// Whatever else the function has, a return type that is not a `Result` is one error.
#[circuit_breaker(fallback = cached, failure_if = is_outage)]
fn complete(prompt: &str) -> Reply {
    Reply(prompt.to_string())
}

fn main() {}
