use breaker::state_machine;

state_machine! {
    pub Order {
        initial: Placed,
        states: [
            Placed,
            #[initial(Paid)]
            Active [Paid, #[initial(Active)] Inner [Active]],
        ],
        Placed + Pay => Active,
        Paid + Next => Inner,
        Active + Reset => Placed,
    }
}

fn main() {}
