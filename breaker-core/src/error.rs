//! The errors a breaker gives: [`CircuitOpen`] when it rejects a call, and
//! [`BreakerError`] from [`CircuitBreaker::call`](crate::CircuitBreaker::call), which wraps
//! either that or the call's own error.

use std::error::Error;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use crate::cause::Cause;
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
#[derive(Clone, PartialEq, Eq)]
pub struct CircuitOpen {
    name: BreakerName,
    /// `retry_after` in nanoseconds, [`NO_RETRY`] for none: a word rather than an
    /// `Option<Duration>` (two).
    /// Never zero (a rejection's time left is more than zero, and none is all ones): with
    /// the detail's, its niche keeps `Result<T, BreakerError<E>>` the size of the rejection,
    /// each a whole word that a move copies as one.
    retry_after: NonZeroU64,
    /// The rest in one word (see [`Detail`]), so that the rejection path returns few words.
    detail: Detail,
    /// A cause in text ([`Cause::Error`]), shared: one word.
    text: Option<Arc<Cause>>,
}

/// The `retry_after` of a breaker forced open.
const NO_RETRY: u64 = u64::MAX;

/// A rejection's state, whether it is a rate limit, its opening's cause (but a text) and
/// duration, packed in a word that an open hint keeps ready: bits 0-2 the state (from 1), bit 3 a
/// rate limit, bits 4-6 the kind of cause, bits 7-22 a status, and from bit 23 the opening's
/// duration in milliseconds (41 bits: 69 years), all ones for none.
// Never zero (states are numbered from 1): its niche lets `Result<Permit, CircuitOpen>`
// be the size of the rejection.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Detail(NonZeroU64);

const STATE_MASK: u64 = 0b111;
const RATE_LIMITED: u64 = 1 << 3;
const KIND_SHIFT: u32 = 4;
const STATUS_SHIFT: u32 = 7;
const OPEN_FOR_SHIFT: u32 = 23;
const NO_OPEN_FOR: u64 = u64::MAX >> OPEN_FOR_SHIFT;
/// The kinds of cause.
const NONE: u64 = 0;
const FAILURE: u64 = 1;
const SLOW_CALL: u64 = 2;
const STATUS: u64 = 3;
const ERROR: u64 = 4;

impl Detail {
    /// A rejection in `state`: no rate limit, cause or duration.
    #[inline]
    pub(crate) fn new(state: CircuitState) -> Self {
        let state = match state {
            CircuitState::Closed => 1,
            CircuitState::Open => 2,
            CircuitState::HalfOpen => 3,
            CircuitState::ForcedOpen => 4,
            CircuitState::Disabled => 5,
            CircuitState::MetricsOnly => 6,
        };
        Detail::from_bits(state | (NO_OPEN_FOR << OPEN_FOR_SHIFT))
    }

    /// A rejection by an opening of `open_for` because of `cause`.
    pub(crate) fn opening(open_for: Duration, cause: Option<&Cause>) -> Self {
        Detail::new(CircuitState::Open)
            .with_open_for(open_for)
            .with_cause(cause)
    }

    /// The state the word says.
    fn state(self) -> CircuitState {
        match self.bits() & STATE_MASK {
            2 => CircuitState::Open,
            3 => CircuitState::HalfOpen,
            4 => CircuitState::ForcedOpen,
            5 => CircuitState::Disabled,
            6 => CircuitState::MetricsOnly,
            _ => CircuitState::Closed,
        }
    }

    /// The same, of a rate limit.
    fn rate_limited(self) -> Self {
        Detail::from_bits(self.bits() | RATE_LIMITED)
    }

    /// The same, with `cause` (its kind; a text is kept beside).
    pub(crate) fn with_cause(self, cause: Option<&Cause>) -> Self {
        let (kind, status) = match cause {
            None => (NONE, 0),
            Some(Cause::Failure) => (FAILURE, 0),
            Some(Cause::SlowCall) => (SLOW_CALL, 0),
            Some(Cause::Status(status)) => (STATUS, u64::from(*status)),
            Some(Cause::Error(_)) => (ERROR, 0),
        };
        let cleared = self.bits() & !(0b111 << KIND_SHIFT) & !(0xffff << STATUS_SHIFT);
        Detail::from_bits(cleared | (kind << KIND_SHIFT) | (status << STATUS_SHIFT))
    }

    fn with_open_for(self, open_for: Duration) -> Self {
        let millis = u64::try_from(open_for.as_millis())
            .map_or(NO_OPEN_FOR - 1, |ms| ms.min(NO_OPEN_FOR - 1));
        let cleared = self.bits() & !(NO_OPEN_FOR << OPEN_FOR_SHIFT);
        Detail::from_bits(cleared | (millis << OPEN_FOR_SHIFT))
    }

    /// Whether the cause is a text, which the word does not hold.
    #[inline]
    pub(crate) fn has_text(self) -> bool {
        (self.bits() >> KIND_SHIFT) & 0b111 == ERROR
    }

    /// The word, for an open hint.
    #[inline]
    pub(crate) fn bits(self) -> u64 {
        self.0.get()
    }

