use super::*;
use crate::v2::params::Params;

fn ok(input: &str) -> Params<'_> {
    parse(input.as_bytes()).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"))
}

fn err(input: &str) -> XmlError {
    parse(input.as_bytes()).expect_err(input)
}

#[test]
fn reads_text_cdata_and_empty_fields() {
    let p = ok("<xml><a>1</a><b><![CDATA[二 <x> & y]]></b><c/><d></d></xml>");
    assert_eq!(p.get("a"), Some("1"));
    assert_eq!(p.get("b"), Some("二 <x> & y"));
    assert_eq!(p.get("c"), Some(""));
    assert_eq!(p.get("d"), Some(""));
    assert_eq!(p.len(), 4);
}

#[test]
fn accepts_declaration_layout_whitespace_and_mixed_pieces() {
    let p = ok(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml>\n  <a>x<![CDATA[y]]>&lt;z&#x41;&#66;</a>\n</xml>\n",
    );
    assert_eq!(p.get("a"), Some("xy<zAB"));
}

#[test]
fn values_are_kept_exactly() {
    let p = ok("<xml><a> padded </a><b><![CDATA[\r\nline]]></b></xml>");
    assert_eq!(p.get("a"), Some(" padded "));
    assert_eq!(p.get("b"), Some("\r\nline"));
}

#[test]
fn borrows_from_the_input_when_no_unescaping_is_needed() {
    let input = "<xml><appid><![CDATA[wx1]]></appid><total_fee>1</total_fee></xml>";
    let p = ok(input);
    let range = input.as_bytes().as_ptr_range();
    for (k, v) in p.iter() {
        assert!(range.contains(&k.as_ptr()), "key {k} was copied");
        assert!(range.contains(&v.as_ptr()), "value {v} was copied");
    }
}

#[test]
fn refuses_doctype_and_entities() {
    assert_eq!(
        err("<!DOCTYPE xml [<!ENTITY x \"y\">]><xml><a>&x;</a></xml>"),
        XmlError::DocType
    );
    assert_eq!(err("<xml><a>&x;</a></xml>"), XmlError::Entity("x".into()));
    assert_eq!(
        err("<xml><a>&nbsp;</a></xml>"),
        XmlError::Entity("nbsp".into())
    );
    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><xml><a>&lol2;</a></xml>";
    assert_eq!(err(laughs), XmlError::DocType);
    let xxe = "<!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><a>&xxe;</a></xml>";
    assert_eq!(err(xxe), XmlError::DocType);
}

#[test]
fn refuses_bad_character_references() {
    assert!(matches!(
        err("<xml><a>&#0;</a></xml>"),
        XmlError::BadCharRef(_)
    ));
    assert!(matches!(
        err("<xml><a>&#xD800;</a></xml>"),
        XmlError::BadCharRef(_)
    ));
    assert_eq!(err("<xml><a>&#1;</a></xml>"), XmlError::IllegalChar(1));
    for bad in [
        "&#+65;",
        "&#x+41;",
        "&#;",
        "&#x;",
        "&#x110000;",
        "&#99999999999;",
    ] {
        let input = format!("<xml><a>{bad}</a></xml>");
        assert!(matches!(err(&input), XmlError::BadCharRef(_)), "{bad}");
    }
}

#[test]
fn refuses_nesting_duplicates_attributes_and_names() {
    assert_eq!(
        err("<xml><a><b>1</b></a></xml>"),
        XmlError::Nested("a".into())
    );
    assert_eq!(err("<xml><a><b/></a></xml>"), XmlError::Nested("a".into()));
    assert_eq!(
        err("<xml><total_fee>1</total_fee><total_fee>100</total_fee></xml>"),
        XmlError::DuplicateField("total_fee".into())
    );
    assert_eq!(
        err("<xml><a x=\"1\">v</a></xml>"),
        XmlError::Attributes("a".into())
    );
    assert_eq!(
        err("<xml id=\"1\"><a>v</a></xml>"),
        XmlError::Attributes("xml".into())
    );
    assert!(matches!(
        err("<xml><ns:a>v</ns:a></xml>"),
        XmlError::BadName(_)
    ));
}

