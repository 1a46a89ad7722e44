//! Load: closed loop (N workers, each waits for its reply) or open loop (a fixed arrival
//! rate; latency counted from the intended send time, so a stalled server cannot hide
//! its queue). Latencies go into an HDR histogram.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// One kind of request; `send(i)` issues request number `i`.
pub(crate) trait Scenario: Send + Sync + 'static {
    fn send(&self, i: usize) -> impl std::future::Future<Output = bool> + Send;
}

#[derive(Debug)]
pub(crate) struct Outcome {
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub latency: Histogram<u64>,
}

impl Outcome {
    pub(crate) fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub(crate) fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }
}

fn histogram() -> Histogram<u64> {
    // Microseconds, 1 us .. 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

/// Latencies and counts, per worker and for the whole run.
struct Tally {
    latency: Histogram<u64>,
    ok: u64,
    failed: u64,
}

impl Tally {
    fn new() -> Self {
        Tally {
            latency: histogram(),
            ok: 0,
            failed: 0,
        }
    }

    fn record(&mut self, ok: bool, micros: u64) {
        let _ = self.latency.record(micros);
        if ok {
            self.ok += 1;
        } else {
            self.failed += 1;
        }
    }

    fn add(&mut self, other: &Tally) {
        let _ = self.latency.add(&other.latency);
        self.ok += other.ok;
        self.failed += other.failed;
    }
}

fn micros_since(from: Instant) -> u64 {
    u64::try_from(from.elapsed().as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Waits for every task, then reports the run from `started` on.
async fn gather(tasks: Vec<JoinHandle<()>>, tally: Arc<Mutex<Tally>>, started: Instant) -> Outcome {
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    let all = std::mem::replace(&mut *tally.lock().await, Tally::new());
    Outcome {
        requests: all.ok + all.failed,
        errors: all.failed,
        elapsed,
        latency: all.latency,
    }
}

pub(crate) async fn closed_loop<S: Scenario>(
    scenario: Arc<S>,
    workers: usize,
    duration: Duration,
) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::new()));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (scenario, next, tally) =
            (Arc::clone(&scenario), Arc::clone(&next), Arc::clone(&tally));
        tasks.push(tokio::spawn(async move {
            let mut local = Tally::new();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let sent = Instant::now();
                let ok = scenario.send(i).await;
                local.record(ok, micros_since(sent));
            }
            tally.lock().await.add(&local);
        }));
    }
    gather(tasks, tally, started).await
}

pub(crate) async fn open_loop<S: Scenario>(
    scenario: Arc<S>,
    rate: f64,
    duration: Duration,
) -> Outcome {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let total = (rate * duration.as_secs_f64()) as usize;
    let tally = Arc::new(Mutex::new(Tally::new()));
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let intended = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(intended.into()).await;
        let (scenario, tally) = (Arc::clone(&scenario), Arc::clone(&tally));
        tasks.push(tokio::spawn(async move {
            let ok = scenario.send(i).await;
            // From the intended send time, read before waiting for the lock.
            let micros = micros_since(intended);
            tally.lock().await.record(ok, micros);
        }));
    }
    gather(tasks, tally, started).await
}

/// One notify as WeChat posts it.
#[derive(Debug, Clone)]
pub(crate) struct NotifyRequest {
    pub body: String,
    /// v3: the `Wechatpay-*` signature headers.
    pub headers: Vec<(&'static str, String)>,
}

/// Genuine notifies, one per pre-created order, each delivered once.
pub(crate) struct Notifies {
    pub http: reqwest::Client,
    pub url: String,
    pub requests: Vec<NotifyRequest>,
    /// v3 (JSON, acknowledged by 204) or v2 (XML, 200 with SUCCESS).
    pub v3: bool,
}

impl Scenario for Notifies {
    async fn send(&self, i: usize) -> bool {
        let Some(notify) = self.requests.get(i) else {
            return false;
        };
        let content_type = if self.v3 {
            "application/json"
        } else {
            "text/xml"
        };
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", content_type)
            .body(notify.body.clone());
        for (name, value) in &notify.headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            // Counted only when WeChat would stop retrying: v3 204; v2 200 and SUCCESS.
            Ok(r) if self.v3 => r.status().as_u16() == 204,
            Ok(r) => r.status().is_success() && r.text().await.is_ok_and(|t| t.contains("SUCCESS")),
            Err(_) => false,
        }
    }
}

/// Order reads by their owner.
pub(crate) struct Status {
    pub http: reqwest::Client,
    pub token: String,
    /// Each order's URL, made before the run.
    pub urls: Vec<String>,
}

impl Scenario for Status {
    async fn send(&self, i: usize) -> bool {
        let Some(url) = self.urls.get(i % self.urls.len().max(1)) else {
            return false;
        };
        match self.http.get(url).bearer_auth(&self.token).send().await {
            Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
            Err(_) => false,
        }
    }
}

/// Order creation (with unifiedorder at the simulator), spread over logged-in users.
pub(crate) struct Orders {
    pub http: reqwest::Client,
    pub api: String,
    pub tokens: Vec<String>,
}

impl Scenario for Orders {
    async fn send(&self, i: usize) -> bool {
        let Some(token) = self.tokens.get(i % self.tokens.len().max(1)) else {
            return false;
        };
        let body = serde_json::json!({"items": [{"sku": "latte", "quantity": 1}]});
        match self
            .http
            .post(format!("{}/v1/orders", self.api))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
        {
            Ok(r) => r.status().as_u16() == 201 && r.bytes().await.is_ok(),
            Err(_) => false,
        }
    }
}
