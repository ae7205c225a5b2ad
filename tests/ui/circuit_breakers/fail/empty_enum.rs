use breaker::CircuitBreakers;

#[derive(CircuitBreakers)]
enum Model {}

fn main() {}
