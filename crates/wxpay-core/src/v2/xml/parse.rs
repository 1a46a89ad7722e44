//! The strict flat-XML reader.
//!
//! WeChat's XML is a tiny subset of XML: an optional declaration, one root, flat fields of
//! text / CDATA / references. This reader accepts exactly that subset and refuses the rest
//! by name. It is hand-written because it is on every notify: quick-xml's event loop alone
//! takes 2.7 µs on the W2 notify, more than this whole parse (BENCHMARKS.md). quick-xml
//! stays in the test suite as an independent oracle (`tests/xml_differential.rs`).
//!
//! Values that need no unescaping borrow from the input, so parsing copies almost nothing.
//! Every position the reader slices at is just after an ASCII delimiter, so slicing never
//! splits a UTF-8 character; `str::get` keeps that panic-free regardless.

use std::borrow::Cow;

use super::fast_field;
use super::{
    DEFAULT_MAX_BYTES, DEFAULT_MAX_FIELDS, ROOT, XmlError, first_illegal_char, is_field_name, quote,
};
use crate::v2::params::Params;

/// Parses a WeChat XML body with root `<xml>` and the default limits.
pub fn parse(input: &[u8]) -> Result<Params<'_>, XmlError> {
    XmlParser::new().parse(input)
}

/// A configured parser: root name and limits.
#[derive(Debug, Clone)]
pub struct XmlParser<'r> {
    root: &'r str,
    max_bytes: usize,
    max_fields: usize,
    /// Off only in tests, which compare the fast path with the general reader.
    fast_fields: bool,
}

impl Default for XmlParser<'_> {
    fn default() -> Self {
        XmlParser {
            root: ROOT,
            max_bytes: DEFAULT_MAX_BYTES,
            max_fields: DEFAULT_MAX_FIELDS,
            fast_fields: true,
        }
    }
}

impl<'r> XmlParser<'r> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The expected root element (`xml` for WeChat messages, `root` inside `req_info`).
    pub fn root(mut self, root: &'r str) -> Self {
        self.root = root;
        self
    }

    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    pub fn max_fields(mut self, max_fields: usize) -> Self {
        self.max_fields = max_fields;
        self
    }

    /// The general reader alone, without the fast path for simple fields.
    #[cfg(test)]
    pub(super) fn general_only(mut self) -> Self {
        self.fast_fields = false;
        self
    }

    pub fn parse<'i>(&self, input: &'i [u8]) -> Result<Params<'i>, XmlError> {
        if input.len() > self.max_bytes {
            return Err(XmlError::TooLarge {
                limit: self.max_bytes,
            });
        }
        let text = std::str::from_utf8(input).map_err(|_| XmlError::NotUtf8)?;
        if text.trim().is_empty() {
            return Err(XmlError::Empty);
        }
        let mut cursor = Cursor { text, pos: 0 };
        let mut params = Params::with_capacity(32);
        cursor.prolog()?;
        let (root, empty_root) = cursor.start_tag()?;
        if root != self.root {
            return Err(XmlError::WrongRoot {
                expected: self.root.to_owned(),
                found: quote(root),
            });
        }
        if !empty_root {
            self.fields(&mut cursor, &mut params)?;
        }
        cursor.skip_space();
        if cursor.at_end() {
            Ok(params)
        } else {
            Err(cursor.markup_error().unwrap_or(XmlError::TrailingData))
        }
    }

    /// The root's children, up to and including `</root>`.
    fn fields<'i>(&self, cursor: &mut Cursor<'i>, params: &mut Params<'i>) -> Result<(), XmlError> {
        loop {
            cursor.skip_space();
            if self.fast_fields
                && let Some(field) = fast_field::read(cursor.bytes())
            {
                let at = cursor.pos;
                let name = cursor.slice(at + 1, at + field.name_end);
                let value = cursor.slice(at + field.value_start, at + field.value_end);
                self.add_field(params, name, Cow::Borrowed(value))?;
                cursor.advance(field.len);
                continue;
            }
            match cursor.bytes() {
                [] => return Err(XmlError::Unclosed),
                [b'<', b'/', ..] => return cursor.end_tag(self.root),
                [b'<', b'!' | b'?', ..] => {
                    return Err(cursor.markup_error().unwrap_or(XmlError::StrayText));
                }
                [b'<', ..] => {}
                _ => return Err(XmlError::StrayText),
            }
            let (name, empty) = cursor.start_tag()?;
            if !is_field_name(name) {
                return Err(XmlError::BadName(quote(name)));
            }
            let value = if empty {
                Cow::Borrowed("")
            } else {
                cursor.content(name)?
            };
            self.add_field(params, name, value)?;
        }
    }

    fn add_field<'i>(
        &self,
        params: &mut Params<'i>,
        name: &'i str,
        value: Cow<'i, str>,
    ) -> Result<(), XmlError> {
        if params.len() >= self.max_fields {
            return Err(XmlError::TooManyFields {
                limit: self.max_fields,
            });
        }
        params
            .insert_new(name, value)
            .map_err(|dup| XmlError::DuplicateField(quote(&dup.0)))
    }
}

