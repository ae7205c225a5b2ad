//! What an HTTP response from an LLM provider says about the remote, as a [`Verdict`]
//! (feature `http`): for the tower layer (its `HttpStatus` classifier), for
//! `#[circuit_breaker(classify = ...)]`, and by hand.
//!
//! | status | verdict | delay read from |
//! | --- | --- | --- |
//! | 1xx, 2xx, 3xx | [`Success`](Verdict::Success) | |
//! | 429 | [`RateLimited`](Verdict::RateLimited) (the breaker's `rate_limit_delay` when no header gives a delay) | [`rate_limit_delay`] |
//! | 408, 5xx (529 included: Anthropic's "overloaded") | [`Failure`](Verdict::Failure), or [`DownFor`](Verdict::DownFor) when the response says when to come back | [`retry_delay`] |
//! | 401, 403 | [`CredentialsRefused`](Verdict::CredentialsRefused) | |
//! | every other 4xx (400, 404, 422, ...) | [`Ignored`](Verdict::Ignored): the request was wrong, not the remote | |
//! | 600 and above (outside HTTP's classes) | [`Failure`](Verdict::Failure): an answer no client can vouch for | |
//!
//! A transport error (connection refused, reset, a timeout) has no response: it is a
//! [`Failure`](Verdict::Failure). A header whose value cannot be read (garbage, a negative
//! number, a date that does not parse, bytes that are not text) is as if it were absent,
//! never a panic.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use breaker::Verdict;
//! use breaker::http::{classify_response, classify_status};
//! use http::{HeaderMap, Response, StatusCode};
//!
//! let rate_limited = Response::builder().status(429).header("retry-after", "6").body(()).unwrap();
//! assert_eq!(classify_response(&rate_limited), Verdict::RateLimited(Some(Duration::from_secs(6))));
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("retry-after", "120".parse().unwrap());
//! let now = SystemTime::now();
//! assert_eq!(
//!     classify_status(StatusCode::SERVICE_UNAVAILABLE, &headers, now),
//!     Verdict::DownFor(Duration::from_secs(120)),
//! );
//! assert_eq!(classify_status(StatusCode::BAD_REQUEST, &headers, now), Verdict::Ignored);
//! assert_eq!(classify_status(StatusCode::UNAUTHORIZED, &headers, now), Verdict::CredentialsRefused);
//! ```
//!
//! # With a client such as `reqwest`
//!
//! Its responses carry the `http` crate's `StatusCode` and `HeaderMap`: keep them in the
//! error of a response that is not a success, and classify a transport error as a failure.
//! Under `#[circuit_breaker]` an `Ok` is a success, so a status that is not one must become
//! an `Err`; `classify = path` names the function that gives each error its verdict (by
//! hand: [`PermitOf::record_verdict`](crate::PermitOf::record_verdict)).
//!
//! ```
//! use std::time::SystemTime;
//! use breaker::{CircuitOpen, Verdict, circuit_breaker};
//! use http::{HeaderMap, StatusCode};
//!
//! /// What a call to the provider can end in.
//! #[derive(Debug)]
//! enum ApiError {
//!     /// The provider answered, but not with a success (`reqwest`: `response.status()`,
//!     /// `response.headers().clone()`).
//!     Status { status: StatusCode, headers: HeaderMap },
//!     /// No answer: connection refused, a timeout (a `reqwest::Error`).
//!     Transport(String),
//!     /// The breaker rejected the call.
//!     Open(CircuitOpen),
//! }
//!
//! impl From<CircuitOpen> for ApiError {
//!     fn from(open: CircuitOpen) -> Self {
//!         ApiError::Open(open)
//!     }
//! }
//!
//! impl ApiError {
//!     fn verdict(&self) -> Verdict {
//!         match self {
//!             ApiError::Status { status, headers } => {
//!                 breaker::http::classify_status(*status, headers, SystemTime::now())
//!             }
//!             ApiError::Transport(_) => Verdict::Failure,
//!             ApiError::Open(_) => Verdict::Ignored,
//!         }
//!     }
//! }
//!
//! #[circuit_breaker(name = "gpt-4o", classify = ApiError::verdict)]
//! fn complete(prompt: &str) -> Result<String, ApiError> {
//!     match prompt {
//!         "" => Err(ApiError::Status { status: StatusCode::BAD_REQUEST, headers: HeaderMap::new() }),
//!         _ => Err(ApiError::Transport("connection refused".into())),
//!     }
//! }
//!
//! assert!(complete("").is_err()); // the request was wrong: ignored
//! assert!(complete("hi").is_err()); // no answer: a failure
//! let metrics = complete_breaker().metrics();
//! assert_eq!((metrics.ignored, metrics.failed), (1, 1));
//! ```

use std::time::{Duration, SystemTime};

use ::http::{HeaderMap, HeaderName, Response, StatusCode};

use crate::retry_hints::{ratelimit_reset, retry_after, retry_after_ms};
use crate::verdict::Verdict;

#[cfg(test)]
mod tests;

