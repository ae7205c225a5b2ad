use breaker::CircuitBreakers;

// The enum's cap is below the cooldown of two variants: each is reported on its cooldown.
#[derive(CircuitBreakers)]
#[breaker(backoff = "exponential", max_cooldown = "2m")]
enum Model {
    Gpt4o,
    #[breaker(cooldown = "5m")]
    Llama,
    #[breaker(cooldown = "10m")]
    Mistral,
}

fn main() {}
