//! Fault injection: per endpoint, for the next N calls or with a probability (drawn from
//! the seeded RNG, so a run is repeatable).

use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Jscode2session,
    Unifiedorder,
    Orderquery,
    Closeorder,
    /// API v3 `GET /v3/certificates` (prepay, query and close share the v2 names above:
    /// a fault on `unifiedorder` also hits `/v3/pay/transactions/jsapi`).
    Certificates,
    /// Refund requests: v2 `/secapi/pay/refund` and v3 `POST /v3/refund/domestic/refunds`.
    Refund,
    /// Refund queries: v2 `/pay/refundquery` and v3 `GET /v3/refund/domestic/refunds/...`.
    Refundquery,
    /// Deliveries of pay notifies to merchants.
    Notify,
    /// v3 `GET /v3/bill/tradebill` and the bill file's download.
    Bill,
    /// The order-shipping service's `POST /wxa/sec/order/upload_shipping_info`.
    ShippingUpload,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer normally after `delay_ms`.
    Delay,
    /// The request reaches WeChat only after `delay_ms` (a slow way in): WeChat acts after
    /// the wait, so whatever the caller did meanwhile happened first at WeChat.
    SlowRequest,
    /// Do the work, then hold the answer for `delay_ms` (default 30 s): the caller times
    /// out although WeChat acted, the case that makes retries with the same parameters
    /// necessary.
    Timeout,
    /// Answer with HTTP `status` (default 500) and do nothing.
    #[serde(rename = "http_5xx")]
    Http5xx,
    /// Answer with the business error SYSTEMERROR and do nothing.
    SystemError,
    /// Do the work but answer with a wrongly signed reply.
    BadSign,
    /// code2session or a shipping upload answers errcode -1 (system busy), doing nothing.
    Busy,
    /// Shipping upload: errcode 10060001 (支付单不存在) for a payment that exists, doing
    /// nothing: WeChat's shipping service has not seen a fresh payment yet (its staff's
    /// advice is to wait a minute and try again).
    PaymentNotYetKnown,
    /// Notify: this delivery attempt is lost before it reaches the merchant.
    Drop,
    /// Notify: this attempt is delivered twice, concurrently.
    Duplicate,
    /// Notify: this attempt is held for `delay_ms` (default 500 ms), so later notifies of
    /// other trades overtake it.
    Reorder,
    /// v3 notify: before this attempt, WeChat's signature probe: the same body with a
    /// `WECHATPAY/SIGNTEST/` signature, which the merchant must refuse (4xx/5xx).
    Probe,
    /// v3 notify: this attempt is signed at a timestamp 10 minutes old (outside the 300 s
    /// window), so the merchant must refuse it; later attempts are fresh.
    StaleTimestamp,
    /// v3 notify: this attempt names a `Wechatpay-Serial` the merchant does not know
    /// (correctly signed otherwise), so the merchant must refuse it.
    WrongSerial,
    /// v3: WeChat issues a new platform certificate now and signs with it from now on (to
    /// merchants with certificates; `count` rotations). Endpoint `certificates`.
    RotateCertificate,
    /// Refund: the merchant's refundable balance is too low (v2 NOTENOUGH, v3 NOT_ENOUGH).
    NotEnough,
    /// Refund: accepted, but it ends ABNORMAL (v2 CHANGE): the money could not reach the
    /// user; not final (resolve it with `POST /sim/refunds/{no}/status`).
    RefundAbnormal,
    /// Refund: accepted, but it ends CLOSED (v2 REFUNDCLOSE).
    RefundClosed,
    /// v3 query or close: a 404 ORDER_NOT_EXIST with no signature, as a proxy or a forger
    /// in the path could answer; nothing is done. The merchant must not believe it.
    UnsignedNotFound,
}

impl FaultKind {
    /// What can happen to any signed API call: it is slow, times out, fails, or is
    /// answered wrongly signed.
    fn befalls_any_call(self) -> bool {
        use FaultKind::*;
        matches!(
            self,
            Delay | SlowRequest | Timeout | Http5xx | SystemError | BadSign
        )
    }

    fn applies_to(self, endpoint: Endpoint) -> bool {
        use FaultKind::*;
        match endpoint {
            Endpoint::Jscode2session => matches!(self, Delay | Timeout | Http5xx | Busy),
            Endpoint::ShippingUpload => {
                matches!(self, Delay | Timeout | Http5xx | Busy | PaymentNotYetKnown)
            }
            Endpoint::Unifiedorder => self.befalls_any_call(),
            Endpoint::Orderquery | Endpoint::Closeorder => {
                self.befalls_any_call() || self == UnsignedNotFound
            }
            Endpoint::Refund => {
                self.befalls_any_call() || matches!(self, NotEnough | RefundAbnormal | RefundClosed)
            }
            Endpoint::Refundquery => {
                matches!(self, Delay | Timeout | Http5xx | SystemError | BadSign)
            }
            Endpoint::Certificates => self.befalls_any_call() || self == RotateCertificate,
            Endpoint::Bill => matches!(self, Delay | Timeout | Http5xx | SystemError | BadSign),
            Endpoint::Notify => matches!(
                self,
                Delay | Drop | Duplicate | Reorder | Probe | StaleTimestamp | WrongSerial
            ),
        }
    }

