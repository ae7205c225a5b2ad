//! Orders through an async `state_machine!` table with superstates, entry and exit actions,
//! state data and hooks.
//!
//! The example starts the shop's services (a payment provider, a warehouse and a carrier)
//! over real HTTP on `127.0.0.1`, prints the table's Mermaid diagram, then runs four orders:
//! one delivered (with an internal transition, a self-transition and a refused
//! cancellation), one whose card is declined, one cancelled while packed, and one whose
//! shipment is dropped while the carrier hangs, then retried. Every guard result, action and
//! transition prints as it happens, from the context's actions and hooks.
//!
//! No network outside loopback.
//!
//! ```text
//! cargo run --example order_workflow
//! ```

mod services;
mod shop;

use shop::{Order, run_orders};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let services = services::Services::start().await?;
    println!("```mermaid\n{}```", Order::mermaid());
    println!("\nthe shop's services on {}", services.base_url());
    run_orders(&services, true).await?;
    println!(
        "\ncaptured {} cents, refunded {}, {} parcels, {} bookings reached the carrier",
        services.captured_cents(),
        services.refunded_cents(),
        services.parcels(),
        services.bookings_received()
    );
    Ok(())
}
