//! In-process API tests of the simulator: one binary, a module per area.

// Test code: a panic here is a failed test, not a crashed server; helpers are `pub` for
// the test modules of this one binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    unreachable_pub
)]

mod bill;
mod faults;
mod flow;
mod helpers;
mod login;
mod notify;
mod pay;
mod payer;
mod refund;
mod v3;
mod v3_helpers;
