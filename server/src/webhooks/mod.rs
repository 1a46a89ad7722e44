//! Webhooks: the outbox's events rendered (`payload`), signed per the Standard Webhooks
//! specification (`signature`) and delivered at least once, with retries, by a task on
//! every instance (`deliver`); the bodies are described for the OpenAPI document (`schema`). The events themselves are written by the store, in the
//! transaction of the change that causes them.
//!
//! Uses the layers below (`state`, `store`, `config`, `base`); the HTTP layer (the
//! events API) and the application (which starts the deliverer) use it.

pub mod deliver;
pub mod payload;
pub mod schema;
pub mod signature;
