//! Time at the edges: the server stores Unix milliseconds and shows RFC 3339.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};

pub fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-11-27T14:00:00.123Z`
pub fn rfc3339(ms: i64) -> String {
    at(ms).format(&Rfc3339).unwrap_or_default()
}

/// RFC 3339 in Beijing time (`2026-11-30T14:00:00+08:00`), as API v3's `time_expire`.
pub fn beijing_rfc3339(ms: i64) -> String {
    at(ms)
        .to_offset(offset!(+8))
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]+08:00"
        ))
        .unwrap_or_default()
}

/// `yyyyMMddHHmmss` in Beijing time, as WeChat's `time_expire` wants it.
pub fn beijing_compact(ms: i64) -> String {
    at(ms)
        .to_offset(offset!(+8))
        .format(format_description!(
            "[year][month][day][hour][minute][second]"
        ))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(beijing_compact(0), "19700101080000");
        assert!(now_ms() > 1_700_000_000_000);
    }
}
