//! `classify = path` on `#[circuit_breaker]` and `#[breaker]`: the path gives each error a
//! `Verdict`, here `breaker::http::classify_status` on the status and headers the error
//! keeps, as a client of an LLM provider over HTTP has them.

use std::time::{Duration, SystemTime};

use breaker::{
    BreakerRegistry, CircuitOpen, CircuitState, ManualClock, Metrics, Verdict, circuit_breaker,
};
use futures::executor::block_on;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::circuit_breaker_attribute::manual_breaker;

const COOLDOWN: Duration = Duration::from_secs(10);

/// What a call to the provider ends in.
#[derive(Debug)]
pub enum ApiError {
    /// The provider answered, but not with a success.
    Status {
        status: StatusCode,
        headers: HeaderMap,
    },
    /// No answer at all.
    Transport,
    /// The breaker rejected the call.
    Open(CircuitOpen),
}

impl From<CircuitOpen> for ApiError {
    fn from(open: CircuitOpen) -> Self {
        ApiError::Open(open)
    }
}

impl ApiError {
    fn status(code: u16, headers: &[(&'static str, &'static str)]) -> Self {
        ApiError::Status {
            status: StatusCode::from_u16(code).expect("a status code"),
            headers: headers
                .iter()
                .map(|(name, value)| (*name, HeaderValue::from_static(value)))
                .map(|(name, value)| (name.parse().expect("a header name"), value))
                .collect(),
        }
    }

    fn verdict(&self) -> Verdict {
        match self {
            ApiError::Status { status, headers } => {
                breaker::http::classify_status(*status, headers, SystemTime::now())
            }
            ApiError::Transport => Verdict::Failure,
            // Another breaker's rejection says nothing about this remote.
            ApiError::Open(_) => Verdict::Ignored,
        }
    }

    fn is_transport(&self) -> bool {
        matches!(self, ApiError::Transport)
    }
}

fn metrics_of(name: &str) -> Metrics {
    BreakerRegistry::global()
        .get(name)
        .expect("registered")
        .metrics()
}

#[circuit_breaker(name = "tests::classify", classify = ApiError::verdict)]
fn complete(reply: Result<&'static str, ApiError>) -> Result<&'static str, ApiError> {
    reply
}

#[test]
fn a_classified_400_is_ignored_and_a_5xx_is_a_failure() {
    manual_breaker("tests::classify", 2, COOLDOWN);
    for code in [400, 404, 422] {
        assert!(matches!(
            complete(Err(ApiError::status(code, &[]))),
            Err(ApiError::Status { status, .. }) if status == code
        ));
    }
    let metrics = metrics_of("tests::classify");
    assert_eq!((metrics.ignored, metrics.failed), (3, 0));
    assert_eq!(complete(Ok("fine")).unwrap(), "fine");

    assert!(complete(Err(ApiError::status(503, &[]))).is_err());
    assert!(complete(Err(ApiError::Transport)).is_err());
    let metrics = metrics_of("tests::classify");
    assert_eq!((metrics.ignored, metrics.failed), (3, 2));
    assert_eq!(metrics.state, CircuitState::Open);
    assert!(matches!(complete(Ok("unsent")), Err(ApiError::Open(_))));
}

#[circuit_breaker(name = "tests::classify_429", classify = ApiError::verdict)]
fn limited(reply: Result<&'static str, ApiError>) -> Result<&'static str, ApiError> {
    reply
}

#[test]
fn a_classified_429_rate_limits_for_its_retry_after() {
    let clock = manual_breaker("tests::classify_429", 1, COOLDOWN);
    let too_many = ApiError::status(429, &[("retry-after", "6")]);
    assert!(limited(Err(too_many)).is_err());
    match limited(Ok("unsent")) {
        Err(ApiError::Open(open)) => {
            assert!(open.is_rate_limited());
            assert_eq!(open.retry_after(), Some(Duration::from_secs(6)));
        }
        other => panic!("expected a rate-limited rejection, got {other:?}"),
    }
    let metrics = metrics_of("tests::classify_429");
    assert_eq!((metrics.failed, metrics.rate_limited), (0, 1));
    clock.advance(Duration::from_secs(6));
    assert_eq!(limited(Ok("sent")).unwrap(), "sent");
}

/// The trait classifies every method's errors; `embed` counts only transport errors,
/// its own `failure_if` in place of the trait's `classify`.
#[circuit_breaker(threshold = 1, classify = ApiError::verdict)]
trait Llm {
    async fn complete(&self, code: u16) -> Result<String, ApiError>;
    #[breaker(failure_if = ApiError::is_transport)]
    fn embed(&self, code: u16) -> Result<Vec<f32>, ApiError>;
}

/// A method classifies its own errors; the trait's other methods count every error.
#[circuit_breaker(threshold = 1)]
trait Chat {
    #[breaker(classify = ApiError::verdict)]
    fn chat(&self, code: u16) -> Result<String, ApiError>;
}

struct Remote;

impl Remote {
    fn answer<T>(code: u16, ok: T) -> Result<T, ApiError> {
        match code {
            0 => Err(ApiError::Transport),
            200 => Ok(ok),
            code => Err(ApiError::status(code, &[])),
        }
    }
}

impl Llm for Remote {
    async fn complete(&self, code: u16) -> Result<String, ApiError> {
        Remote::answer(code, "done".into())
    }

    fn embed(&self, code: u16) -> Result<Vec<f32>, ApiError> {
        Remote::answer(code, vec![1.0])
    }
}

impl Chat for Remote {
    fn chat(&self, code: u16) -> Result<String, ApiError> {
        Remote::answer(code, "hi".into())
    }
}

#[test]
fn a_trait_classifies_its_methods_errors_unless_a_method_says_otherwise() {
    let llm = LlmBreaker::with_clock(Remote, ManualClock::new());
    assert!(block_on(llm.complete(400)).is_err());
    assert!(llm.embed(503).is_err(), "not a transport error: ignored");
    assert_eq!(llm.breaker().state(), CircuitState::Closed);
    let metrics = llm.breaker().metrics();
    assert_eq!((metrics.ignored, metrics.failed), (2, 0));

    assert!(block_on(llm.complete(502)).is_err());
    assert_eq!(llm.breaker().state(), CircuitState::Open);
    assert!(matches!(llm.embed(200), Err(ApiError::Open(_))));
}

#[test]
fn a_trait_method_classifies_its_own_errors() {
    let chat = ChatBreaker::with_clock(Remote, ManualClock::new());
    assert!(chat.chat(422).is_err());
    assert_eq!(chat.breaker().metrics().ignored, 1);
    assert_eq!(chat.breaker().state(), CircuitState::Closed);
    assert!(chat.chat(0).is_err());
    assert_eq!(chat.breaker().state(), CircuitState::Open);
}