    /// Notify faults that only a v3 notify can have (a v2 notify ignores them).
    pub fn is_v3_notify_only(self) -> bool {
        matches!(
            self,
            FaultKind::Probe | FaultKind::StaleTimestamp | FaultKind::WrongSerial
        )
    }

    /// Real milliseconds a delaying fault waits when the spec names none.
    pub fn default_delay_ms(self) -> u64 {
        match self {
            FaultKind::Timeout => 30_000,
            FaultKind::Reorder => 500,
            _ => 1_000,
        }
    }
}

/// A fault as posted to `POST /sim/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub endpoint: Endpoint,
    pub kind: FaultKind,
    /// Apply to the next `count` calls...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// ...or to each call with this probability (0 < p <= 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Real milliseconds, for delay / timeout / reorder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// HTTP status for `http_5xx` (500-599).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl FaultSpec {
    pub fn validate(&self) -> Result<(), String> {
        if !self.kind.applies_to(self.endpoint) {
            return Err(format!(
                "fault {:?} does not apply to endpoint {:?}",
                self.kind, self.endpoint
            ));
        }
        let rate: Result<(), &str> = match (self.count, self.probability) {
            (Some(0), None) => Err("count must be at least 1"),
            (Some(_), None) => Ok(()),
            (None, Some(p)) if p > 0.0 && p <= 1.0 => Ok(()),
            (None, Some(_)) => Err("probability must be in (0, 1]"),
            _ => Err("give exactly one of count or probability"),
        };
        rate.map_err(str::to_owned)?;
        match self.status {
            Some(status) if !(500..=599).contains(&status) => Err("status must be 500-599".into()),
            _ => Ok(()),
        }
    }

    pub fn delay(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.delay_ms.unwrap_or(self.kind.default_delay_ms()))
    }
}

/// The active faults, in the order they were added.
#[derive(Debug, Default)]
pub struct FaultBook {
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    spec: FaultSpec,
    remaining: Option<u32>,
}

impl FaultBook {
    pub fn add(&mut self, spec: FaultSpec) {
        self.rules.push(Rule {
            remaining: spec.count,
            spec,
        });
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn list(&self) -> Vec<FaultSpec> {
        self.rules
            .iter()
            .map(|r| FaultSpec {
                count: r.remaining,
                ..r.spec.clone()
            })
            .collect()
    }

    /// The fault to apply to one call of `endpoint`, if any: the first rule that fires.
    pub fn take(&mut self, endpoint: Endpoint, rng: &mut StdRng) -> Option<FaultSpec> {
        let mut fired = None;
        for (at, rule) in self.rules.iter_mut().enumerate() {
            if rule.spec.endpoint != endpoint {
                continue;
            }
            match (&mut rule.remaining, rule.spec.probability) {
                (Some(remaining), _) => {
                    *remaining = remaining.saturating_sub(1);
                    fired = Some((at, rule.spec.clone(), *remaining == 0));
                    break;
                }
                (None, Some(p)) if rng.random_bool(p.clamp(0.0, 1.0)) => {
                    fired = Some((at, rule.spec.clone(), false));
                    break;
                }
                _ => {}
            }
        }
        let (at, spec, used_up) = fired?;
        if used_up {
            self.rules.remove(at);
        }
        Some(spec)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn spec(endpoint: Endpoint, kind: FaultKind, count: Option<u32>, p: Option<f64>) -> FaultSpec {
        FaultSpec {
            endpoint,
            kind,
            count,
            probability: p,
            delay_ms: None,
            status: None,
        }
    }

    #[test]
    fn counted_faults_fire_that_many_times() {
        let mut rng = StdRng::seed_from_u64(0);
        let mut book = FaultBook::default();
        book.add(spec(
            Endpoint::Unifiedorder,
            FaultKind::SystemError,
            Some(2),
            None,
        ));
        assert!(book.take(Endpoint::Orderquery, &mut rng).is_none());
        assert!(book.take(Endpoint::Unifiedorder, &mut rng).is_some());
        assert!(book.take(Endpoint::Unifiedorder, &mut rng).is_some());
        assert!(book.take(Endpoint::Unifiedorder, &mut rng).is_none());
        assert!(book.list().is_empty());
    }

    #[test]
    fn probabilistic_faults_follow_the_seed() {
        let run = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut book = FaultBook::default();
            book.add(spec(Endpoint::Notify, FaultKind::Drop, None, Some(0.2)));
            (0..1000)
                .map(|_| book.take(Endpoint::Notify, &mut rng).is_some())
                .collect::<Vec<_>>()
        };
        let first = run(42);
        assert_eq!(first, run(42));
        let fired = first.iter().filter(|f| **f).count();
        assert!((150..250).contains(&fired), "{fired}");
    }

    #[test]
    fn validation_names_the_problem() {
        let bad = spec(Endpoint::Notify, FaultKind::SystemError, Some(1), None);
        assert!(bad.validate().unwrap_err().contains("does not apply"));
        let both = spec(Endpoint::Notify, FaultKind::Drop, Some(1), Some(0.5));
        assert!(both.validate().unwrap_err().contains("exactly one"));
        let zero = spec(Endpoint::Notify, FaultKind::Drop, None, Some(0.0));
        assert!(zero.validate().is_err());
        assert!(
            spec(Endpoint::Unifiedorder, FaultKind::BadSign, Some(1), None)
                .validate()
                .is_ok()
        );
    }
}
