use breaker::CircuitBreakers;

#[derive(CircuitBreakers)]
struct Model {
    name: String,
}

fn main() {}
