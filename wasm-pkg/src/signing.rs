//! Canonical strings, signing and verification on packed parameter maps.

use wasm_bindgen::prelude::*;
use wxpay_core::v2::sign;

use crate::errors::{self, WxError};
use crate::packed::unpack;

pub fn canonical(packed: &str) -> Result<String, WxError> {
    Ok(unpack(packed)?.canonical_string())
}

pub fn sign_params(packed: &str, key: &str, sign_type: &str) -> Result<String, WxError> {
    let params = unpack(packed)?;
    let key = errors::key(key)?;
    let sign_type = errors::sign_type(Some(sign_type))?.unwrap_or_default();
    Ok(sign::sign(&params, &key, sign_type).as_str().to_owned())
}

/// False for any signature that does not verify (missing, malformed, wrong); errors only
/// for a bad key or sign type argument.
pub fn verify_params(packed: &str, key: &str, sign_type: &str) -> Result<bool, WxError> {
    let params = unpack(packed)?;
    let key = errors::key(key)?;
    let expected = errors::sign_type(Some(sign_type))?;
    Ok(sign::verify(&params, &key, expected).is_ok())
}

#[wasm_bindgen(js_name = canonicalScratch)]
pub fn canonical_scratch(len: usize) -> Result<usize, JsValue> {
    crate::scratch::run(len, canonical)
}

#[wasm_bindgen(js_name = signScratch)]
pub fn sign_scratch(len: usize) -> Result<usize, JsValue> {
    crate::scratch::run(len, |input| {
        let (key, sign_type, packed) = crate::packed::keyed(input)?;
        sign_params(packed, key, sign_type)
    })
}

/// Output "1" when the sign verifies, "0" otherwise.
#[wasm_bindgen(js_name = verifyScratch)]
pub fn verify_scratch(len: usize) -> Result<usize, JsValue> {
    crate::scratch::run(len, |input| {
        let (key, sign_type, packed) = crate::packed::keyed(input)?;
        Ok(if verify_params(packed, key, sign_type)? {
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

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
    const OFFICIAL: &str = "5:appid18:wxd930ea5d5a258f4f6:mch_id8:1000010011:device_info4:10004:body4:test9:nonce_str16:ibuaiVcKdpRxkhJA";

    #[test]
    fn signs_and_verifies_the_official_example() {
        assert_eq!(
            sign_params(OFFICIAL, KEY, "").unwrap(),
            "9A0A8659F005D6984697E2CA0A9CF3B7"
        );
        assert_eq!(
            sign_params(OFFICIAL, KEY, "HMAC-SHA256").unwrap(),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
        let signed = format!("{OFFICIAL}4:sign32:9a0a8659f005d6984697e2ca0a9cf3b7");
        assert!(verify_params(&signed, KEY, "").unwrap());
        let tampered = signed.replace("4:test", "4:tesT");
        assert!(!verify_params(&tampered, KEY, "").unwrap());
        assert_eq!(
            sign_params(OFFICIAL, "short", "").unwrap_err().code,
            "INVALID_KEY"
        );
        assert_eq!(
            sign_params(OFFICIAL, KEY, "md5").unwrap_err().code,
            "INVALID_SIGN_TYPE"
        );
    }
}
