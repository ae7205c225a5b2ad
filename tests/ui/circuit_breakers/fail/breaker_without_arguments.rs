use breaker::CircuitBreakers;

#[derive(CircuitBreakers)]
enum Model {
    #[breaker]
    Gpt4o,
}

fn main() {}
