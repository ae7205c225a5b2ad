// The enums that will grow variants are `#[non_exhaustive]` (the breaker's states and
// events, through `#[state_machine(non_exhaustive)]`; the trip policies, windows, backoffs):
// a `match` outside the crate needs a wildcard arm, so a new variant breaks nobody.
use breaker::{CircuitEvent, CircuitState, TripPolicy};

fn state(state: CircuitState) -> &'static str {
    match state {
        CircuitState::Closed => "closed",
        CircuitState::Open => "open",
        CircuitState::HalfOpen => "half-open",
        CircuitState::ForcedOpen => "forced open",
        CircuitState::Disabled => "disabled",
        CircuitState::MetricsOnly => "metrics only",
    }
}

fn event(event: CircuitEvent) -> bool {
    match event {
        CircuitEvent::Trip => true,
        CircuitEvent::CooldownElapsed
        | CircuitEvent::ProbeSucceeded
        | CircuitEvent::ProbeFailed
        | CircuitEvent::ForceOpen
        | CircuitEvent::Disable
        | CircuitEvent::ObserveOnly
        | CircuitEvent::Reset => false,
    }
}

fn policy(policy: TripPolicy) -> u8 {
    match policy {
        TripPolicy::ConsecutiveFailures => 0,
        TripPolicy::FailureRate(_) => 1,
    }
}

fn main() {
    let _ = (state(CircuitState::Closed), event(CircuitEvent::Trip));
    let _ = policy(TripPolicy::ConsecutiveFailures);
}
