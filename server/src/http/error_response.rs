//! An `ApiError` as the client sees it: its status, `Retry-After` for rate limits, and
//! JSON `{code, message, order_no?}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::base::error::ApiError;

/// An error: a stable `code` to branch on and a `message` for people.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ErrorBody<'a> {
    /// e.g. `INVALID_JSON`, `ORDER_NOT_FOUND`, `RATE_LIMITED`.
    code: &'a str,
    /// What is wrong, and what to do.
    message: &'a str,
    /// The order it is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    order_no: Option<&'a str>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        response.json(ErrorBody {
            code: self.code,
            message: &self.message,
            order_no: self.order_no.as_deref(),
        })
    }
}
