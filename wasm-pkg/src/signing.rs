//! Canonical strings, signing and verification of parameter maps.

use wasm_bindgen::prelude::*;
use wxpay_core::v2::{Params, Sign, sign};

use crate::errors::{self, WxError};
use crate::frame::Frame;

pub fn sign_params(params: &Params<'_>, key: &str, sign_type: &str) -> Result<Hex, WxError> {
    let key = errors::key(key)?;
    let sign_type = errors::sign_type(Some(sign_type))?.unwrap_or_default();
    Ok(Hex(sign::sign(params, &key, sign_type)))
}

/// A sign as the bytes of its hex, handed to the scratch buffer without a `String`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hex(pub Sign);

impl AsRef<[u8]> for Hex {
    fn as_ref(&self) -> &[u8] {
        self.0.as_str().as_bytes()
    }
}

/// False for any signature that does not verify (missing, malformed, wrong); errors only
/// for a bad key or sign type argument.
pub fn verify_params(params: &Params<'_>, key: &str, sign_type: &str) -> Result<bool, WxError> {
    let key = errors::key(key)?;
    let expected = errors::sign_type(Some(sign_type))?;
    Ok(sign::verify(params, &key, expected).is_ok())
}

/// Input: the params as key/value texts.
#[wasm_bindgen(js_name = canonicalScratch)]
pub fn canonical_scratch(text_len: usize, count: usize) -> Result<usize, JsValue> {
    crate::scratch::run(text_len, count, |frame| {
        Ok(frame.params()?.canonical_string())
    })
}

/// Input: the texts `key` and `signType` (checked first), then the params.
fn keyed<T>(
    mut frame: Frame<'_>,
    operation: impl FnOnce(&Params<'_>, &str, &str) -> Result<T, WxError>,
) -> Result<T, WxError> {
    let key = frame.text()?;
    let sign_type = frame.text()?;
    operation(&frame.params()?, key, sign_type)
}

/// Input as [`keyed`]; output the sign.
#[wasm_bindgen(js_name = signScratch)]
pub fn sign_scratch(text_len: usize, count: usize) -> Result<usize, JsValue> {
    crate::scratch::run(text_len, count, |frame| keyed(frame, sign_params))
}

/// Input as [`keyed`]; output "1" when the sign verifies, "0" otherwise.
#[wasm_bindgen(js_name = verifyScratch)]
pub fn verify_scratch(text_len: usize, count: usize) -> Result<usize, JsValue> {
    crate::scratch::run(text_len, count, |frame| {
        Ok(if keyed(frame, verify_params)? {
            "1"
        } else {
            "0"
        }
        .to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::frame::encode;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
    const OFFICIAL: [&str; 10] = [
        "appid",
        "wxd930ea5d5a258f4f",
        "mch_id",
        "10000100",
        "device_info",
        "1000",
        "body",
        "test",
        "nonce_str",
        "ibuaiVcKdpRxkhJA",
    ];

    /// The keyed calls as the wrapper makes them: key, signType, then the params.
    fn call<T>(
        key: &str,
        sign_type: &str,
        params: &[&str],
        operation: impl FnOnce(&Params<'_>, &str, &str) -> Result<T, WxError>,
    ) -> Result<T, WxError> {
        let (bytes, len, count) = encode(&[&[key, sign_type][..], params].concat());
        keyed(Frame::new(&bytes, len, count)?, operation)
    }

    #[test]
    fn signs_and_verifies_the_official_example() {
        assert_eq!(
            call(KEY, "", &OFFICIAL, sign_params).unwrap().0.as_str(),
            "9A0A8659F005D6984697E2CA0A9CF3B7"
        );
        assert_eq!(
            call(KEY, "HMAC-SHA256", &OFFICIAL, sign_params)
                .unwrap()
                .0
                .as_str(),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
        let signed = [&OFFICIAL[..], &["sign", "9a0a8659f005d6984697e2ca0a9cf3b7"]].concat();
        assert!(call(KEY, "", &signed, verify_params).unwrap());
        let tampered: Vec<&str> = signed
            .iter()
            .map(|text| if *text == "test" { "tesT" } else { text })
            .collect();
        assert!(!call(KEY, "", &tampered, verify_params).unwrap());
        assert_eq!(
            call("short", "", &OFFICIAL, sign_params).unwrap_err().code,
            "INVALID_KEY"
        );
        assert_eq!(
            call(KEY, "md5", &OFFICIAL, sign_params).unwrap_err().code,
            "INVALID_SIGN_TYPE"
        );
    }
}
