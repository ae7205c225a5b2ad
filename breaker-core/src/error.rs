//! The errors a breaker gives: [`CircuitOpen`] when it rejects a call, and
//! [`BreakerError`] from [`CircuitBreaker::call`](crate::CircuitBreaker::call), which wraps
//! either that or the call's own error.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use crate::circuit::CircuitState;
use crate::name::BreakerName;

/// A call rejected by an open circuit breaker: the call did not run.
///
/// Its message names the breaker and says "circuit breaker"; [`retry_after`](Self::retry_after)
/// tells how long until the breaker lets a probe through.
///
/// ```
/// use std::time::Duration;
/// use breaker::{BreakerConfig, CircuitBreaker, CircuitState, ManualClock};
///
/// let clock = ManualClock::new();
/// let config = BreakerConfig::default().with_threshold(1).with_cooldown(Duration::from_secs(30));
/// let breaker = CircuitBreaker::with_clock("gpt-4o", config, clock.clone());
/// breaker.acquire().unwrap().failure();
///
/// clock.advance(Duration::from_secs(10));
/// let rejected = breaker.acquire().unwrap_err();
/// assert_eq!(rejected.name(), "gpt-4o");
/// assert_eq!(rejected.state(), CircuitState::Open);
/// assert_eq!(rejected.retry_after(), Some(Duration::from_secs(20)));
/// assert_eq!(
///     rejected.to_string(),
///     "circuit breaker `gpt-4o` is open: next probe allowed in 20s"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitOpen {
    name: BreakerName,
    state: CircuitState,
    /// `retry_after` in nanoseconds, [`NO_RETRY`] for none: a word rather than an
    /// `Option<Duration>` (two), so that `Result<Permit, CircuitOpen>` is five words, not
    /// six, on the rejection path.
    retry_after: u64,
    /// Rejected by the rate-limit gate rather than by the circuit.
    rate_limited: bool,
}

/// The `retry_after` of a breaker forced open.
const NO_RETRY: u64 = u64::MAX;

impl CircuitOpen {
    pub(crate) fn new(
        name: BreakerName,
        state: CircuitState,
        retry_after: Option<Duration>,
    ) -> Self {
        let retry_after = retry_after.map_or(NO_RETRY, |after| {
            u64::try_from(after.as_nanos()).map_or(NO_RETRY - 1, |n| n.min(NO_RETRY - 1))
        });
        Self {
            name,
            state,
            retry_after,
            rate_limited: false,
        }
    }

    /// A rejection by the rate-limit gate in `state`, `left` before its deadline.
    pub(crate) fn rate_limited(name: BreakerName, state: CircuitState, left: Duration) -> Self {
        Self {
            rate_limited: true,
            ..Self::new(name, state, Some(left))
        }
    }

    /// The name of the breaker that rejected the call.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The state the breaker was in: `Open`, `HalfOpen` (every probe slot taken) or
    /// `ForcedOpen`; for a rate-limited rejection, whichever state the breaker was in
    /// (`Closed` too).
    pub fn state(&self) -> CircuitState {
        self.state
    }

    /// Whether the rate-limit gate rejected the call: the remote rate-limited an earlier
    /// call and its deadline has not passed.
    pub fn is_rate_limited(&self) -> bool {
        self.rate_limited
    }

    /// How long until the breaker admits a call: for a rate limit, exactly the time left
    /// until the remote's deadline; the rest of the cooldown when it is open;
    /// at most this long when it is half-open with every probe slot taken (a probe that
    /// finishes earlier frees its slot earlier); `None` when it was forced open, which lasts
    /// until it is reset.
    pub fn retry_after(&self) -> Option<Duration> {
        (self.retry_after != NO_RETRY).then(|| Duration::from_nanos(self.retry_after))
    }
}

/// A duration rounded to milliseconds, as humantime writes it ("29s 500ms").
fn rounded(duration: Duration) -> humantime::FormattedDuration {
    let millis = duration.as_millis().min(u128::from(u64::MAX)) as u64;
    let millis = if millis == 0 && !duration.is_zero() {
        1
    } else {
        millis
    };
    humantime::format_duration(Duration::from_millis(millis))
}

impl fmt::Display for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        if self.rate_limited {
            let after = self.retry_after().unwrap_or_default();
            return write!(
                f,
                "circuit breaker `{name}` holds calls back: the remote rate-limited them; \
                 next call allowed in {}",
                rounded(after)
            );
        }
        match (self.state, self.retry_after()) {
            (CircuitState::HalfOpen, Some(after)) => write!(
                f,
                "circuit breaker `{name}` is half-open and its probes are in flight: \
                 next probe allowed in at most {}",
                rounded(after)
            ),
            (CircuitState::ForcedOpen, _) | (_, None) => {
                write!(
                    f,
                    "circuit breaker `{name}` is forced open until it is reset"
                )
            }
            (_, Some(after)) => write!(
                f,
                "circuit breaker `{name}` is open: next probe allowed in {}",
                rounded(after)
            ),
        }
    }
}

impl Error for CircuitOpen {}

