//! Webhooks from the outbox: every money movement arrives at the merchant's endpoint,
//! signed per Standard Webhooks (verified by the official `standardwebhooks` library,
//! with both secrets during a rotation), retried while the endpoint is down, given up
//! on after the schedule (redirects never followed), redelivered on demand, delivered
//! once by one of several instances; and listed by the events API.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{CertFormat, Db, TestApp, webhooks_to};
use crate::on_both_databases;
use crate::openapi::events_match_the_document;
use crate::receiver::{Delivery, PREVIOUS_SECRET, Receiver, SECRET};

on_both_databases!(
    every_money_movement_is_a_signed_webhook,
    a_receiver_down_gets_every_event_when_back,
    an_endpoint_that_never_says_2xx_fails_the_event_until_redelivered,
    two_instances_deliver_each_event_once,
    without_an_endpoint_events_are_recorded_for_pulling,
    housekeeping_deletes_settled_events_and_keeps_owed_ones,
);

const WITHIN: Duration = Duration::from_secs(15);

/// The ids of the deliveries, with how many times each came.
fn ids(deliveries: &[Delivery]) -> BTreeMap<String, usize> {
    let mut ids = BTreeMap::new();
    for d in deliveries {
        *ids.entry(d.id()).or_insert(0) += 1;
    }
    ids
}

/// A merchant order for `openid`, paid: its order_no.
async fn paid_merchant_order(app: &TestApp, openid: &str, reference: &str) -> String {
    let order = app.merchant_order(openid, 3_100, reference).await;
    assert_eq!(app.pay(&order, openid).await, "requestPayment:ok");
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    assert_eq!(app.wait_status(&order_no, "paid", WITHIN).await, "paid");
    order_no
}

/// The events API's whole list, oldest first, paged by its cursor.
async fn all_events(app: &TestApp) -> Vec<Value> {
    let mut events = Vec::new();
    let mut path = "/v1/admin/events?limit=2".to_owned();
    loop {
        let (status, page) = app.admin_get(&path).await;
        assert_eq!(status, 200, "{page}");
        let batch = page["events"].as_array().unwrap().clone();
        if batch.is_empty() {
            return events;
        }
        events.extend(batch);
        path = format!(
            "/v1/admin/events?limit=2&after={}",
            page["next_after"].as_str().unwrap()
        );
    }
}

