// The data types that will grow fields are `#[non_exhaustive]`: a user builds them with
// their constructors and builders, never with a literal that a new field would break.
use breaker::{BreakerConfig, FailureRate, Window};

fn main() {
    let _ = BreakerConfig {
        ..BreakerConfig::default()
    };
    let _ = FailureRate {
        ..FailureRate::new(Window::Count { size: 10 }, 50)
    };
}
