//! `wxpay serve --sandbox --merchants 3`, the real binary: the third merchant's user logs
//! in on its app, pays, and its own admin token refunds the order (through its own
//! refund certificate at the simulator) and pulls its events, while the platform's
//! routes are refused it.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use serde_json::{Value, json};
use wxpay_tests::Sandbox;

/// What the banner says of merchant `shop3`.
const SHOP3_APPID: &str = "wx5a4db0c000000003";
const SHOP3_ADMIN: &str = "sandbox-admin-shop3-0123456789abcdef";

async fn json(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[tokio::test]
async fn three_merchants_each_take_and_refund_their_own_payments() {
    let sandbox = Sandbox::start_with("merchants", &["--merchants", "3"]).unwrap();
    let http = wxpay_tests::http_client();
    let (api, sim) = (&sandbox.api, &sandbox.sim);

    let code = json(
        http.post(format!("{sim}/sim/login"))
            .json(&json!({ "appid": SHOP3_APPID }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let login = json(
        http.post(format!("{api}/v1/login"))
            .header("Wxpay-Appid", SHOP3_APPID)
            .json(&json!({ "code": code["code"] }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = login["token"].as_str().unwrap();
    let order = json(
        http.post(format!("{api}/v1/orders"))
            .bearer_auth(token)
            .json(&json!({ "items": [{"sku": "latte", "quantity": 1}] }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    let mut pay = order["payment"].clone();
    pay["appid"] = json!(SHOP3_APPID);
    pay["openid"] = code["openid"].clone();
    let paid = json(
        http.post(format!("{sim}/sim/pay"))
            .json(&pay)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(paid["errMsg"], "requestPayment:ok", "{paid}");

    // shop3's own admin token: it lists the order once paid, and refunds it.
    let mut listed = Value::Null;
    for _ in 0..100 {
        listed = json(
            http.get(format!("{api}/v1/admin/orders?status=paid"))
                .bearer_auth(SHOP3_ADMIN)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if listed["orders"].as_array().is_some_and(|o| !o.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        listed["orders"][0]["order_no"],
        order_no.as_str(),
        "{listed}"
    );
    let refund = http
        .post(format!("{api}/v1/admin/orders/{order_no}/refunds"))
        .bearer_auth(SHOP3_ADMIN)
        .header("Idempotency-Key", "shop3-refund-1")
        .json(&json!({ "amount_fen": 100 }))
        .send()
        .await
        .unwrap();
    assert_eq!(refund.status().as_u16(), 201, "{}", sandbox.log());
    let refund = json(refund).await;
    let finished = http
        .post(format!(
            "{sim}/sim/refunds/{}/status",
            refund["out_refund_no"].as_str().unwrap()
        ))
        .json(&json!({"status": "SUCCESS"}))
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status().as_u16(), 200);
    let mut seen = Value::Null;
    for _ in 0..200 {
        seen = json(
            http.get(format!("{api}/v1/orders/{order_no}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if seen["refunded_fen"] == 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen["status"],
        "partially_refunded",
        "{seen}\n{}",
        sandbox.log()
    );

    // The documentation merchant's platform token sees it too; shop3's token is refused
    // the platform's routes.
    let all = json(
        http.get(format!("{api}/v1/admin/orders"))
            .bearer_auth("sandbox-admin")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        all["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["order_no"] == order_no.as_str())
    );
    let report = http
        .post(format!("{api}/v1/admin/reconciliation/2026-01-01"))
        .bearer_auth(SHOP3_ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(report.status().as_u16(), 403);
    let events = json(
        http.get(format!("{api}/v1/admin/events"))
            .bearer_auth(SHOP3_ADMIN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let events = events["events"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| e["data"]["order_no"] == order_no.as_str()),
        "{events:?}"
    );
    let banner = sandbox.log();
    assert!(
        banner.contains(SHOP3_APPID) && banner.contains(SHOP3_ADMIN),
        "{banner}"
    );
}
