use breaker::{CircuitOpen, Verdict, circuit_breaker};

#[derive(Debug)]
struct ApiError;

impl From<CircuitOpen> for ApiError {
    fn from(_: CircuitOpen) -> Self {
        ApiError
    }
}

fn verdict(_: &ApiError) -> Verdict {
    Verdict::Failure
}

fn is_outage(_: &ApiError) -> bool {
    true
}

#[circuit_breaker(classify = verdict, failure_if = is_outage)]
fn complete() -> Result<(), ApiError> {
    Ok(())
}

#[circuit_breaker]
trait Provider {
    #[breaker(failure_if = is_outage, classify = verdict)]
    fn embed(&self) -> Result<(), ApiError>;
    #[breaker(skip, classify = verdict)]
    fn health(&self) -> Result<(), ApiError>;
}

fn main() {}
