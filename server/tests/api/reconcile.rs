//! Lost notifies and expired orders: the reconciler and the stale-order query.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_lost_notify_is_settled_by_the_reconciler,
    an_unpaid_order_expires_and_is_closed,
    reading_a_stale_order_asks_wechat,
);

async fn a_lost_notify_is_settled_by_the_reconciler(db: Db) {
    let app = TestApp::spawn_with(db, |s| s.orders.reconcile_after_secs = 0).await;
    app.fault(json!({"endpoint": "notify", "kind": "drop", "probability": 1.0}))
        .await;
    let (_, openid, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    assert_eq!(app.pay(&order, &openid).await, "requestPayment:ok");
    assert_eq!(
        app.wait_status(&order_no, "paid", Duration::from_secs(5))
            .await,
        "paid"
    );
    // Proven by orderquery, recorded once, and no notify ever arrived.
    let source: (String,) = sqlx::query_as("SELECT source FROM payment_events WHERE order_no = $1")
        .bind(&order_no)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(source.0, "orderquery");
    let (_, attempts) = app
        .sim_get(&format!("/sim/notifies?out_trade_no={order_no}"))
        .await;
    assert!(
        attempts["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["acknowledged"] == false)
    );
    app.cleanup().await;
}

async fn an_unpaid_order_expires_and_is_closed(db: Db) {
    let app = TestApp::spawn_with(db, |s| {
        s.orders.ttl_secs = 1;
        s.orders.reconcile_after_secs = 0;
    })
    .await;
    let (token, openid, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    assert_eq!(
        app.wait_status(&order_no, "closed", Duration::from_secs(6))
            .await,
        "closed"
    );
    let (_, trade) = app.sim_get(&format!("/sim/trades/{order_no}")).await;
    assert_eq!(trade["trade_state"], "CLOSED");
    assert_eq!(
        app.pay(&order, &openid).await,
        "requestPayment:fail order closed"
    );
    let (status, body) = app.order_action(&token, &order_no, "payment").await;
    assert_eq!(status, 409, "{body}");
    app.cleanup().await;
}

async fn reading_a_stale_order_asks_wechat(db: Db) {
    let app = TestApp::spawn_with(db, |s| s.orders.query_stale_after_secs = 0).await;
    app.fault(json!({"endpoint": "notify", "kind": "drop", "probability": 1.0}))
        .await;
    let (token, openid, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    assert_eq!(app.pay(&order, &openid).await, "requestPayment:ok");
    // No notify arrived and the reconciler is off: the GET itself asks WeChat.
    let (status, seen) = app.get_order(&token, &order_no).await;
    assert_eq!(status, 200);
    assert_eq!(seen["status"], "paid", "{seen}");
    app.cleanup().await;
}
