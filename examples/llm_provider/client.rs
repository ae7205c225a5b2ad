//! The application's side: the models, a provider trait whose generated wrapper puts one
//! circuit breaker per model in front of any provider, and its HTTP client (reqwest) for an
//! OpenAI-compatible API. Shared by the demo and its integration test (`tests/llm_provider`).

use std::fmt;
use std::time::{Duration, SystemTime};

use breaker::{CircuitBreaker, CircuitBreakers, CircuitOpen, Verdict, circuit_breaker};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::json;

/// The models the application uses, each with its own circuit breaker (derived: an array
/// indexed by the variant). Three consecutive failures open a model's circuit for 400 ms.
#[derive(CircuitBreakers, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[breaker(threshold = 3, cooldown = "400ms", rename_all = "kebab-case")]
pub enum Model {
    #[breaker(name = "gpt-4o")]
    Gpt4o,
    ClaudeSonnet,
    /// The fallback of last resort: a circuit that opens after one failure is not what
    /// the last model standing needs, so it tolerates more.
    #[breaker(threshold = 5)]
    Llama,
}

impl Model {
    /// Every model, in the order of preference.
    pub const ALL: [Model; 3] = [Model::Gpt4o, Model::ClaudeSonnet, Model::Llama];

    /// The model's name in the provider's API (also its breaker's name).
    pub fn api_name(self) -> &'static str {
        match self {
            Model::Gpt4o => "gpt-4o",
            Model::ClaudeSonnet => "claude-sonnet",
            Model::Llama => "llama",
        }
    }

    /// The model to ask when this one cannot answer, if there is one.
    pub fn fallback(self) -> Option<Model> {
        match self {
            Model::Gpt4o => Some(Model::ClaudeSonnet),
            Model::ClaudeSonnet => Some(Model::Llama),
            Model::Llama => None,
        }
    }
}

/// The answer of a chat completion: the first choice's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The model that answered.
    pub model: String,
    /// What it said.
    pub text: String,
}

/// Why a completion failed.
#[derive(Debug)]
pub enum ProviderError {
    /// The provider answered with an error status; its headers may say when to come back.
    Status {
        status: StatusCode,
        headers: HeaderMap,
    },
    /// No answer: the connection failed, or the request timed out.
    Transport(reqwest::Error),
    /// The model's circuit breaker refused the call: it was not sent.
    Rejected(CircuitOpen),
}

impl ProviderError {
    /// The status the provider answered, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ProviderError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The breaker's rejection, if the call was not sent.
    pub fn rejection(&self) -> Option<&CircuitOpen> {
        match self {
            ProviderError::Rejected(open) => Some(open),
            _ => None,
        }
    }

    /// Whether the caller should ask another model: this one's circuit is open, or it is
    /// rate limited.
    pub fn moves_on(&self) -> bool {
        matches!(self, ProviderError::Rejected(_))
            || self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }
}

impl From<CircuitOpen> for ProviderError {
    fn from(open: CircuitOpen) -> Self {
        ProviderError::Rejected(open)
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderError::Status { status, .. } => write!(f, "the provider answered {status}"),
            ProviderError::Transport(error) if error.is_timeout() => f.write_str("timed out"),
            ProviderError::Transport(error) => write!(f, "no answer: {error}"),
            ProviderError::Rejected(open) => write!(f, "{open}"),
        }
    }
}

impl std::error::Error for ProviderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProviderError::Transport(error) => Some(error),
            ProviderError::Rejected(open) => Some(open),
            ProviderError::Status { .. } => None,
        }
    }
}

/// An LLM provider. `#[circuit_breaker]` generates `ProviderBreaker<P>`, a `Provider` whose
/// calls go through the breaker of the model they ask for (`key = model`: the derived
/// per-model breakers, an array): a call the model's breaker rejects returns
/// [`ProviderError::Rejected`] without reaching the provider, and every answer is reported
/// to that breaker as [`classify`] says.
#[circuit_breaker(classify = classify)]
pub trait Provider: Sync {
    /// Asks `model` to complete `prompt`.
    #[breaker(key = model)]
    async fn complete(&self, model: Model, prompt: &str) -> Result<Completion, ProviderError>;
}

/// A provider with an OpenAI-compatible API over HTTP.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    base_url: String,
}

impl OpenAiClient {
    /// A client of the API at `base_url` (`http://host:port`), giving up on a request after
    /// `timeout`.
    pub fn new(base_url: String, timeout: Duration) -> reqwest::Result<Self> {
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(OpenAiClient { http, base_url })
    }
}

impl Provider for OpenAiClient {
    async fn complete(&self, model: Model, prompt: &str) -> Result<Completion, ProviderError> {
        let body = json!({
            "model": model.api_name(),
            "messages": [{ "role": "user", "content": prompt }],
        });
        let response = self
            .http
            .post(format!("{}/v1/chat/completions", self.base_url))
            .json(&body)
            .send()
            .await
            .map_err(ProviderError::Transport)?;
        let status = response.status();
        if !status.is_success() {
            let headers = response.headers().clone();
            return Err(ProviderError::Status { status, headers });
        }
        let answer: serde_json::Value = response.json().await.map_err(ProviderError::Transport)?;
        let text = answer
            .pointer("/choices/0/message/content")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        Ok(Completion {
            model: model.api_name().to_owned(),
            text: text.to_owned(),
        })
    }
}

/// What a failed completion says about the model, as `breaker::http` reads an LLM
/// provider's answer: a 429 is a rate limit with the delay the provider gave (not an
/// outage); 5xx (529 included) and 408 are failures, lasting as long as a `Retry-After`
/// says when there is one; a request the provider rightly refused (400, 404, 422) says
/// nothing about the model; refused credentials are the breaker's `credential_errors`
/// to judge. No answer at all is a failure: the model (or the way to it) is down.
pub fn classify(error: &ProviderError) -> Verdict {
    match error {
        ProviderError::Status { status, headers } => {
            breaker::http::classify_status(*status, headers, SystemTime::now())
        }
        ProviderError::Transport(_) => Verdict::Failure,
        // Not sent: nothing to say about the model.
        ProviderError::Rejected(_) => Verdict::Ignored,
    }
}

/// The breaker of `model` in a guarded provider.
pub fn breaker_of<P>(provider: &ProviderBreaker<P>, model: Model) -> &CircuitBreaker {
    provider.complete_breakers().breaker(&model)
}

/// Asks `model` to complete `prompt` and, while the model asked cannot answer (its circuit is
/// open, it is rate limited: see [`ProviderError::moves_on`]), its fallback. Returns every
/// model asked with its answer, the last one first: the answer the caller gets.
pub async fn complete_with_fallback(
    provider: &impl Provider,
    model: Model,
    prompt: &str,
) -> Vec<(Model, Result<Completion, ProviderError>)> {
    let mut asked = Vec::new();
    let mut next = Some(model);
    while let Some(model) = next {
        let answer = provider.complete(model, prompt).await;
        next = match &answer {
            Err(error) if error.moves_on() => model.fallback(),
            _ => None,
        };
        asked.push((model, answer));
    }
    asked.reverse();
    asked
}
