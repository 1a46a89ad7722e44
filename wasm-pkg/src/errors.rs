//! JS errors: `Error` objects with a stable `code` and the core's message.

use wasm_bindgen::JsValue;

/// An error for JavaScript. Natively (tests) it stays a plain value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxError {
    pub code: &'static str,
    pub message: String,
}

impl WxError {
    pub fn new(code: &'static str, message: impl Into<String>) -> WxError {
        WxError {
            code,
            message: message.into(),
        }
    }
}

impl From<WxError> for JsValue {
    fn from(error: WxError) -> JsValue {
        let js = js_sys::Error::new(&error.message);
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(
            &js,
            &JsValue::from_str("code"),
            &JsValue::from_str(error.code),
        );
        js.into()
    }
}

pub fn key(key: &str) -> Result<wxpay_core::ApiKey, WxError> {
    wxpay_core::ApiKey::new(key).map_err(|e| WxError::new("INVALID_KEY", e.to_string()))
}

pub fn sign_type(name: Option<&str>) -> Result<Option<wxpay_core::v2::SignType>, WxError> {
    match name {
        None | Some("") => Ok(None),
        Some(name) => name.parse().map(Some).map_err(|_| {
            WxError::new(
                "INVALID_SIGN_TYPE",
                "signType must be \"MD5\" or \"HMAC-SHA256\"",
            )
        }),
    }
}

/// Whole seconds from JavaScript (Unix seconds, an age) in range, else `message`: a `now`
/// in milliseconds would silently pass every window check.
pub fn whole_seconds(value: f64, message: &'static str) -> Result<i64, WxError> {
    if value.is_finite() && value.fract() == 0.0 && (0.0..1e11).contains(&value) {
        #[allow(clippy::cast_possible_truncation)]
        Ok(value as i64)
    } else {
        Err(WxError::new("INVALID_OPTIONS", message))
    }
}
