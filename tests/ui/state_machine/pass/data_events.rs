//! Events carry data; guards and actions see it; the typed API carries it too.
use breaker::state_machine;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grams(pub u32);

state_machine! {
    /// A pet feeder.
    pub Feeder {
        states: [
            /// Waiting for food.
            Idle,
            Feeding,
        ],
        events: [
            /// Food put in the bowl.
            Feed { amount: Grams },
            Finish,
            Refill(u32, String),
        ],
        initial: Idle,
        Idle + Feed [small_enough] / record => Feeding,
        Feeding + Finish => Idle,
        Feeding + Refill / record => Feeding,
    }
}

#[derive(Default)]
struct Bowl {
    eaten: u32,
    notes: Vec<String>,
}

impl FeederContext for Bowl {
    fn small_enough(&self, event: &FeederEvent) -> bool {
        matches!(event, FeederEvent::Feed { amount } if amount.0 <= 100)
    }
    fn record(&mut self, event: &FeederEvent) {
        match event {
            FeederEvent::Feed { amount } => self.eaten += amount.0,
            FeederEvent::Refill(grams, note) => {
                self.eaten += grams;
                self.notes.push(note.clone());
            }
            FeederEvent::Finish => {}
        }
    }
}

fn main() {
    let mut feeder = Feeder::machine(Bowl::default());
    assert!(feeder.fire(FeederEvent::Feed { amount: Grams(500) }).is_err());
    assert_eq!(feeder.fire(FeederEvent::Feed { amount: Grams(40) }), Ok(FeederState::Feeding));
    assert_eq!(feeder.fire(FeederEvent::Refill(10, "top-up".into())), Ok(FeederState::Feeding));
    assert_eq!(feeder.context().eaten, 50);
    assert_eq!(feeder.context().notes, ["top-up"]);

    // Without the data: the event kind, for tables and errors.
    let refused = feeder.fire(FeederEvent::Feed { amount: Grams(1) }).unwrap_err();
    assert_eq!(refused.event, FeederEventKind::Feed);
    assert_eq!(FeederEvent::Refill(1, String::new()).to_string(), "Refill");

    // Typed: the event types carry the same data.
    let typed = Feeder::typed(Bowl::default());
    let typed = typed.try_fire(feeder::event::Feed { amount: Grams(30) }).ok().unwrap();
    let typed = typed.fire(feeder::event::Refill(5, "x".into()));
    let typed = typed.fire(feeder::event::Finish);
    assert_eq!(typed.state(), FeederState::Idle);
    assert_eq!(typed.context().eaten, 35);
}
