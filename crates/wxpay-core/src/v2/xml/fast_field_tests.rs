//! The fast path must be invisible: same fields, same errors as the general reader alone.

use proptest::prelude::*;

use super::fast_field::{self, FastField};
use super::{XmlError, XmlParser};
use crate::v2::params::Params;

fn both(doc: &str) -> (Result<Params<'_>, XmlError>, Result<Params<'_>, XmlError>) {
    (
        XmlParser::new().parse(doc.as_bytes()),
        XmlParser::new().general_only().parse(doc.as_bytes()),
    )
}

#[test]
fn reads_the_shapes_wechat_sends() {
    let cdata = "<appid><![CDATA[wx2421b1c4370ec43b]]></appid><next>";
    assert_eq!(
        fast_field::read(cdata.as_bytes()),
        Some(FastField {
            name_end: 6,
            value_start: 16,
            value_end: 34,
            len: 45
        })
    );
    let text = "<total_fee>888</total_fee>";
    assert_eq!(
        fast_field::read(text.as_bytes()),
        Some(FastField {
            name_end: 10,
            value_start: 11,
            value_end: 14,
            len: text.len()
        })
    );
    let empty = "<attach></attach>";
    let field = fast_field::read(empty.as_bytes()).unwrap();
    assert_eq!((field.value_start, field.value_end), (8, 8));
    let chinese = "<body><![CDATA[支付测试 a]b]]></body>";
    let field = fast_field::read(chinese.as_bytes());
    assert!(field.is_none(), "a ] inside goes to the general reader");
}

#[test]
fn leaves_everything_else_to_the_general_reader() {
    for field in [
        "<a >1</a>",
        "<a>1</a >",
        "<a/>",
        "<1a>1</1a>",
        "<a>1</b>",
        "<a>1<![CDATA[2]]></a>",
        "<a><![CDATA[1]]>2</a>",
        "<a>&amp;</a>",
        "<a>\u{1}</a>",
        "<a><![CDATA[\u{FFFE}]]></a>",
        "<a>（</a>",
        "<a><![CDATA[x]]]></a>",
        "<a>1",
        "<a",
        "<",
        "=a>1</a>",
        "a>1</a>",
        "",
    ] {
        assert_eq!(fast_field::read(field.as_bytes()), None, "{field:?}");
    }
}

#[test]
fn the_golden_notify_is_read_entirely_by_the_fast_path() {
    let workloads: serde_json::Value =
        serde_json::from_str(include_str!("../../../benches/workloads.json")).unwrap();
    let body = workloads["W2_notify_xml"].as_str().unwrap();
    let inner = body
        .strip_prefix("<xml>")
        .and_then(|b| b.strip_suffix("</xml>"))
        .unwrap();
    let mut rest = inner.as_bytes();
    let mut fields = 0;
    while !rest.is_empty() {
        let field = fast_field::read(rest).unwrap_or_else(|| panic!("{body}"));
        rest = &rest[field.len..];
        fields += 1;
    }
    assert_eq!(
        fields,
        XmlParser::new().parse(body.as_bytes()).unwrap().len()
    );
}

/// Fields near the simple shape, and the ways they stop being simple.
fn field() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("a"),
        Just("appid"),
        Just("_x.y-1"),
        Just("1a"),
        Just("a:b"),
        Just("b"),
    ];
    let value = prop::collection::vec(
        prop_oneof![
            Just("x"),
            Just("中"),
            Just("]"),
            Just("]]"),
            Just("]]>"),
            Just("<"),
            Just(">"),
            Just("&amp;"),
            Just("&"),
            Just("\t"),
            Just("\r\n"),
            Just("\u{1}"),
            Just("\u{FFFE}"),
            Just("（"),
            Just("<![CDATA["),
            Just("</a>"),
        ],
        0..5,
    )
    .prop_map(|pieces| pieces.concat());
    let lead = prop_oneof![
        Just("<"),
        Just("<"),
        Just("<"),
        Just("="),
        Just(" <"),
        Just("")
    ];
    let wrap = prop_oneof![Just(0u8), Just(1), Just(2)];
    let close = prop_oneof![Just(">"), Just(" >"), Just(""), Just("/>")];
    let tag = (lead, name.clone());
    (tag, name, value, wrap, close).prop_map(|((lead, open), shut, value, wrap, close)| {
        let value = match wrap {
            0 => value,
            1 => format!("<![CDATA[{value}]]>"),
            _ => format!("<![CDATA[{value}]]>{value}"),
        };
        format!("{lead}{open}>{value}</{shut}{close}")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn fast_path_changes_no_result(fields in prop::collection::vec(field(), 0..6)) {
        let doc = format!("<xml>{}</xml>", fields.concat());
        let (fast, general) = both(&doc);
        prop_assert_eq!(fast, general, "{:?}", doc);
    }
}
