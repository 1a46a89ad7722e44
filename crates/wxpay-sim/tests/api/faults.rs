//! Fault injection on every endpoint.

use std::time::{Duration, Instant};

use serde_json::json;
use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::xml;

use crate::helpers::{Answer, Order, Receiver, TestSim};

const NOTIFY: &str = "https://merchant.example.com/wxpay/notify";

#[tokio::test]
async fn system_error_then_normal_service() {
    let sim = TestSim::start(1000.0).await;
    sim.fault(json!({"endpoint": "unifiedorder", "kind": "system_error", "count": 1}))
        .await;
    let order = Order::new("sys-1", NOTIFY);
    let reply = sim.unifiedorder(&order).await;
    assert_eq!(reply.get("result_code"), Some("FAIL"));
    assert_eq!(reply.get("err_code"), Some("SYSTEMERROR"));
    // Nothing was created; the retry with the same params succeeds.
    assert_eq!(
        sim.unifiedorder(&order).await.get("result_code"),
        Some("SUCCESS")
    );
}

#[tokio::test]
async fn http_5xx_does_nothing() {
    let sim = TestSim::start(1000.0).await;
    sim.fault(json!({"endpoint": "orderquery", "kind": "http_5xx", "count": 1, "status": 503}))
        .await;
    let order = Order::new("5xx-1", NOTIFY);
    sim.unifiedorder(&order).await;
    let mut params = crate::helpers::base_params(&[("out_trade_no", "5xx-1")]);
    sign::sign_in_place(&mut params, &sim.key, SignType::Md5);
    let (status, _) = sim
        .post_raw("/pay/orderquery", xml::to_xml(&params).unwrap())
        .await;
    assert_eq!(status, 503);
    assert_eq!(
        sim.orderquery("5xx-1").await.get("trade_state"),
        Some("NOTPAY")
    );
}

#[tokio::test]
async fn bad_sign_replies_fail_verification() {
    let sim = TestSim::start(1000.0).await;
    sim.fault(json!({"endpoint": "unifiedorder", "kind": "bad_sign", "count": 1}))
        .await;
    let (status, body) = sim
        .post_signed(
            "/pay/unifiedorder",
            Order::new("badsign-1", NOTIFY).params(),
            &sim.key,
            SignType::HmacSha256,
        )
        .await;
    assert_eq!(status, 200);
    let reply = xml::parse(body.as_bytes()).unwrap();
    assert_eq!(reply.get("result_code"), Some("SUCCESS"));
    assert_eq!(reply.get("sign").unwrap().len(), 64);
    assert!(sign::verify(&reply, &sim.key, Some(SignType::HmacSha256)).is_err());
}

#[tokio::test]
async fn timeout_acts_but_answers_late() {
    let sim = TestSim::start(1000.0).await;
    sim.fault(json!({"endpoint": "unifiedorder", "kind": "timeout", "count": 1, "delay_ms": 1500}))
        .await;
    let mut params = Order::new("late-1", NOTIFY).params();
    sign::sign_in_place(&mut params, &sim.key, SignType::Md5);
    let sent = sim
        .http
        .post(sim.url("/pay/unifiedorder"))
        .body(xml::to_xml(&params).unwrap())
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(sent.unwrap_err().is_timeout());
    // WeChat created the order anyway: a retry with the same params gets its prepay_id.
    assert_eq!(
        sim.orderquery("late-1").await.get("trade_state"),
        Some("NOTPAY")
    );
    let retry = sim.unifiedorder(&Order::new("late-1", NOTIFY)).await;
    assert_eq!(retry.get("result_code"), Some("SUCCESS"));
}

