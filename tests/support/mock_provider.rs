//! An OpenAI-compatible mock LLM provider over real HTTP on loopback: `POST
//! /v1/chat/completions` with `{"model": ..., "messages": [...]}`, answered in OpenAI's
//! response shape, or with the error a [`Behaviour`] says.
//!
//! What each model does is either a timeline, read from the server's own clock since its
//! start (the demo's schedule), or set by hand through the handle (a test's phases, so that
//! no test waits on the wall clock for a state). The server counts the requests it received
//! per model: what reached it, whatever the client believes.
//!
//! Shared by `examples/llm_provider` and the `llm_provider` integration test.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// How a 429 says when to come back: each provider has its own header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitHint {
    /// `Retry-After: <seconds>`.
    RetryAfterSecs(u64),
    /// `retry-after-ms: <milliseconds>`.
    RetryAfterMs(u64),
    /// OpenAI's `x-ratelimit-reset-requests`, in its duration form (`1s`, `6m0s`).
    ResetRequests(&'static str),
}

/// What a model answers to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// 200 with a completion.
    Up,
    /// 503, with `Retry-After: <seconds>` when given.
    Down { retry_after_secs: Option<u64> },
    /// Never answers: the client's timeout ends the call.
    Hangs,
    /// 529, Anthropic's "overloaded".
    Overloaded,
    /// 429 with the given hint.
    RateLimited(RateLimitHint),
}

/// A model's behaviour from each instant on, counted from the server's start.
pub type Timeline = Vec<(Duration, Behaviour)>;

/// What a model does: a timeline, or what the handle last set.
#[derive(Debug, Clone)]
enum Plan {
    Timeline(Timeline),
    Fixed(Behaviour),
}

impl Plan {
    fn at(&self, elapsed: Duration) -> Behaviour {
        match self {
            Plan::Fixed(behaviour) => *behaviour,
            // The last step that has begun; `Up` before the first.
            Plan::Timeline(steps) => steps
                .iter()
                .take_while(|(from, _)| *from <= elapsed)
                .last()
                .map_or(Behaviour::Up, |(_, behaviour)| *behaviour),
        }
    }
}

/// The server's shared state.
#[derive(Debug)]
struct Provider {
    started: Instant,
    plans: Mutex<HashMap<String, Plan>>,
    /// Requests received per model (only the models served: an unknown name gets a 404
    /// and no entry).
    received: Mutex<HashMap<String, Received>>,
}

/// The statuses kept per model: enough for a test's phases, bounded for a long demo.
pub const RECORDED: usize = 1_024;

/// What one model received.
#[derive(Debug, Default)]
struct Received {
    count: usize,
    /// The status answered to each of the first [`RECORDED`] requests (`None`: left
    /// hanging).
    statuses: Vec<Option<u16>>,
}

/// A running mock provider: dropping it stops the server.
#[derive(Debug)]
pub struct MockProvider {
    addr: SocketAddr,
    state: Arc<Provider>,
    server: tokio::task::JoinHandle<()>,
}

