use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        Closed + Lock [has_key] => Locked,
        Locked + Unlock => Closed,
    }
}

struct Hand;

impl DoorContext for Hand {
    fn has_key(&self, _: &DoorEvent) -> bool { true }
}

fn main() {
    let door = Door::typed(Hand);
    let _door = door.fire(door::event::Lock);
}
