//! The inputs and list outputs of the scratch-buffer calls (sign, verify, notify, XML).
//! An input: a call's texts joined as UTF-8, then each text's length in UTF-16 units as a
//! 4-byte little-endian number. A list output ([`list`]): the count, the lengths, then
//! the texts joined, which JS decodes once and slices. The JS wrapper (`js/scratch.js`) writes the joined texts with one native
//! `encodeInto` and the lengths as numbers, so no packed JS string with formatted
//! lengths is built and nothing here parses digits or searches for separators
//! (BENCHMARKS.md, issue #17). Lengths count UTF-16 units because that is what
//! JavaScript's `length` gives; an ASCII text is as many bytes.

use wxpay_core::v2::Params;

use crate::errors::WxError;
use crate::utf16;

/// A frame, read front to back.
pub struct Frame<'a> {
    rest: &'a str,
    lengths: &'a [u8],
}

/// Counts only: the texts include the API key.
impl std::fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("texts_left", &(self.lengths.len() / 4))
            .finish_non_exhaustive()
    }
}

fn malformed() -> WxError {
    WxError::new(
        "INVALID_ARGUMENT",
        "input could not be read (wrapper and wasm out of step?)",
    )
}

impl<'a> Frame<'a> {
    /// The frame in `bytes`: `text_len` bytes of joined texts, then `count` lengths.
    pub fn new(bytes: &'a [u8], text_len: usize, count: usize) -> Result<Frame<'a>, WxError> {
        let (text, lengths) = bytes.split_at_checked(text_len).ok_or_else(malformed)?;
        let lengths = lengths
            .get(..count.checked_mul(4).ok_or_else(malformed)?)
            .ok_or_else(malformed)?;
        let rest = std::str::from_utf8(text)
            .map_err(|_| WxError::new("INVALID_ARGUMENT", "input is not UTF-8"))?;
        Ok(Frame { rest, lengths })
    }

    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// The next text.
    pub fn text(&mut self) -> Result<&'a str, WxError> {
        let (length, lengths) = self
            .lengths
            .split_first_chunk::<4>()
            .ok_or_else(malformed)?;
        let units = usize::try_from(u32::from_le_bytes(*length)).map_err(|_| malformed())?;
        let end = utf16::byte_end(self.rest, units).ok_or_else(malformed)?;
        let (text, rest) = self.rest.split_at(end);
        self.rest = rest;
        self.lengths = lengths;
        Ok(text)
    }

    /// The last text: all that is left. Its length is not counted again (for an XML body
    /// that count, a walk over every character, cost more than parsing it).
    pub fn last(self) -> Result<&'a str, WxError> {
        if self.lengths.len() != 4 {
            return Err(malformed());
        }
        Ok(self.rest)
    }

    /// The rest of the frame as key/value pairs. JS objects have unique keys; were one
    /// repeated, the last value would win, as in the object it came from.
    pub fn params(mut self) -> Result<Params<'a>, WxError> {
        let mut entries = Vec::with_capacity(self.lengths.len() / 8);
        while !self.is_empty() {
            let key = self.text()?;
            let value = self.text()?;
            entries.push((key.into(), value.into()));
        }
        Ok(Params::from_unordered(entries))
    }
}

/// The fields of `params` as a list output (key, value, key, value...): their count and
/// each one's length in UTF-16 units (4-byte little-endian numbers), then the texts
/// joined as UTF-8. (The text format of `packed.rs` formatted a number and walked every
/// character per text: for a notify's fields that cost more than verifying it.)
pub fn list(params: &Params<'_>) -> Vec<u8> {
    let texts = || params.iter().flat_map(|(k, v)| [k, v]);
    let bytes: usize = texts().map(str::len).sum();
    let count = 2 * params.len();
    let mut out = Vec::with_capacity(4 + 4 * count + bytes);
    out.extend_from_slice(&u32_le(count));
    for text in texts() {
        out.extend_from_slice(&u32_le(utf16::len(text)));
    }
    for text in texts() {
        out.extend_from_slice(text.as_bytes());
    }
    out
}

/// JS lengths of texts here are far below 4 GiB (wasm32 memory).
fn u32_le(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes()
}

/// A frame of `texts` as the JS wrapper writes it, and its text length and count.
#[cfg(test)]
pub fn encode(texts: &[&str]) -> (Vec<u8>, usize, usize) {
    let mut out: Vec<u8> = texts.concat().into_bytes();
    let text_len = out.len();
    for text in texts {
        let units = u32::try_from(text.encode_utf16().count()).unwrap_or(u32::MAX);
        out.extend_from_slice(&units.to_le_bytes());
    }
    (out, text_len, texts.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_any_text_back() {
        let texts = [
            "body",
            "腾讯充值:中心",
            "a",
            "",
            "emoji",
            "😀x",
            "3:ab",
            "1:2",
        ];
        let (bytes, len, count) = encode(&texts);
        let mut frame = Frame::new(&bytes, len, count).unwrap();
        for text in texts {
            assert_eq!(frame.text().unwrap(), text);
        }
        assert!(frame.is_empty());
        let mut frame = Frame::new(&bytes, len, count).unwrap();
        for _ in 1..texts.len() {
            frame.text().unwrap();
        }
        assert_eq!(frame.last().unwrap(), "1:2");
        let params = Frame::new(&bytes, len, count).unwrap().params().unwrap();
        assert_eq!(params.get("body"), Some("腾讯充值:中心"));
        assert_eq!(params.get("3:ab"), Some("1:2"));
        assert_eq!(params.len(), 4);
    }

    #[test]
    fn lists_count_utf16_units() {
        let texts = ["appid", "", "emoji", "😀x", "x", "腾讯:中心"];
        let params: Params = [
            (texts[0], texts[1]),
            (texts[2], texts[3]),
            (texts[4], texts[5]),
        ]
        .into_iter()
        .collect();
        let out = list(&params);
        let number = |at: usize| u32::from_le_bytes(out[at..at + 4].try_into().unwrap());
        assert_eq!(number(0), 6);
        let lengths: Vec<u32> = (1..=6).map(|i| number(4 * i)).collect();
        assert_eq!(lengths, [5, 0, 5, 3, 1, 5]);
        assert_eq!(&out[28..], texts.concat().as_bytes());
    }

    #[test]
    fn refuses_what_the_wrapper_never_writes() {
        let (bytes, len, count) = encode(&["key", "😀"]);
        let mut inside_a_character = bytes.clone();
        inside_a_character[len + 4] = 1;
        let mut past_the_end = bytes.clone();
        past_the_end[len + 4] = 3;
        let (odd, odd_len, _) = encode(&["odd"]);
        let cases: [(&[u8], usize, usize); 6] = [
            (&bytes, len + 1, count),
            (&bytes, len, count + 1),
            (&bytes, len, usize::MAX),
            (&inside_a_character, len, count),
            (&past_the_end, len, count),
            (&odd, odd_len, 1),
        ];
        for (bytes, len, count) in cases {
            let error = Frame::new(bytes, len, count)
                .and_then(Frame::params)
                .unwrap_err();
            assert_eq!(error.code, "INVALID_ARGUMENT", "{bytes:?} {len} {count}");
        }
        let two_left = Frame::new(&bytes, len, count).unwrap();
        assert_eq!(two_left.last().unwrap_err().code, "INVALID_ARGUMENT");
        let not_utf8 = [0xff, 0, 0, 0, 0];
        let error = Frame::new(&not_utf8, 1, 0).err().unwrap();
        assert_eq!(error.message, "input is not UTF-8");
    }
}
