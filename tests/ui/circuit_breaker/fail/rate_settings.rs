use breaker::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct ProviderError;

impl From<CircuitOpen> for ProviderError {
    fn from(_: CircuitOpen) -> Self {
        ProviderError
    }
}

// Every wrong value at once; the window whose size is wrong still counts as written, so
// `minimum_calls` is not reported as needing one.
#[circuit_breaker(
    window_size = 0,
    minimum_calls = 5,
    failure_rate = 0,
    slow_call_rate = 101,
    success_threshold = 0,
    ignored_errors = "failure",
    window_buckets = 2000
)]
fn wrong_values() -> Result<(), ProviderError> {
    Ok(())
}

// A misspelt `window` is the only error: `failure_rate` is not reported as needing one.
#[circuit_breaker(windw = "1m", failure_rate = 30)]
fn misspelt_window() -> Result<(), ProviderError> {
    Ok(())
}

#[circuit_breaker(window = "0s", slow_call_duration = "0s", threshold = 20000000)]
fn zero_durations() -> Result<(), ProviderError> {
    Ok(())
}

#[circuit_breaker(window_size = 10, slow_call_duration = "2h")]
fn slow_beyond_an_hour() -> Result<(), ProviderError> {
    Ok(())
}

// A method's settings that conflict with the trait's window: reported on the method's token.
#[circuit_breaker(window_size = 20)]
trait Provider {
    #[breaker(threshold = 1)]
    fn complete(&self) -> Result<(), ProviderError>;
    #[breaker(minimum_calls = 30)]
    fn embed(&self) -> Result<(), ProviderError>;
    #[breaker(window = "1m")]
    fn health(&self) -> Result<(), ProviderError>;
}

fn main() {}
