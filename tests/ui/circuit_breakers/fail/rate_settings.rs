use breaker::CircuitBreakers;

// A window key without a window, on the enum: reported once, on the enum's token, for the
// variants that do not give a window.
#[derive(CircuitBreakers)]
#[breaker(failure_rate = 30, ignored_errors = "success")]
enum Model {
    #[breaker(window_size = 10)]
    Gpt4o,
    Llama,
    #[breaker(window = "1m", failure_rate = 101, slow_call_rate = 50)]
    Mistral,
}

fn main() {}
