//! wxpay-server: the developer server of a Mini Program's login and WeChat Pay flow.
//!
//! `app::Application::build` wires configuration, storage (SQLite or PostgreSQL), the
//! WeChat clients and the routes; `main.rs` only runs the CLI.
//!
//! The folders are layers, listed here from the bottom up. Imports point down: a module
//! uses the layers below it and never one above (`layer_rule` fails the build's tests
//! on an import that runs back up). Each folder's own comment says what it owns.

// Layer 1: what everything may use.
pub mod base;
pub mod config;
// Layer 2: the database.
pub mod store;
// Layer 3: WeChat Pay, v2 and v3 behind one type.
pub mod wechat;
// Layer 4: what every handler and job is handed.
pub mod state;
// Layer 5: the domain, each folder using only those listed before it.
pub mod mini_program;
pub mod orders;
pub mod payments;
pub mod reconciliation;
pub mod refunds;
pub mod webhooks;
// Layer 6: HTTP.
pub mod http;
// Layer 7: the application, built and run.
pub mod app;
// Layer 8: the `wxpay` command.
pub mod ops;

#[cfg(test)]
mod layer_rule;

pub use app::{AppHandle, Application, PublicUrl};
pub use config::{NOTIFY_PATH, NOTIFY_PATH_V3, REFUND_NOTIFY_PATH, REFUND_NOTIFY_PATH_V3};
