//! Differential test: the hand-written flat-XML reader against a reader built on quick-xml
//! with the same rules. On any input both must accept with the same fields, or both refuse.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::borrow::Cow;

use proptest::prelude::*;
use quick_xml::Reader;
use quick_xml::events::Event;
use wxpay_core::v2::xml;

type Fields = Vec<(String, String)>;

/// The oracle: quick-xml events, the rules of `wxpay_core::v2::xml` (flat, no DTD, no
/// comments/PIs, only predefined entities and character references, declaration first).
fn oracle(text: &str) -> Option<Fields> {
    if text.trim().is_empty() {
        return None;
    }
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut fields: Fields = Vec::new();
    let mut depth = 0;
    let mut seen_root = false;
    let mut first = true;
    let mut current: Option<(String, String)> = None;
    let fields = loop {
        let event = reader.read_event().ok()?;
        let was_first = std::mem::replace(&mut first, false);
        match event {
            Event::Eof => break (seen_root && depth == 0).then_some(fields)?,
            Event::Decl(d) if was_first => {
                if let Some(enc) = d.encoding() {
                    let enc = enc.ok()?;
                    if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                        return None;
                    }
                }
            }
            Event::Start(s) | Event::Empty(s) if !s.attributes_raw().trim().is_empty() => {
                return None;
            }
            Event::Start(s) if depth == 0 && !seen_root && s.name().as_ref() == "xml" => {
                depth = 1;
                seen_root = true;
            }
            Event::Empty(s) if depth == 0 && !seen_root && s.name().as_ref() == "xml" => {
                seen_root = true;
            }
            Event::Start(s) if depth == 1 => {
                current = Some((field_name(s.name().as_ref())?, String::new()));
                depth = 2;
            }
            Event::Empty(s) if depth == 1 => {
                fields.push((field_name(s.name().as_ref())?, String::new()));
            }
            Event::End(_) if depth == 2 => {
                fields.push(current.take()?);
                depth = 1;
            }
            Event::End(_) if depth == 1 => depth = 0,
            Event::Text(t) if depth == 2 => {
                if t.contains("]]>") {
                    return None;
                }
                current.as_mut()?.1.push_str(&t);
            }
            Event::CData(c) if depth == 2 => current.as_mut()?.1.push_str(&c),
            Event::GeneralRef(r) if depth == 2 => {
                let resolved: Cow<'_, str> = if r.is_char_ref() {
                    let name: &str = &r;
                    let digits = name.trim_start_matches('#').trim_start_matches('x');
                    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return None;
                    }
                    Cow::Owned(r.resolve_char_ref().ok()??.to_string())
                } else {
                    Cow::Borrowed(quick_xml::escape::resolve_xml_entity(&r)?)
                };
                current.as_mut()?.1.push_str(&resolved);
            }
            Event::Text(t) if t.bytes().all(|b| b" \t\r\n".contains(&b)) => {}
            _ => return None,
        }
    };
    // Duplicates and characters XML cannot carry are refused, as in the core.
    {
        let mut names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        let unique = names.windows(2).all(|w| w[0] != w[1]);
        let legal = fields.iter().all(|(_, v)| {
            v.chars().all(|c| {
                (c >= ' ' || matches!(c, '\t' | '\n' | '\r'))
                    && !matches!(c, '\u{FFFE}' | '\u{FFFF}')
            })
        });
        (unique && legal).then_some(fields)
    }
}

fn field_name(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    ok.then(|| name.to_owned())
}

fn ours(text: &str) -> Option<Fields> {
    let params = xml::parse(text.as_bytes()).ok()?;
    Some(
        params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

fn sorted(fields: Option<Fields>) -> Option<Fields> {
    fields.map(|mut f| {
        f.sort();
        f
    })
}

fn agree(text: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        sorted(ours(text)),
        sorted(oracle(text)),
        "input: {:?}",
        text
    );
    Ok(())
}

/// Documents assembled from the pieces both readers care about, mostly near-valid.
fn document() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<a>".to_owned()),
        Just("</a>".to_owned()),
        Just("<b>".to_owned()),
        Just("</b>".to_owned()),
        Just("<c/>".to_owned()),
        Just("<a >".to_owned()),
        Just("</a >".to_owned()),
        Just("<![CDATA[x]]>".to_owned()),
        Just("<![CDATA[]]]]>".to_owned()),
        Just("]]>".to_owned()),
        Just("&amp;".to_owned()),
        Just("&lt;".to_owned()),
        Just("&#65;".to_owned()),
        Just("&#x4E2D;".to_owned()),
        Just("&#0;".to_owned()),
        Just("&#+1;".to_owned()),
        Just("&foo;".to_owned()),
        Just("&".to_owned()),
        Just("<!-- c -->".to_owned()),
        Just("<?pi?>".to_owned()),
        Just("<!DOCTYPE x>".to_owned()),
        Just("<a x=\"1\">".to_owned()),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("中文".to_owned()),
        Just("1".to_owned()),
        Just(">".to_owned()),
        Just("<".to_owned()),
        Just("/".to_owned()),
    ];
    (
        prop_oneof![
            Just(""),
            Just("<?xml version=\"1.0\"?>"),
            Just("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            Just("<?xml version=\"1.0\" encoding=\"GBK\"?>"),
            Just(" "),
        ],
        prop_oneof![Just("<xml>"), Just("<xml >"), Just("<root>"), Just("")],
        prop::collection::vec(piece, 0..12),
        prop_oneof![
            Just("</xml>"),
            Just("</xml>\n"),
            Just(""),
            Just("</xml><xml/>")
        ],
    )
        .prop_map(|(decl, open, pieces, close)| format!("{decl}{open}{}{close}", pieces.concat()))
}

/// Well-formed documents with random fields, so acceptance is exercised as much as refusal.
fn valid_document() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "[a-z0-9 ]{0,8}".prop_map(|v| v),
        "[a-z0-9]{0,8}".prop_map(|v| format!("<![CDATA[{v}]]>")),
        Just("&amp;&#x41;".to_owned()),
        Just("x<![CDATA[<y>]]>z".to_owned()),
    ];
    prop::collection::btree_map("[a-z_][a-z0-9_]{0,6}", value, 0..8).prop_map(|fields| {
        let body: String = fields
            .iter()
            .map(|(k, v)| format!("\n  <{k}>{v}</{k}>"))
            .collect();
        format!("<xml>{body}\n</xml>")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn readers_agree_on_assembled_documents(doc in document()) {
        agree(&doc)?;
    }

    #[test]
    fn readers_agree_on_valid_documents(doc in valid_document()) {
        prop_assert!(ours(&doc).is_some(), "{:?} should parse", doc);
        agree(&doc)?;
    }
}

#[test]
fn readers_agree_on_the_golden_notify_bodies() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/vectors/vectors.json")).unwrap();
    let mut bodies = 0;
    for v in vectors.as_array().unwrap() {
        for field in ["body_xml", "example_body_xml"] {
            if let Some(body) = v[field].as_str() {
                assert!(ours(body).is_some(), "{}", v["name"]);
                assert_eq!(sorted(ours(body)), sorted(oracle(body)), "{}", v["name"]);
                bodies += 1;
            }
        }
    }
    assert!(bodies >= 6);
}
