//! The services an order calls, over real HTTP on loopback: a payment provider, a warehouse
//! and a carrier, one axum server on `127.0.0.1` on a port of the system's choosing.
//!
//! - `POST /payments/authorize {"cents"}` answers `{"approved"}`: a card is declined above
//!   [`CARD_LIMIT_CENTS`].
//! - `POST /payments/capture {"cents"}` and `POST /payments/refund {"cents"}` move money.
//! - `POST /warehouse/parcels` answers `{"parcel"}`, a new parcel number (1, 2, ...).
//! - `POST /carrier/bookings {"parcel"}` answers `{"tracking"}`, or, while the carrier
//!   [hangs](Services::set_carrier_hangs), never answers.
//!
//! The server keeps totals, not a log of requests, so that it stays small however long it
//! runs. Shared by the `order_workflow` example and its test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The largest payment the payment provider approves, in cents.
pub const CARD_LIMIT_CENTS: u32 = 100_000;

/// What the services have done so far.
#[derive(Debug, Default)]
struct Ledger {
    captured_cents: AtomicU64,
    refunded_cents: AtomicU64,
    parcels: AtomicU32,
    bookings_received: AtomicU32,
    carrier_hangs: AtomicBool,
    /// Signalled when a booking arrives while the carrier hangs (a permit is kept when no
    /// one waits yet, so the signal is not lost to a late waiter).
    hanging_booking: Notify,
}

/// The running services: dropping this stops the server.
#[derive(Debug)]
pub struct Services {
    addr: SocketAddr,
    ledger: Arc<Ledger>,
    server: tokio::task::JoinHandle<()>,
}

impl Services {
    /// Starts the server on `127.0.0.1`, on a port of the system's choosing. Must be called
    /// inside a tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        let ledger = Arc::new(Ledger::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .route("/payments/authorize", post(authorize))
            .route("/payments/capture", post(capture))
            .route("/payments/refund", post(refund))
            .route("/warehouse/parcels", post(new_parcel))
            .route("/carrier/bookings", post(book))
            .with_state(Arc::clone(&ledger));
        let server = tokio::spawn(async move {
            // Serving ends only with an I/O error on the listener, or when the task is
            // aborted (the handle dropped).
            let _ = axum::serve(listener, app).await;
        });
        Ok(Services {
            addr,
            ledger,
            server,
        })
    }

    /// The base URL to give a client: `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, the carrier leaves every booking unanswered (`true`) or answers it.
    pub fn set_carrier_hangs(&self, hangs: bool) {
        self.ledger.carrier_hangs.store(hangs, Ordering::SeqCst);
    }

    /// Resolves once a booking has reached the carrier while it hangs: the caller is then
    /// in the middle of its request.
    pub async fn hanging_booking(&self) {
        self.ledger.hanging_booking.notified().await;
    }

    /// The money captured so far, in cents.
    pub fn captured_cents(&self) -> u64 {
        self.ledger.captured_cents.load(Ordering::SeqCst)
    }

    /// The money refunded so far, in cents.
    pub fn refunded_cents(&self) -> u64 {
        self.ledger.refunded_cents.load(Ordering::SeqCst)
    }

    /// The parcels the warehouse has opened.
    pub fn parcels(&self) -> u32 {
        self.ledger.parcels.load(Ordering::SeqCst)
    }

    /// The bookings that reached the carrier, answered or not.
    pub fn bookings_received(&self) -> u32 {
        self.ledger.bookings_received.load(Ordering::SeqCst)
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.server.abort();
    }
}

type Shared = State<Arc<Ledger>>;

/// The `cents` of a request body; a body without them is worth nothing.
fn cents(body: &Value) -> u32 {
    body["cents"]
        .as_u64()
        .and_then(|cents| u32::try_from(cents).ok())
        .unwrap_or(0)
}

async fn authorize(Json(body): Json<Value>) -> Json<Value> {
    Json(json!({ "approved": cents(&body) <= CARD_LIMIT_CENTS }))
}

async fn capture(State(ledger): Shared, Json(body): Json<Value>) -> Json<Value> {
    let cents = u64::from(cents(&body));
    ledger.captured_cents.fetch_add(cents, Ordering::SeqCst);
    Json(json!({ "captured": cents }))
}

async fn refund(State(ledger): Shared, Json(body): Json<Value>) -> Json<Value> {
    let cents = u64::from(cents(&body));
    ledger.refunded_cents.fetch_add(cents, Ordering::SeqCst);
    Json(json!({ "refunded": cents }))
}

async fn new_parcel(State(ledger): Shared) -> Json<Value> {
    let parcel = ledger.parcels.fetch_add(1, Ordering::SeqCst) + 1;
    Json(json!({ "parcel": parcel }))
}

async fn book(State(ledger): Shared, Json(body): Json<Value>) -> Json<Value> {
    ledger.bookings_received.fetch_add(1, Ordering::SeqCst);
    if ledger.carrier_hangs.load(Ordering::SeqCst) {
        ledger.hanging_booking.notify_one();
        // The client gives up first; the connection's task ends with the server.
        std::future::pending::<()>().await;
    }
    let parcel = body["parcel"].as_u64().unwrap_or(0);
    Json(json!({ "tracking": format!("TRK-{parcel:04}") }))
}