/// A position in the document. Scanning works on bytes (every delimiter is ASCII, and
/// ASCII bytes never occur inside a multi-byte UTF-8 character); `&str` slices are taken
/// only at delimiter positions.
struct Cursor<'i> {
    text: &'i str,
    pos: usize,
}

impl<'i> Cursor<'i> {
    fn bytes(&self) -> &'i [u8] {
        self.text.as_bytes().get(self.pos..).unwrap_or_default()
    }

    fn slice(&self, from: usize, to: usize) -> &'i str {
        self.text.get(from..to).unwrap_or_default()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn starts_with(&self, prefix: &str) -> bool {
        self.bytes().starts_with(prefix.as_bytes())
    }

    fn advance(&mut self, bytes: usize) {
        self.pos = self.pos.saturating_add(bytes).min(self.text.len());
    }

    fn skip_space(&mut self) {
        let spaces = self.bytes().iter().take_while(|&&b| is_space(b)).count();
        self.advance(spaces);
    }

    /// Markup this reader never accepts, named precisely.
    fn markup_error(&self) -> Option<XmlError> {
        if self.starts_with("<!DOCTYPE") || self.starts_with("<!ENTITY") {
            Some(XmlError::DocType)
        } else if self.starts_with("<!--") || self.starts_with("<?") {
            Some(XmlError::CommentOrPi)
        } else {
            None
        }
    }

    /// Optional BOM and `<?xml ...?>` declaration, then whitespace up to the root.
    fn prolog(&mut self) -> Result<(), XmlError> {
        if self.starts_with("\u{FEFF}") {
            self.advance('\u{FEFF}'.len_utf8());
        }
        let rest = self.slice(self.pos, self.text.len());
        if let Some(decl) = rest
            .strip_prefix("<?xml")
            .filter(|d| d.bytes().next().is_some_and(is_space))
        {
            let end = decl
                .find("?>")
                .ok_or_else(|| malformed("unterminated XML declaration"))?;
            check_declared_encoding(decl.get(..end).unwrap_or_default())?;
            self.advance("<?xml".len() + end + "?>".len());
        }
        self.skip_space();
        if let Some(err) = self.markup_error() {
            return Err(err);
        }
        if self.starts_with("<") {
            Ok(())
        } else {
            Err(XmlError::StrayText)
        }
    }

    /// `<name>` or `<name/>` at the cursor. Returns the name and whether it was empty.
    fn start_tag(&mut self) -> Result<(&'i str, bool), XmlError> {
        self.advance(1); // '<'
        let name_len = self
            .bytes()
            .iter()
            .position(|&b| is_space(b) || b == b'/' || b == b'>')
            .ok_or(XmlError::Unclosed)?;
        let name = self.slice(self.pos, self.pos + name_len);
        if name.is_empty() {
            return Err(malformed("tag without a name"));
        }
        self.advance(name_len);
        self.skip_space();
        if self.starts_with(">") {
            self.advance(1);
            Ok((name, false))
        } else if self.starts_with("/>") {
            self.advance(2);
            Ok((name, true))
        } else if self.at_end() {
            Err(XmlError::Unclosed)
        } else {
            Err(XmlError::Attributes(quote(name)))
        }
    }

    /// `</name>` (or `</name >`) at the cursor, which must close `expected`.
    fn end_tag(&mut self, expected: &str) -> Result<(), XmlError> {
        let bytes = self.bytes();
        let name_end = 2 + expected.len();
        if bytes.get(2..name_end) == Some(expected.as_bytes()) {
            let tail = bytes.get(name_end..).unwrap_or_default();
            let spaces = tail.iter().take_while(|&&b| is_space(b)).count();
            if tail.get(spaces) == Some(&b'>') {
                self.advance(name_end + spaces + 1);
                return Ok(());
            }
        }
        let rest = self.slice(self.pos + 2, self.text.len());
        let Some(close) = rest.find('>') else {
            return Err(XmlError::Unclosed);
        };
        let found = rest.get(..close).unwrap_or_default();
        Err(XmlError::Malformed(format!(
            "<{}> closed by </{}>",
            quote(expected),
            quote(found.trim_end())
        )))
    }

    /// Plain text from the cursor up to the next `<` or `&` (returned as its position),
    /// refusing control characters and `]]>` on the way. A plain byte loop: values are
    /// short, and neither `memchr`, a word-at-a-time scan nor a class table made WeChat's
    /// notifies parse in fewer instructions (measured with callgrind).
    fn scan_text(&self, check_chars: &mut bool) -> Result<usize, XmlError> {
        let bytes = self.bytes();
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'<' | b'&' => return Ok(self.pos + i),
                b']' if bytes.get(i..i + 3) == Some(b"]]>") => {
                    return Err(malformed("]]> in text outside CDATA"));
                }
                _ => check_byte(b, check_chars)?,
            }
        }
        Err(XmlError::Unclosed)
    }

    /// The body of a CDATA section that starts at the cursor (just after `<![CDATA[`),
    /// and the position just after its `]]>`.
    fn scan_cdata(&self, check_chars: &mut bool) -> Result<(&'i str, usize), XmlError> {
        let bytes = self.bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b']' && bytes.get(i..i + 3) == Some(b"]]>") {
                return Ok((self.slice(self.pos, self.pos + i), self.pos + i + 3));
            }
            check_byte(b, check_chars)?;
        }
        Err(XmlError::Unclosed)
    }

    /// A field's value up to and including its end tag: text, CDATA sections and
    /// references, joined. Borrowed when it is a single piece that needs no unescaping.
    fn content(&mut self, field: &'i str) -> Result<Cow<'i, str>, XmlError> {
        let mut value: Option<Cow<'i, str>> = None;
        let mut check_chars = false;
        loop {
            let at = self.scan_text(&mut check_chars)?;
            if at > self.pos {
                value = Some(append(value, Cow::Borrowed(self.slice(self.pos, at))));
            }
            self.pos = at;
            match self.bytes() {
                [b'&', ..] => {
                    let (piece, len) = reference(self.slice(self.pos, self.text.len()))?;
                    check_chars |= matches!(piece, Cow::Owned(_));
                    value = Some(append(value, piece));
                    self.advance(len);
                }
                [b'<', b'!', b'[', ..] if self.starts_with("<![CDATA[") => {
                    self.advance("<![CDATA[".len());
                    let (piece, after) = self.scan_cdata(&mut check_chars)?;
                    value = Some(append(value, Cow::Borrowed(piece)));
                    self.pos = after;
                }
                [b'<', b'/', ..] => {
                    self.end_tag(field)?;
                    let value = value.unwrap_or(Cow::Borrowed(""));
                    // References may have produced any character, so check those too.
                    if check_chars && let Some(c) = first_illegal_char(&value) {
                        return Err(XmlError::IllegalChar(u32::from(c)));
                    }
                    return Ok(value);
                }
                _ => {
                    return Err(self
                        .markup_error()
                        .unwrap_or_else(|| XmlError::Nested(quote(field))));
                }
            }
        }
    }
}

