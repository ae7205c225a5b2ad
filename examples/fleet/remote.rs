//! The remote the fleet calls: one model behind a small OpenAI-shaped HTTP server on
//! loopback (axum, on a port of the system's choosing) that goes down for a while, then
//! recovers. It logs every request it receives: when, from which instance, whether the
//! caller sent it as a half-open probe, and whether it answered 200: what reached the
//! remote, whatever the callers believe.
//!
//! Shared by the fleet example and its integration test (`tests/fleet`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

/// The header naming the instance that sent a request.
pub const INSTANCE_HEADER: &str = "x-fleet-instance";
/// The header a caller sets on a half-open probe (any value).
pub const PROBE_HEADER: &str = "x-fleet-probe";

/// One request the remote received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// When it arrived.
    pub at: Instant,
    /// The instance that sent it (`u32::MAX` if it did not say).
    pub instance: u32,
    /// Whether its caller sent it as a half-open probe.
    pub probe: bool,
    /// Whether the remote answered 200 (else 503: it was down).
    pub ok: bool,
}

/// The requests received, the first `capacity` of them kept: a long run stays bounded.
#[derive(Debug)]
pub struct Log {
    kept: Vec<Request>,
    capacity: usize,
    received: u64,
}

impl Log {
    /// An empty log keeping at most `capacity` requests.
    pub fn new(capacity: usize) -> Self {
        Self {
            kept: Vec::new(),
            capacity,
            received: 0,
        }
    }

    /// Counts `request`, and keeps it if there is room.
    pub fn push(&mut self, request: Request) {
        self.received += 1;
        if self.kept.len() < self.capacity {
            self.kept.push(request);
        }
    }

    /// The requests kept, in the order they arrived.
    pub fn kept(&self) -> &[Request] {
        &self.kept
    }

    /// How many requests arrived, kept or not.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether some requests arrived when the log was full (so `kept` is not all of them).
    pub fn truncated(&self) -> bool {
        self.received > self.kept.len() as u64
    }
}

/// How many requests a remote keeps in its log: far more than a run of the example sends.
pub const LOG_CAPACITY: usize = 200_000;

/// The server's shared state.
#[derive(Debug)]
struct Shared {
    /// Down from the first instant until the second.
    outage: Mutex<Option<(Instant, Instant)>>,
    log: Mutex<Log>,
}

/// A running remote: dropping it stops the server.
#[derive(Debug)]
pub struct FlakyRemote {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl FlakyRemote {
    /// Starts the server on `127.0.0.1`, up until [`go_down`](Self::go_down) says otherwise.
    /// Must be called inside a tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            outage: Mutex::new(None),
            log: Mutex::new(Log::new(LOG_CAPACITY)),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            // Serving ends only with an I/O error on the listener, or when the task is
            // aborted (the handle dropped).
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    /// The URL to post completions to.
    pub fn url(&self) -> String {
        format!("http://{}/v1/chat/completions", self.addr)
    }

    /// Answers 503 to every request from `from` until `until`, 200 otherwise.
    pub fn go_down(&self, from: Instant, until: Instant) {
        *self.shared.outage.lock().unwrap() = Some((from, until));
    }

    /// The requests received so far, and whether some were left out of the log.
    pub fn requests(&self) -> (Vec<Request>, bool) {
        let log = self.shared.log.lock().unwrap();
        (log.kept().to_vec(), log.truncated())
    }
}

impl Drop for FlakyRemote {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn chat_completions(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let at = Instant::now();
    let down = shared
        .outage
        .lock()
        .unwrap()
        .is_some_and(|(from, until)| from <= at && at < until);
    let instance = headers
        .get(INSTANCE_HEADER)
        .and_then(|value| value.to_str().ok()?.parse().ok())
        .unwrap_or(u32::MAX);
    shared.log.lock().unwrap().push(Request {
        at,
        instance,
        probe: headers.contains_key(PROBE_HEADER),
        ok: !down,
    });
    if down {
        let body = json!({ "error": {
            "message": "The server is temporarily unavailable",
            "type": "server_error",
            "code": null,
        }});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let body = json!({
        "id": "chatcmpl-fleet",
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": "ok" },
            "finish_reason": "stop",
        }],
    });
    Json(body).into_response()
}
