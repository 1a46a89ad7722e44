//! API v3 for JavaScript (the `wxpay-sign/v3` entry, its own wasm so the v2 entry does not
//! carry RSA): verified-then-decrypted notifies, verified responses, resources, v3
//! `wx.requestPayment` messages (signed by the caller's Node crypto: no private key enters
//! wasm) and their explainer. Results cross as packed text, like the v2 calls.

pub mod explain;

use wasm_bindgen::prelude::*;
use wxpay_core::v3::aead::{self, AeadError, ApiV3Key};
use wxpay_core::v3::keys::KeyError;
use wxpay_core::v3::notify::{NotifyError, verify_notify, verify_notify_using};
use wxpay_core::v3::payment::{PaymentError, RequestPaymentV3};
use wxpay_core::v3::pem::{PemKind, kind_of};
use wxpay_core::v3::verify::{KeySet, RsaVerifier, SignatureHeaders, VerifyError};

use crate::errors::WxError;
use crate::packed::{items, push};

/// WeChat's verification keys, parsed once (the JS wrapper keeps them per `keys` object).
#[wasm_bindgen]
#[derive(Debug)]
pub struct V3Keys {
    set: KeySet,
}

#[wasm_bindgen]
impl V3Keys {
    /// `packed`: serial, PEM, serial, PEM, ... (a certificate under its serial, a WeChat
    /// Pay public key under its `PUB_KEY_ID_...`).
    #[wasm_bindgen(constructor)]
    pub fn new(packed: &str) -> Result<V3Keys, JsValue> {
        Ok(V3Keys::from_packed(packed)?)
    }
}

impl V3Keys {
    pub fn from_packed(packed: &str) -> Result<V3Keys, WxError> {
        let list = items(packed)?;
        if list.is_empty() {
            return Err(WxError::new(
                "INVALID_KEY",
                "keys is empty: give WeChat Pay's platform certificates by serial, or its public key by PUB_KEY_ID_...",
            ));
        }
        let mut set = KeySet::new();
        for pair in list.chunks(2) {
            let [serial, pem] = pair else {
                return Err(WxError::new("INVALID_KEY", "keys could not be read"));
            };
            set.add_pem(serial, pem)
                .map_err(|e| key_error(&e, serial))?;
        }
        Ok(V3Keys { set })
    }
}

/// The RSA operation in JavaScript (Node's crypto: OpenSSL), called with the PKCS#1 key,
/// the message and the signature; anything but `true` (a throw included) is a no.
#[derive(Debug)]
pub struct JsVerifier(pub js_sys::Function);

impl RsaVerifier for JsVerifier {
    fn verify_pkcs1_sha256(&self, key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let args = js_sys::Array::of3(
            &js_sys::Uint8Array::from(key),
            &js_sys::Uint8Array::from(message),
            &js_sys::Uint8Array::from(signature),
        );
        self.0
            .apply(&JsValue::NULL, &args)
            .is_ok_and(|result| result.as_bool() == Some(true))
    }
}

fn key_error(error: &KeyError, serial: &str) -> WxError {
    let code = match error {
        KeyError::WrongKind { .. } => "WRONG_KEY_KIND",
        KeyError::MerchantCertificate { .. } | KeyError::MerchantPublicKey => "MERCHANT_KEY_GIVEN",
        _ => "INVALID_KEY",
    };
    WxError::new(code, format!("keys[{serial:?}]: {error}"))
}

pub fn verify_error(error: &VerifyError, body: &[u8]) -> WxError {
    let code = match error {
        VerifyError::MissingHeader(_) => "MISSING_HEADER",
        VerifyError::BadTimestamp => "INVALID_TIMESTAMP",
        VerifyError::OutsideWindow { .. } => "TIMESTAMP_OUTSIDE_WINDOW",
        VerifyError::SignatureProbe => "SIGNATURE_PROBE",
        VerifyError::BadBase64 => "INVALID_SIGNATURE",
        VerifyError::WrongSignatureType(_) => "WRONG_SIGNATURE_TYPE",
        VerifyError::UnknownSerial(_) => "UNKNOWN_SERIAL",
        VerifyError::CertificateNotValid { .. } => "CERTIFICATE_NOT_VALID",
        VerifyError::BadSignature => "BAD_SIGNATURE",
    };
    let mut message = error.to_string();
    if matches!(error, VerifyError::BadSignature) && looks_reserialized(body) {
        message.push_str(
            "; this body has the spacing of a re-serialized object (JSON.stringify(req.body)?): pass the raw body text exactly as received",
        );
    }
    WxError::new(code, message)
}

