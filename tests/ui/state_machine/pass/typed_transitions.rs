//! The typed API: states are types and only the table's transitions compile.
use breaker::machine::{Edge, StateType};
use breaker::machine::Typed;
use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        Closed + Open => Opened,
        Opened + Close => Closed,
        Closed + Lock [has_key] => Locked,
        Locked + Unlock => Closed,
    }
}

struct Hand {
    key: bool,
}

impl DoorContext for Hand {
    fn has_key(&self, _: &DoorEvent) -> bool {
        self.key
    }
}

// The edges are traits, so generic code can ask for them.
fn open_and_close<S>(door: Typed<S, Hand>) -> Typed<door::state::Closed, Hand>
where
    S: StateType<Machine = Door>,
    door::event::Open: Edge<S, To = door::state::Opened>,
{
    door.fire(door::event::Open).fire(door::event::Close)
}

fn main() {
    let door = Door::typed(Hand { key: false });
    let door = open_and_close(door);
    // A guarded edge may fail: the machine comes back in the state it was in.
    let door = match door.try_fire(door::event::Lock) {
        Ok(_) => panic!("no key: the guard must refuse"),
        Err(door) => door,
    };
    assert_eq!(door.state(), DoorState::Closed);
    let mut door = door;
    door.context_mut().key = true;
    let locked = door.try_fire(door::event::Lock).ok().unwrap();
    assert_eq!(<door::state::Locked as StateType>::STATE, DoorState::Locked);
    let closed = locked.fire(door::event::Unlock);
    // Typed and dynamic machines convert into each other's state.
    let mut dynamic = closed.into_machine();
    assert_eq!(dynamic.fire(DoorEvent::Open), Ok(DoorState::Opened));
}
