//! Standard base64 (with padding) on the v3 hot path: a notify carries ~1.2 KB of it (the
//! signature and the resource). base64-simd decodes with SSE/AVX2 where the CPU has them
//! (a portable fallback elsewhere, WebAssembly included); the `base64` crate stays the
//! encoder and the reference these are tested against.

use base64_simd::STANDARD;

/// Decodes `text` into `buffer`: the decoded bytes, or None if `text` is not base64 or
/// does not fit.
pub(crate) fn decode_into<'b>(text: &str, buffer: &'b mut [u8]) -> Option<&'b [u8]> {
    let len = STANDARD.decoded_length(text.as_bytes()).ok()?;
    let out = buffer.get_mut(..len)?;
    let written = STANDARD
        .decode(text.as_bytes(), base64_simd::Out::from_slice(out))
        .ok()?;
    Some(&*written)
}

pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode_to_vec(text.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as REFERENCE;

    use super::*;

    #[test]
    fn decodes_like_the_base64_crate_and_refuses_what_it_refuses() {
        for len in 0..200usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let text = REFERENCE.encode(&bytes);
            assert_eq!(decode(&text).as_deref(), Some(bytes.as_slice()));
            let mut buffer = [0u8; 256];
            assert_eq!(decode_into(&text, &mut buffer), Some(bytes.as_slice()));
        }
        for bad in [
            "*",
            "QUJD=",
            "QU",
            "QUJD\n",
            " QUJD",
            "QUJDRA",
            "QUJDRA=",
            "WECHATPAY/SIGNTEST/x",
        ] {
            assert_eq!(
                decode(bad).is_some(),
                REFERENCE.decode(bad).is_ok(),
                "{bad:?}"
            );
        }
        let mut small = [0u8; 2];
        assert_eq!(decode_into("QUJD", &mut small), None, "does not fit");
    }
}
