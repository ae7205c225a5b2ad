//! [`Cause`]: what opened a circuit, as the rejections and the opening's
//! [`StateChange`](crate::StateChange) tell it.

use std::fmt::{self, Display, Write as _};
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// What opened a circuit: a short description of the outcome of the call that tripped it.
///
/// ```
/// use breaker::{BreakerConfig, Cause, CircuitBreaker};
///
/// let breaker = CircuitBreaker::new("gpt-4o", BreakerConfig::default().with_threshold(1));
/// let error = std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 30s");
/// breaker.acquire().unwrap().failure_because(&error);
///
/// let rejected = breaker.acquire().unwrap_err();
/// assert_eq!(rejected.cause(), Some(Cause::Error("no answer in 30s".into())));
/// assert!(rejected.to_string().ends_with("(opened by: no answer in 30s)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// A failure reported without a description ([`failure`](crate::PermitOf::failure), an
    /// `Err` counted as one).
    Failure,
    /// A call slower than the policy's slow-call duration.
    SlowCall,
    /// An HTTP response with this status.
    Status(u16),
    /// An error, by its `Display`, cut to at most [`MAX_LEN`](Self::MAX_LEN) bytes (on a
    /// character boundary, ending in `…` if cut).
    Error(Arc<str>),
}

impl Cause {
    /// The longest description kept of an error: a line of a log, not a dump.
    pub const MAX_LEN: usize = 120;

    /// The description of `error`: its `Display`, cut to [`MAX_LEN`](Self::MAX_LEN) bytes.
    /// Formatting stops once the limit is reached, however long the error's text.
    pub fn error(error: &(impl Display + ?Sized)) -> Self {
        let mut text = Bounded(String::new(), false);
        let _ = write!(text, "{error}");
        let Bounded(mut text, cut) = text;
        if cut {
            text.push('…');
        }
        Cause::Error(text.into())
    }
}

/// A string that takes at most [`Cause::MAX_LEN`] bytes (less the ellipsis), and remembers
/// whether it refused some.
struct Bounded(String, bool);

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = Cause::MAX_LEN - '…'.len_utf8() - self.0.len();
        if s.len() <= room {
            self.0.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.0.push_str(&s[..end]);
        self.1 = true;
        // An error stops the formatting: the rest would be thrown away.
        Err(fmt::Error)
    }
}

impl Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Failure => f.write_str("a failure"),
            Cause::SlowCall => f.write_str("a slow call"),
            Cause::Status(status) => write!(f, "HTTP {status}"),
            Cause::Error(text) => f.write_str(text),
        }
    }
}

/// What a report says of its call, for the [`Cause`] if it opens the circuit: see
/// [`verdict_because`](crate::PermitOf::verdict_because). Described only if it does, so a
/// report that does not trip formats nothing.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum Because<'a> {
    /// The HTTP status of the response.
    Status(u16),
    /// The error the call returned, described by its `Display`.
    Error(&'a dyn Display),
}

impl fmt::Debug for Because<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Because::Status(status) => f.debug_tuple("Status").field(status).finish(),
            Because::Error(error) => f
                .debug_tuple("Error")
                .field(&format_args!("{error}"))
                .finish(),
        }
    }
}

/// Why the breaker counts a report the way it does, inside the breaker: what a tripping
/// report is described by.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Why<'a> {
    /// Nothing said.
    Unsaid,
    /// The call was slow.
    Slow,
    /// What the caller said.
    Said(Because<'a>),
    /// Decided elsewhere (a fleet's opening), with its cause.
    Adopted(&'a Cause),
}

impl Why<'_> {
    /// The cause this report would give an opening.
    pub(crate) fn cause(self) -> Cause {
        match self {
            Why::Unsaid => Cause::Failure,
            Why::Slow => Cause::SlowCall,
            Why::Said(Because::Status(status)) => Cause::Status(status),
            Why::Said(Because::Error(error)) => Cause::error(error),
            Why::Adopted(cause) => cause.clone(),
        }
    }
}

/// As its description.
impl Serialize for Cause {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_error_is_cut_on_a_character_boundary() {
        let long = "é".repeat(200);
        let Cause::Error(text) = Cause::error(&long) else {
            unreachable!()
        };
        assert!(text.len() <= Cause::MAX_LEN, "{}", text.len());
        assert!(text.ends_with('…'));
        assert!(text.starts_with("éé"));
        let short = Cause::error("connection refused");
        assert_eq!(short, Cause::Error("connection refused".into()));
        let exact = "x".repeat(Cause::MAX_LEN - '…'.len_utf8());
        assert_eq!(Cause::error(&exact), Cause::Error(exact.as_str().into()));
    }

    #[test]
    fn formatting_stops_at_the_limit() {
        /// An error whose text never ends.
        struct Endless;
        impl Display for Endless {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                loop {
                    f.write_str("again ")?;
                }
            }
        }
        let Cause::Error(text) = Cause::error(&Endless) else {
            unreachable!()
        };
        assert!(text.starts_with("again again"));
        assert!(text.len() <= Cause::MAX_LEN);
    }

    #[test]
    fn causes_display_and_serialize_as_their_description() {
        assert_eq!(Cause::Status(529).to_string(), "HTTP 529");
        assert_eq!(Cause::Failure.to_string(), "a failure");
        assert_eq!(
            serde_json::to_string(&Cause::SlowCall).unwrap(),
            "\"a slow call\""
        );
    }
}
