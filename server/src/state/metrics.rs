//! Prometheus metrics: requests, latencies, orders by state, notifies by outcome, late
//! and double payments, the reconciler.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::{OrderCounts, OrderStatus};

/// How long the order counts of one database scan serve `/metrics` (a scrape must not
/// scan the orders table each time).
pub const ORDER_COUNTS_TTL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// One of [`method_label`]'s closed set, never the method as sent.
    pub method: &'static str,
    /// The route pattern (`/v1/orders/{order_no}`), never the raw path.
    pub route: String,
    pub status: u16,
}

/// The method as a label from a closed set: a request may send any token as its method
/// (`QWERTYUIOP /x HTTP/1.1`), and every distinct label value is a time series kept for
/// the life of the process (the security review grew `/metrics` to 83 MB that way).
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    const STANDARD: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT",
    ];
    STANDARD
        .into_iter()
        .find(|name| *name == method.as_str())
        .unwrap_or("OTHER")
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
    /// Orders the reconciler gave up on (an operator must look).
    pub orders_needing_attention: Gauge,
    pub wechat_failures: Family<OutcomeLabel, Counter>,
    pub reconciler_checks: Counter,
    /// Checks the reconciler stopped retrying (the order was flagged).
    pub reconciler_gave_up: Counter,
    /// Verified payments of orders that were not awaiting payment here.
    pub late_payments: Counter,
    /// Second transactions for orders already paid.
    pub double_payments: Counter,
    /// Refund notifies by outcome: succeeded, closed, abnormal, duplicate, decrypt_failed, ...
    pub refund_notifies: Family<OutcomeLabel, Counter>,
    /// Refunds by what they became (requested, succeeded, closed, abnormal, refused).
    pub refunds: Family<OutcomeLabel, Counter>,
    /// Differences between WeChat's daily bills and the database, by kind (each counted
    /// once, when first found).
    pub reconciliation_findings: Family<OutcomeLabel, Counter>,
    /// Webhook delivery attempts by outcome: delivered, retry, failed (for good).
    pub webhook_deliveries: Family<OutcomeLabel, Counter>,
    /// The age of the oldest event still owed to the webhook endpoint (0: none).
    pub webhook_oldest_owed_seconds: Gauge,
    /// When the order gauges were last read from the database.
    counts_read_at: Mutex<Option<Instant>>,
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
        let orders_needing_attention = Gauge::default();
        let wechat_failures = Family::<OutcomeLabel, Counter>::default();
        let reconciler_checks = Counter::default();
        let reconciler_gave_up = Counter::default();
        let late_payments = Counter::default();
        let double_payments = Counter::default();
        let refund_notifies = Family::<OutcomeLabel, Counter>::default();
        let refunds = Family::<OutcomeLabel, Counter>::default();
        let reconciliation_findings = Family::<OutcomeLabel, Counter>::default();
        let webhook_deliveries = Family::<OutcomeLabel, Counter>::default();
        let webhook_oldest_owed_seconds = Gauge::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, retry, failed for good)",
            webhook_deliveries.clone(),
        );
        registry.register(
            "webhook_oldest_owed_seconds",
            "Age of the oldest event not yet delivered to the webhook endpoint",
            webhook_oldest_owed_seconds.clone(),
        );
        registry.register(
            "reconciliation_findings",
            "Differences between WeChat's daily bills and the database, by kind",
            reconciliation_findings.clone(),
        );
        registry.register(
            "refund_notifies",
            "WeChat refund notifies by outcome",
            refund_notifies.clone(),
        );
        registry.register("refunds", "Refunds by what they became", refunds.clone());
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
            "orders_needing_attention",
            "Orders the reconciler gave up on after repeated failures",
            orders_needing_attention.clone(),
        );
        registry.register(
            "late_payments",
            "Verified payments of orders that were not awaiting payment (fulfil or refund)",
            late_payments.clone(),
        );
        registry.register(
            "double_payments",
            "Second transactions for orders already paid (refund one)",
            double_payments.clone(),
        );
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
        registry.register(
            "reconciler_gave_up",
            "Orders the reconciler stopped checking after repeated failures",
            reconciler_gave_up.clone(),
        );
        Metrics {
            registry,
            http_requests,
            http_latency,
            notifies,
            settlements,
            orders_created,
            orders_by_status,
            orders_needing_attention,
            wechat_failures,
            reconciler_checks,
            reconciler_gave_up,
            late_payments,
            double_payments,
            refund_notifies,
            refunds,
            reconciliation_findings,
            webhook_deliveries,
            webhook_oldest_owed_seconds,
            counts_read_at: Mutex::new(None),
        }
    }
}

impl Metrics {
    pub fn notify(&self, outcome: &'static str) {
        self.notifies.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub fn refund_notify(&self, outcome: &'static str) {
        self.refund_notifies
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    pub fn refund(&self, outcome: &'static str) {
        self.refunds.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub fn wechat_failure(&self, api: &'static str) {
        self.wechat_failures
            .get_or_create(&OutcomeLabel { outcome: api })
            .inc();
    }

    /// Whether the order gauges are older than [`ORDER_COUNTS_TTL`]; if so, the caller
    /// (and only that one caller) reads them now.
    pub fn order_counts_due(&self) -> bool {
        let mut read_at = self
            .counts_read_at
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if read_at.is_some_and(|at| at.elapsed() < ORDER_COUNTS_TTL) {
            return false;
        }
        *read_at = Some(Instant::now());
        true
    }

    pub fn set_order_counts(&self, counts: &OrderCounts) {
        self.orders_needing_attention.set(counts.needing_attention);
        for status in OrderStatus::ALL {
            let count = counts
                .by_status
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
