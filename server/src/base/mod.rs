//! The ground floor: time (`clock`), order numbers, nonces and tokens (`ids`), per-key
//! locks, logging, and `ApiError`, the refusal every layer answers with. It uses nothing
//! else of the server.

pub mod clock;
pub mod error;
pub mod ids;
pub mod keyed_locks;
pub mod telemetry;
