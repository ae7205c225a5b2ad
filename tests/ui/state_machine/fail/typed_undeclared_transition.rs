use breaker::state_machine;

state_machine! {
    pub Turnstile {
        initial: Locked,
        Locked + Coin => Unlocked,
        Unlocked + Push => Locked,
    }
}

fn main() {
    let gate = Turnstile::typed(());
    let _gate = gate.fire(turnstile::event::Push);
}
