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

/// The Beijing day (`YYYY-MM-DD`) of an instant: WeChat's day, which its bills cover.
pub fn beijing_date(ms: i64) -> String {
    at(ms)
        .to_offset(offset!(+8))
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// When a Beijing day (`YYYY-MM-DD`, a real date) starts, in Unix ms.
pub fn beijing_day_start(date: &str) -> Option<i64> {
    let day = time::Date::parse(date, format_description!("[year]-[month]-[day]")).ok()?;
    let start = day.midnight().assume_offset(offset!(+8));
    i64::try_from(start.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The Beijing day of a time as WeChat writes it: `yyyyMMddHHmmss` (v2 `time_end`),
/// `yyyy-MM-dd HH:mm:ss` (v2 refund `success_time`, bills) or RFC 3339 (v3).
pub fn beijing_day_of(wechat_time: &str) -> Option<String> {
    if let Ok(parsed) = OffsetDateTime::parse(wechat_time, &Rfc3339) {
        return parsed
            .to_offset(offset!(+8))
            .format(format_description!("[year]-[month]-[day]"))
            .ok();
    }
    let digits: String = wechat_time
        .chars()
        .take(19)
        .filter(char::is_ascii_digit)
        .collect();
    let date = format!(
        "{}-{}-{}",
        digits.get(0..4)?,
        digits.get(4..6)?,
        digits.get(6..8)?
    );
    beijing_day_start(&date).map(|_| date)
}

/// The hour (0-23) in Beijing at an instant.
pub fn beijing_hour(ms: i64) -> u8 {
    at(ms).to_offset(offset!(+8)).hour()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_days() {
        // 2026-11-29T16:30:00Z is 00:30 on the 30th in Beijing.
        let ms = 1_795_969_800_000;
        assert_eq!(rfc3339(ms), "2026-11-29T16:30:00Z");
        assert_eq!(beijing_date(ms), "2026-11-30");
        assert_eq!(beijing_hour(ms), 0);
        assert_eq!(beijing_day_start("2026-11-30"), Some(1_795_968_000_000));
        assert_eq!(beijing_day_start("2026-02-30"), None);
        assert_eq!(beijing_day_start("2026-11-30x"), None);
        for (time, day) in [
            ("20261130235959", "2026-11-30"),
            ("2026-11-30 23:59:59", "2026-11-30"),
            ("2026-11-30T23:59:59+08:00", "2026-11-30"),
            ("2026-11-30T16:00:00Z", "2026-12-01"),
        ] {
            assert_eq!(beijing_day_of(time).as_deref(), Some(day), "{time}");
        }
        assert_eq!(beijing_day_of("yesterday"), None);
        assert_eq!(beijing_day_of("20261340000000"), None);
    }

    #[test]
    fn formats() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(beijing_compact(0), "19700101080000");
        assert!(now_ms() > 1_700_000_000_000);
    }
}