/// WeChat's bodies are compact JSON; pretty-printed or spaced JSON was re-serialized.
fn looks_reserialized(body: &[u8]) -> bool {
    body.windows(2)
        .any(|w| w == b": " || w == b", " || w == b"{\n")
}

fn aead_error(error: &AeadError) -> WxError {
    let code = match error {
        AeadError::KeyLength(_) => "INVALID_API_V3_KEY",
        _ => "DECRYPT_FAILED",
    };
    WxError::new(code, error.to_string())
}

/// The signature header values as JavaScript found them (None: absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct HeaderValues<'a> {
    pub timestamp: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub serial: Option<&'a str>,
    pub signature_type: Option<&'a str>,
}

impl<'a> HeaderValues<'a> {
    /// From the values JavaScript passed (owned by wasm-bindgen).
    fn of(
        timestamp: &'a Option<String>,
        nonce: &'a Option<String>,
        signature: &'a Option<String>,
        serial: &'a Option<String>,
        signature_type: &'a Option<String>,
    ) -> HeaderValues<'a> {
        HeaderValues {
            timestamp: timestamp.as_deref(),
            nonce: nonce.as_deref(),
            signature: signature.as_deref(),
            serial: serial.as_deref(),
            signature_type: signature_type.as_deref(),
        }
    }

    fn parse(&self) -> Result<SignatureHeaders<'a>, VerifyError> {
        use wxpay_core::v3::verify::{NONCE, SERIAL, SIGNATURE, SIGNATURE_TYPE, TIMESTAMP};
        SignatureHeaders::from_lookup(|name| match name {
            TIMESTAMP => self.timestamp,
            NONCE => self.nonce,
            SIGNATURE => self.signature,
            SERIAL => self.serial,
            SIGNATURE_TYPE => self.signature_type,
            _ => None,
        })
    }
}

/// Unix seconds from JavaScript (whole and in range), else the window check cannot run.
fn seconds(now: f64) -> Result<i64, WxError> {
    crate::errors::whole_seconds(
        now,
        "now must be Unix seconds (a whole number), not milliseconds",
    )
}

/// Verifies a notify, then decrypts it: event_type, serial, id, create_time, summary,
/// resource_type, original_type, plaintext.
pub fn notify(
    keys: &V3Keys,
    values: &HeaderValues<'_>,
    body: &[u8],
    api_v3_key: &str,
    now: f64,
    verifier: Option<&dyn RsaVerifier>,
) -> Result<VerifiedFields, WxError> {
    let key = ApiV3Key::new(api_v3_key).map_err(|e| aead_error(&e))?;
    let headers = values.parse().map_err(|e| verify_error(&e, body))?;
    let now = seconds(now)?;
    let verified = match verifier {
        None => verify_notify(&keys.set, &headers, body, now),
        Some(verifier) => verify_notify_using(&keys.set, &headers, body, now, verifier),
    };
    let verified = verified.map_err(|e| match &e {
        NotifyError::Verify(v) => verify_error(v, body),
        NotifyError::Decrypt(d) => aead_error(d),
        NotifyError::Malformed(_) | NotifyError::Payload { .. } => {
            WxError::new("INVALID_NOTIFY", e.to_string())
        }
    })?;
    let decrypted = verified.decrypt(&key).map_err(|e| match &e {
        NotifyError::Decrypt(d) => aead_error(d),
        _ => WxError::new("INVALID_NOTIFY", e.to_string()),
    })?;
    let envelope = verified.envelope();
    Ok(VerifiedFields {
        event_type: decrypted.event_type.to_owned(),
        serial: decrypted.serial.to_owned(),
        id: decrypted.id.to_owned(),
        create_time: envelope.create_time.to_string(),
        summary: envelope.summary.as_deref().unwrap_or_default().to_owned(),
        resource_type: envelope.resource_type.to_string(),
        original_type: decrypted.original_type.unwrap_or_default().to_owned(),
        // Moved, not copied: it is the notify's largest field.
        plaintext: decrypted.plaintext,
    })
}

