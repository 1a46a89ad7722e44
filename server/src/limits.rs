//! Rate limits on login and order creation (governor's GCRA buckets, per instance): a
//! flood gets clear 429s with Retry-After instead of reaching WeChat or the database.

use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_web::http::StatusCode;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::LimitSettings;
use crate::error::ApiError;

#[derive(Debug)]
pub struct Limits {
    login_per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    orders_per_user: Option<DefaultKeyedRateLimiter<i64>>,
    orders_per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

/// Counts a request for `key` (none: not limited, e.g. no client address known).
fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &Option<DefaultKeyedRateLimiter<K>>,
    key: Option<&K>,
    what: &str,
) -> Result<(), ApiError> {
    let (Some(limiter), Some(key)) = (limiter, key) else {
        return Ok(());
    };
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until
            .wait_time_from(limiter.clock().now())
            .as_secs()
            .max(1);
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!("too many {what}; retry in {wait} s"),
        );
        error.retry_after = Some(wait);
        error
    })
}

impl Limits {
    pub fn new(settings: &LimitSettings) -> Limits {
        Limits {
            login_per_ip: limiter(settings.login_per_ip_per_minute),
            orders_per_user: limiter(settings.orders_per_user_per_minute),
            orders_per_ip: limiter(settings.orders_per_ip_per_minute),
        }
    }

    pub(crate) fn login(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        check(&self.login_per_ip, ip.as_ref(), "logins from this address")
    }

    pub(crate) fn order(&self, user_id: i64, ip: Option<IpAddr>) -> Result<(), ApiError> {
        check(
            &self.orders_per_user,
            Some(&user_id),
            "orders for this user",
        )?;
        check(&self.orders_per_ip, ip.as_ref(), "orders from this address")
    }

    /// Drops buckets that are full again, so idle keys do not accumulate.
    pub fn forget_idle(&self) {
        for limiter in [&self.login_per_ip, &self.orders_per_ip]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.orders_per_user {
            limiter.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_zero_means_off() {
        let limits = Limits::new(&LimitSettings {
            login_per_ip_per_minute: 2,
            orders_per_user_per_minute: 0,
            orders_per_ip_per_minute: 0,
        });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limits.login(Some(a)).is_ok());
        assert!(limits.login(Some(a)).is_ok());
        let refused = limits.login(Some(a)).unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.retry_after.unwrap() >= 1);
        assert!(
            limits.login(Some(b)).is_ok(),
            "other addresses are not affected"
        );
        for _ in 0..100 {
            assert!(limits.order(1, Some(a)).is_ok());
        }
    }
}
