use breaker::CircuitBreakers;

#[derive(CircuitBreakers)]
#[breaker(name = "models", failure_if = is_outage)]
enum Model {
    #[breaker(rename_all = "snake_case")]
    Gpt4o,
}

fn main() {}
