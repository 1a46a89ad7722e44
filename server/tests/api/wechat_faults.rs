//! WeChat misbehaving on unifiedorder: clear errors, and never a second order at WeChat.

use serde_json::json;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_timeout_is_retried_with_the_same_order,
    exhausted_retries_give_a_clear_error_and_the_order_can_be_resumed,
    a_refused_order_fails_cleanly,
);

async fn a_timeout_is_retried_with_the_same_order(db: Db) {
    let app = TestApp::spawn_with(db, |s| s.wechat.request_timeout_ms = 300).await;
    // WeChat creates the order but answers after the client gave up.
    app.fault(json!({"endpoint": "unifiedorder", "kind": "timeout", "count": 1, "delay_ms": 1000}))
        .await;
    let (_, openid, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap();
    assert_eq!(order["status"], "awaiting_payment");
    let (status, trade) = app.sim_get(&format!("/sim/trades/{order_no}")).await;
    assert_eq!(status, 200);
    assert_eq!(trade["total_fee"], 2800);
    assert_eq!(app.pay(&order, &openid).await, "requestPayment:ok");
    app.cleanup().await;
}

async fn exhausted_retries_give_a_clear_error_and_the_order_can_be_resumed(db: Db) {
    let app = TestApp::spawn(db).await;
    let (token, openid) = app.login().await;
    for (kind, count) in [("system_error", 3), ("http_5xx", 3)] {
        app.fault(json!({"endpoint": "unifiedorder", "kind": kind, "count": count}))
            .await;
        let (status, body) = app
            .create_order(&token, json!([{"sku": "latte", "quantity": 1}]), None)
            .await;
        assert_eq!(status, 503, "{kind}: {body}");
        assert_eq!(body["code"], "WECHAT_UNAVAILABLE");
        let order_no = body["order_no"].as_str().unwrap().to_owned();
        assert!(body["message"].as_str().unwrap().contains("/payment"));
        assert_eq!(app.status_of(&order_no).await, "created");
        let (status, _) = app.sim_get(&format!("/sim/trades/{order_no}")).await;
        assert_eq!(status, 404, "nothing at WeChat yet");
        // WeChat is back: resuming creates it there once, with the same out_trade_no.
        let (status, resumed) = app.order_action(&token, &order_no, "payment").await;
        assert_eq!(status, 200, "{resumed}");
        assert_eq!(resumed["status"], "awaiting_payment");
        assert_eq!(app.pay(&resumed, &openid).await, "requestPayment:ok");
    }
    app.cleanup().await;
}

async fn a_refused_order_fails_cleanly(db: Db) {
    // A wrong API key: WeChat refuses every request (return_code FAIL).
    let app = TestApp::spawn_with(db, |s| {
        s.wechat.api_key = Some(secrecy::SecretString::from(
            "00000000000000000000000000000000",
        ));
    })
    .await;
    let (token, _) = app.login().await;
    let (status, body) = app
        .create_order(&token, json!([{"sku": "latte", "quantity": 1}]), None)
        .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["code"], "WECHAT_REJECTED");
    let order_no = body["order_no"].as_str().unwrap();
    assert_eq!(app.status_of(order_no).await, "failed");
    let described = crate::openapi::events_match_the_document(&app).await;
    assert!(described.contains("order.failed"), "{described:?}");
    // The key never appears in what the client sees.
    assert!(
        !body
            .to_string()
            .contains("00000000000000000000000000000000")
    );
    app.cleanup().await;
}
