use breaker::CircuitBreakers;

#[derive(CircuitBreakers)]
union Model {
    id: u32,
    code: f32,
}

fn main() {}
