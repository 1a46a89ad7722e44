//! XML, notify verification, payment params and decryption for JavaScript. Structured
//! results cross as packed text (one crossing; the wrapper turns it into an object):
//! this keeps a JSON library, and its float formatting, out of the wasm.

use wasm_bindgen::prelude::*;
use wxpay_core::SessionKey;
use wxpay_core::miniprogram::{
    UserDataError, decrypt_user_data_text, raw_data_signature, session_signature,
};
use wxpay_core::v2::RequestPayment;
use wxpay_core::v2::notify::{NotifyError, verify_pay_notify};
use wxpay_core::v2::refund::decrypt_refund_info;
use wxpay_core::v2::xml::{self, XmlError};

use crate::errors::{self, WxError};
use crate::frame::{self, Frame};
use crate::packed::{pack_pairs, push};

fn xml_error(error: &XmlError) -> WxError {
    let code = match error {
        XmlError::DocType => "XML_DOCTYPE",
        XmlError::Entity(_) => "XML_ENTITY",
        XmlError::TooLarge { .. } => "XML_TOO_LARGE",
        _ => "INVALID_XML",
    };
    WxError::new(code, error.to_string())
}

/// The fields as a list output (`frame::list`): key, value, key, value...
pub fn parse(xml_text: &str) -> Result<Vec<u8>, WxError> {
    let params = xml::parse(xml_text.as_bytes()).map_err(|e| xml_error(&e))?;
    Ok(frame::list(&params))
}

pub fn encode(frame: Frame<'_>) -> Result<String, WxError> {
    xml::to_xml(&frame.params()?).map_err(|e| xml_error(&e))
}

/// The verified fields as a list output, as [`parse`].
pub fn verify_notify(xml_text: &str, key: &str, sign_type: &str) -> Result<Vec<u8>, WxError> {
    let key = errors::key(key)?;
    let expected = errors::sign_type(Some(sign_type))?;
    let notify = verify_pay_notify(xml_text.as_bytes(), &key, expected).map_err(|e| {
        let code = match &e {
            NotifyError::Xml(x) => return xml_error(x),
            NotifyError::Signature(_) => "BAD_SIGNATURE",
            NotifyError::ReturnFail { .. } => "RETURN_FAIL",
            NotifyError::ResultFail { .. } => "RESULT_FAIL",
            NotifyError::MissingField(_) | NotifyError::InvalidField { .. } => "INVALID_NOTIFY",
        };
        WxError::new(code, e.to_string())
    })?;
    Ok(frame::list(notify.params()))
}

pub fn refund_info(req_info: &str, key: &str) -> Result<String, WxError> {
    let key = errors::key(key)?;
    let info = decrypt_refund_info(req_info, &key)
        .map_err(|e| WxError::new("DECRYPT_FAILED", e.to_string()))?;
    Ok(pack_pairs(info.params().iter()))
}

/// The decrypted JSON text. The appid check on `watermark` happens in the JS wrapper,
/// after the engine's `JSON.parse` (no JSON library in the wasm).
pub fn user_data(encrypted: &str, session_key: &str, iv: &str) -> Result<String, WxError> {
    let session_key = self::session_key(session_key)?;
    decrypt_user_data_text(encrypted, &session_key, iv).map_err(|e| {
        let code = match e {
            UserDataError::Padding => "DECRYPT_FAILED",
            _ => "INVALID_INPUT",
        };
        WxError::new(code, e.to_string())
    })
}