#[tokio::test]
async fn delay_answers_after_the_delay() {
    let sim = TestSim::start(1000.0).await;
    sim.fault(json!({"endpoint": "closeorder", "kind": "delay", "count": 1, "delay_ms": 300}))
        .await;
    sim.unifiedorder(&Order::new("delay-1", NOTIFY)).await;
    let started = Instant::now();
    assert_eq!(
        sim.closeorder("delay-1").await.get("result_code"),
        Some("SUCCESS")
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn faults_are_listed_validated_and_cleared() {
    let sim = TestSim::start(1000.0).await;
    let (status, body) = sim
        .post_json(
            "/sim/faults",
            json!({"endpoint": "notify", "kind": "bad_sign", "count": 1}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("does not apply"));
    let (status, _) = sim
        .post_json(
            "/sim/faults",
            json!({"endpoint": "nowhere", "kind": "drop", "count": 1}),
        )
        .await;
    assert_eq!(status, 400);
    sim.fault(json!({"endpoint": "unifiedorder", "kind": "system_error", "probability": 1.0}))
        .await;
    let (_, listed) = sim.get_json("/sim/faults").await;
    assert_eq!(listed["faults"].as_array().unwrap().len(), 1);
    assert_eq!(
        sim.unifiedorder(&Order::new("p-1", NOTIFY))
            .await
            .get("err_code"),
        Some("SYSTEMERROR")
    );
    let cleared = sim
        .http
        .delete(sim.url("/sim/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status().as_u16(), 204);
    assert_eq!(
        sim.unifiedorder(&Order::new("p-1", NOTIFY))
            .await
            .get("result_code"),
        Some("SUCCESS")
    );
}

async fn pay(sim: &TestSim, no: &str, url: &str) {
    let mut order = Order::new(no, url);
    let prepay = sim.order_for_new_user(&mut order).await;
    assert_eq!(
        sim.pay(&prepay, SignType::Md5, &order.openid, "ok").await,
        "requestPayment:ok"
    );
}

#[tokio::test]
async fn dropped_notifies_are_retried() {
    let sim = TestSim::start(1000.0).await;
    let receiver = Receiver::start(vec![Answer::Success]).await;
    sim.fault(json!({"endpoint": "notify", "kind": "drop", "count": 1}))
        .await;
    pay(&sim, "drop-1", &receiver.url).await;
    let attempts = sim.wait_attempts("drop-1", 2, Duration::from_secs(5)).await;
    assert_eq!(attempts[0]["fault"], "drop");
    assert_eq!(attempts[0]["acknowledged"], false);
    assert_eq!(attempts[1]["acknowledged"], true);
    assert_eq!(
        receiver.received().len(),
        1,
        "the dropped attempt never arrived"
    );
}

#[tokio::test]
async fn duplicated_notifies_arrive_twice() {
    let sim = TestSim::start(1000.0).await;
    let receiver = Receiver::start(vec![Answer::Success]).await;
    sim.fault(json!({"endpoint": "notify", "kind": "duplicate", "count": 1}))
        .await;
    pay(&sim, "dup-1", &receiver.url).await;
    let attempts = sim.wait_attempts("dup-1", 2, Duration::from_secs(5)).await;
    assert_eq!(attempts.len(), 2);
    assert!(
        attempts
            .iter()
            .all(|a| a["attempt"] == 1 && a["fault"] == "duplicate")
    );
    let bodies = receiver.received();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1]);
}

#[tokio::test]
async fn reordered_and_delayed_notifies_arrive_late() {
    let sim = TestSim::start(1000.0).await;
    let receiver = Receiver::start(vec![Answer::Success]).await;
    sim.fault(json!({"endpoint": "notify", "kind": "reorder", "count": 1, "delay_ms": 400}))
        .await;
    pay(&sim, "first-1", &receiver.url).await;
    pay(&sim, "second-1", &receiver.url).await;
    sim.wait_attempts("first-1", 1, Duration::from_secs(5))
        .await;
    let bodies = receiver.received();
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies[0].contains("second-1"),
        "the held notify was overtaken"
    );
    assert!(bodies[1].contains("first-1"));

    sim.fault(json!({"endpoint": "notify", "kind": "delay", "count": 1, "delay_ms": 300}))
        .await;
    pay(&sim, "delayed-1", &receiver.url).await;
    let attempts = sim
        .wait_attempts("delayed-1", 1, Duration::from_secs(5))
        .await;
    assert!(attempts[0]["since_paid_ms"].as_u64().unwrap() >= 300);
    assert_eq!(attempts[0]["acknowledged"], true);
}
