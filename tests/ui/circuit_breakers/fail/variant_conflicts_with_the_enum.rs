use breaker::CircuitBreakers;

// The enum's window is every variant's: a variant's setting that conflicts with it is
// reported on the variant's token, once per variant.
#[derive(CircuitBreakers)]
#[breaker(window_size = 20, minimum_calls = 10)]
enum Model {
    Gpt4o,
    #[breaker(threshold = 3)]
    Llama,
    #[breaker(window = "1m")]
    Mistral,
    #[breaker(window_size = 5)]
    Claude,
    #[breaker(minimum_calls = 50)]
    Gemini,
}

fn main() {}
