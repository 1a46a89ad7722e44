//! Simulated time. Durations WeChat defines (code and prepay_id lifetimes, the notify
//! retry schedule, the reply timeout) are divided by the time scale; wall-clock stamps
//! (`time_end`) stay real Beijing time.

use std::time::Duration;

use time::OffsetDateTime;
use time::macros::{format_description, offset};

/// Converts WeChat's durations into real durations for this run.
#[derive(Debug, Clone, Copy)]
pub struct TimeScale(f64);

impl TimeScale {
    pub fn new(factor: f64) -> Self {
        TimeScale(factor)
    }

    pub fn factor(self) -> f64 {
        self.0
    }

    /// The simulated duration that `real` stands for.
    pub fn simulated(self, real: Duration) -> Duration {
        Duration::from_secs_f64(real.as_secs_f64() * self.0)
    }

    /// The real duration that stands for `simulated`.
    pub fn real(self, simulated: Duration) -> Duration {
        Duration::from_secs_f64(simulated.as_secs_f64() / self.0)
    }
}

/// `yyyyMMddHHmmss` in Beijing time (GMT+8), as in `time_end`.
pub(crate) fn beijing_compact(at: OffsetDateTime) -> String {
    at.to_offset(offset!(+8))
        .format(format_description!(
            "[year][month][day][hour][minute][second]"
        ))
        .unwrap_or_default()
}

/// RFC 3339 in Beijing time (`2026-11-30T12:00:01+08:00`), as in API v3's times.
pub(crate) fn beijing_rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(offset!(+8))
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]+08:00"
        ))
        .unwrap_or_default()
}

pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_durations() {
        let scale = TimeScale::new(1000.0);
        assert_eq!(
            scale.real(Duration::from_secs(15)),
            Duration::from_millis(15)
        );
        assert_eq!(
            TimeScale::new(1.0).real(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn formats_beijing_time() {
        let utc = time::macros::datetime!(2026-11-27 16:30:05 UTC);
        assert_eq!(beijing_compact(utc), "20261128003005");
        assert_eq!(beijing_rfc3339(utc), "2026-11-28T00:30:05+08:00");
    }
}