    /// A word from an open hint (or built here), never zero: its state is numbered from 1.
    #[inline]
    pub(crate) fn from_bits(bits: u64) -> Self {
        Detail(NonZeroU64::new(bits).unwrap_or(NonZeroU64::MIN))
    }

    fn open_for(self) -> Option<Duration> {
        let millis = self.bits() >> OPEN_FOR_SHIFT;
        (millis != NO_OPEN_FOR).then(|| Duration::from_millis(millis))
    }

    fn cause(self, text: Option<&Arc<Cause>>) -> Option<Cause> {
        match (self.bits() >> KIND_SHIFT) & 0b111 {
            FAILURE => Some(Cause::Failure),
            SLOW_CALL => Some(Cause::SlowCall),
            STATUS => Some(Cause::Status(
                ((self.bits() >> STATUS_SHIFT) & 0xffff) as u16,
            )),
            ERROR => text.map(|text| Cause::clone(text)),
            _ => None,
        }
    }
}

impl CircuitOpen {
    /// A rejection in `state`, `retry_after` before the breaker admits a call.
    #[inline]
    pub(crate) fn new(
        name: BreakerName,
        state: CircuitState,
        retry_after: Option<Duration>,
    ) -> Self {
        Self::with_detail(name, retry_after, Detail::new(state), None)
    }

    /// A rejection that `detail` says all of, but the text of a cause, `text`.
    #[inline]
    pub(crate) fn with_detail(
        name: BreakerName,
        retry_after: Option<Duration>,
        detail: Detail,
        text: Option<Arc<Cause>>,
    ) -> Self {
        Self {
            name,
            retry_after: NonZeroU64::new(word(retry_after)).unwrap_or(NonZeroU64::MIN),
            detail,
            text,
        }
    }

    /// A rejection by the rate-limit gate in `state`, `left` before its deadline.
    pub(crate) fn rate_limited(name: BreakerName, state: CircuitState, left: Duration) -> Self {
        Self::with_detail(name, Some(left), Detail::new(state).rate_limited(), None)
    }

    /// The name of the breaker that rejected the call.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The state the breaker was in: `Open`, `HalfOpen` (every probe slot taken) or
    /// `ForcedOpen`; for a rate-limited rejection, whichever state the breaker was in
    /// (`Closed` too).
    pub fn state(&self) -> CircuitState {
        self.detail.state()
    }

    /// What opened the circuit: the outcome of the call that tripped it (kept through
    /// HalfOpen); `None` when it was forced open or the rejection is a rate limit.
    ///
    /// A cause that is an error's text ([`Cause::Error`]) is shared by reference count,
    /// which each rejection then increments: rejections are cheapest with the other causes.
    pub fn cause(&self) -> Option<Cause> {
        self.detail.cause(self.text.as_ref())
    }

    /// How long the circuit was opened for, to the millisecond, when it is Open: the
    /// backoff's duration, or longer if the remote announced a longer outage.
    pub fn open_for(&self) -> Option<Duration> {
        self.detail.open_for()
    }

    /// Whether the breaker was forced open ([`force_open`](crate::CircuitBreaker::force_open),
    /// or refused credentials with `credential_errors = "force_open"`): until a reset.
    pub fn is_forced_open(&self) -> bool {
        self.state() == CircuitState::ForcedOpen
    }

    /// Whether the rate-limit gate rejected the call: the remote rate-limited an earlier
    /// call and its deadline has not passed.
    pub fn is_rate_limited(&self) -> bool {
        self.detail.bits() & RATE_LIMITED != 0
    }

    /// How long until the breaker admits a call: for a rate limit, exactly the time left
    /// until the remote's deadline; the rest of the cooldown when it is open;
    /// at most this long when it is half-open with every probe slot taken (a probe that
    /// finishes earlier frees its slot earlier); `None` when it was forced open, which lasts
    /// until it is reset.
    pub fn retry_after(&self) -> Option<Duration> {
        let nanos = self.retry_after.get();
        (nanos != NO_RETRY).then(|| Duration::from_nanos(nanos))
    }
}

/// A duration as a word of nanoseconds, [`NO_RETRY`] for none.
#[inline]
fn word(duration: Option<Duration>) -> u64 {
    duration.map_or(NO_RETRY, |after| {
        u64::try_from(after.as_nanos()).map_or(NO_RETRY - 1, |n| n.min(NO_RETRY - 1))
    })
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
        if self.is_rate_limited() {
            let after = self.retry_after().unwrap_or_default();
            return write!(
                f,
                "circuit breaker `{name}` holds calls back: the remote rate-limited them; \
                 next call allowed in {}",
                rounded(after)
            );
        }
        match (self.state(), self.retry_after()) {
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
        }?;
        match self.cause() {
            // A plain failure adds nothing to "open".
            None | Some(Cause::Failure) => Ok(()),
            Some(cause) => write!(f, " (opened by: {cause})"),
        }
    }
}

impl fmt::Debug for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitOpen")
            .field("name", &self.name)
            .field("state", &self.state())
            .field("rate_limited", &self.is_rate_limited())
            .field("retry_after", &self.retry_after())
            .field("open_for", &self.open_for())
            .field("cause", &self.cause())
            .finish()
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
