//! Writing WeChat's flat XML. Numbers go bare (`<total_fee>1</total_fee>`), everything
//! else in CDATA, as WeChat itself writes them.

use super::{ROOT, XmlError, first_illegal_char, is_field_name, quote};
use crate::v2::params::Params;

const CDATA_END: &str = "]]>";

/// `<xml>` with every field of `params`, in ASCII key order.
pub fn to_xml(params: &Params<'_>) -> Result<String, XmlError> {
    to_xml_with_root(params, ROOT)
}

pub fn to_xml_with_root(params: &Params<'_>, root: &str) -> Result<String, XmlError> {
    if !is_field_name(root) {
        return Err(XmlError::BadName(quote(root)));
    }
    let body: usize = params.iter().map(|(k, v)| 2 * k.len() + v.len() + 17).sum();
    let mut out = String::with_capacity(body + 2 * root.len() + 5);
    open(&mut out, root);
    for (key, value) in params.iter() {
        if !is_field_name(key) {
            return Err(XmlError::BadName(quote(key)));
        }
        if let Some(c) = first_illegal_char(value) {
            return Err(XmlError::IllegalChar(u32::from(c)));
        }
        open(&mut out, key);
        write_value(&mut out, value);
        close(&mut out, key);
    }
    close(&mut out, root);
    Ok(out)
}

fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn write_value(out: &mut String, value: &str) {
    if value.is_empty() {
        return;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        out.push_str(value);
        return;
    }
    // A CDATA section cannot contain `]]>`: end the section between `]]` and `>` and
    // start another, so the reader's concatenation gives back the exact value.
    out.push_str("<![CDATA[");
    let mut rest = value;
    while let Some(at) = rest.find(CDATA_END) {
        let (head, tail) = rest.split_at(at + 2);
        out.push_str(head);
        out.push_str("]]><![CDATA[");
        rest = tail;
    }
    out.push_str(rest);
    out.push_str("]]>");
}
