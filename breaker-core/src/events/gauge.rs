//! The `breaker_state` gauge of the `metrics` facade (feature `metrics`), set as part of
//! emitting a state change, so that the gauge follows every transition without the breaker
//! knowing about exporters.

use super::StateChange;
use crate::circuit::CircuitState;

/// The gauge value of a state: its position in the breaker's table.
pub(crate) fn state_gauge_value(state: CircuitState) -> f64 {
    f64::from(state as u8)
}

/// Sets the state gauge of the breaker that changed state.
pub(super) fn state_changed(change: &StateChange) {
    metrics::gauge!("breaker_state", "name" => change.name.to_string())
        .set(state_gauge_value(change.to));
}
