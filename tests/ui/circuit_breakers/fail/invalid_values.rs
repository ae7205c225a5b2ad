use breaker::CircuitBreakers;

#[derive(CircuitBreakers)]
#[breaker(threshold = 0, cooldown = "30x")]
enum Model {
    #[breaker(half_open_max = 0, name = "")]
    Gpt4o,
}

fn main() {}
