//! WeChat's flat XML (protocol.md §2.2): one root, every field a direct child, text or
//! CDATA values, no attributes, no nesting. Untrusted input: anything outside that shape
//! is an error, never a guess.

mod encode;
mod fast_field;
mod parse;

pub use encode::{to_xml, to_xml_with_root};
pub use parse::{XmlParser, parse};

/// Default limit on an XML body. WeChat's largest notifies are a few KiB.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024;
/// Default limit on the number of fields (a notify with many coupons has ~40).
pub const DEFAULT_MAX_FIELDS: usize = 256;
/// The root element of requests, replies and pay notifies.
pub const ROOT: &str = "xml";

/// Longest piece of the input quoted back in an error message.
const QUOTE_MAX: usize = 40;

/// What is wrong with an XML document. Messages quote at most a short, truncated piece
/// of the input (a tag or entity name), never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("XML body is empty")]
    Empty,
    #[error("XML body is larger than the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("XML body has more than {limit} fields")]
    TooManyFields { limit: usize },
    #[error("XML body is not valid UTF-8")]
    NotUtf8,
    #[error("XML declares encoding {0:?}; only UTF-8 is accepted")]
    NotUtf8Declared(String),
    #[error("DOCTYPE / DTD is not allowed")]
    DocType,
    #[error(
        "entity &{0}; is not allowed; only &lt; &gt; &amp; &apos; &quot; and character references are"
    )]
    Entity(String),
    #[error("invalid character reference &{0};")]
    BadCharRef(String),
    #[error("character U+{0:04X} is not allowed in XML")]
    IllegalChar(u32),
    #[error("comments and processing instructions are not allowed")]
    CommentOrPi,
    #[error("root element must be <{expected}>, found <{found}>")]
    WrongRoot { expected: String, found: String },
    #[error("field <{0}> contains an element; fields must be flat")]
    Nested(String),
    #[error("field <{0}> appears more than once")]
    DuplicateField(String),
    #[error("attributes are not allowed (on <{0}>)")]
    Attributes(String),
    #[error("text outside a field")]
    StrayText,
    #[error("data after the root element")]
    TrailingData,
    #[error("document ends before the root element is closed")]
    Unclosed,
    #[error("{0:?} is not a valid XML element name")]
    BadName(String),
    #[error("malformed XML: {0}")]
    Malformed(String),
}

/// Shortens attacker-controlled text before it goes into an error message.
fn quote(s: &str) -> String {
    s.chars().take(QUOTE_MAX).collect()
}

/// XML 1.0 `Char`: tab, LF, CR and everything from U+0020 except U+FFFE / U+FFFF
/// (Rust strings cannot hold surrogates).
fn first_illegal_char(s: &str) -> Option<char> {
    // Fast byte scan first: values are short and almost always clean. 0xEF leads the
    // UTF-8 of U+FFFE / U+FFFF (and of ordinary characters such as full-width brackets).
    let suspicious = s
        .bytes()
        .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xEF);
    if !suspicious {
        return None;
    }
    s.chars().find(|&c| {
        (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    })
}

/// Field names WeChat uses are ASCII identifiers (`total_fee`, `coupon_id_0`); anything
/// else is refused rather than escaped.
fn is_field_name(name: &str) -> bool {
    match name.as_bytes() {
        [first, rest @ ..] => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        }
        [] => false,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fast_field_tests;
