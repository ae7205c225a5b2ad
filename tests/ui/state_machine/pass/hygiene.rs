//! The generated code names everything by absolute path: it compiles beside a user's own
//! `Result`, `Option`, `Clone`, `Sized`, modules named `core`, `std` and `breaker`, and in a
//! module without the prelude.
#![allow(dead_code)]

mod core {}
mod std {}

type Result<T> = ::std::result::Result<T, ()>;
struct Option;
struct Ok;
trait Clone {}
trait Sized {}
struct Some;
struct Err;

mod shadowed {
    #[allow(unused_imports)]
    use super::{Clone, Err, Ok, Option, Result, Sized, Some};

    mod breaker {}

    ::breaker::state_machine! {
        pub Light {
            initial: Off,
            Off + Toggle [powered] => On,
            On + Toggle / log => Off,
        }
    }

    pub struct Switch;

    impl LightContext for Switch {
        fn powered(&self, _: &LightEvent) -> bool {
            true
        }
        fn log(&mut self, _: &LightEvent) {}
    }
}

mod bare {
    #![no_implicit_prelude]

    ::breaker::state_machine! {
        pub Pump {
            events: [Start(u32), Stop],
            initial: Idle,
            Idle + Start [primed] / (log, count) => Running,
            Running + Stop => Idle,
        }
    }

    pub struct Panel;

    impl PumpContext for Panel {
        fn primed(&self, _: &PumpEvent) -> bool {
            true
        }
        fn log(&mut self, _: &PumpEvent) {}
        fn count(&mut self, _: &PumpEvent) {}
    }
}

mod nested {
    #![no_implicit_prelude]

    // Superstates, entry and exit actions, state data, an internal row and async actions,
    // without the prelude.
    ::breaker::state_machine! {
        #[state_machine(async)]
        pub Tank {
            initial: Empty,
            final: Drained,
            states: [
                Empty,
                #[initial(Filling)] #[entry(open)] #[exit(close)]
                Working [Filling { litres: u32 }, Full(u8)],
                Drained,
            ],
            Empty + Fill / start => Working,
            Filling + Top [ready] / top => Full,
            Full + Stir / stir => _,
            Working + Drain => Drained,
        }
    }

    pub struct Valves;

    impl TankContext for Valves {
        async fn ready(&self, _: &TankState, _: &TankEvent) -> bool {
            true
        }
        async fn start(&mut self, _: &TankState, _: &TankEvent) -> tank::state::Filling {
            tank::state::Filling { litres: 1 }
        }
        async fn top(&mut self, _: &TankState, _: &TankEvent) -> tank::state::Full {
            tank::state::Full(9)
        }
        async fn stir(&mut self, _: &TankState, _: &TankEvent) {}
        async fn open(&mut self, _: &TankState) {}
        async fn close(&mut self, _: &TankState) {}
    }
}

mod private {
    // Inherited visibility: the typed module and its items are visible to this module only.
    breaker::state_machine! {
        Valve {
            events: [Open(u8), Shut],
            initial: Shut,
            Shut + Open => Opened,
            Opened + Shut => Shut,
        }
    }

    pub fn cycle() -> &'static str {
        let valve = Valve::typed(());
        let valve = valve.fire(valve::event::Open(3)).fire(valve::event::Shut);
        valve.state().name()
    }
}

fn main() {
    let mut pump = bare::Pump::machine(bare::Panel);
    assert!(pump.fire(bare::PumpEvent::Start(3)).is_ok());

    let mut light = shadowed::Light::machine(shadowed::Switch);
    assert_eq!(light.fire(shadowed::LightEvent::Toggle), ::std::result::Result::Ok(shadowed::LightState::On));
    assert_eq!(private::cycle(), "Shut");

    let mut tank = nested::Tank::machine(nested::Valves);
    let fill = tank.fire(nested::TankEvent::Fill);
    drop(fill);
    assert_eq!(tank.state(), nested::TankStateKind::Empty);
}
