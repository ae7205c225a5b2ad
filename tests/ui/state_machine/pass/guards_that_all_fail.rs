//! When every row for a state and event is guarded and no guard holds, the event is refused
//! with `GuardsFailed`.
use breaker::machine::Refusal;
use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        Closed + Open [unlocked] => Opened,
        Opened + Close => Closed,
    }
}

struct Lock(bool);

impl DoorContext for Lock {
    fn unlocked(&self, _: &DoorEvent) -> bool {
        self.0
    }
}

fn main() {
    let mut door = Door::machine(Lock(false));
    let refused = door.fire(DoorEvent::Open).unwrap_err();
    assert_eq!(refused.reason, Refusal::GuardsFailed);
    assert_eq!(refused.to_string(), "state machine `Door` refused `Open` in `Closed`: no guard held");
    door.context_mut().0 = true;
    assert_eq!(door.fire(DoorEvent::Open), Ok(DoorState::Opened));
}