/// The events API's list once it holds `n` events (on PostgreSQL an event is listed
/// once no older transaction in the cluster is open: other tests' can delay it).
async fn events_listed(app: &TestApp, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let events = all_events(app).await;
        if events.len() >= n || tokio::time::Instant::now() >= deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn every_money_movement_is_a_signed_webhook(db: Db) {
    let receiver = Receiver::start(200).await;
    let app = TestApp::spawn_refunding(db, CertFormat::Pem, |s| {
        webhooks_to(&receiver.url)(s);
        // Mid-rotation: deliveries are signed with both.
        s.webhooks.secret_previous = Some(SecretString::from(PREVIOUS_SECRET));
    })
    .await;
    let openid = "o-hooked-1";
    let order_no = paid_merchant_order(&app, openid, "SO-hook-1").await;
    let (status, refund) = app.refund(&order_no, 100, None).await;
    assert_eq!(status, 201, "{refund}");
    let out_refund_no = refund["out_refund_no"].as_str().unwrap().to_owned();
    // The refund succeeds when WeChat says so (its notify, later): wait for that event
    // before the cancel, so the events API's oldest-first order below is fixed.
    receiver
        .wait_until(WITHIN, |seen| {
            seen.iter().any(|d| d.json()["type"] == "refund.succeeded")
        })
        .await;
    let unpaid = app.merchant_order(openid, 500, "SO-hook-2").await;
    let unpaid_no = unpaid["order_no"].as_str().unwrap();
    let (token, _) = app.login_as(Some(openid)).await;
    let (status, cancelled) = app.order_action(&token, unpaid_no, "cancel").await;
    assert_eq!(status, 200, "{cancelled}");

    let seen = receiver.wait_until(WITHIN, |d| ids(d).len() >= 3).await;
    let kinds: BTreeSet<String> = seen
        .iter()
        .map(|d| d.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["order.closed", "order.paid", "refund.succeeded"]
            .map(str::to_owned)
            .into(),
        "{:?}",
        seen.iter().map(Delivery::json).collect::<Vec<_>>()
    );
    for delivery in &seen {
        assert!(delivery.verifies_with(SECRET), "current secret");
        assert!(delivery.verifies_with(PREVIOUS_SECRET), "previous secret");
        let signatures = delivery.headers["webhook-signature"].to_str().unwrap();
        assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
        assert_eq!(delivery.json()["id"], delivery.id());
        let mut tampered = delivery.clone();
        tampered.body = String::from_utf8(tampered.body)
            .unwrap()
            .replacen("\"data\":{", "\"data\":{\"amount_fen\":1,", 1)
            .into_bytes();
        assert!(!tampered.verifies_with(SECRET), "a changed body fails");
        assert!(
            !delivery.verifies_with("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            "another secret fails"
        );
    }
    let paid = receiver.of_type("order.paid")[0].json();
    let data = &paid["data"];
    assert_eq!(data["order_no"], order_no.as_str());
    assert_eq!(data["reference"], "SO-hook-1");
    assert_eq!(data["amount_fen"], 3_100);
    assert_eq!(data["status"], "paid");
    assert_eq!(data["openid"], openid);
    assert_eq!(data["late_payment"], false);
    assert_eq!(data["double_payment"], false);
    assert!(
        data["transaction_id"].as_str().unwrap().len() > 10,
        "{paid}"
    );
    assert!(data["paid_at"].is_string(), "{paid}");
    assert!(paid["timestamp"].is_string(), "{paid}");
    let refunded = receiver.of_type("refund.succeeded")[0].json();
    let data = &refunded["data"];
    assert_eq!(data["out_refund_no"], out_refund_no.as_str());
    assert_eq!(data["order_no"], order_no.as_str());
    assert_eq!(data["reference"], "SO-hook-1");
    assert_eq!(data["amount_fen"], 100);
    assert_eq!(data["order_amount_fen"], 3_100);
    assert_eq!(data["status"], "succeeded");
    let closed = receiver.of_type("order.closed")[0].json();
    assert_eq!(closed["data"]["reference"], "SO-hook-2");
    assert_eq!(closed["data"]["status"], "closed");

    // The events API holds the same events, oldest first, each delivered; what it shows
    // is what was delivered.
    // (Each arrived before its deliverer recorded the answer: wait for that too.)
    let deadline = tokio::time::Instant::now() + WITHIN;
    let listed = loop {
        let listed = events_listed(&app, 3).await;
        let settled =
            listed.len() == 3 && listed.iter().all(|e| e["delivery"]["state"] == "delivered");
        if settled || tokio::time::Instant::now() >= deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let listed_kinds: Vec<&str> = listed.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        listed_kinds,
        ["order.paid", "refund.succeeded", "order.closed"]
    );
    for event in &listed {
        assert_eq!(event["delivery"]["state"], "delivered", "{event}");
        let delivered = seen.iter().find(|d| d.id() == event["id"]).unwrap().json();
        let mut shown = event.clone();
        shown.as_object_mut().unwrap().remove("delivery");
        assert_eq!(shown, delivered);
    }
    assert_eq!(
        events_match_the_document(&app).await,
        ["order.closed", "order.paid", "refund.succeeded"]
            .map(str::to_owned)
            .into()
    );
    let (_, only_paid) = app.admin_get("/v1/admin/events?type=order.paid").await;
    assert_eq!(only_paid["events"].as_array().unwrap().len(), 1);
    let (status, error) = app.admin_get("/v1/admin/events?type=order.eaten").await;
    assert_eq!((status, &error["code"]), (400, &json!("INVALID_QUERY")));
    receiver.stop().await;
    app.cleanup().await;
}

async fn a_receiver_down_gets_every_event_when_back(db: Db) {
    let receiver = Receiver::start(500).await;
    let app = TestApp::spawn_with(db, webhooks_to(&receiver.url)).await;
    let mut orders = Vec::new();
    for n in 0..5 {
        orders
            .push(paid_merchant_order(&app, &format!("o-down-{n}"), &format!("SO-down-{n}")).await);
    }
    // Down: every event tried at least twice.
    let failing = receiver
        .wait_until(WITHIN, |d| {
            let ids = ids(d);
            ids.len() == 5 && ids.values().all(|n| *n >= 2)
        })
        .await;
    assert_eq!(ids(&failing).len(), 5);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("wxpay_webhook_deliveries_total{outcome=\"retry\"}"),
        "{metrics}"
    );
    // Back: every event arrives, none lost, duplicates only as the same id again.
    receiver.answer(200);
    let deadline = tokio::time::Instant::now() + WITHIN;
    let events = loop {
        let events = all_events(&app).await;
        let delivered = events
            .iter()
            .filter(|e| e["delivery"]["state"] == "delivered")
            .count();
        if delivered == 5 || tokio::time::Instant::now() >= deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        events.iter().all(|e| e["delivery"]["state"] == "delivered"),
        "{events:?}"
    );
    let seen = ids(&receiver.deliveries());
    assert_eq!(seen.len(), 5);
    let paid: BTreeSet<String> = events
        .iter()
        .map(|e| e["data"]["order_no"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paid, orders.iter().cloned().collect());
    // One event's history: refusals, then the 2xx; excerpts bounded.
    let id = events[0]["id"].as_str().unwrap();
    let (status, detail) = app.admin_get(&format!("/v1/admin/events/{id}")).await;
    assert_eq!(status, 200, "{detail}");
    let attempts = detail["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 3, "{detail}");
    assert_eq!(attempts[0]["status_code"], 500);
    assert_eq!(attempts.last().unwrap()["status_code"], 200);
    assert!(
        attempts
            .iter()
            .all(|a| a["response_excerpt"].as_str().unwrap().len() <= 256),
        "{detail}"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("wxpay_webhook_deliveries_total{outcome=\"delivered\"} 5"),
        "{metrics}"
    );
    assert!(!metrics.contains(SECRET), "the secret never shows");
    receiver.stop().await;
    app.cleanup().await;
}

async fn an_endpoint_that_never_says_2xx_fails_the_event_until_redelivered(db: Db) {
    // A redirect is an answer, not a 2xx: never followed.
    let receiver = Receiver::start(302).await;
    let app = TestApp::spawn_with(db, |s| {
        webhooks_to(&receiver.url)(s);
        s.webhooks.retry_schedule_ms = vec![100, 100];
    })
    .await;
    let order_no = paid_merchant_order(&app, "o-failing", "SO-fail").await;
    let deadline = tokio::time::Instant::now() + WITHIN;
    let event = loop {
        let events = events_listed(&app, 1).await;
        let event = events[0].clone();
        if event["delivery"]["state"] == "failed" || tokio::time::Instant::now() >= deadline {
            break event;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(event["delivery"]["state"], "failed", "{event}");
    assert_eq!(event["data"]["order_no"], order_no.as_str());
    // The first attempt and two retries; nothing followed the redirect.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.deliveries().len(), 3);
    let id = event["id"].as_str().unwrap();
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("wxpay_webhook_deliveries_total{outcome=\"failed\"} 1"),
        "{metrics}"
    );

    receiver.answer(200);
    let (status, again) = app
        .admin_post(&format!("/v1/admin/events/{id}/redeliver"), json!({}), None)
        .await;
    assert_eq!(status, 202, "{again}");
    let seen = receiver.wait_until(WITHIN, |d| d.len() >= 4).await;
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|d| d.id() == id), "the same webhook-id");
    assert!(seen[3].verifies_with(SECRET));
    // The receiver has the delivery before the deliverer has recorded its answer.
    let deadline = tokio::time::Instant::now() + WITHIN;
    let detail = loop {
        let (_, detail) = app.admin_get(&format!("/v1/admin/events/{id}")).await;
        if detail["event"]["delivery"]["state"] == "delivered"
            || tokio::time::Instant::now() >= deadline
        {
            break detail;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        detail["event"]["delivery"]["state"], "delivered",
        "{detail}"
    );
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 4);

    let (status, error) = app
        .admin_post("/v1/admin/events/evt_nope/redeliver", json!({}), None)
        .await;
    assert_eq!((status, &error["code"]), (404, &json!("EVENT_NOT_FOUND")));
    let (status, error) = app.admin_get("/v1/admin/events?after=evt_nope").await;
    assert_eq!((status, &error["code"]), (400, &json!("INVALID_CURSOR")));
    let (status, page) = app.admin_get(&format!("/v1/admin/events?after={id}")).await;
    assert_eq!(status, 200);
    assert_eq!(page["events"], json!([]));
    receiver.stop().await;
    app.cleanup().await;
}

async fn two_instances_deliver_each_event_once(db: Db) {
    let receiver = Receiver::start(200).await;
    let first = TestApp::spawn_with(db, webhooks_to(&receiver.url)).await;
    let second = first.spawn_beside(webhooks_to(&receiver.url)).await;
    let mut orders = Vec::new();
    for n in 0..6 {
        // Created and paid through either instance; each delivers what it claims.
        let app = if n % 2 == 0 { &first } else { &second };
        orders.push(paid_merchant_order(app, &format!("o-two-{n}"), &format!("SO-two-{n}")).await);
    }
    let seen = receiver.wait_until(WITHIN, |d| ids(d).len() >= 6).await;
    let seen_ids = ids(&seen);
    assert_eq!(seen_ids.len(), 6);
    assert!(
        seen_ids.values().all(|n| *n == 1),
        "an endpoint that answers 2xx gets each event once: {seen_ids:?}"
    );
    let delivered: BTreeSet<String> = seen
        .iter()
        .map(|d| d.json()["data"]["order_no"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(delivered, orders.into_iter().collect());
    receiver.stop().await;
    second.cleanup().await;
    first.cleanup().await;
}

async fn without_an_endpoint_events_are_recorded_for_pulling(db: Db) {
    let app = TestApp::spawn(db).await;
    let order_no = paid_merchant_order(&app, "o-pull", "SO-pull").await;
    let events = events_listed(&app, 1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "order.paid");
    assert_eq!(events[0]["data"]["order_no"], order_no.as_str());
    assert_eq!(events[0]["delivery"]["state"], "none");
    let id = events[0]["id"].as_str().unwrap();
    let (status, error) = app
        .admin_post(&format!("/v1/admin/events/{id}/redeliver"), json!({}), None)
        .await;
    assert_eq!((status, &error["code"]), (409, &json!("WEBHOOKS_OFF")));
    // The same payment again changes nothing and announces nothing.
    let (_, order) = app.admin_get("/v1/admin/orders?reference=SO-pull").await;
    let transaction_id = order["orders"][0]["transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let notify = app
        .notify_for(&order_no, 3_100)
        .field("transaction_id", &transaction_id)
        .build_xml(&app.key);
    let (status, _) = app.post_notify(notify, "text/xml").await;
    assert_eq!(status, 200);
    // Counted in the table itself: the API may hold back a just-written event.
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM events")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);
    app.cleanup().await;
}

async fn housekeeping_deletes_settled_events_and_keeps_owed_ones(db: Db) {
    let receiver = Receiver::start(500).await;
    let app = TestApp::spawn_with(db, |s| {
        webhooks_to(&receiver.url)(s);
        s.events.retention_days = 0;
        // A refused event waits a minute: still owed when housekeeping runs.
        s.webhooks.retry_schedule_ms = vec![60_000];
    })
    .await;
    let owed = paid_merchant_order(&app, "o-kept", "SO-kept").await;
    receiver.wait_until(WITHIN, |d| !d.is_empty()).await;
    receiver.answer(200);
    let settled = paid_merchant_order(&app, "o-gone", "SO-gone").await;
    receiver
        .wait_until(WITHIN, |d| d.iter().any(|d| d.answered == 200))
        .await;
    // Let the delivered event's transaction end before it is judged.
    tokio::time::sleep(Duration::from_millis(200)).await;
    receiver.answer(500);
    let deleted = wxpay_server::reconciliation::reconciler::housekeeping(&app.state)
        .await
        .unwrap();
    assert!(deleted >= 1, "{deleted}");
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT order_no, delivery FROM events ORDER BY seq")
            .fetch_all(app.state.store.pool())
            .await
            .unwrap();
    // The delivered one went; the owed one (still refused) stays, whatever its age.
    assert!(
        rows.iter().all(|(order_no, _)| *order_no != settled),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(order_no, delivery)| *order_no == owed && delivery == "pending"),
        "{rows:?}"
    );
    receiver.stop().await;
    app.cleanup().await;
}
