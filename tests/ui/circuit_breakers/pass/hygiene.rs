//! The derive's code names everything by absolute path: it compiles beside a user's own
//! `Option`, `Iterator` and modules named `core` and `breaker`, and without the prelude.
#![allow(dead_code)]

mod core {}
mod breaker {}
struct Option;
trait Iterator {}

mod bare {
    #![no_implicit_prelude]

    #[derive(::breaker::CircuitBreakers, ::std::clone::Clone, ::std::marker::Copy)]
    #[breaker(threshold = 2, rename_all = "SCREAMING-KEBAB-CASE")]
    pub enum Region {
        EuWest,
        #[breaker(cooldown = "5s")]
        UsEast,
    }

    #[derive(::breaker::CircuitBreakers)]
    #[breaker(window = "1m", slow_call_duration = "1s", ignored_errors = "success")]
    pub enum Zone {
        North,
        #[breaker(window_buckets = 6, failure_rate = 20, minimum_calls = 5, slow_call_rate = 50)]
        South,
    }
}

fn main() {
    let breakers = bare::RegionBreakers::new();
    assert_eq!(breakers.get(bare::Region::EuWest).name().as_str(), "EU-WEST");
    assert_eq!(breakers.get(&bare::Region::UsEast).config().threshold, 2);
    assert_eq!(breakers.iter().count(), 2);
    let zones = bare::ZoneBreakers::new();
    assert_eq!(zones.iter().count(), 2);
}