/// Control characters other than tab, LF and CR are not XML. `check_chars` is set on
/// 0xEF, which may start U+FFFE / U+FFFF (the only other characters XML cannot carry);
/// the caller checks those few values in full.
fn check_byte(b: u8, check_chars: &mut bool) -> Result<(), XmlError> {
    if b == 0xEF {
        *check_chars = true;
    } else if b < 0x20 && !is_space(b) {
        return Err(XmlError::IllegalChar(u32::from(b)));
    }
    Ok(())
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_space_char(c: char) -> bool {
    u8::try_from(c).is_ok_and(is_space)
}

/// Joins the pieces of one value (text, CDATA and references may alternate).
fn append<'i>(value: Option<Cow<'i, str>>, piece: Cow<'i, str>) -> Cow<'i, str> {
    match value {
        None => piece,
        Some(existing) => {
            let mut joined = existing.into_owned();
            joined.push_str(&piece);
            Cow::Owned(joined)
        }
    }
}

/// Longest reference name considered (`&#x10FFFF;` is 8; entity names longer than this are
/// refused all the same, just without being read to the end).
const MAX_REFERENCE: usize = 32;

/// `&...;` at the start of `rest`: the five predefined entities and character references.
/// Anything else would need a DTD, and DTDs are refused (no XXE, no billion laughs).
/// Returns the text it stands for and the length of the reference.
fn reference(rest: &str) -> Result<(Cow<'static, str>, usize), XmlError> {
    let window = rest.get(1..).unwrap_or_default();
    let semicolon = window
        .bytes()
        .take(MAX_REFERENCE + 1)
        .position(|b| b == b';')
        .ok_or_else(|| malformed("& must start a reference such as &amp;"))?;
    let name = window.get(..semicolon).unwrap_or_default();
    let len = semicolon + 2;
    let predefined = match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => {
            let Some(number) = name.strip_prefix('#') else {
                return Err(XmlError::Entity(quote(name)));
            };
            // Digits only: Rust's integer parsers would also take a leading `+`.
            let code = match number.strip_prefix('x') {
                Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    u32::from_str_radix(hex, 16).ok()
                }
                Some(_) => None,
                None if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => {
                    number.parse::<u32>().ok()
                }
                None => None,
            };
            let c = code
                .filter(|&c| c != 0)
                .and_then(char::from_u32)
                .ok_or_else(|| XmlError::BadCharRef(quote(name)))?;
            return Ok((Cow::Owned(c.to_string()), len));
        }
    };
    Ok((Cow::Borrowed(predefined), len))
}

