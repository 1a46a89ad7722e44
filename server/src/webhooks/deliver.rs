//! The deliverer: a task on every instance that claims due events (each with one
//! instance at a time, leased), POSTs each to the endpoint, signed, and records the
//! attempt. A 2xx is delivered; anything else, a timeout or a connection error is
//! retried on `webhooks.retry_schedule_ms` (with jitter), then `failed`. Redirects are
//! never followed, and only a short excerpt of a response is read and kept. At least
//! once: an instance killed mid-delivery leaves its claims to come back when the lease
//! ends, and the receiver sees the same `webhook-id` again.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rand::Rng;

use crate::base::clock::now_ms;
use crate::state::AppState;
use crate::state::metrics::OutcomeLabel;
use crate::store::{Attempt, EventRow, NextStep};
use crate::webhooks::payload;
use crate::webhooks::signature::Signer;

/// How much of a response is kept for the operator.
const EXCERPT_BYTES: usize = 256;
/// A claim outlives an attempt by this much before another instance may take it.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// What delivering needs, built once from `[webhooks]`.
#[derive(Debug)]
pub struct Deliverer {
    client: reqwest::Client,
    url: String,
    signer: Signer,
    schedule_ms: Vec<u64>,
    timeout: Duration,
    batch: u32,
    poll: Duration,
}

impl Deliverer {
    /// None when no endpoint is configured.
    pub fn new(state: &AppState) -> anyhow::Result<Option<Deliverer>> {
        let hooks = &state.settings.webhooks;
        let Some(url) = hooks.url.clone() else {
            return Ok(None);
        };
        let timeout = Duration::from_secs(hooks.timeout_secs);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .user_agent(concat!("wxpay-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Some(Deliverer {
            client,
            url,
            signer: Signer::new(hooks).map_err(anyhow::Error::msg)?,
            schedule_ms: hooks.retry_schedule_ms.clone(),
            timeout,
            batch: hooks.batch,
            poll: Duration::from_millis(hooks.poll_interval_ms),
        }))
    }

    /// After attempt number `attempt` failed: when to try again, or give up.
    fn after_failure(&self, attempt: i64, now: i64) -> NextStep {
        let index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        match self.schedule_ms.get(index) {
            Some(&pause) => {
                // ±10%: receivers that failed together are not all retried together.
                let jittered = pause as f64 * rand::rng().random_range(0.9..1.1);
                NextStep::RetryAt(now.saturating_add(jittered as i64))
            }
            None => NextStep::Failed,
        }
    }
}

/// How often the backlog gauge is read from the database (not on every pass: passes
/// come with every event this instance writes).
const BACKLOG_EVERY: Duration = Duration::from_secs(5);

/// Delivers owed events until the task is dropped: every poll interval, and at once when
/// this instance writes one.
pub async fn run(state: AppState, deliverer: Deliverer) {
    let mut backlog_read: Option<Instant> = None;
    loop {
        match deliver_due(&state, &deliverer).await {
            // A full batch: more may be due.
            Ok(n) if n >= deliverer.batch as usize => continue,
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "webhook delivery pass failed"),
        }
        if backlog_read.is_none_or(|at| at.elapsed() >= BACKLOG_EVERY) {
            backlog_read = Some(Instant::now());
            observe_backlog(&state).await;
        }
        tokio::select! {
            () = tokio::time::sleep(deliverer.poll) => {}
            () = state.store.event_wake().notified() => {}
        }
    }
}

/// One pass: claims up to a batch of due events and delivers them concurrently.
/// Returns how many it claimed.
pub async fn deliver_due(state: &AppState, deliverer: &Deliverer) -> anyhow::Result<usize> {
    let now = now_ms();
    let lease = i64::try_from((deliverer.timeout + LEASE_MARGIN).as_millis()).unwrap_or(60_000);
    let events = state
        .store
        .claim_due_events(now, now.saturating_add(lease), i64::from(deliverer.batch))
        .await?;
    let claimed = events.len();
    futures_util::stream::iter(events)
        .for_each_concurrent(None, |event| async move {
            if let Err(error) = deliver(state, deliverer, &event).await {
                // The claim's lease brings it back.
                tracing::error!(event_id = %event.id, %error, "cannot record a webhook attempt");
            }
        })
        .await;
    Ok(claimed)
}

/// What came back from the endpoint.
struct Answer {
    status: Option<u16>,
    error: Option<String>,
    excerpt: Option<String>,
}

async fn deliver(state: &AppState, deliverer: &Deliverer, event: &EventRow) -> anyhow::Result<()> {
    let body = payload::body(event);
    let started_at = now_ms();
    let clock = Instant::now();
    let answer = post(deliverer, event, body).await;
    let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let attempt = event.attempts.saturating_add(1);
    let now = now_ms();
    let next = match answer.status {
        Some(code) if (200..300).contains(&code) => NextStep::Delivered,
        _ => deliverer.after_failure(attempt, now),
    };
    let outcome = match next {
        NextStep::Delivered => "delivered",
        NextStep::RetryAt(_) => "retry",
        NextStep::Failed => "failed",
    };
    state
        .metrics
        .webhook_deliveries
        .get_or_create(&OutcomeLabel { outcome })
        .inc();
    tracing::info!(
        event_id = %event.id,
        event_type = event.kind.as_str(),
        attempt,
        status = answer.status,
        error = answer.error.as_deref(),
        duration_ms,
        outcome,
        "webhook delivery"
    );
    state
        .store
        .finish_attempt(
            &Attempt {
                event_id: &event.id,
                attempt,
                started_at,
                duration_ms,
                status_code: answer.status,
                error: answer.error.as_deref(),
                response_excerpt: answer.excerpt.as_deref(),
                next,
            },
            now,
        )
        .await?;
    Ok(())
}

async fn post(deliverer: &Deliverer, event: &EventRow, body: String) -> Answer {
    let timestamp = now_ms() / 1000;
    let signature = deliverer.signer.sign(&event.id, timestamp, &body);
    let sent = deliverer
        .client
        .post(&deliverer.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &event.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(error) => {
            return Answer {
                status: None,
                error: Some(describe(&error)),
                excerpt: None,
            };
        }
    };
    let status = response.status().as_u16();
    // Only the first bytes are read: a receiver cannot make us hold its whole answer.
    let mut excerpt = Vec::new();
    while excerpt.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    excerpt.truncate(EXCERPT_BYTES);
    let text = String::from_utf8_lossy(&excerpt).into_owned();
    Answer {
        status: Some(status),
        error: None,
        excerpt: (!text.is_empty()).then_some(text),
    }
}

/// A failed request in a few words (never a URL's credentials or a secret).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else if error.is_request() {
        "the request could not be sent".into()
    } else {
        "no answer".into()
    }
}

/// `/metrics`: how old the oldest owed event is (0: none owed).
async fn observe_backlog(state: &AppState) {
    if let Ok(oldest) = state.store.oldest_owed_event_at().await {
        let age_secs = oldest.map_or(0, |at| now_ms().saturating_sub(at) / 1000);
        state.metrics.webhook_oldest_owed_seconds.set(age_secs);
    }
}
