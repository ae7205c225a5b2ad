use breaker::CircuitBreakers;

#[derive(CircuitBreakers)]
enum Model<T> {
    Gpt4o,
    Other(T),
}

fn main() {}
