//! The text format between the JS wrapper and wasm for results and the explainer's
//! inputs: items as `<UTF-16 length>:<text>`, one after the other. Lengths count UTF-16
//! units because that is what JavaScript's `length` gives; any text is representable.
//! (The hot calls' inputs travel as binary frames instead: `frame.rs`.)

use crate::errors::WxError;
use crate::utf16;

fn malformed() -> WxError {
    WxError::new(
        "INVALID_PARAMS",
        "params could not be read (wrapper and wasm out of step?)",
    )
}

/// Takes one `<len>:<text>` item off the front of `rest`.
fn take<'a>(rest: &mut &'a str) -> Result<&'a str, WxError> {
    let colon = rest.find(':').ok_or_else(malformed)?;
    let units: usize = rest
        .get(..colon)
        .and_then(|n| n.parse().ok())
        .ok_or_else(malformed)?;
    let body = rest.get(colon + 1..).ok_or_else(malformed)?;
    let end = utf16::byte_end(body, units).ok_or_else(malformed)?;
    let (text, tail) = body.split_at(end);
    *rest = tail;
    Ok(text)
}

/// Appends one `<UTF-16 length>:<text>` item (for results going back to JavaScript).
pub fn push(out: &mut String, text: &str) {
    let units = utf16::len(text);
    out.push_str(&units.to_string());
    out.push(':');
    out.push_str(text);
}

/// Key/value pairs as packed items.
pub fn pack_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        push(&mut out, k);
        push(&mut out, v);
    }
    out
}

/// All items of a packed string, in order.
pub fn items(packed: &str) -> Result<Vec<&str>, WxError> {
    let mut rest = packed;
    let mut out = Vec::new();
    while !rest.is_empty() {
        out.push(take(&mut rest)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(pairs: &[(&str, &str)]) -> String {
        pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}:{k}{}:{v}",
                    k.encode_utf16().count(),
                    v.encode_utf16().count()
                )
            })
            .collect()
    }

    #[test]
    fn round_trips_any_text() {
        let pairs = [
            ("body", "腾讯充值:中心"),
            ("a", ""),
            ("emoji", "😀x"),
            ("colon:key", "1:2"),
        ];
        let packed = pack(&pairs);
        let texts: Vec<&str> = pairs.iter().flat_map(|(k, v)| [*k, *v]).collect();
        assert_eq!(items(&packed).unwrap(), texts);
        assert!(items("").unwrap().is_empty());
    }

    #[test]
    fn push_and_items_round_trip() {
        let mut out = String::new();
        for text in ["a", "", "😀中", "1:2"] {
            push(&mut out, text);
        }
        assert_eq!(items(&out).unwrap(), ["a", "", "😀中", "1:2"]);
        assert_eq!(pack_pairs([("k", "v")].into_iter()), "1:k1:v");
    }

    #[test]
    fn refuses_garbage() {
        for bad in ["3:ab", "x:a1:b", "3:😀", "1:a9:b", "1"] {
            assert!(items(bad).is_err(), "{bad}");
        }
    }
}
