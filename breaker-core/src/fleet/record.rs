//! A breaker's record in the store, as the scripts return and publish it, and the names of
//! its keys.

use std::time::Duration;

use serde::Deserialize;

use crate::cause::Cause;

/// A breaker's state for the fleet, as of the script that returned or published it. Times
/// are left from that moment, by the server's clock.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(super) struct Record {
    /// The breaker's name.
    #[serde(rename = "n")]
    pub(super) name: String,
    /// The fleet's generation: one more at every fleet transition.
    #[serde(rename = "g")]
    pub(super) generation: u64,
    #[serde(rename = "s")]
    pub(super) state: FleetState,
    /// Milliseconds the opening still holds (0 once it has passed).
    #[serde(rename = "o")]
    pub(super) open_ms: u64,
    /// Milliseconds the fleet's rate limit still holds.
    #[serde(rename = "r")]
    pub(super) rate_limited_ms: u64,
    /// Milliseconds the probe lease still holds (0: no lease out).
    #[serde(rename = "l")]
    pub(super) lease_ms: u64,
    /// The instance that made the last decision.
    #[serde(rename = "b")]
    pub(super) by: String,
    /// The opening's cause, encoded by [`encode_cause`].
    #[serde(rename = "c")]
    pub(super) cause: String,
    /// Openings in a row.
    #[serde(rename = "p")]
    pub(super) opens: u32,
}

/// The states the fleet shares: the automatic ones but HalfOpen (a probe lease out is an
/// opening with a lease), and the ones an operator sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum FleetState {
    Closed,
    Open,
    ForcedOpen,
    Disabled,
}

impl FleetState {
    /// As the scripts write it.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            FleetState::Closed => "closed",
            FleetState::Open => "open",
            FleetState::ForcedOpen => "forced_open",
            FleetState::Disabled => "disabled",
        }
    }
}

impl Record {
    /// Reads a record; `None` if it is not one (never from our scripts).
    pub(super) fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    pub(super) fn open_for(&self) -> Duration {
        Duration::from_millis(self.open_ms)
    }

    pub(super) fn lease_left(&self) -> Duration {
        Duration::from_millis(self.lease_ms)
    }

    pub(super) fn rate_limited_for(&self) -> Duration {
        Duration::from_millis(self.rate_limited_ms)
    }

    pub(super) fn cause(&self) -> Option<Cause> {
        decode_cause(&self.cause)
    }
}

/// A cause as the store keeps it: `status:503`, `slow`, `failure`, or `error:` and the text.
pub(super) fn encode_cause(cause: Option<&Cause>) -> String {
    match cause {
        None | Some(Cause::Failure) => "failure".to_owned(),
        Some(Cause::SlowCall) => "slow".to_owned(),
        Some(Cause::Status(status)) => format!("status:{status}"),
        Some(Cause::Error(text)) => format!("error:{text}"),
    }
}

/// The cause [`encode_cause`] wrote; `None` for none (a closed breaker).
pub(super) fn decode_cause(text: &str) -> Option<Cause> {
    if text.is_empty() {
        return None;
    }
    Some(match text {
        "failure" => Cause::Failure,
        "slow" => Cause::SlowCall,
        _ => match text.split_once(':') {
            Some(("status", status)) => status.parse().map_or(Cause::Failure, Cause::Status),
            Some(("error", error)) => Cause::error(error),
            _ => Cause::error(text),
        },
    })
}

/// The three keys of the breaker `name` under `prefix`, in one hash tag. The name's braces
/// (and `%`, to keep the encoding reversible) are escaped, so that the tag is the whole name.
pub(super) fn keys(prefix: &str, name: &str) -> [String; 3] {
    let mut tag = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '%' => tag.push_str("%25"),
            '{' => tag.push_str("%7B"),
            '}' => tag.push_str("%7D"),
            c => tag.push(c),
        }
    }
    [
        format!("{prefix}:{{{tag}}}:state"),
        format!("{prefix}:{{{tag}}}:lease"),
        format!("{prefix}:{{{tag}}}:tripped"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_one_hash_tag_whatever_the_name() {
        let [state, lease, tripped] = keys("breaker", "gpt-4o");
        assert_eq!(state, "breaker:{gpt-4o}:state");
        assert_eq!(lease, "breaker:{gpt-4o}:lease");
        assert_eq!(tripped, "breaker:{gpt-4o}:tripped");
        let [state, ..] = keys("b", "a}{b%");
        assert_eq!(state, "b:{a%7D%7Bb%25}:state");
    }

    #[test]
    fn causes_survive_the_store() {
        for cause in [
            Cause::Failure,
            Cause::SlowCall,
            Cause::Status(529),
            Cause::error("connection reset: peer: gone"),
        ] {
            assert_eq!(decode_cause(&encode_cause(Some(&cause))), Some(cause));
        }
        assert_eq!(decode_cause(""), None);
        assert_eq!(decode_cause("status:x"), Some(Cause::Failure));
    }

    #[test]
    fn a_record_reads_as_the_scripts_write_it() {
        let text = r#"{"n":"gpt-4o","g":3,"s":"open","o":1500,"r":0,"l":0,"b":"a","c":"status:503","p":2}"#;
        let record = Record::parse(text).unwrap();
        assert_eq!(record.state, FleetState::Open);
        assert_eq!(record.open_for(), Duration::from_millis(1500));
        assert_eq!(record.cause(), Some(Cause::Status(503)));
        assert_eq!(Record::parse("{}"), None);
    }
}
