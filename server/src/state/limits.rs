//! Rate limits on login, order creation and phone-number lookups (governor's GCRA buckets, per instance): a
//! flood gets clear 429s with Retry-After instead of reaching WeChat or the database.
//! Clients are told apart by address: the TCP peer, or the header a trusted proxy sets
//! (`limits.client_ip_header`); an IPv6 client by its /64, which one subscriber usually
//! holds whole (so rotating addresses inside it does not escape the limit).

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::base::error::ApiError;
use crate::config::LimitSettings;

#[derive(Debug)]
pub struct Limits {
    login_per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    orders_per_user: Option<DefaultKeyedRateLimiter<i64>>,
    orders_per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    phone_per_user: Option<DefaultKeyedRateLimiter<i64>>,
    phone_per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    client_ip_header: Option<String>,
}

/// The key a client's address is limited under: IPv4 as is (also when mapped into
/// IPv6), IPv6 by its /64 prefix.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
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
            phone_per_user: limiter(settings.phone_per_user_per_minute),
            phone_per_ip: limiter(settings.phone_per_ip_per_minute),
            client_ip_header: settings
                .client_ip_header
                .clone()
                .filter(|h| !h.trim().is_empty()),
        }
    }

    /// The client's address key: from `limits.client_ip_header` when configured and
    /// present (its last comma-separated entry: the one the trusted proxy added), else
    /// the TCP peer.
    pub(crate) fn client(&self, req: &HttpRequest) -> Option<IpAddr> {
        let from_header = self.client_ip_header.as_deref().and_then(|name| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|last| last.trim().parse::<IpAddr>().ok())
        });
        from_header
            .or_else(|| req.peer_addr().map(|a| a.ip()))
            .map(address_key)
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

    pub(crate) fn phone(&self, user_id: i64, ip: Option<IpAddr>) -> Result<(), ApiError> {
        check(
            &self.phone_per_user,
            Some(&user_id),
            "phone-number lookups for this user",
        )?;
        check(
            &self.phone_per_ip,
            ip.as_ref(),
            "phone-number lookups from this address",
        )
    }

    /// Drops buckets that are full again, so idle keys do not accumulate.
    pub fn forget_idle(&self) {
        for limiter in [&self.login_per_ip, &self.orders_per_ip, &self.phone_per_ip]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
        }
        for limiter in [&self.orders_per_user, &self.phone_per_user]
            .into_iter()
            .flatten()
        {
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
            phone_per_user_per_minute: 0,
            phone_per_ip_per_minute: 0,
            client_ip_header: None,
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

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_mapped_ipv4_as_ipv4() {
        let key = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("2001:db8:1:2:aaaa::1").to_string(), "2001:db8:1:2::");
        assert_eq!(key("::ffff:10.0.0.1"), key("10.0.0.1"));
        assert_eq!(key("10.0.0.1").to_string(), "10.0.0.1");
    }

    #[test]
    fn the_client_comes_from_the_trusted_header_only_when_configured() {
        use actix_web::test::TestRequest;
        let peer: std::net::SocketAddr = "192.0.2.9:5000".parse().unwrap();
        let request = TestRequest::default()
            .peer_addr(peer)
            .insert_header(("X-Forwarded-For", "203.0.113.7, 198.51.100.2"))
            .to_http_request();
        let settings = |header: Option<&str>| LimitSettings {
            login_per_ip_per_minute: 1,
            orders_per_user_per_minute: 0,
            orders_per_ip_per_minute: 0,
            phone_per_user_per_minute: 0,
            phone_per_ip_per_minute: 0,
            client_ip_header: header.map(str::to_owned),
        };
        let plain = Limits::new(&settings(None));
        assert_eq!(plain.client(&request), Some(peer.ip()));
        let proxied = Limits::new(&settings(Some("X-Forwarded-For")));
        assert_eq!(
            proxied.client(&request),
            Some("198.51.100.2".parse().unwrap()),
            "the last entry is the proxy's"
        );
        let garbage = TestRequest::default()
            .peer_addr(peer)
            .insert_header(("X-Forwarded-For", "not an address"))
            .to_http_request();
        assert_eq!(proxied.client(&garbage), Some(peer.ip()));
    }
}
