//! A trait under `#[async_trait]`: the wrapper's impl gets the attribute too.
use breaker::{CircuitOpen, CircuitState, ManualClock, circuit_breaker};

#[derive(Debug, PartialEq)]
pub enum ProviderError {
    Down,
    Open,
}

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError::Open
    }
}

#[circuit_breaker(threshold = 1, cooldown = "10s")]
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    async fn complete(&self, prompt: &str) -> Result<String, ProviderError>;
}

struct Down;

#[async_trait::async_trait]
impl Provider for Down {
    async fn complete(&self, _: &str) -> Result<String, ProviderError> {
        Err(ProviderError::Down)
    }
}

fn main() {
    let provider = ProviderBreaker::with_clock(Down, ManualClock::new());
    // As a trait object too: the wrapper is a `Provider`.
    let dynamic: &dyn Provider = &provider;
    assert_eq!(futures::executor::block_on(dynamic.complete("hi")), Err(ProviderError::Down));
    assert_eq!(provider.breaker().state(), CircuitState::Open);
    assert_eq!(futures::executor::block_on(dynamic.complete("hi")), Err(ProviderError::Open));
}