/// The verdict on a response with `status` and `headers`, its HTTP dates counted from `now`
/// (see [the module documentation](self) for the table).
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use breaker::Verdict;
/// use breaker::http::classify_status;
/// use http::{HeaderMap, StatusCode};
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_445_412_400); // 2015-10-21 07:26:40 UTC
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
/// let overloaded = StatusCode::from_u16(529).unwrap();
/// assert_eq!(classify_status(overloaded, &headers, now), Verdict::DownFor(Duration::from_secs(80)));
/// assert_eq!(classify_status(StatusCode::OK, &headers, now), Verdict::Success);
/// ```
pub fn classify_status(status: StatusCode, headers: &HeaderMap, now: SystemTime) -> Verdict {
    match status.as_u16() {
        429 => Verdict::RateLimited(rate_limit_delay(headers, now)),
        401 | 403 => Verdict::CredentialsRefused,
        408 | 500..=599 => match retry_delay(headers, now) {
            // "Come back now" sets no floor under the opening: a plain failure.
            Some(delay) if !delay.is_zero() => Verdict::DownFor(delay),
            _ => Verdict::Failure,
        },
        400..=499 => Verdict::Ignored,
        100..=399 => Verdict::Success,
        _ => Verdict::Failure,
    }
}

/// The verdict on `response` (see [the module documentation](self)), its HTTP dates counted
/// from the system clock's now: [`classify_status`] with the response's status and headers.
///
/// Its error type being a response, a function returning `Result<T, http::Response<B>>`
/// can name it in the attribute: `#[circuit_breaker(classify = breaker::http::classify_response)]`.
///
/// ```
/// use breaker::Verdict;
/// use breaker::http::classify_response;
///
/// let not_found = http::Response::builder().status(404).body(()).unwrap();
/// assert_eq!(classify_response(&not_found), Verdict::Ignored);
/// let bad_gateway = http::Response::builder().status(502).body(()).unwrap();
/// assert_eq!(classify_response(&bad_gateway), Verdict::Failure);
/// ```
pub fn classify_response<B>(response: &Response<B>) -> Verdict {
    classify_status(response.status(), response.headers(), SystemTime::now())
}

/// When the response says to try again: `retry-after-ms` (milliseconds, the more precise,
/// as the providers' own SDKs read it first), else `Retry-After` (seconds or an HTTP date,
/// counted from `now`). A value that cannot be read is skipped for the next header.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use breaker::http::retry_delay;
/// use http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "2".parse().unwrap());
/// assert_eq!(retry_delay(&headers, SystemTime::now()), Some(Duration::from_secs(2)));
/// headers.insert("retry-after-ms", "1500".parse().unwrap());
/// assert_eq!(retry_delay(&headers, SystemTime::now()), Some(Duration::from_millis(1500)));
/// ```
pub fn retry_delay(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = |name: &str| headers.get(name).map(|value| value.as_bytes());
    value("retry-after-ms")
        .and_then(retry_after_ms)
        .or_else(|| value("retry-after").and_then(|value| retry_after(value, now)))
}

/// How long a rate limit lasts, by what the response says, the most specific first:
///
/// 1. [`retry_delay`]: `retry-after-ms` or `Retry-After`, the remote's answer to this very
///    request;
/// 2. else the `x-ratelimit-reset-*` headers (OpenAI's `x-ratelimit-reset-requests: 6m0s`,
///    `x-ratelimit-reset-tokens: 1s`): each says when one limit starts afresh, and a
///    response carries them all, the limit it hit or not. The latest reset among the limits
///    whose `x-ratelimit-remaining-*` is `0` (exhausted: the one that refused the call);
///    when none says so, the latest of them all, the one wait sure to be enough.
///
/// `None` when no header gives a delay (the breaker's `rate_limit_delay` then applies).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use breaker::http::rate_limit_delay;
/// use http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-ratelimit-remaining-requests", "0".parse().unwrap());
/// headers.insert("x-ratelimit-reset-requests", "1s".parse().unwrap());
/// headers.insert("x-ratelimit-remaining-tokens", "149984".parse().unwrap());
/// headers.insert("x-ratelimit-reset-tokens", "6m0s".parse().unwrap());
/// // The requests ran out, not the tokens: back in a second.
/// assert_eq!(rate_limit_delay(&headers, SystemTime::now()), Some(Duration::from_secs(1)));
/// ```
pub fn rate_limit_delay(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    retry_delay(headers, now).or_else(|| latest_reset(headers))
}

/// The latest `x-ratelimit-reset-*` delay of an exhausted limit, else of any limit.
fn latest_reset(headers: &HeaderMap) -> Option<Duration> {
    const RESET: &str = "x-ratelimit-reset-";
    let mut exhausted: Option<Duration> = None;
    let mut any: Option<Duration> = None;
    for (name, value) in headers {
        let Some(limit) = name.as_str().strip_prefix(RESET) else {
            continue;
        };
        let Some(delay) = ratelimit_reset(value.as_bytes()) else {
            continue;
        };
        any = any.max(Some(delay));
        if is_exhausted(headers, limit) {
            exhausted = exhausted.max(Some(delay));
        }
    }
    exhausted.or(any)
}

/// Whether `x-ratelimit-remaining-<limit>` says that nothing remains.
fn is_exhausted(headers: &HeaderMap, limit: &str) -> bool {
    let Ok(name) = HeaderName::try_from(format!("x-ratelimit-remaining-{limit}")) else {
        return false;
    };
    headers.get(name).is_some_and(|remaining| {
        std::str::from_utf8(remaining.as_bytes())
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            == Some(0)
    })
}