impl MockProvider {
    /// Starts the server on `127.0.0.1`, on a port of the system's choosing, serving
    /// `models` (every one `Up` until its plan says otherwise). Must be called inside a
    /// tokio runtime.
    pub async fn start<'a>(models: impl IntoIterator<Item = &'a str>) -> std::io::Result<Self> {
        let plans = models
            .into_iter()
            .map(|model| (model.to_owned(), Plan::Fixed(Behaviour::Up)))
            .collect();
        let state = Arc::new(Provider {
            started: Instant::now(),
            plans: Mutex::new(plans),
            received: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .with_state(Arc::clone(&state));
        let server = tokio::spawn(async move {
            // Serving ends only with an I/O error on the listener, or when the task is
            // aborted (the handle dropped).
            let _ = axum::serve(listener, app).await;
        });
        Ok(MockProvider {
            addr,
            state,
            server,
        })
    }

    /// The base URL to give a client: `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, `model` does what `timeline` says, counted from the server's start.
    pub fn follow(&self, model: &str, timeline: Timeline) {
        self.set_plan(model, Plan::Timeline(timeline));
    }

    /// From now on, `model` answers every request as `behaviour` says.
    pub fn set(&self, model: &str, behaviour: Behaviour) {
        self.set_plan(model, Plan::Fixed(behaviour));
    }

    fn set_plan(&self, model: &str, plan: Plan) {
        self.state
            .plans
            .lock()
            .unwrap()
            .insert(model.to_owned(), plan);
    }

    /// How many requests for `model` reached the server.
    pub fn requests(&self, model: &str) -> usize {
        let received = self.state.received.lock().unwrap();
        received.get(model).map_or(0, |received| received.count)
    }

    /// The status answered to each request for `model` that reached the server, in order
    /// (`None`: left hanging); the first [`RECORDED`] only, so that a long run stays
    /// bounded.
    pub fn answered(&self, model: &str) -> Vec<Option<u16>> {
        let received = self.state.received.lock().unwrap();
        received
            .get(model)
            .map(|received| received.statuses.clone())
            .unwrap_or_default()
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn chat_completions(State(provider): State<Arc<Provider>>, body: Json<Value>) -> Response {
    match respond(&provider, &body) {
        Some(response) => response,
        // Left hanging: the client's timeout ends the call (and the connection with it).
        None => std::future::pending().await,
    }
}

/// The answer to a request, or `None` to leave it hanging.
fn respond(provider: &Provider, body: &Value) -> Option<Response> {
    let Some(model) = body.get("model").and_then(Value::as_str) else {
        let response = error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "`model` is required",
        );
        return Some(response);
    };
    let plan = provider.plans.lock().unwrap().get(model).cloned();
    let Some(plan) = plan else {
        let message = format!("The model `{model}` does not exist");
        return Some(error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &message,
        ));
    };
    let behaviour = plan.at(provider.started.elapsed());
    let status = match behaviour {
        Behaviour::Up => StatusCode::OK,
        Behaviour::Down { .. } => StatusCode::SERVICE_UNAVAILABLE,
        Behaviour::Hangs => StatusCode::REQUEST_TIMEOUT, // never sent: recorded as `None`
        Behaviour::Overloaded => StatusCode::from_u16(529).expect("529 is a valid status"),
        Behaviour::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
    };
    let answered = (behaviour != Behaviour::Hangs).then_some(status.as_u16());
    let mut all_received = provider.received.lock().unwrap();
    let received = all_received.entry(model.to_owned()).or_default();
    received.count += 1;
    if received.statuses.len() < RECORDED {
        received.statuses.push(answered);
    }
    drop(all_received);

    let response = match behaviour {
        Behaviour::Up => Json(completion(model, body)).into_response(),
        Behaviour::Down { retry_after_secs } => {
            let response = error(
                status,
                "server_error",
                "The server is temporarily unavailable",
            );
            match retry_after_secs {
                Some(secs) => with_header(response, "retry-after", &secs.to_string()),
                None => response,
            }
        }
        Behaviour::Hangs => return None,
        Behaviour::Overloaded => error(status, "overloaded_error", "Overloaded"),
        Behaviour::RateLimited(hint) => {
            let response = error(
                status,
                "rate_limit_error",
                "Rate limit reached for requests",
            );
            match hint {
                RateLimitHint::RetryAfterSecs(secs) => {
                    with_header(response, "retry-after", &secs.to_string())
                }
                RateLimitHint::RetryAfterMs(ms) => {
                    with_header(response, "retry-after-ms", &ms.to_string())
                }
                RateLimitHint::ResetRequests(reset) => {
                    with_header(response, "x-ratelimit-reset-requests", reset)
                }
            }
        }
    };
    Some(response)
}

/// A completion in OpenAI's shape, echoing the length of the last message.
fn completion(model: &str, body: &Value) -> Value {
    let prompt = body
        .pointer("/messages")
        .and_then(Value::as_array)
        .and_then(|messages| messages.last())
        .and_then(|message| message.get("content"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": format!("{model} read {} characters", prompt.len()),
            },
            "finish_reason": "stop",
        }],
        "usage": { "prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2 },
    })
}

/// An error in OpenAI's shape.
fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({ "error": { "message": message, "type": kind, "code": null } });
    (status, Json(body)).into_response()
}

fn with_header(mut response: Response, name: &'static str, value: &str) -> Response {
    let value = HeaderValue::from_str(value).expect("the mock's header values are ASCII");
    response
        .headers_mut()
        .insert(HeaderName::from_static(name), value);
    response
}
