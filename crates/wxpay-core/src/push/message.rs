//! A push's fields as text, from either of the two data formats a mini program's message
//! push can be set to: WeChat's flat XML (`<xml><Encrypt><![CDATA[...]]></Encrypt>...`,
//! read by the same strict reader as the v2 notifies) or a JSON object. Only top-level
//! values count: a string as it is, a number or boolean as its JSON text.

use serde_json::Value;

use super::PushError;
use crate::v2::xml;

/// The push's data format (数据格式), chosen in the mini program's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// JSON when the body opens with `{`; anything else is read as XML.
    pub fn of(body: &str) -> Format {
        if body.trim_start().starts_with('{') {
            Format::Json
        } else {
            Format::Xml
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Xml => "xml",
            Format::Json => "json",
        }
    }
}

/// A push body's top-level fields, in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    pub format: Format,
    pairs: Vec<(String, String)>,
}

impl Fields {
    /// Reads a push body (an outer envelope or a decrypted message).
    pub fn parse(body: &str) -> Result<Fields, PushError> {
        let format = Format::of(body);
        let pairs = match format {
            Format::Json => match serde_json::from_str::<Value>(body.trim()) {
                Ok(Value::Object(map)) => map
                    .into_iter()
                    .filter_map(|(name, value)| match value {
                        Value::String(text) => Some((name, text)),
                        Value::Number(n) => Some((name, n.to_string())),
                        Value::Bool(b) => Some((name, b.to_string())),
                        _ => None,
                    })
                    .collect(),
                Ok(_) => return Err(PushError::Malformed("JSON, but not an object".into())),
                Err(e) => return Err(PushError::Malformed(format!("not JSON: {e}"))),
            },
            Format::Xml => xml::parse(body.trim().as_bytes())
                .map_err(|e| PushError::Malformed(format!("not WeChat's XML: {e}")))?
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        };
        Ok(Fields { format, pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// The envelope of an encrypted push in `format`, as WeChat sends it (secure mode: only
/// the recipient and `Encrypt`).
pub fn envelope(format: Format, to_user_name: &str, encrypt: &str) -> String {
    match format {
        Format::Json => {
            serde_json::json!({ "ToUserName": to_user_name, "Encrypt": encrypt }).to_string()
        }
        Format::Xml => format!(
            "<xml><ToUserName><![CDATA[{to_user_name}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_give_the_same_fields() {
        let xml = envelope(Format::Xml, "gh_1", "QUJD+/=");
        let json = envelope(Format::Json, "gh_1", "QUJD+/=");
        let (x, j) = (Fields::parse(&xml).unwrap(), Fields::parse(&json).unwrap());
        assert_eq!((x.format, j.format), (Format::Xml, Format::Json));
        assert_eq!(x.get("Encrypt"), Some("QUJD+/="));
        assert_eq!(x.iter().collect::<Vec<_>>(), j.iter().collect::<Vec<_>>());
        let numbers = Fields::parse(r#"{"CreateTime": 17, "ok": true, "nested": {}}"#).unwrap();
        assert_eq!(numbers.get("CreateTime"), Some("17"));
        assert_eq!(numbers.get("ok"), Some("true"));
        assert_eq!(numbers.get("nested"), None);
    }

    #[test]
    fn garbage_is_named_not_a_panic() {
        for bad in ["", "{", "[1]", "<xml><a>", "plain text", "{\"a\":1} x"] {
            assert!(
                matches!(Fields::parse(bad), Err(PushError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
