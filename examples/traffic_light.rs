//! A traffic light declared as a checked transition table, driven through a short day,
//! then printed as a Mermaid diagram.
//!
//! Run it with `cargo run --example traffic_light`.

use breaker::state_machine;

state_machine! {
    /// A traffic light at a pedestrian crossing.
    pub TrafficLight {
        initial: Red,
        final: Retired,
        /// Pedestrians who pressed the button get their crossing before the light turns.
        Red + Tick [pedestrian_waiting] / let_pedestrians_cross => Red,
        Red + Tick => Green,
        Green + Tick => Amber,
        Amber + Tick => Red,
        _ + PowerCut / log_outage => FlashingAmber,
        FlashingAmber + PowerRestored => Red,
        FlashingAmber + Decommission => Retired,
    }
}

/// What the light's guards and actions read and write.
#[derive(Default)]
struct Crossing {
    pedestrian_waiting: bool,
    crossings: u32,
    outages: u32,
}

impl TrafficLightContext for Crossing {
    fn pedestrian_waiting(&self, _: &TrafficLightEvent) -> bool {
        self.pedestrian_waiting
    }

    fn let_pedestrians_cross(&mut self, _: &TrafficLightEvent) {
        self.pedestrian_waiting = false;
        self.crossings += 1;
    }

    fn log_outage(&mut self, _: &TrafficLightEvent) {
        self.outages += 1;
    }
}

fn main() {
    let mut light = TrafficLight::machine(Crossing::default());
    let day = [
        TrafficLightEvent::Tick,
        TrafficLightEvent::Tick,
        TrafficLightEvent::Tick,
        TrafficLightEvent::Tick,
        TrafficLightEvent::PowerCut,
        TrafficLightEvent::Tick, // flashing amber ignores the timer: refused
        TrafficLightEvent::PowerRestored,
        TrafficLightEvent::Tick,
    ];
    for (hour, event) in day.into_iter().enumerate() {
        if hour == 3 {
            light.context_mut().pedestrian_waiting = true;
        }
        let from = light.state();
        match light.fire(event) {
            Ok(to) => println!("{from:>13} --{event}--> {to}"),
            Err(refused) => println!("{from:>13} --{event}--> refused: {refused}"),
        }
    }

    // The typed API: only transitions in the table compile.
    let retired = TrafficLight::typed(Crossing::default())
        .fire(traffic_light::event::PowerCut)
        .fire(traffic_light::event::Decommission);
    println!("\ntyped: reached {} (final)", retired.state());

    let crossing = light.context();
    println!(
        "pedestrian crossings: {}, outages: {}\n",
        crossing.crossings, crossing.outages
    );
    println!("```mermaid\n{}```", TrafficLight::mermaid());
}
