use std::time::{Duration, SystemTime};

use ::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use proptest::prelude::*;

use super::*;

/// 2015-10-21 07:26:40 UTC: every test's now, so that HTTP dates give exact delays.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_400)
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                HeaderValue::from_str(value).expect("a header value"),
            )
        })
        .collect()
}

fn classify(code: u16, pairs: &[(&str, &str)]) -> Verdict {
    let status = StatusCode::from_u16(code).expect("a status code");
    classify_status(status, &headers(pairs), now())
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn every_status_class() {
    for code in [100, 101, 200, 201, 204, 301, 302, 304, 399] {
        assert_eq!(classify(code, &[]), Verdict::Success, "{code}");
    }
    for code in [400, 404, 405, 409, 410, 413, 415, 422, 451, 499] {
        assert_eq!(classify(code, &[]), Verdict::Ignored, "{code}");
    }
    for code in [401, 403] {
        assert_eq!(classify(code, &[]), Verdict::CredentialsRefused, "{code}");
    }
    for code in [408, 500, 502, 503, 504, 529, 599, 600, 999] {
        assert_eq!(classify(code, &[]), Verdict::Failure, "{code}");
    }
    assert_eq!(classify(429, &[]), Verdict::RateLimited(None));
}

#[test]
fn a_rate_limit_reads_each_header_format() {
    let limited = |pairs: &[(&str, &str)]| classify(429, pairs);
    assert_eq!(
        limited(&[("retry-after", "20")]),
        Verdict::RateLimited(Some(20 * SECOND))
    );
    assert_eq!(
        limited(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
        Verdict::RateLimited(Some(80 * SECOND)),
        "a date to come"
    );
    assert_eq!(
        limited(&[("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT")]),
        Verdict::RateLimited(Some(Duration::ZERO)),
        "a date past: come back now"
    );
    assert_eq!(
        limited(&[("retry-after-ms", "1500.5")]),
        Verdict::RateLimited(Some(Duration::from_micros(1_500_500)))
    );
    assert_eq!(
        limited(&[("x-ratelimit-reset-requests", "6m0s")]),
        Verdict::RateLimited(Some(360 * SECOND))
    );
    assert_eq!(
        limited(&[("x-ratelimit-reset-tokens", "1s")]),
        Verdict::RateLimited(Some(SECOND))
    );
}

#[test]
fn the_most_specific_header_wins() {
    let all = [
        ("retry-after-ms", "250"),
        ("retry-after", "3"),
        ("x-ratelimit-reset-requests", "6m0s"),
    ];
    assert_eq!(
        classify(429, &all),
        Verdict::RateLimited(Some(Duration::from_millis(250)))
    );
    assert_eq!(
        classify(429, &all[1..]),
        Verdict::RateLimited(Some(3 * SECOND))
    );
    // A header that cannot be read gives way to the next.
    assert_eq!(
        classify(
            429,
            &[("retry-after-ms", "soon"), ("retry-after", "-1"), all[2]]
        ),
        Verdict::RateLimited(Some(360 * SECOND))
    );
}

#[test]
fn the_reset_of_the_exhausted_limit_wins_else_the_latest() {
    let openai = |requests_left: &str, tokens_left: &str| {
        classify(
            429,
            &[
                ("x-ratelimit-remaining-requests", requests_left),
                ("x-ratelimit-reset-requests", "1s"),
                ("x-ratelimit-remaining-tokens", tokens_left),
                ("x-ratelimit-reset-tokens", "6m0s"),
            ],
        )
    };
    assert_eq!(openai("0", "149984"), Verdict::RateLimited(Some(SECOND)));
    assert_eq!(openai("59", "0"), Verdict::RateLimited(Some(360 * SECOND)));
    assert_eq!(openai("0", " 0 "), Verdict::RateLimited(Some(360 * SECOND)));
    // Neither says it ran out (a request larger than the tokens left): the latest reset.
    assert_eq!(
        openai("59", "100"),
        Verdict::RateLimited(Some(360 * SECOND))
    );
    assert_eq!(
        openai("none", "?"),
        Verdict::RateLimited(Some(360 * SECOND))
    );
    // Resets that cannot be read are skipped; none left: the breaker's default.
    assert_eq!(
        classify(
            429,
            &[
                ("x-ratelimit-reset-requests", "soon"),
                ("x-ratelimit-reset-tokens", "1s")
            ]
        ),
        Verdict::RateLimited(Some(SECOND))
    );
    assert_eq!(
        classify(429, &[("x-ratelimit-reset-requests", "6 minutes")]),
        Verdict::RateLimited(None)
    );
}

#[test]
fn an_outage_with_a_delay_is_down_for_that_long() {
    assert_eq!(
        classify(503, &[("retry-after", "120")]),
        Verdict::DownFor(120 * SECOND)
    );
    assert_eq!(
        classify(529, &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
        Verdict::DownFor(80 * SECOND)
    );
    assert_eq!(
        classify(408, &[("retry-after-ms", "2500")]),
        Verdict::DownFor(Duration::from_millis(2500))
    );
    // No floor under the opening: a date past, zero, garbage.
    for value in ["Wed, 21 Oct 2015 07:00:00 GMT", "0", "later", "1e3"] {
        assert_eq!(
            classify(503, &[("retry-after", value)]),
            Verdict::Failure,
            "{value}"
        );
    }
    // A rate limit's reset says when a quota refills, not when an outage ends.
    assert_eq!(
        classify(500, &[("x-ratelimit-reset-requests", "6m0s")]),
        Verdict::Failure
    );
}

#[test]
fn delays_on_other_statuses_change_nothing() {
    let later = [("retry-after", "30")];
    assert_eq!(classify(200, &later), Verdict::Success);
    assert_eq!(classify(400, &later), Verdict::Ignored);
    assert_eq!(classify(401, &later), Verdict::CredentialsRefused);
}

#[test]
fn a_response_is_classified_by_its_status_and_headers() {
    let response = ::http::Response::builder()
        .status(429)
        .header("retry-after-ms", "40")
        .body(())
        .expect("a response");
    assert_eq!(
        classify_response(&response),
        Verdict::RateLimited(Some(Duration::from_millis(40)))
    );
}

/// A header's name: one the classification reads, or any other.
fn header_name() -> impl Strategy<Value = HeaderName> {
    prop_oneof![
        prop::sample::select(vec![
            "retry-after",
            "retry-after-ms",
            "x-ratelimit-reset-requests",
            "x-ratelimit-reset-tokens",
            "x-ratelimit-remaining-requests",
            "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-",
        ])
        .prop_map(HeaderName::from_static),
        "x-ratelimit-(reset|remaining)-[a-z0-9-]{0,12}"
            .prop_map(|name| HeaderName::try_from(name).expect("a header name")),
    ]
}

/// Any bytes a header value may hold (all but control characters, `obs-text` included).
fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        "[0-9hmsuµn. ,:a-zA-Z-]{0,30}".prop_map(String::into_bytes),
    ]
    .prop_filter_map("a header value", |bytes| {
        HeaderValue::from_bytes(&bytes).ok()
    })
}

proptest! {
    #[test]
    fn any_headers_on_any_status_give_the_verdict_of_its_class(
        code in 100u16..1000,
        pairs in proptest::collection::vec((header_name(), header_value()), 0..8),
        seconds in 0u64..4_000_000_000,
    ) {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name, value);
        }
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(seconds);
        let status = StatusCode::from_u16(code).expect("100 to 999");
        let verdict = classify_status(status, &map, now);
        let class_holds = match code {
            429 => matches!(verdict, Verdict::RateLimited(_)),
            401 | 403 => verdict == Verdict::CredentialsRefused,
            408 | 500.. => match verdict {
                Verdict::DownFor(delay) => !delay.is_zero(),
                other => other == Verdict::Failure,
            },
            400..=499 => verdict == Verdict::Ignored,
            _ => verdict == Verdict::Success,
        };
        prop_assert!(class_holds, "{code} gave {verdict:?}");
        // A delay is the one a header announced, whichever it was.
        if let Verdict::RateLimited(Some(delay)) | Verdict::DownFor(delay) = verdict {
            let announced = map.iter().any(|(name, value)| {
                let value = value.as_bytes();
                match name.as_str() {
                    "retry-after" => retry_after(value, now) == Some(delay),
                    "retry-after-ms" => retry_after_ms(value) == Some(delay),
                    name => name.starts_with("x-ratelimit-reset-") && ratelimit_reset(value) == Some(delay),
                }
            });
            prop_assert!(announced, "{delay:?} is in no header of {map:?}");
        }
    }
}
