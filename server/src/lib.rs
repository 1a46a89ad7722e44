//! wxpay-server: the developer server of a Mini Program's login and WeChat Pay flow.
//!
//! `Application::build` wires configuration, storage (SQLite or PostgreSQL), the WeChat
//! clients and the routes; `main.rs` only runs the CLI.

mod access_log;
mod access_token;
mod auth;
pub mod catalog;
pub mod cli;
mod cli_explain;
mod cli_v3;
pub mod clock;
pub mod config;
pub mod config_tls;
pub mod config_v3;
pub mod doctor;
mod doctor_keys;
mod doctor_online;
mod error;
pub mod gateway;
mod ids;
pub mod keyed_locks;
pub mod limits;
pub mod metrics;
mod payments;
pub mod reconciler;
mod reconciliation;
mod refunds;
mod routes;
pub mod sandbox;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;

pub use routes::{NOTIFY_PATH, NOTIFY_PATH_V3, REFUND_NOTIFY_PATH, REFUND_NOTIFY_PATH_V3};
pub use startup::{AppHandle, Application, PublicUrl};
