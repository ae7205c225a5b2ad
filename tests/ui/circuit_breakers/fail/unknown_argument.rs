use breaker::CircuitBreakers;

#[derive(CircuitBreakers)]
#[breaker(treshold = 3)]
enum Model {
    #[breaker(cooldwn = "10s")]
    Gpt4o,
    Llama,
}

fn main() {}