/// What [`CircuitBreaker::call`](crate::CircuitBreaker::call) and
/// [`call_async`](crate::CircuitBreaker::call_async) return on failure: the breaker
/// rejected the call, or the call ran and returned its own error, unchanged.
///
/// ```
/// use breaker::{BreakerError, CircuitBreaker, BreakerConfig};
///
/// #[derive(Debug, PartialEq)]
/// struct ProviderDown;
///
/// let breaker = CircuitBreaker::new("llama", BreakerConfig::default().with_threshold(1));
/// let err = breaker.call(|| Err::<(), _>(ProviderDown)).unwrap_err();
/// assert_eq!(err.into_inner(), Some(ProviderDown)); // the caller's own error
///
/// let err = breaker.call(|| Ok::<_, ProviderDown>(42)).unwrap_err();
/// assert!(err.is_open()); // the breaker tripped on the first failure
/// assert!(err.open().unwrap().to_string().contains("circuit breaker `llama`"));
/// ```
///
/// Exhaustive on purpose: a call either did not run or ran, so a `match` on the two is
/// complete; why a call did not run (and what may be added to that) is for
/// [`CircuitOpen`] to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakerError<E> {
    /// The breaker rejected the call: it did not run.
    Open(CircuitOpen),
    /// The call ran and failed with this error.
    Inner(E),
}

impl<E> BreakerError<E> {
    /// Whether the breaker rejected the call (an open circuit or the rate-limit gate).
    pub fn is_open(&self) -> bool {
        matches!(self, BreakerError::Open(_))
    }

    /// Whether the breaker's rate-limit gate rejected the call: the remote rate-limited an
    /// earlier one and its deadline has not passed.
    pub fn is_rate_limited(&self) -> bool {
        self.open().is_some_and(CircuitOpen::is_rate_limited)
    }

    /// The rejection, if the breaker rejected the call.
    pub fn open(&self) -> Option<&CircuitOpen> {
        match self {
            BreakerError::Open(open) => Some(open),
            BreakerError::Inner(_) => None,
        }
    }

    /// The call's own error, if it ran and failed.
    pub fn inner(&self) -> Option<&E> {
        match self {
            BreakerError::Open(_) => None,
            BreakerError::Inner(inner) => Some(inner),
        }
    }

    /// The call's own error, if it ran and failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            BreakerError::Open(_) => None,
            BreakerError::Inner(inner) => Some(inner),
        }
    }

    /// Maps the call's own error, keeping a rejection as it is.
    pub fn map_inner<F, G: FnOnce(E) -> F>(self, map: G) -> BreakerError<F> {
        match self {
            BreakerError::Open(open) => BreakerError::Open(open),
            BreakerError::Inner(inner) => BreakerError::Inner(map(inner)),
        }
    }

    /// Turns the error into the caller's error type, which can represent a rejection
    /// (it implements `From<CircuitOpen>`).
    pub fn flatten(self) -> E
    where
        E: From<CircuitOpen>,
    {
        match self {
            BreakerError::Open(open) => E::from(open),
            BreakerError::Inner(inner) => inner,
        }
    }
}

impl<E> From<CircuitOpen> for BreakerError<E> {
    fn from(open: CircuitOpen) -> Self {
        BreakerError::Open(open)
    }
}

impl<E: fmt::Display> fmt::Display for BreakerError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakerError::Open(open) => open.fmt(f),
            BreakerError::Inner(inner) => inner.fmt(f),
        }
    }
}

impl<E: Error + 'static> Error for BreakerError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            BreakerError::Open(_) => None,
            BreakerError::Inner(inner) => inner.source(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(state: CircuitState, after: Option<Duration>) -> CircuitOpen {
        CircuitOpen::new(BreakerName::from("gpt-4o"), state, after)
    }

    #[test]
    fn message_names_the_breaker_and_says_circuit_breaker() {
        for (state, after) in [
            (CircuitState::Open, Some(Duration::from_millis(29_500))),
            (CircuitState::HalfOpen, Some(Duration::from_secs(60))),
            (CircuitState::ForcedOpen, None),
        ] {
            let msg = open(state, after).to_string();
            assert!(msg.contains("gpt-4o"), "{msg}");
            assert!(msg.contains("circuit breaker"), "{msg}");
        }
        assert_eq!(
            open(CircuitState::Open, Some(Duration::from_millis(29_500))).to_string(),
            "circuit breaker `gpt-4o` is open: next probe allowed in 29s 500ms"
        );
        assert_eq!(
            open(CircuitState::Open, Some(Duration::from_nanos(10))).to_string(),
            "circuit breaker `gpt-4o` is open: next probe allowed in 1ms"
        );
        assert_eq!(
            open(CircuitState::ForcedOpen, None).to_string(),
            "circuit breaker `gpt-4o` is forced open until it is reset"
        );
    }

    #[derive(Debug, Clone, PartialEq)]
    struct Mine(&'static str);

    impl fmt::Display for Mine {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "mine: {}", self.0)
        }
    }

    impl Error for Mine {}

    impl From<CircuitOpen> for Mine {
        fn from(_: CircuitOpen) -> Self {
            Mine("rejected")
        }
    }

    #[test]
    fn breaker_error_keeps_the_callers_error() {
        let err: BreakerError<Mine> = BreakerError::Inner(Mine("boom"));
        assert!(!err.is_open());
        assert_eq!(err.to_string(), "mine: boom");
        assert_eq!(err.inner(), Some(&Mine("boom")));
        assert!(err.open().is_none());
        assert_eq!(err.map_inner(|m| m.0.len()).into_inner(), Some(4));

        let err: BreakerError<Mine> = open(CircuitState::Open, Some(Duration::ZERO)).into();
        assert!(err.is_open());
        assert!(err.inner().is_none());
        assert!(err.to_string().starts_with("circuit breaker `gpt-4o`"));
        assert_eq!(err.clone().flatten(), Mine("rejected"));
        let boxed: Box<dyn Error> = Box::new(err);
        assert!(boxed.source().is_none());
    }
}
