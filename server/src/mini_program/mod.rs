//! The Mini Program's side of WeChat (not WeChat Pay): the access_token every instance
//! shares. Uses the shared state and the layers below it.

pub(crate) mod access_token;
