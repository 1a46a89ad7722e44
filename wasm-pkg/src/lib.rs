//! wxpay-wasm: the wxpay core for JavaScript (the `wxpay-sign` npm package).
//!
//! The raw exports here take compact inputs from the JS wrapper (`js/api.js`, which is
//! what users call): one crossing per call instead of one per field. The hot calls read a
//! frame the wrapper wrote into a scratch buffer in wasm memory (`frame.rs`,
//! `scratch.rs`); the others take packed text (`packed.rs`). Errors are real JS `Error`s
//! with a `code` property and the core's message.

#[cfg(feature = "v2")]
pub mod codec;
pub mod errors;
pub mod explain;
#[cfg(feature = "v2")]
pub mod frame;
pub mod packed;
#[cfg(feature = "push")]
pub mod push;
#[cfg(feature = "v2")]
pub mod scratch;
#[cfg(feature = "v2")]
pub mod signing;
mod utf16;
#[cfg(feature = "v3")]
pub mod v3;
