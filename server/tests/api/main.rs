//! API tests: the real application on port 0 with an in-process WeChat simulator. Every
//! test runs on SQLite and on PostgreSQL (see `on_both_databases!`).

// Test code: a panic here is a failed test, not a crashed server; helpers are `pub` for
// the test modules, and shared with the storm, chaos and secrets binaries (so some are
// unused here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stdout,
    unreachable_pub,
    dead_code
)]

mod helpers;
mod receiver;

mod access;
mod adversarial;
mod bills;
mod flow;
mod hardening;
mod killed_connections;
mod me;
mod merchant;
mod merchants;
mod money;
mod notify;
mod openapi;
mod ops;
mod orders;
mod reconcile;
mod refunds;
mod shipping;
mod v3;
mod webhooks;
mod wechat_faults;
