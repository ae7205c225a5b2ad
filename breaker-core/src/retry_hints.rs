//! When a remote says to come back, read from the headers of its HTTP response (feature
//! `http`): `Retry-After`, `retry-after-ms`, and the `x-ratelimit-reset-*` headers that LLM
//! providers send with a rate limit.
//!
//! Each reader takes a header's raw value and gives the delay it announces, or `None` for a
//! value it cannot read: a header is the remote's word, and garbage in it (a negative
//! number, an overflowing one, a date that does not parse, bytes that are not text) is
//! refused without a panic, whatever the bytes.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use breaker::retry_hints::{ratelimit_reset, retry_after, retry_after_ms};
//!
//! let now = SystemTime::now();
//! assert_eq!(retry_after(b"120", now), Some(Duration::from_secs(120)));
//! assert_eq!(retry_after_ms(b"1500"), Some(Duration::from_millis(1500)));
//! assert_eq!(ratelimit_reset(b"6m0s"), Some(Duration::from_secs(360)));
//! assert_eq!(retry_after(b"soon", now), None);
//! ```

use std::time::{Duration, SystemTime};

/// The delay of a `Retry-After` value: a number of seconds (`120`), or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, and the two obsolete date formats HTTP still accepts),
/// counted from `now`. A date already past is a delay of zero.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use breaker::retry_hints::retry_after;
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_445_412_400); // 2015-10-21 07:26:40 UTC
/// assert_eq!(retry_after(b"Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(80)));
/// assert_eq!(retry_after(b" 30 ", now), Some(Duration::from_secs(30)));
/// assert_eq!(retry_after(b"-1", now), None);
/// ```
pub fn retry_after(value: &[u8], now: SystemTime) -> Option<Duration> {
    let text = trimmed(value)?;
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().ok().map(Duration::from_secs);
    }
    let date = httpdate::parse_http_date(text).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The delay of a `retry-after-ms` value: milliseconds, whole (`1500`) or with a fraction
/// (`1500.5`).
///
/// ```
/// use std::time::Duration;
/// use breaker::retry_hints::retry_after_ms;
///
/// assert_eq!(retry_after_ms(b"250.5"), Some(Duration::from_micros(250_500)));
/// assert_eq!(retry_after_ms(b"NaN"), None);
/// ```
pub fn retry_after_ms(value: &[u8]) -> Option<Duration> {
    let text = trimmed(value)?;
    decimal(text, Duration::from_millis(1))
}

/// The delay of an `x-ratelimit-reset-requests` or `x-ratelimit-reset-tokens` value: a
/// duration in the form OpenAI sends (`6m0s`, `1.5s`, `20ms`, `1h2m3s`: numbers, each with
/// one of the units `h`, `m`, `s`, `ms`, `us`/`µs`, `ns`), or a plain number of seconds.
///
/// ```
/// use std::time::Duration;
/// use breaker::retry_hints::ratelimit_reset;
///
/// assert_eq!(ratelimit_reset(b"1h2m3.5s"), Some(Duration::from_millis(3_723_500)));
/// assert_eq!(ratelimit_reset(b"20ms"), Some(Duration::from_millis(20)));
/// assert_eq!(ratelimit_reset(b"7"), Some(Duration::from_secs(7)));
/// assert_eq!(ratelimit_reset(b"6 minutes"), None);
/// ```
pub fn ratelimit_reset(value: &[u8]) -> Option<Duration> {
    let mut rest = trimmed(value)?;
    if rest.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return decimal(rest, Duration::from_secs(1));
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&end| end > 0)?;
        let (number, after) = rest.split_at(number_end);
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let unit = match unit {
            "h" => Duration::from_secs(3600),
            "m" => Duration::from_secs(60),
            "s" => Duration::from_secs(1),
            "ms" => Duration::from_millis(1),
            "us" | "µs" => Duration::from_micros(1),
            "ns" => Duration::from_nanos(1),
            _ => return None,
        };
        total = total.checked_add(decimal(number, unit)?)?;
        rest = next;
    }
    Some(total)
}

