//! Money as an integer number of fen (分, 0.01 CNY). No floats anywhere near money.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of money in fen. Arithmetic is checked: overflow is an error, never a wrap.
///
/// Amounts can be negative only through [`Fen::checked_sub`] results the caller asked for;
/// WeChat's own amounts (`total_fee`, `cash_fee`, ...) are parsed with [`Fen::parse_wechat`],
/// which accepts only plain non-negative decimal integers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(i64);

/// Why a string is not a valid amount of fen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FenError {
    #[error("amount is empty")]
    Empty,
    #[error("amount must be a whole number of fen (digits only, no sign, point or spaces)")]
    NotDigits,
    #[error("amount has a leading zero; WeChat sends plain integers such as 1 or 888")]
    LeadingZero,
    #[error("amount is too large")]
    Overflow,
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// The largest amount WeChat Pay takes: `total_fee` is an Int (2^31 - 1 fen,
    /// 21,474,836.47 CNY). A larger order must be refused before any call to WeChat.
    pub const WECHAT_MAX: Fen = Fen(2_147_483_647);

    pub const fn new(fen: i64) -> Self {
        Fen(fen)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// Parses a WeChat amount field: ASCII digits only, no sign, no leading zeros
    /// (except `"0"` itself), no decimal point, no whitespace.
    pub fn parse_wechat(s: &str) -> Result<Fen, FenError> {
        let bytes = s.as_bytes();
        match bytes {
            [] => return Err(FenError::Empty),
            [b'0', _, ..] => {
                return if bytes.iter().all(u8::is_ascii_digit) {
                    Err(FenError::LeadingZero)
                } else {
                    Err(FenError::NotDigits)
                };
            }
            _ => {}
        }
        let mut value: i64 = 0;
        for &b in bytes {
            if !b.is_ascii_digit() {
                return Err(FenError::NotDigits);
            }
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(b - b'0')))
                .ok_or(FenError::Overflow)?;
        }
        Ok(Fen(value))
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    /// Unit price times a quantity (for order lines).
    pub fn checked_mul(self, quantity: u32) -> Option<Fen> {
        self.0.checked_mul(i64::from(quantity)).map(Fen)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Human display in yuan with exactly two decimals, e.g. `12.05`. For people, never for
    /// the wire: WeChat's v2 fields are fen integers (use `Display`).
    pub fn to_yuan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Writes the integer number of fen, which is what WeChat's `total_fee` carries.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_integers() {
        assert_eq!(Fen::parse_wechat("1"), Ok(Fen(1)));
        assert_eq!(Fen::parse_wechat("888"), Ok(Fen(888)));
        assert_eq!(Fen::parse_wechat("0"), Ok(Fen(0)));
        assert_eq!(Fen::parse_wechat("9223372036854775807"), Ok(Fen(i64::MAX)));
    }

    #[test]
    fn rejects_everything_else() {
        assert_eq!(Fen::parse_wechat(""), Err(FenError::Empty));
        assert_eq!(Fen::parse_wechat("01"), Err(FenError::LeadingZero));
        assert_eq!(Fen::parse_wechat("0x1"), Err(FenError::NotDigits));
        for bad in ["-1", "+1", "1.00", " 1", "1 ", "1e3", "１"] {
            assert_eq!(Fen::parse_wechat(bad), Err(FenError::NotDigits), "{bad}");
        }
        assert_eq!(
            Fen::parse_wechat("9223372036854775808"),
            Err(FenError::Overflow)
        );
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Fen(2).checked_add(Fen(3)), Some(Fen(5)));
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
        assert_eq!(Fen(150).checked_mul(3), Some(Fen(450)));
        assert_eq!(Fen(i64::MAX).checked_mul(2), None);
        assert_eq!(Fen(1).checked_sub(Fen(2)), Some(Fen(-1)));
    }

    #[test]
    fn displays_fen_and_yuan() {
        assert_eq!(Fen(1205).to_string(), "1205");
        assert_eq!(Fen(1205).to_yuan_string(), "12.05");
        assert_eq!(Fen(5).to_yuan_string(), "0.05");
        assert_eq!(Fen(-250).to_yuan_string(), "-2.50");
    }
}
