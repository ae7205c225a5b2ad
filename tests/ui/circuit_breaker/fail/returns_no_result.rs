use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

#[circuit_breaker]
fn complete() -> u32 {
    1
}

#[circuit_breaker]
fn notify(message: &str) {
    println!("{message}");
}

#[circuit_breaker]
fn maybe() -> Option<u32> {
    None
}

fn main() {}