pub fn payment(
    app_id: &str,
    prepay_id: &str,
    key: &str,
    sign_type: &str,
    nonce: &str,
    timestamp: f64,
) -> Result<String, WxError> {
    let key = errors::key(key)?;
    let sign_type = errors::sign_type(Some(sign_type))?.unwrap_or_default();
    if !(timestamp.is_finite() && timestamp >= 0.0 && timestamp.fract() == 0.0 && timestamp < 1e15)
    {
        return Err(WxError::new(
            "INVALID_TIMESTAMP",
            "timeStamp must be a whole number of seconds",
        ));
    }
    // Checked just above: a non-negative integer below 1e15 converts exactly.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let seconds = timestamp as u64;
    let params = RequestPayment::build(app_id, prepay_id, &key, sign_type, nonce, seconds)
        .map_err(|e| WxError::new("INVALID_PAYMENT_PARAMS", e.to_string()))?;
    let mut out = String::new();
    for value in [
        &params.time_stamp,
        &params.nonce_str,
        &params.package,
        &params.sign_type,
        &params.pay_sign,
    ] {
        push(&mut out, value);
    }
    Ok(out)
}

/// Input: the XML as one text.
#[wasm_bindgen(js_name = parseXmlScratch)]
pub fn parse_xml_scratch(text_len: usize, count: usize) -> Result<usize, JsValue> {
    crate::scratch::run(text_len, count, |frame| parse(frame.last()?))
}

/// Input: the params as key/value texts.
#[wasm_bindgen(js_name = toXmlScratch)]
pub fn to_xml_scratch(text_len: usize, count: usize) -> Result<usize, JsValue> {
    crate::scratch::run(text_len, count, encode)
}

/// Input: the texts `key`, `signType` and the XML.
#[wasm_bindgen(js_name = verifyPayNotifyScratch)]
pub fn verify_pay_notify_scratch(text_len: usize, count: usize) -> Result<usize, JsValue> {
    crate::scratch::run(text_len, count, |mut frame| {
        let key = frame.text()?;
        let sign_type = frame.text()?;
        verify_notify(frame.last()?, key, sign_type)
    })
}

#[wasm_bindgen(js_name = decryptRefundInfoRaw)]
pub fn decrypt_refund_info_raw(req_info: &str, key: &str) -> Result<String, JsValue> {
    Ok(refund_info(req_info, key)?)
}

#[wasm_bindgen(js_name = decryptUserDataRaw)]
pub fn decrypt_user_data_raw(
    encrypted: &str,
    session_key: &str,
    iv: &str,
) -> Result<String, JsValue> {
    Ok(user_data(encrypted, session_key, iv)?)
}

#[wasm_bindgen(js_name = buildPaymentParamsRaw)]
pub fn build_payment_params_raw(
    app_id: &str,
    prepay_id: &str,
    key: &str,
    sign_type: &str,
    nonce: &str,
    timestamp: f64,
) -> Result<String, JsValue> {
    Ok(payment(
        app_id, prepay_id, key, sign_type, nonce, timestamp,
    )?)
}

#[wasm_bindgen(js_name = checkPaymentParamsPacked)]
pub fn check_payment_params_packed(
    packed: &str,
    app_id: &str,
    key: &str,
    now_secs: f64,
) -> Result<JsValue, JsValue> {
    use crate::explain::{Api, check, run_packed, to_js};
    Ok(to_js(
        &run_packed(check, packed, app_id, key, now_secs)?,
        Api::V2,
    )?)
}

fn session_key(text: &str) -> Result<SessionKey, WxError> {
    SessionKey::from_base64(text).map_err(|e| WxError::new("INVALID_SESSION_KEY", e.to_string()))
}

/// rawData signature: lower-hex SHA1(rawData + session_key).
#[wasm_bindgen(js_name = rawDataSignature)]
pub fn raw_data_signature_js(raw_data: &str, key: &str) -> Result<String, JsValue> {
    Ok(raw_data_signature(raw_data, &session_key(key)?))
}

/// Login-state signature: lower-hex HMAC-SHA256 keyed with the session_key text.
#[wasm_bindgen(js_name = sessionSignature)]
pub fn session_signature_js(key: &str, body: &str) -> Result<String, JsValue> {
    Ok(session_signature(&session_key(key)?, body.as_bytes()))
}
