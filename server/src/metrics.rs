//! Prometheus metrics: requests, latencies, orders by state, notifies by outcome.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::OrderStatus;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route pattern (`/v1/orders/{order_no}`), never the raw path.
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: &'static str,
}

type LatencyFamily = Family<RouteLabel, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_latency: LatencyFamily,
    /// Notifies by outcome: paid, duplicate, bad_signature, mismatch, unknown_order, ...
    pub notifies: Family<OutcomeLabel, Counter>,
    /// Orders settled, by what proved the payment: notify or orderquery.
    pub settlements: Family<OutcomeLabel, Counter>,
    pub orders_created: Counter,
    pub orders_by_status: Family<StatusLabel, Gauge>,
    pub wechat_failures: Family<OutcomeLabel, Counter>,
    pub reconciler_checks: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("wxpay");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_latency = LatencyFamily::new_with_constructor(latency_histogram);
        let notifies = Family::<OutcomeLabel, Counter>::default();
        let settlements = Family::<OutcomeLabel, Counter>::default();
        let orders_created = Counter::default();
        let orders_by_status = Family::<StatusLabel, Gauge>::default();
        let wechat_failures = Family::<OutcomeLabel, Counter>::default();
        let reconciler_checks = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests handled",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            http_latency.clone(),
        );
        registry.register(
            "notifies",
            "WeChat pay notifies by outcome",
            notifies.clone(),
        );
        registry.register(
            "settlements",
            "Orders marked paid, by source",
            settlements.clone(),
        );
        registry.register("orders_created", "Orders created", orders_created.clone());
        registry.register("orders", "Orders by status", orders_by_status.clone());
        registry.register(
            "wechat_failures",
            "Failed calls to WeChat, by API",
            wechat_failures.clone(),
        );
        registry.register(
            "reconciler_checks",
            "Orders the reconciler checked with WeChat",
            reconciler_checks.clone(),
        );
        Metrics {
            registry,
            http_requests,
            http_latency,
            notifies,
            settlements,
            orders_created,
            orders_by_status,
            wechat_failures,
            reconciler_checks,
        }
    }
}

impl Metrics {
    pub fn notify(&self, outcome: &'static str) {
        self.notifies.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub fn wechat_failure(&self, api: &'static str) {
        self.wechat_failures
            .get_or_create(&OutcomeLabel { outcome: api })
            .inc();
    }

    pub fn set_orders_by_status(&self, counts: &[(OrderStatus, i64)]) {
        for status in OrderStatus::ALL {
            let count = counts
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, c)| *c);
            self.orders_by_status
                .get_or_create(&StatusLabel {
                    status: status.as_str(),
                })
                .set(count);
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