/// The declaration's `encoding`, if any, must be UTF-8: the body is read as UTF-8 and
/// signed as UTF-8 bytes.
fn check_declared_encoding(decl: &str) -> Result<(), XmlError> {
    let Some(at) = decl.find("encoding") else {
        return Ok(());
    };
    let after = decl
        .get(at + "encoding".len()..)
        .unwrap_or_default()
        .trim_start_matches(is_space_char);
    let after = after
        .strip_prefix('=')
        .map(|a| a.trim_start_matches(is_space_char))
        .ok_or_else(|| malformed("bad XML declaration"))?;
    let quote_char = after
        .chars()
        .next()
        .filter(|&c| c == '"' || c == '\'')
        .ok_or_else(|| malformed("bad XML declaration"))?;
    let value = after.get(1..).unwrap_or_default();
    let end = value
        .find(quote_char)
        .ok_or_else(|| malformed("bad XML declaration"))?;
    let name = value.get(..end).unwrap_or_default();
    if name.eq_ignore_ascii_case("utf-8") || name.eq_ignore_ascii_case("utf8") {
        Ok(())
    } else {
        Err(XmlError::NotUtf8Declared(quote(name)))
    }
}

fn malformed(msg: &str) -> XmlError {
    XmlError::Malformed(msg.to_owned())
}
