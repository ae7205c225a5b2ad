//! The circuit breaker's state machine, declared as a table: every state change of a
//! [`CircuitBreaker`](crate::CircuitBreaker) is a row of it.

use crate::state_machine;

state_machine! {
    /// The state machine of a circuit breaker.
    ///
    /// | from | event | to |
    /// | --- | --- | --- |
    /// | Closed | Trip (`threshold` consecutive failures) | Open |
    /// | Open | CooldownElapsed (first call after `cooldown`; it is the probe) | HalfOpen |
    /// | HalfOpen | ProbeSucceeded | Closed |
    /// | HalfOpen | ProbeFailed | Open (fresh cooldown) |
    /// | any | ForceOpen | ForcedOpen |
    /// | any | Disable | Disabled |
    /// | any | ObserveOnly | MetricsOnly |
    /// | any | Reset | Closed |
    /// | Automatic: Closed, Open, HalfOpen | FleetOpened | Open (for the fleet's duration) |
    /// | Tripped: Open, HalfOpen | FleetClosed | Closed |
    ///
    /// A [`CircuitBreaker`](crate::CircuitBreaker) computes every next state with
    /// `Circuit::next(from, &event, &mut ())` and installs it with a compare-and-swap. The
    /// table has no actions, entry or exit: a compare-and-swap that loses is retried, so the
    /// breaker arms the cooldown and resets its counts once its swap has won, outside the
    /// table, where they run exactly once.
    ///
    /// A remote's rate limit is not a state: it closes the breaker's rate-limit gate, beside
    /// this table, until the remote's deadline, and no transition is made (see
    /// [`CircuitBreaker`](crate::CircuitBreaker#rate-limits-beside-the-states)).
    ///
    /// The two `Fleet` events are decisions made elsewhere and applied here: by the other
    /// instances of a fleet sharing the breaker's state through a store (see
    /// [`CircuitBreaker::adopt_open`](crate::CircuitBreaker::adopt_open)). They never apply
    /// to the states set by hand, which only a command leaves.
    #[state_machine(crate = crate, typed = false, non_exhaustive)]
    pub Circuit {
        states: [
            // The states the breaker's own policy moves between, and the fleet's decisions
            // with it; a command moves the breaker out of them, and `Reset` back in.
            #[initial(Closed)]
            Automatic [
                /// Calls go through; consecutive failures are counted.
                Closed,
                #[initial(Open)]
                Tripped [
                    /// Calls are rejected until the cooldown has passed.
                    Open,
                    /// A limited number of probe calls go through to test the remote.
                    HalfOpen,
                ],
            ],
            /// Opened by hand: calls are rejected until a reset.
            ForcedOpen,
            /// Switched off by hand: calls go through, nothing is recorded, nothing trips.
            Disabled,
            /// Watching only, set by hand: calls go through and are counted in the metrics
            /// (slow calls too), nothing trips.
            MetricsOnly,
        ],
        events: [
            /// The trip policy's condition in Closed (`threshold` consecutive failures, or a
            /// rate over the window).
            Trip,
            /// The first call after the cooldown; it becomes the first probe.
            CooldownElapsed,
            /// Enough probes succeeded (`success_threshold`).
            ProbeSucceeded,
            /// A probe failed (or was slow, with a slow-call policy).
            ProbeFailed,
            /// `CircuitBreaker::force_open`.
            ForceOpen,
            /// `CircuitBreaker::disable`.
            Disable,
            /// `CircuitBreaker::metrics_only`.
            ObserveOnly,
            /// `CircuitBreaker::reset`.
            Reset,
            /// `CircuitBreaker::adopt_open`: the fleet opened the circuit (or holds it open,
            /// or lets this instance's next call be its probe: open until now).
            FleetOpened,
            /// `CircuitBreaker::adopt_closed`: the fleet's probe succeeded elsewhere.
            FleetClosed,
        ],
        initial: Closed,
        Closed + Trip => Open,
        Open + CooldownElapsed => HalfOpen,
        HalfOpen + ProbeSucceeded => Closed,
        HalfOpen + ProbeFailed => Open,
        _ + ForceOpen => ForcedOpen,
        _ + Disable => Disabled,
        _ + ObserveOnly => MetricsOnly,
        _ + Reset => Closed,
        Automatic + FleetOpened => Open,
        Tripped + FleetClosed => Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::StateMachine;

    use CircuitEvent as E;
    use CircuitState as S;

    fn next(from: S, event: E) -> Option<S> {
        Circuit::next(from, &event, &mut ()).ok()
    }

    #[test]
    fn the_automatic_transitions() {
        assert_eq!(Circuit::INITIAL, S::Closed);
        assert_eq!(next(S::Closed, E::Trip), Some(S::Open));
        assert_eq!(next(S::Open, E::CooldownElapsed), Some(S::HalfOpen));
        assert_eq!(next(S::HalfOpen, E::ProbeSucceeded), Some(S::Closed));
        assert_eq!(next(S::HalfOpen, E::ProbeFailed), Some(S::Open));
    }

    #[test]
    fn manual_control_applies_in_every_state() {
        for &state in Circuit::STATES {
            assert_eq!(next(state, E::ForceOpen), Some(S::ForcedOpen), "{state}");
            assert_eq!(next(state, E::Disable), Some(S::Disabled), "{state}");
            assert_eq!(next(state, E::ObserveOnly), Some(S::MetricsOnly), "{state}");
            assert_eq!(next(state, E::Reset), Some(S::Closed), "{state}");
        }
    }

    #[test]
    fn the_fleet_moves_only_the_automatic_states() {
        for state in [S::Closed, S::Open, S::HalfOpen] {
            assert_eq!(next(state, E::FleetOpened), Some(S::Open), "{state}");
        }
        assert_eq!(next(S::Open, E::FleetClosed), Some(S::Closed));
        assert_eq!(next(S::HalfOpen, E::FleetClosed), Some(S::Closed));
        assert_eq!(next(S::Closed, E::FleetClosed), None);
        for state in [S::ForcedOpen, S::Disabled, S::MetricsOnly] {
            assert_eq!(next(state, E::FleetOpened), None, "{state}");
            assert_eq!(next(state, E::FleetClosed), None, "{state}");
        }
    }

    #[test]
    fn what_the_table_refuses() {
        assert_eq!(next(S::Closed, E::ProbeSucceeded), None);
        assert_eq!(next(S::Closed, E::CooldownElapsed), None);
        assert_eq!(next(S::Open, E::Trip), None);
        assert_eq!(next(S::Open, E::ProbeFailed), None);
        assert_eq!(next(S::ForcedOpen, E::CooldownElapsed), None);
        assert_eq!(next(S::Disabled, E::Trip), None);
        assert_eq!(next(S::MetricsOnly, E::Trip), None);
    }
}
