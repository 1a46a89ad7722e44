//! Notify delivery: retries on WeChat's schedule (scaled) until acknowledged.

use std::time::Duration;

use wxpay_core::v2::notify::verify_pay_notify;
use wxpay_core::v2::sign::SignType;
use wxpay_sim::notify::RETRY_SCHEDULE;

use crate::helpers::{Answer, Order, Receiver, TestSim};

/// Offsets from the payment of each notification, in real ms at `scale`.
fn schedule_ms(scale: f64) -> Vec<f64> {
    let mut at = 0.0;
    let mut offsets = vec![0.0];
    for interval in RETRY_SCHEDULE {
        at += interval.as_secs_f64() * 1000.0 / scale;
        offsets.push(at);
    }
    offsets
}

async fn paid_order(sim: &TestSim, no: &str, url: &str, sign_type: SignType) {
    let mut order = Order::new(no, url);
    order.sign_type = sign_type;
    let prepay = sim.order_for_new_user(&mut order).await;
    assert_eq!(
        sim.pay(&prepay, sign_type, &order.openid, "ok").await,
        "requestPayment:ok"
    );
}

#[tokio::test]
async fn retries_follow_the_schedule_and_stop_at_the_acknowledgement() {
    let scale = 1000.0;
    let sim = TestSim::start(scale).await;
    let receiver = Receiver::start(vec![
        Answer::Fail,
        Answer::Status500,
        Answer::PlainSuccess,
        Answer::Success,
    ])
    .await;
    paid_order(&sim, "retry-1", &receiver.url, SignType::Md5).await;
    let attempts = sim
        .wait_attempts("retry-1", 4, Duration::from_secs(5))
        .await;
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    let acknowledged: Vec<bool> = attempts
        .iter()
        .map(|a| a["acknowledged"].as_bool().unwrap())
        .collect();
    assert_eq!(acknowledged, [false, false, false, true]);
    assert_eq!(attempts[0]["return_code"], "FAIL");
    assert_eq!(attempts[1]["http_status"], 500);
    assert_eq!(attempts[2]["http_status"], 200);
    let expected = schedule_ms(scale);
    for (attempt, want) in attempts.iter().zip(&expected) {
        let at = attempt["since_paid_ms"].as_f64().unwrap();
        assert!(
            at + 1.0 >= *want && at < want + 250.0,
            "attempt at {at} ms, schedule says {want} ms"
        );
    }
    // Nothing after the acknowledgement (the next retry would have come 180 ms later).
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sim.attempts("retry-1").await.len(), 4);
    assert_eq!(receiver.received().len(), 4);
    // Every delivery carried the same genuine notify.
    for body in receiver.received() {
        assert!(verify_pay_notify(body.as_bytes(), &sim.key, Some(SignType::Md5)).is_ok());
    }
}

#[tokio::test]
async fn an_unreachable_merchant_gets_16_notifications_over_the_scaled_24_hours() {
    // 24 h 4 min at 100000x is about 0.87 s.
    let scale = 100_000.0;
    let sim = TestSim::start(scale).await;
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed_port}/notify");
    paid_order(&sim, "lost-1", &url, SignType::HmacSha256).await;
    let attempts = sim
        .wait_attempts("lost-1", 16, Duration::from_secs(10))
        .await;
    assert_eq!(attempts.len(), 16);
    assert!(
        attempts
            .iter()
            .all(|a| a["acknowledged"] == false && a["error"].is_string())
    );
    let numbers: Vec<u64> = attempts
        .iter()
        .map(|a| a["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=16).collect::<Vec<_>>());
    let last = attempts[15]["since_paid_ms"].as_f64().unwrap();
    let total = schedule_ms(scale)[15];
    assert!(
        last + 1.0 >= total,
        "last at {last} ms, schedule ends at {total} ms"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.attempts("lost-1").await.len(), 16);
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_counts_as_no_reply() {
    // At 1000x the 5 s timeout would be 5 ms; it never goes below 250 ms.
    let sim = TestSim::start(1000.0).await;
    let receiver = Receiver::start(vec![
        Answer::Slow(Duration::from_millis(600)),
        Answer::Success,
    ])
    .await;
    paid_order(&sim, "slow-1", &receiver.url, SignType::Md5).await;
    let attempts = sim.wait_attempts("slow-1", 2, Duration::from_secs(5)).await;
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0]["acknowledged"], false);
    assert!(attempts[0]["error"].as_str().unwrap().contains("timeout"));
    assert_eq!(attempts[1]["acknowledged"], true);
}
