//! The whole flow of the seed, end to end.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases!(login_order_pay_and_the_order_turns_paid);

async fn login_order_pay_and_the_order_turns_paid(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, products) = app.send(app.http.get(app.url("/v1/products"))).await;
    assert_eq!(status, 200);
    assert_eq!(products["products"].as_array().unwrap().len(), 4);

    let sim = app
        .sim_post("/sim/login", json!({ "appid": crate::helpers::APPID }))
        .await;
    let (status, login) = app
        .send(
            app.http
                .post(app.url("/v1/login"))
                .json(&json!({ "code": sim["code"] })),
        )
        .await;
    assert_eq!(status, 200, "{login}");
    // Our token only: the session_key never leaves the server.
    assert_eq!(login.as_object().unwrap().len(), 2);
    assert!(login["expires_at"].is_string());
    let token = login["token"].as_str().unwrap();
    let openid = sim["openid"].as_str().unwrap();

    let (status, order) = app
        .create_order(
            token,
            json!([{"sku": "latte", "quantity": 2}, {"sku": "croissant", "quantity": 1}]),
            None,
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["amount_fen"], 2 * 2800 + 1500);
    assert_eq!(order["status"], "awaiting_payment");
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    assert!(order_no.len() <= 32);
    let payment = &order["payment"];
    assert!(payment["timeStamp"].is_string());
    assert!(
        payment["package"]
            .as_str()
            .unwrap()
            .starts_with("prepay_id=wx")
    );
    assert_eq!(payment["signType"], "HMAC-SHA256");
    assert_eq!(payment.as_object().unwrap().len(), 5);

    // WeChat holds the same amount, computed by the server.
    let (_, trade) = app.sim_get(&format!("/sim/trades/{order_no}")).await;
    assert_eq!(trade["total_fee"], 7100);
    assert_eq!(trade["openid"], openid);

    assert_eq!(app.pay(&order, openid).await, "requestPayment:ok");
    assert_eq!(
        app.wait_status(&order_no, "paid", Duration::from_secs(5))
            .await,
        "paid"
    );
    let (status, seen) = app.get_order(token, &order_no).await;
    assert_eq!(status, 200);
    assert_eq!(seen["status"], "paid");
    assert_eq!(seen["transaction_id"], trade_tx(&app, &order_no).await);
    assert!(seen["paid_at"].is_string());
    assert_eq!(seen["items"].as_array().unwrap().len(), 2);
    assert_eq!(app.payment_events(&order_no).await, 1);
    app.cleanup().await;
}

async fn trade_tx(app: &TestApp, order_no: &str) -> serde_json::Value {
    app.sim_get(&format!("/sim/trades/{order_no}")).await.1["transaction_id"].clone()
}
