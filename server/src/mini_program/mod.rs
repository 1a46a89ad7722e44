//! The Mini Program's side of WeChat (not WeChat Pay): the access_token every instance
//! shares, the order-shipping service's uploads and the message push that carries its
//! events. Uses the shared state and the layers below it.

pub(crate) mod access_token;
pub(crate) mod auto_virtual;
pub(crate) mod push;
pub(crate) mod shipping;
