use breaker::CircuitBreakers;

#[derive(CircuitBreakers)]
#[breaker(rename_all = "kebab_case")]
enum Model {
    Gpt4o,
}

fn main() {}