#[test]
fn refuses_wrong_root_trailing_data_and_stray_text() {
    assert_eq!(
        err("<root><a>1</a></root>"),
        XmlError::WrongRoot {
            expected: "xml".into(),
            found: "root".into()
        }
    );
    assert_eq!(err("<xml><a>1</a></xml><xml/>"), XmlError::TrailingData);
    assert_eq!(err("<xml><a>1</a></xml>garbage"), XmlError::TrailingData);
    assert_eq!(err("<xml>text<a>1</a></xml>"), XmlError::StrayText);
    assert_eq!(err("junk<xml/>"), XmlError::StrayText);
    assert_eq!(err("<xml><a>1</a>"), XmlError::Unclosed);
    assert!(matches!(err("<xml><a>1</b></xml>"), XmlError::Malformed(_)));
}

#[test]
fn refuses_comments_pis_and_other_encodings() {
    assert_eq!(err("<xml><!-- c --><a>1</a></xml>"), XmlError::CommentOrPi);
    assert_eq!(err("<xml><?pi x?><a>1</a></xml>"), XmlError::CommentOrPi);
    assert_eq!(
        err("<?xml version=\"1.0\" encoding=\"GBK\"?><xml/>"),
        XmlError::NotUtf8Declared("GBK".into())
    );
}

#[test]
fn enforces_limits_and_utf8() {
    assert_eq!(err(""), XmlError::Empty);
    assert_eq!(err("  \n"), XmlError::Empty);
    assert_eq!(
        parse(b"<xml><a>\xff</a></xml>").unwrap_err(),
        XmlError::NotUtf8
    );
    let big = format!("<xml><a>{}</a></xml>", "x".repeat(DEFAULT_MAX_BYTES));
    assert_eq!(
        err(&big),
        XmlError::TooLarge {
            limit: DEFAULT_MAX_BYTES
        }
    );
    let small = XmlParser::new().max_bytes(10).parse(b"<xml><a>1</a></xml>");
    assert_eq!(small.unwrap_err(), XmlError::TooLarge { limit: 10 });
    let fields = XmlParser::new()
        .max_fields(1)
        .parse(b"<xml><a>1</a><b>2</b></xml>");
    assert_eq!(fields.unwrap_err(), XmlError::TooManyFields { limit: 1 });
}

#[test]
fn custom_root() {
    let p = XmlParser::new()
        .root("root")
        .parse(b"<root>\n<a><![CDATA[1]]></a>\n</root>")
        .unwrap();
    assert_eq!(p.get("a"), Some("1"));
}

#[test]
fn encodes_numbers_bare_and_text_in_cdata() {
    let params: Params = [("total_fee", "1"), ("body", "a<b"), ("attach", "")]
        .into_iter()
        .collect();
    assert_eq!(
        to_xml(&params).unwrap(),
        "<xml><attach></attach><body><![CDATA[a<b]]></body><total_fee>1</total_fee></xml>"
    );
}

#[test]
fn encodes_cdata_terminator_inside_values() {
    let value = "x]]>y]]]]>z";
    let params: Params = [("v", value)].into_iter().collect();
    let encoded = to_xml(&params).unwrap();
    assert_eq!(ok(&encoded).get("v"), Some(value));
}

#[test]
fn encode_refuses_what_xml_cannot_carry() {
    let bad_name: Params = [("a b", "1")].into_iter().collect();
    assert!(matches!(to_xml(&bad_name), Err(XmlError::BadName(_))));
    let bad_char: Params = [("a", "\u{0}")].into_iter().collect();
    assert_eq!(to_xml(&bad_char), Err(XmlError::IllegalChar(0)));
    let bad_root = Params::new();
    assert!(matches!(
        to_xml_with_root(&bad_root, "<x>"),
        Err(XmlError::BadName(_))
    ));
}

#[test]
fn error_messages_quote_little() {
    let long = format!("<xml><{0}:x>1</{0}:x></xml>", "a".repeat(500));
    let parsed = parse(long.as_bytes()).unwrap_err();
    assert!(matches!(parsed, XmlError::BadName(_)));
    let message = parsed.to_string();
    assert!(message.len() < 120, "{message}");
}
