//! The replies a merchant sends back to WeChat's notifies (protocol.md §2.11 step 5), and
//! reading such a reply (what WeChat, or the simulator, does with it).

use crate::v2::params::Params;
use crate::v2::xml;

/// The exact acknowledgement WeChat expects. Anything else makes it retry.
pub const SUCCESS_REPLY: &str = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

/// A FAIL reply with a short reason. Characters XML cannot carry are dropped from the
/// reason rather than failing the reply.
pub fn fail_reply(reason: &str) -> String {
    let clean: String = reason
        .chars()
        .filter(|&c| c >= ' ' && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        .take(128)
        .collect();
    let params: Params = [("return_code", "FAIL"), ("return_msg", clean.as_str())]
        .into_iter()
        .collect();
    // Both names are valid and the value was cleaned, so encoding cannot fail; the
    // fallback still says FAIL.
    xml::to_xml(&params).unwrap_or_else(|_| "<xml><return_code>FAIL</return_code></xml>".to_owned())
}

/// Whether a merchant's reply acknowledges the notify (`return_code` SUCCESS).
pub fn is_success_reply(body: &[u8]) -> bool {
    xml::parse(body).is_ok_and(|p| p.get("return_code") == Some("SUCCESS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_reply_is_the_documented_bytes_and_reads_as_success() {
        assert_eq!(
            SUCCESS_REPLY,
            "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
        );
        assert!(is_success_reply(SUCCESS_REPLY.as_bytes()));
    }

    #[test]
    fn fail_reply_carries_the_reason_and_reads_as_failure() {
        let reply = fail_reply("签名失败 ]]> \u{1}");
        let parsed = xml::parse(reply.as_bytes()).unwrap();
        assert_eq!(parsed.get("return_code"), Some("FAIL"));
        assert_eq!(parsed.get("return_msg"), Some("签名失败 ]]> "));
        assert!(!is_success_reply(reply.as_bytes()));
        assert!(!is_success_reply(b"success"));
        assert!(!is_success_reply(b""));
    }
}
