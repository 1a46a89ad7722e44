//! JavaScript measures text in UTF-16 units; the wasm holds it as UTF-8. The two
//! conversions the wire formats (`frame.rs`, `packed.rs`) need, each with an ASCII fast
//! path (an ASCII text is as many bytes as units).

/// Where the first `units` UTF-16 units of `text` end, in bytes (`None`: past the end,
/// or inside a character). Inlined: with two callers LLVM kept it a call, which cost the
/// frame reader ~0.1 µs per sign (30 texts).
#[inline(always)]
pub(crate) fn byte_end(text: &str, units: usize) -> Option<usize> {
    // An ASCII prefix is as many bytes as units. (Were the text not ASCII there, its first
    // non-ASCII byte would fall inside that prefix.)
    if let Some(head) = text.as_bytes().get(..units)
        && head.is_ascii()
    {
        return Some(units);
    }
    let mut seen = 0;
    let mut end = 0;
    for c in text.chars() {
        if seen >= units {
            break;
        }
        seen += c.len_utf16();
        end += c.len_utf8();
    }
    (seen == units).then_some(end)
}

/// Length in UTF-16 units: one per character, two for those outside the BMP (4 UTF-8
/// bytes, lead byte 0xF0 and up); counted over bytes rather than decoded characters.
pub(crate) fn len(text: &str) -> usize {
    if text.is_ascii() {
        return text.len();
    }
    text.bytes()
        .map(|b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_units_and_finds_ends() {
        for text in ["", "appid", "腾讯:中心", "😀x", "a\u{FFFD}b"] {
            let units = text.encode_utf16().count();
            assert_eq!(len(text), units, "{text}");
            assert_eq!(byte_end(text, units), Some(text.len()), "{text}");
        }
        assert_eq!(byte_end("😀x", 1), None, "inside a character");
        assert_eq!(byte_end("ab", 3), None, "past the end");
        assert_eq!(byte_end("腾讯x", 1), Some(3));
    }
}
