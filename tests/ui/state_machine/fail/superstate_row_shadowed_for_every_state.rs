use breaker::state_machine;

state_machine! {
    pub Order {
        initial: Placed,
        final: Cancelled,
        states: [Placed, #[initial(Paid)] Active [Paid, Shipped], Cancelled],
        Placed + Pay => Active,
        Paid + Ship => Shipped,
        Paid + Cancel / refund => Cancelled,
        Shipped + Cancel / recall => Cancelled,
        // Every state of `Active` takes `Cancel` first: this row never fires.
        Active + Cancel => Cancelled,
    }
}

fn main() {}