/// The value as text without the spaces around it, if it is text and not empty.
fn trimmed(value: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(value).ok()?.trim();
    (!text.is_empty()).then_some(text)
}

/// `text` (digits with at most one `.`, at least one digit) times `unit`, or `None` if it
/// is not such a number or the product overflows a `Duration`.
fn decimal(text: &str, unit: Duration) -> Option<Duration> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut total = unit.checked_mul(u32::try_from(whole).ok()?)?;
    // The fraction, digit by digit: exact to the nanosecond the unit allows.
    let mut scale = unit;
    for digit in fraction.bytes().map(|b| u32::from(b - b'0')) {
        scale /= 10;
        if scale.is_zero() {
            break;
        }
        total = total.checked_add(scale * digit)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_400);
        assert_eq!(retry_after(b"0", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after(b"18446744073709551615", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(retry_after(b"18446744073709551616", now), None);
        // The past is no delay; the obsolete formats are read too.
        assert_eq!(
            retry_after(b"Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(b"Wednesday, 21-Oct-15 07:28:00 GMT", now),
            Some(Duration::from_secs(80))
        );
        assert_eq!(
            retry_after(b"Wed Oct 21 07:28:00 2015", now),
            Some(Duration::from_secs(80))
        );
        for garbage in [
            &b""[..],
            b"   ",
            b"1.5",
            b"+3",
            b"3s",
            b"\xff\xfe",
            b"Wed, 32 Oct 2015 07:28:00 GMT",
        ] {
            assert_eq!(retry_after(garbage, now), None, "{garbage:?}");
        }
    }

    #[test]
    fn milliseconds() {
        assert_eq!(retry_after_ms(b"0"), Some(Duration::ZERO));
        assert_eq!(retry_after_ms(b".5"), Some(Duration::from_micros(500)));
        assert_eq!(retry_after_ms(b"7."), Some(Duration::from_millis(7)));
        assert_eq!(retry_after_ms(b"0.0000001"), Some(Duration::ZERO));
        for garbage in [&b"."[..], b"1.2.3", b"-5", b"1e3", b"inf", b"5 ms"] {
            assert_eq!(retry_after_ms(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn openai_reset_durations() {
        assert_eq!(ratelimit_reset(b"6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(ratelimit_reset(b"0.5s"), Some(Duration::from_millis(500)));
        assert_eq!(ratelimit_reset(b"1us"), Some(Duration::from_micros(1)));
        assert_eq!(
            ratelimit_reset("3µs".as_bytes()),
            Some(Duration::from_micros(3))
        );
        assert_eq!(ratelimit_reset(b"10ns"), Some(Duration::from_nanos(10)));
        assert_eq!(ratelimit_reset(b"1.25"), Some(Duration::from_millis(1250)));
        for garbage in [&b"s"[..], b"5x", b"m5", b"1h-2m", b"5 s", b"99999999999h"] {
            assert_eq!(ratelimit_reset(garbage), None, "{garbage:?}");
        }
    }

    proptest! {
        #[test]
        fn any_bytes_are_read_or_refused_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
            let _ = retry_after(&bytes, now);
            let _ = retry_after_ms(&bytes);
            let _ = ratelimit_reset(&bytes);
        }

        #[test]
        fn any_text_of_header_characters_is_read_or_refused(text in "[0-9hmsuµn. ,:a-zA-Z-]{0,40}") {
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
            let _ = retry_after(text.as_bytes(), now);
            let _ = retry_after_ms(text.as_bytes());
            let _ = ratelimit_reset(text.as_bytes());
        }

        #[test]
        fn whole_seconds_read_back(seconds in any::<u32>()) {
            let now = SystemTime::UNIX_EPOCH;
            let text = seconds.to_string();
            prop_assert_eq!(retry_after(text.as_bytes(), now), Some(Duration::from_secs(seconds.into())));
            prop_assert_eq!(ratelimit_reset(format!("{seconds}s").as_bytes()), Some(Duration::from_secs(seconds.into())));
            prop_assert_eq!(retry_after_ms(text.as_bytes()), Some(Duration::from_millis(seconds.into())));
        }
    }
}
