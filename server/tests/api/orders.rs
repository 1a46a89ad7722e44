//! Orders: server-side prices, ownership, idempotency, payment params, cancellation.

use serde_json::json;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases!(
    the_client_cannot_set_the_price,
    users_cannot_touch_each_others_orders,
    idempotency_key_returns_the_same_order,
    item_rules_are_explained,
    payment_gives_fresh_params_and_cancel_closes,
);

async fn the_client_cannot_set_the_price(db: Db) {
    let app = TestApp::spawn(db).await;
    let (token, _) = app.login().await;
    // A price field is not part of the API: refused, not ignored silently.
    let (status, body) = app
        .create_order(
            &token,
            json!([{"sku": "latte", "quantity": 1, "price_fen": 1}]),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "INVALID_JSON");
    assert!(body["message"].as_str().unwrap().contains("price_fen"));
    let request = app
        .http
        .post(app.url("/v1/orders"))
        .bearer_auth(&token)
        .json(&json!({"items": [{"sku": "latte", "quantity": 1}], "amount_fen": 1}));
    let (status, _) = app.send(request).await;
    assert_eq!(status, 400);
    let (status, order) = app
        .create_order(&token, json!([{"sku": "latte", "quantity": 1}]), None)
        .await;
    assert_eq!(status, 201);
    assert_eq!(order["amount_fen"], 2800);
    app.cleanup().await;
}

async fn users_cannot_touch_each_others_orders(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap();
    let (intruder, _) = app.login().await;
    for (status, body) in [
        app.get_order(&intruder, order_no).await,
        app.order_action(&intruder, order_no, "payment").await,
        app.order_action(&intruder, order_no, "cancel").await,
    ] {
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["code"], "ORDER_NOT_FOUND");
    }
    assert_eq!(app.status_of(order_no).await, "awaiting_payment");
    app.cleanup().await;
}

async fn idempotency_key_returns_the_same_order(db: Db) {
    let app = TestApp::spawn(db).await;
    let (token, _) = app.login().await;
    let items = json!([{"sku": "americano", "quantity": 3}]);
    let (first_status, first) = app
        .create_order(&token, items.clone(), Some("key-123"))
        .await;
    assert_eq!(first_status, 201);
    let (again_status, again) = app
        .create_order(&token, items.clone(), Some("key-123"))
        .await;
    assert_eq!(again_status, 200, "{again}");
    assert_eq!(again["order_no"], first["order_no"]);
    assert_eq!(again["amount_fen"], 6600);
    assert_eq!(again["payment"]["package"], first["payment"]["package"]);
    // The same key for something else is a client bug, said so.
    let (status, body) = app
        .create_order(
            &token,
            json!([{"sku": "americano", "quantity": 4}]),
            Some("key-123"),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "IDEMPOTENCY_KEY_REUSED");
    // Keys are per user.
    let (other, _) = app.login().await;
    let (status, theirs) = app.create_order(&other, items, Some("key-123")).await;
    assert_eq!(status, 201);
    assert_ne!(theirs["order_no"], first["order_no"]);
    let (status, _) = app
        .create_order(
            &token,
            json!([{"sku": "latte", "quantity": 1}]),
            Some("has a space"),
        )
        .await;
    assert_eq!(status, 400);
    app.cleanup().await;
}

async fn item_rules_are_explained(db: Db) {
    let app = TestApp::spawn(db).await;
    let (token, _) = app.login().await;
    for (items, code) in [
        (json!([]), "INVALID_ITEMS"),
        (json!([{"sku": "latte", "quantity": 0}]), "INVALID_ITEMS"),
        (json!([{"sku": "latte", "quantity": 100}]), "INVALID_ITEMS"),
        (
            json!([{"sku": "latte", "quantity": 1}, {"sku": "latte", "quantity": 1}]),
            "INVALID_ITEMS",
        ),
        (json!([{"sku": "unicorn", "quantity": 1}]), "UNKNOWN_SKU"),
    ] {
        let (status, body) = app.create_order(&token, items.clone(), None).await;
        assert_eq!(status, 422, "{items} -> {body}");
        assert_eq!(body["code"], code);
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    let (status, body) = app
        .create_order(&token, json!([{"sku": "latte", "quantity": -1}]), None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        app.state
            .store
            .count_orders_by_status()
            .await
            .unwrap()
            .by_status
            .iter()
            .map(|(_, n)| n)
            .sum::<i64>(),
        0,
        "no order was created"
    );
    app.cleanup().await;
}

async fn payment_gives_fresh_params_and_cancel_closes(db: Db) {
    let app = TestApp::spawn(db).await;
    let (token, openid, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap();
    let (status, again) = app.order_action(&token, order_no, "payment").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["payment"]["package"], order["payment"]["package"],
        "same prepay_id"
    );
    assert_ne!(
        again["payment"]["nonceStr"], order["payment"]["nonceStr"],
        "fresh nonce"
    );

    let (status, cancelled) = app.order_action(&token, order_no, "cancel").await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "closed");
    let (_, trade) = app.sim_get(&format!("/sim/trades/{order_no}")).await;
    assert_eq!(trade["trade_state"], "CLOSED");
    assert_eq!(
        app.pay(&order, &openid).await,
        "requestPayment:fail order closed"
    );
    let (status, body) = app.order_action(&token, order_no, "payment").await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "ORDER_CLOSED");
    // Cancelling again is harmless.
    assert_eq!(app.order_action(&token, order_no, "cancel").await.0, 200);

    // A paid order cannot be cancelled.
    let (token, openid, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap();
    assert_eq!(app.pay(&order, &openid).await, "requestPayment:ok");
    app.wait_status(order_no, "paid", std::time::Duration::from_secs(5))
        .await;
    let (status, body) = app.order_action(&token, order_no, "cancel").await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "ORDER_ALREADY_PAID");
    let (status, body) = app.order_action(&token, order_no, "payment").await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "ORDER_ALREADY_PAID");
    app.cleanup().await;
}
