//! The fast path for the one field shape WeChat actually sends: `<name><![CDATA[value]]></name>`
//! or `<name>value</name>`, no references, no whitespace inside the tags, no control
//! characters. It reads such a field in one pass over its bytes with a class table, instead
//! of the general reader's tag, content and end-tag steps (about 1,000 instructions a field
//! down to a few hundred; BENCHMARKS.md).
//!
//! It never decides anything on its own: it accepts only fields the general reader accepts
//! with the very same name and value, and for anything else (an error included) it answers
//! `None` and the general reader reads the field from the same position, so errors and
//! their messages come from one place. `tests.rs` checks that equivalence on generated
//! documents.

/// A field read by the fast path: byte offsets relative to the slice it was given. Every
/// offset is next to an ASCII delimiter, so it is a character boundary.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct FastField {
    pub name_end: usize,
    pub value_start: usize,
    pub value_end: usize,
    /// Bytes consumed, through the end tag's `>`.
    pub len: usize,
}

/// A byte that can continue a field name (`is_field_name`).
const NAME: u8 = 1;
/// A byte that ends or complicates CDATA content: `]`, a control character other than tab,
/// LF and CR, and 0xEF (which may start U+FFFE / U+FFFF).
const CDATA_STOP: u8 = 2;
/// The same for plain text, plus `<` and `&`.
const TEXT_STOP: u8 = 4;

const CLASS: [u8; 256] = classes();

#[allow(
    clippy::indexing_slicing,
    reason = "evaluated at compile time: an index out of range would fail the build"
)]
const fn classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let byte = b as u8;
        let mut class = 0;
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.') {
            class |= NAME;
        }
        let control = byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r');
        if control || byte == b']' || byte == 0xEF {
            class |= CDATA_STOP | TEXT_STOP;
        }
        if byte == b'<' || byte == b'&' {
            class |= TEXT_STOP;
        }
        table[b] = class;
        b += 1;
    }
    table
}

fn class(b: u8) -> u8 {
    CLASS.get(usize::from(b)).copied().unwrap_or_default()
}

/// The first position at or after `from` whose byte has `stop` in its class.
fn run_until(bytes: &[u8], from: usize, stop: u8) -> Option<usize> {
    let rest = bytes.get(from..)?;
    rest.iter()
        .position(|&b| class(b) & stop != 0)
        .map(|at| from + at)
}

const CDATA_OPEN: &[u8] = b"<![CDATA[";

/// Reads the field at the start of `bytes`, or `None` when there is none in the simple
/// shape.
pub(super) fn read(bytes: &[u8]) -> Option<FastField> {
    let [b'<', first, ..] = *bytes else {
        return None;
    };
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let name_end = bytes
        .get(2..)?
        .iter()
        .position(|&b| class(b) & NAME == 0)
        .map(|at| at + 2)?;
    if bytes.get(name_end) != Some(&b'>') {
        return None;
    }
    let after_tag = name_end + 1;
    let (value_start, value_end, end_tag) =
        if bytes.get(after_tag..after_tag + CDATA_OPEN.len()) == Some(CDATA_OPEN) {
            let value_start = after_tag + CDATA_OPEN.len();
            let value_end = run_until(bytes, value_start, CDATA_STOP)?;
            // Any `]` other than the one closing the section goes to the general reader.
            if bytes.get(value_end..value_end + 3) != Some(b"]]>") {
                return None;
            }
            (value_start, value_end, value_end + 3)
        } else {
            let value_end = run_until(bytes, after_tag, TEXT_STOP)?;
            (after_tag, value_end, value_end)
        };
    let name = bytes.get(1..name_end)?;
    let close = bytes.get(end_tag..end_tag + name.len() + 3)?;
    let (open, rest) = close.split_at_checked(2)?;
    let (closed_name, gt) = rest.split_at_checked(name.len())?;
    if open != b"</" || closed_name != name || gt != b">" {
        return None;
    }
    Some(FastField {
        name_end,
        value_start,
        value_end,
        len: end_tag + close.len(),
    })
}
