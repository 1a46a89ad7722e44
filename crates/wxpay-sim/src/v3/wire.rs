//! API v3 replies as WeChat sends them: JSON (or 204), signed with the key the merchant's
//! mode picks (`Wechatpay-*` headers over `timestamp\nnonce\nbody\n`), and errors as
//! `{code, message, detail}`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::{Value, json};
use wxpay_core::v3::request::SCHEMA;
use wxpay_core::v3::verify::signed_message;

use super::account::SigningKey;
use crate::ids;
use crate::state::Sim;

/// A v3 error reply: HTTP status, WeChat's code and message, and an optional `detail`.
#[derive(Debug, Clone)]
pub(crate) struct V3Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<Value>,
}

impl V3Error {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> V3Error {
        V3Error {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            message: message.into(),
            detail: None,
        }
    }

    pub(crate) fn with_detail(mut self, detail: Value) -> V3Error {
        self.detail = Some(detail);
        self
    }

    /// 400 `PARAM_ERROR` about one body field, with WeChat's `detail` shape.
    pub(crate) fn param(field: &str, issue: impl Into<String>) -> V3Error {
        let issue = issue.into();
        V3Error::new(400, "PARAM_ERROR", format!("参数错误: {field} {issue}"))
            .with_detail(json!({ "field": field, "location": "body", "issue": issue }))
    }

    /// 400 `INVALID_REQUEST`.
    pub(crate) fn invalid(message: impl Into<String>) -> V3Error {
        V3Error::new(400, "INVALID_REQUEST", message)
    }

    fn body(&self) -> String {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let (Some(detail), Some(object)) = (&self.detail, body.as_object_mut()) {
            object.insert("detail".to_owned(), detail.clone());
        }
        body.to_string()
    }
}

/// A successful v3 reply.
#[derive(Debug)]
pub(crate) enum Answer {
    Json(Value),
    NoContent,
    /// A file download (bills): sent as it is, **not signed**, as WeChat does.
    File(Vec<u8>),
}

/// What a reply carries before it is signed.
pub(crate) struct Unsigned {
    status: StatusCode,
    body: String,
}

impl Unsigned {
    pub(crate) fn from_result(result: Result<Answer, V3Error>) -> Unsigned {
        match result {
            Ok(Answer::Json(value)) => Unsigned {
                status: StatusCode::OK,
                body: value.to_string(),
            },
            Ok(Answer::NoContent) => Unsigned {
                status: StatusCode::NO_CONTENT,
                body: String::new(),
            },
            // `handle` sends files itself; here only for completeness.
            Ok(Answer::File(bytes)) => Unsigned {
                status: StatusCode::OK,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            },
            Err(error) => Unsigned {
                status: error.status,
                body: error.body(),
            },
        }
    }

    /// Signed with `key`; `corrupt` (the `bad_sign` fault) sends a believable wrong
    /// signature instead.
    pub(crate) fn signed(self, sim: &Sim, key: SigningKey<'_>, corrupt: bool) -> HttpResponse {
        let (nonce, request_id) = {
            let mut state = sim.state();
            (ids::nonce(&mut state.rng), ids::request_id(&mut state.rng))
        };
        let timestamp = crate::clock::now().unix_timestamp().to_string();
        let mut signature = signature(key, &timestamp, &nonce, self.body.as_bytes());
        if corrupt {
            signature = corrupt_signature(&signature);
        }
        let mut response = HttpResponse::build(self.status);
        response
            .insert_header(("Request-ID", request_id))
            .insert_header(("Wechatpay-Nonce", nonce))
            .insert_header(("Wechatpay-Timestamp", timestamp))
            .insert_header(("Wechatpay-Serial", key.serial.to_owned()))
            .insert_header(("Wechatpay-Signature", signature))
            .insert_header(("Wechatpay-Signature-Type", SCHEMA));
        if self.status == StatusCode::NO_CONTENT {
            response.finish()
        } else {
            response
                .content_type("application/json; charset=utf-8")
                .body(self.body)
        }
    }

    /// Unsigned (the caller is unknown, so there is no key to sign for it with).
    pub(crate) fn unsigned(self, sim: &Sim) -> HttpResponse {
        let request_id = ids::request_id(&mut sim.state().rng);
        HttpResponse::build(self.status)
            .insert_header(("Request-ID", request_id))
            .content_type("application/json; charset=utf-8")
            .body(self.body)
    }
}

/// `Wechatpay-Signature`: `timestamp\nnonce\nbody\n` signed with `key`.
pub(crate) fn signature(key: SigningKey<'_>, timestamp: &str, nonce: &str, body: &[u8]) -> String {
    // aws-lc-rs signing with a key it loaded itself does not fail; an empty signature
    // would simply not verify.
    key.key
        .sign_base64(&signed_message(timestamp, nonce, body))
        .unwrap_or_default()
}

/// A wrong signature of the right length and alphabet.
pub(crate) fn corrupt_signature(signature: &str) -> String {
    let mut bytes = signature.as_bytes().to_vec();
    if let Some(first) = bytes.first_mut() {
        *first = if *first == b'A' { b'B' } else { b'A' };
    }
    String::from_utf8(bytes).unwrap_or_default()
}
