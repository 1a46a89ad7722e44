//! The top floor: the `wxpay` command and its operator tools (serve, the sandbox,
//! migrate, doctor, explain, sign, verify-notify, reconcile). It may use every layer;
//! nothing uses it.

pub mod cli;
pub mod doctor;
mod explain;
mod explain_push;
mod io;
pub mod sandbox;
pub mod sandbox_merchants;
mod serve;
mod sign_v2;
mod sign_v3;
