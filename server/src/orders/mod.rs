//! Orders: the product catalog, pricing a cart from it (never from the client), and
//! creating an order with its prepay. Uses `payments` and the layers below it.

pub mod catalog;
pub(crate) mod create;
pub(crate) mod pricing;
