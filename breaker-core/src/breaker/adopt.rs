//! Decisions made elsewhere, applied to a breaker: the other instances of a fleet share
//! what their breakers decided (through a store: see `breaker::fleet`), and each instance
//! adopts it. The decisions are rows of the [`Circuit`](crate::Circuit) table
//! (`FleetOpened`, `FleetClosed`), made with the same compare-and-swap as every other
//! transition, so they race safely with local reports; and they never move a state set by
//! hand (ForcedOpen, Disabled, MetricsOnly), which only a command leaves.

use std::time::Duration;

use super::{CircuitBreaker, CircuitEvent, CircuitState, NotMade};
use crate::cause::{Cause, Why};
use crate::events::RateLimit;

impl CircuitBreaker {
    /// Opens the circuit for `open_for` from now, as decided elsewhere (another instance
    /// tripped, a probe failed elsewhere, or the fleet holds its probe back): from Closed,
    /// Open or HalfOpen, with a new generation, so that permits admitted before it are stale.
    /// While open already, it is the same opening held longer or shorter (the backoff does
    /// not count it again); `Duration::ZERO` lets the next call through as a probe. `cause`
    /// is what the rejections and the [`StateChange`](crate::StateChange) will say
    /// ([`Cause::Failure`] if `None`).
    ///
    /// Returns whether the state changed: false in the states set by hand, which it leaves
    /// alone.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{BreakerConfig, Cause, CircuitBreaker, CircuitState, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// let breaker = CircuitBreaker::with_clock("gpt-4o", BreakerConfig::default(), clock.clone());
    /// assert!(breaker.adopt_open(Duration::from_secs(20), Some(&Cause::Status(503))));
    /// let rejected = breaker.acquire().unwrap_err();
    /// assert_eq!(rejected.retry_after(), Some(Duration::from_secs(20)));
    /// assert_eq!(rejected.cause(), Some(Cause::Status(503)));
    ///
    /// // The fleet lets this instance probe: open until now.
    /// assert!(breaker.adopt_open(Duration::ZERO, None));
    /// assert!(breaker.acquire().unwrap().is_probe());
    /// ```
    pub fn adopt_open(&self, open_for: Duration, cause: Option<&Cause>) -> bool {
        let cause = cause.cloned().unwrap_or(Cause::Failure);
        self.adopt(
            CircuitEvent::FleetOpened,
            Why::Adopted(&cause),
            Some(open_for),
        )
    }

    /// Closes the circuit, as decided elsewhere (the fleet's probe succeeded on another
    /// instance): from Open or HalfOpen, with a new generation. An outage the remote
    /// announced here is forgotten. Returns whether the state changed (false in Closed and
    /// in the states set by hand).
    ///
    /// ```
    /// use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new("gpt-4o", BreakerConfig::default().with_threshold(1));
    /// breaker.acquire().unwrap().failure();
    /// assert!(breaker.adopt_closed());
    /// assert_eq!(breaker.state(), CircuitState::Closed);
    /// assert!(!breaker.adopt_closed());
    /// ```
    pub fn adopt_closed(&self) -> bool {
        let closed = self.adopt(CircuitEvent::FleetClosed, Why::Unsaid, None);
        if closed {
            self.forget_down();
        }
        closed
    }

    /// Holds calls back for `retry_after` from now, as a rate limit seen elsewhere (at most
    /// `max_retry_after`; never shortens a later deadline). Unlike a call's rate limit it
    /// counts nothing in the metrics and tells no [`on_rate_limit`](Self::on_rate_limit)
    /// listener: it was counted and told where it was seen.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{BreakerConfig, CircuitBreaker, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// let breaker = CircuitBreaker::with_clock("gpt-4o", BreakerConfig::default(), clock.clone());
    /// breaker.adopt_rate_limit(Duration::from_secs(3));
    /// let rejected = breaker.acquire().unwrap_err();
    /// assert!(rejected.is_rate_limited());
    /// assert_eq!(rejected.retry_after(), Some(Duration::from_secs(3)));
    /// clock.advance(Duration::from_secs(3));
    /// assert!(breaker.acquire().is_ok());
    /// ```
    pub fn adopt_rate_limit(&self, retry_after: Duration) {
        let config = &self.current.load().config;
        if matches!(
            self.state(),
            CircuitState::Disabled | CircuitState::MetricsOnly
        ) || retry_after.is_zero()
        {
            return;
        }
        self.close_gate(retry_after.min(config.max_retry_after));
    }

    /// Registers `listener`, called on the reporting thread whenever a call's rate limit
    /// moves the breaker's rate-limit gate later (not for the rate limits that fall within a
    /// deadline already in force, nor for [`adopt_rate_limit`](Self::adopt_rate_limit)). A
    /// panicking listener is logged and ignored. Unlike [`on_call`](Self::on_call), it costs
    /// the calls nothing: only rate limits look for it.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// use breaker::{BreakerConfig, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::new("gpt-4o", BreakerConfig::default());
    /// let seen: Arc<Mutex<Vec<Duration>>> = Arc::default();
    /// let sink = Arc::clone(&seen);
    /// breaker.on_rate_limit(move |limit| sink.lock().unwrap().push(limit.retry_after));
    /// breaker.acquire().unwrap().rate_limited(Some(Duration::from_secs(7)));
    /// assert_eq!(*seen.lock().unwrap(), [Duration::from_secs(7)]);
    /// ```
    pub fn on_rate_limit(&self, listener: impl Fn(&RateLimit) + Send + Sync + 'static) {
        self.listeners.add_rate_limit(std::sync::Arc::new(listener));
    }

    /// Registers `listener`, told the consecutive failures counted in Closed whenever the
    /// count moves (0 when a success forgets them). For a fleet store that counts them
    /// across the fleet; crate-private, since only the consecutive-failures policy counts
    /// this way.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn on_failure_count(&self, listener: impl Fn(u32) + Send + Sync + 'static) {
        self.listeners.add_failures(std::sync::Arc::new(listener));
    }

    /// Makes `event` from whatever the state is, retried until it lands or the table
    /// refuses it.
    fn adopt(&self, event: CircuitEvent, why: Why<'_>, open_for: Option<Duration>) -> bool {
        loop {
            let current = self.current.load_full();
            if crate::circuit::Circuit::next(current.state, &event, &mut ()).is_err()
                || !crate::events::command_allowed(&self.name, event)
            {
                return false;
            }
            match self.transition(&current, event, self.clock.now(), why, open_for) {
                Ok(_) => return true,
                Err(NotMade::Refused) => return false,
                Err(NotMade::Lost) => continue,
            }
        }
    }
}
