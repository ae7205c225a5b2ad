use breaker::CircuitBreakers;

#[derive(CircuitBreakers)]
enum Model {
    Gpt4o,
    Custom(String),
    Tuned { base: u32 },
}

fn main() {}