/// A verified notify's fields, crossing to JavaScript as a plain object
/// (serde-wasm-bindgen). The resource stays JSON text: the engine's `JSON.parse` reads it
/// faster than a parse here plus an object built call by call.
#[derive(Debug, serde::Serialize)]
pub struct VerifiedFields {
    event_type: String,
    serial: String,
    id: String,
    create_time: String,
    summary: String,
    resource_type: String,
    original_type: String,
    plaintext: String,
}

/// Verifies a response: the serial of the key that verified it.
pub fn response(
    keys: &V3Keys,
    values: &HeaderValues<'_>,
    body: &[u8],
    now: f64,
    verifier: Option<&dyn RsaVerifier>,
) -> Result<String, WxError> {
    let headers = values.parse().map_err(|e| verify_error(&e, body))?;
    let now = seconds(now)?;
    let verified = match verifier {
        None => keys.set.verify(&headers, body, now),
        Some(verifier) => keys.set.verify_using(&headers, body, now, verifier),
    }
    .map_err(|e| verify_error(&e, body))?;
    Ok(verified.serial().to_owned())
}

/// An encrypted resource's plaintext (a 32-byte APIv3 key; 16 bytes is AES-128-GCM, for
/// the official SDK's test vectors).
pub fn decrypt(
    algorithm: &str,
    nonce: &str,
    associated_data: &str,
    ciphertext: &str,
    key: &str,
) -> Result<String, WxError> {
    if algorithm != aead::ALGORITHM {
        return Err(aead_error(&AeadError::Algorithm(
            algorithm.chars().take(32).collect(),
        )));
    }
    let plain = aead::decrypt(key.as_bytes(), nonce, associated_data, ciphertext)
        .map_err(|e| aead_error(&e))?;
    String::from_utf8(plain).map_err(|_| aead_error(&AeadError::NotUtf8))
}

/// The unsigned v3 params and the message the caller signs: timeStamp, nonceStr,
/// package, message.
pub fn pay_sign_message(
    app_id: &str,
    prepay_id: &str,
    nonce_str: &str,
    timestamp: f64,
) -> Result<String, WxError> {
    let seconds = seconds(timestamp).map_err(|_| {
        WxError::new(
            "INVALID_TIMESTAMP",
            "timeStamp must be Unix seconds (not milliseconds)",
        )
    })?;
    let (params, message) = RequestPaymentV3::unsigned(app_id, prepay_id, nonce_str, seconds)
        .map_err(|e| {
            let code = match e {
                PaymentError::AppId => "INVALID_APPID",
                PaymentError::PrepayId => "INVALID_PREPAY_ID",
                _ => "INVALID_ARGUMENT",
            };
            WxError::new(code, e.to_string())
        })?;
    let mut out = String::new();
    for item in [
        &params.time_stamp,
        &params.nonce_str,
        &params.package,
        &message,
    ] {
        push(&mut out, item);
    }
    Ok(out)
}

/// The 5-line message a v3 request's signature covers (tooling: "what should I have
/// signed?").
pub fn request_message(
    method: &str,
    url: &str,
    timestamp: f64,
    nonce: &str,
    body: &[u8],
) -> Result<String, WxError> {
    let request = wxpay_core::v3::RequestToSign {
        method,
        url,
        timestamp: seconds(timestamp).map_err(|_| {
            WxError::new(
                "INVALID_TIMESTAMP",
                "timestamp must be Unix seconds (not milliseconds)",
            )
        })?,
        nonce,
        body,
    };
    let message = request
        .message()
        .map_err(|e| WxError::new("INVALID_ARGUMENT", e.to_string()))?;
    String::from_utf8(message).map_err(|_| WxError::new("INVALID_ARGUMENT", "body is not UTF-8"))
}

