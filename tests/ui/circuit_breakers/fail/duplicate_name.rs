use breaker::CircuitBreakers;

#[derive(CircuitBreakers)]
#[breaker(rename_all = "kebab-case")]
enum Model {
    #[breaker(name = "claude-sonnet")]
    Claude,
    ClaudeSonnet,
}

fn main() {}
