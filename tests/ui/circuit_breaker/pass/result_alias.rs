//! A return type is a `Result` by its type, not by its name: an alias of any name is
//! guarded, on a trait's method and on a function.

use breaker::{CircuitOpen, CircuitState, ManualClock, circuit_breaker};

#[derive(Debug, PartialEq)]
pub enum ApiError {
    Down,
    Open,
}

impl From<CircuitOpen> for ApiError {
    fn from(_: CircuitOpen) -> Self {
        ApiError::Open
    }
}

type Reply = Result<String, ApiError>;

#[circuit_breaker(threshold = 1, cooldown = "10s")]
trait Assistant {
    fn ask(&self, question: &str) -> Reply;
}

struct Down;

impl Assistant for Down {
    fn ask(&self, _: &str) -> Reply {
        Err(ApiError::Down)
    }
}

#[circuit_breaker(threshold = 1, cooldown = "10s")]
fn ask(_: &str) -> Reply {
    Err(ApiError::Down)
}

fn main() {
    let assistant = AssistantBreaker::with_clock(Down, ManualClock::new());
    assert_eq!(assistant.ask("?"), Err(ApiError::Down));
    assert_eq!(assistant.breaker().state(), CircuitState::Open);
    assert_eq!(assistant.ask("?"), Err(ApiError::Open));
    assert!(assistant.breaker_of("ask").is_some());

    assert_eq!(ask("?"), Err(ApiError::Down));
    assert_eq!(ask("?"), Err(ApiError::Open));
}
