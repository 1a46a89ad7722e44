//! WeChat's field rules for v2 pay requests (protocol.md §2.5).

use std::net::IpAddr;

use wxpay_core::Fen;

use super::BizError;

fn invalid(description: String) -> BizError {
    BizError::new("INVALID_REQUEST", description)
}

/// At most `max` characters (WeChat's `String(n)` limits count characters).
pub(crate) fn max_chars(field: &str, value: &str, max: usize) -> Result<(), BizError> {
    if value.chars().count() > max {
        return Err(invalid(format!("{field} 超过 {max} 个字符")));
    }
    Ok(())
}

/// `out_trade_no`: 1-32 characters of digits, letters and `_ - | *`.
pub(crate) fn out_trade_no(value: &str) -> Result<(), BizError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*');
    if value.is_empty() || value.len() > 32 || !value.bytes().all(allowed) {
        return Err(invalid(
            "out_trade_no 须为 32 个字符以内的数字、字母或 _-|*".to_owned(),
        ));
    }
    Ok(())
}

/// `total_fee`: an integer number of fen, at least 1.
pub(crate) fn total_fee(value: &str) -> Result<Fen, BizError> {
    match Fen::parse_wechat(value) {
        Ok(fee) if fee.is_positive() => Ok(fee),
        _ => Err(invalid(format!(
            "total_fee 须为大于 0 的整数（单位：分），收到 {:?}",
            value.chars().take(20).collect::<String>()
        ))),
    }
}

/// `notify_url`: an absolute http(s) URL, at most 256 characters, without a query.
pub(crate) fn notify_url(value: &str) -> Result<(), BizError> {
    max_chars("notify_url", value, 256)?;
    let parsed = url::Url::parse(value)
        .map_err(|_| invalid("notify_url 须为完整的 http(s) 地址".to_owned()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(invalid("notify_url 须为完整的 http(s) 地址".to_owned()));
    }
    if parsed.query().is_some() {
        return Err(invalid("notify_url 不能携带参数".to_owned()));
    }
    Ok(())
}

pub(crate) fn ip(value: &str) -> Result<(), BizError> {
    value
        .parse::<IpAddr>()
        .map(|_| ())
        .map_err(|_| invalid("spbill_create_ip 须为 IPv4 或 IPv6 地址".to_owned()))
}

/// `time_start` / `time_expire`: `yyyyMMddHHmmss`.
pub(crate) fn compact_time(field: &str, value: &str) -> Result<(), BizError> {
    if value.len() != 14 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!("{field} 格式须为 yyyyMMddHHmmss")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_trade_no_rules() {
        assert!(out_trade_no("20150806125346").is_ok());
        assert!(out_trade_no("a-b_c|d*e").is_ok());
        assert!(out_trade_no("").is_err());
        assert!(out_trade_no(&"1".repeat(33)).is_err());
        assert!(out_trade_no("no spaces").is_err());
        assert!(out_trade_no("订单").is_err());
    }

    #[test]
    fn total_fee_rules() {
        assert_eq!(total_fee("1").unwrap(), Fen::new(1));
        for bad in ["0", "-1", "1.5", "", "01", "abc"] {
            assert_eq!(total_fee(bad).unwrap_err().code, "INVALID_REQUEST", "{bad}");
        }
    }

    #[test]
    fn notify_url_rules() {
        assert!(notify_url("https://example.com/wxpay/notify").is_ok());
        assert!(notify_url("http://127.0.0.1:8080/wechat/pay/notify").is_ok());
        assert!(notify_url("/relative").is_err());
        assert!(notify_url("ftp://example.com/x").is_err());
        assert!(notify_url("https://example.com/n?order=1").is_err());
    }
}