/// What a PEM holds: certificate, public_key, private_key, encrypted_private_key, other.
pub fn pem_kind(text: &str) -> &'static str {
    match kind_of(text) {
        Ok(PemKind::Certificate) => "certificate",
        Ok(PemKind::PublicKey | PemKind::RsaPublicKey) => "public_key",
        Ok(PemKind::PrivateKey | PemKind::RsaPrivateKey) => "private_key",
        Ok(PemKind::EncryptedPrivateKey) => "encrypted_private_key",
        Ok(PemKind::Other) => "other",
        Err(_) => "not_pem",
    }
}

// Flat arguments: one crossing from JavaScript, no object to build and take apart.
#[wasm_bindgen(js_name = v3VerifyNotify)]
#[allow(clippy::too_many_arguments)]
pub fn v3_verify_notify(
    keys: &V3Keys,
    timestamp: Option<String>,
    nonce: Option<String>,
    signature: Option<String>,
    serial: Option<String>,
    signature_type: Option<String>,
    body: &[u8],
    api_v3_key: &str,
    now: f64,
    verifier: Option<js_sys::Function>,
) -> Result<JsValue, JsValue> {
    let verifier = verifier.map(JsVerifier);
    let values = HeaderValues::of(&timestamp, &nonce, &signature, &serial, &signature_type);
    let fields = notify(
        keys,
        &values,
        body,
        api_v3_key,
        now,
        verifier.as_ref().map(|v| v as &dyn RsaVerifier),
    )?;
    Ok(serde_wasm_bindgen::to_value(&fields).map_err(|e| {
        WxError::new(
            "INTERNAL",
            format!("the notify could not cross to JavaScript: {e}"),
        )
    })?)
}

#[wasm_bindgen(js_name = v3VerifyResponse)]
#[allow(clippy::too_many_arguments)]
pub fn v3_verify_response(
    keys: &V3Keys,
    timestamp: Option<String>,
    nonce: Option<String>,
    signature: Option<String>,
    serial: Option<String>,
    body: &[u8],
    now: f64,
    verifier: Option<js_sys::Function>,
) -> Result<String, JsValue> {
    let verifier = verifier.map(JsVerifier);
    let values = HeaderValues::of(&timestamp, &nonce, &signature, &serial, &None);
    Ok(response(
        keys,
        &values,
        body,
        now,
        verifier.as_ref().map(|v| v as &dyn RsaVerifier),
    )?)
}

#[wasm_bindgen(js_name = v3DecryptResource)]
pub fn v3_decrypt_resource(
    algorithm: &str,
    nonce: &str,
    associated_data: &str,
    ciphertext: &str,
    key: &str,
) -> Result<String, JsValue> {
    Ok(decrypt(algorithm, nonce, associated_data, ciphertext, key)?)
}

#[wasm_bindgen(js_name = v3PaySignMessage)]
pub fn v3_pay_sign_message(
    app_id: &str,
    prepay_id: &str,
    nonce_str: &str,
    timestamp: f64,
) -> Result<String, JsValue> {
    Ok(pay_sign_message(app_id, prepay_id, nonce_str, timestamp)?)
}

#[wasm_bindgen(js_name = v3RequestMessage)]
pub fn v3_request_message(
    method: &str,
    url: &str,
    timestamp: f64,
    nonce: &str,
    body: &[u8],
) -> Result<String, JsValue> {
    Ok(request_message(method, url, timestamp, nonce, body)?)
}

#[wasm_bindgen(js_name = v3PemKind)]
pub fn v3_pem_kind(text: &str) -> String {
    pem_kind(text).to_owned()
}

#[wasm_bindgen(js_name = v3CheckPaymentParams)]
pub fn v3_check_payment_params(
    packed: &str,
    app_id: &str,
    key: &str,
    now_secs: f64,
) -> Result<JsValue, JsValue> {
    use crate::explain::{Api, run_packed, to_js};
    Ok(to_js(
        &run_packed(explain::check, packed, app_id, key, now_secs)?,
        Api::V3,
    )?)
}
