//! Money is never lost: prepay refreshes are byte-identical whatever the settings say
//! today, `/payment` racing `/cancel` never hands out params for a closed order (and a
//! trade WeChat opened after a local close is closed there), a payment refunded
//! elsewhere resolves, and an order WeChat never answers about stops being queried.

use std::time::Duration;

use futures_util::future::join;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_refresh_resends_the_first_request_after_the_settings_changed,
    payment_racing_cancel_never_hands_out_params_for_a_closed_order,
    a_payment_refunded_elsewhere_is_recorded_and_leaves_the_work_list,
    an_order_wechat_never_answers_about_backs_off_and_is_flagged,
);

/// Makes the stored prepay_id look expired, so the next `/payment` asks WeChat again.
async fn expire_prepay(app: &TestApp, order_no: &str) {
    sqlx::query("UPDATE orders SET prepay_expires_at = 0 WHERE order_no = $1")
        .bind(order_no)
        .execute(app.state.store.pool())
        .await
        .unwrap();
}

async fn a_refresh_resends_the_first_request_after_the_settings_changed(db: Db) {
    let first = TestApp::spawn(db).await;
    let (token, openid, order) = first.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    assert_eq!(order["payment"]["signType"], "HMAC-SHA256");
    let (_, trade) = first.sim_get(&format!("/sim/trades/{order_no}")).await;

    // A new deployment with other settings: notify_url, spbill_create_ip, sign type.
    let second = first
        .spawn_beside(|s| {
            s.wechat.sign_type = "MD5".into();
            s.wechat.spbill_create_ip = "10.1.2.3".into();
            s.server.public_base_url = Some("https://elsewhere.example.com".into());
        })
        .await;
    expire_prepay(&second, &order_no).await;
    let (status, refreshed) = second.order_action(&token, &order_no, "payment").await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["status"], "awaiting_payment");
    assert_eq!(
        refreshed["payment"]["signType"], "HMAC-SHA256",
        "the order keeps its own sign type"
    );
    // WeChat saw the same order: no OUT_TRADE_NO_USED, nothing changed there.
    let (_, after) = second.sim_get(&format!("/sim/trades/{order_no}")).await;
    for field in ["notify_url", "sign_type", "body", "total_fee", "prepay_id"] {
        assert_eq!(after[field], trade[field], "{field}");
    }
    assert_eq!(second.status_of(&order_no).await, "awaiting_payment");
    // The params handed out first still pay, and the notify reaches the first URL.
    assert_eq!(first.pay(&order, &openid).await, "requestPayment:ok");
    assert_eq!(
        first
            .wait_status(&order_no, "paid", Duration::from_secs(5))
            .await,
        "paid"
    );
    let paid = first.state.store.order(&order_no).await.unwrap().unwrap();
    assert!(!paid.late_payment);
    second.cleanup().await;
    first.cleanup().await;
}

/// One round of the race: (payment status, payment body, cancel status, paid). With
/// `pay_as`, the user pays as soon as the params arrive (while the cancel waits).
async fn race(
    app: &TestApp,
    token: &str,
    order_no: &str,
    cancel_after: Duration,
    pay_as: Option<&str>,
) -> (u16, Value, u16, bool) {
    let payment = async {
        let (status, body) = app.order_action(token, order_no, "payment").await;
        let paid = match pay_as {
            Some(openid) if status == 200 => app.pay(&body, openid).await == "requestPayment:ok",
            _ => false,
        };
        (status, body, paid)
    };
    let cancel = async {
        tokio::time::sleep(cancel_after).await;
        app.order_action(token, order_no, "cancel").await
    };
    let ((pay_status, pay_body, paid), (cancel_status, _)) = join(payment, cancel).await;
    (pay_status, pay_body, cancel_status, paid)
}

/// Waits until the order and WeChat agree: paid, or closed here with no open trade there
/// and nothing left on the work list.
async fn settled(app: &TestApp, order_no: &str) -> (String, Value) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let order = app.state.store.order(order_no).await.unwrap().unwrap();
        let (status, trade) = app.sim_get(&format!("/sim/trades/{order_no}")).await;
        let trade_state = if status == 404 {
            json!("NONE")
        } else {
            trade["trade_state"].clone()
        };
        let done = match order.status.as_str() {
            "paid" => true,
            "closed" => order.next_check_at.is_none() && trade_state != "NOTPAY",
            _ => false,
        };
        if done || tokio::time::Instant::now() > deadline {
            return (order.status.as_str().to_owned(), trade_state);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn payment_racing_cancel_never_hands_out_params_for_a_closed_order(db: Db) {
    let app = TestApp::spawn_with(db, |s| s.wechat.retry_attempts = 1).await;
    let rounds = 12;
    let mut outcomes = Vec::new();
    for round in 0..rounds {
        let (token, openid) = app.login().await;
        // Even rounds: the first unifiedorder failed, nothing is at WeChat yet. Odd
        // rounds: the prepay_id expired, the trade is at WeChat.
        if round % 2 == 0 {
            app.fault(json!({"endpoint": "unifiedorder", "kind": "http_5xx", "count": 1}))
                .await;
        }
        let (status, order) = app
            .create_order(&token, json!([{"sku": "latte", "quantity": 1}]), None)
            .await;
        assert!(status == 201 || status == 503, "{order}");
        let order_no = order["order_no"].as_str().unwrap().to_owned();
        expire_prepay(&app, &order_no).await;
        // The unifiedorder is slow on its way in (WeChat acts after the cancel) or on
        // its way back (WeChat acts first).
        let kind = if round % 4 < 2 {
            "slow_request"
        } else {
            "delay"
        };
        app.fault(json!({"endpoint": "unifiedorder", "kind": kind, "count": 1, "delay_ms": 150}))
            .await;
        // From well before WeChat acts (150 ms in), through the close calls, to well
        // after the payment answered.
        let cancel_after_ms = [0, 40, 100, 140, 260, 320][round % 6];
        let cancel_after = Duration::from_millis(cancel_after_ms);
        // In the last slot the user pays at once, before the cancel comes.
        let pay_as = (cancel_after_ms == 320).then_some(openid.as_str());
        let (pay_status, pay_body, cancel_status, paid_at_once) =
            race(&app, &token, &order_no, cancel_after, pay_as).await;
        assert!(matches!(pay_status, 200 | 409), "{pay_body}");
        assert!(matches!(cancel_status, 200 | 409));
        if cancel_after_ms <= 40 {
            // The order was closed here before WeChat answered: no params.
            assert_eq!(pay_status, 409, "round {round}: {pay_body}");
            assert_eq!(pay_body["code"], "ORDER_CLOSED", "round {round}");
        }
        if cancel_after_ms >= 260 {
            assert_eq!(pay_status, 200, "round {round}: the payment answered first");
        }
        if pay_as.is_some() {
            assert!(paid_at_once, "round {round}");
            assert_eq!(
                cancel_status, 409,
                "round {round}: a paid order is not cancelled"
            );
        }
        let paid_by_user = if pay_status == 200 {
            paid_at_once || app.pay(&pay_body, &openid).await == "requestPayment:ok"
        } else {
            assert!(pay_body.get("payment").is_none(), "{pay_body}");
            false
        };
        let (final_status, trade_state) = settled(&app, &order_no).await;
        if paid_by_user {
            assert_eq!(final_status, "paid", "round {round}: every payment lands");
        }
        if final_status == "closed" {
            assert_ne!(
                trade_state, "NOTPAY",
                "round {round}: a trade WeChat opened after the close is closed there"
            );
            assert_ne!(
                trade_state, "SUCCESS",
                "round {round}: a paid trade is never closed here"
            );
        }
        assert!(
            !(pay_status == 409 && cancel_status == 409),
            "round {round}: one of them wins"
        );
        let reached_wechat_after_close = round % 4 == 0 && pay_status == 409;
        outcomes.push((pay_status, cancel_status, final_status, trade_state));
        if reached_wechat_after_close {
            // Nothing was at WeChat when the cancel closed the order; the unifiedorder
            // arrived later and opened a trade, which the reconciler closed.
            assert_eq!(outcomes.last().unwrap().3, "CLOSED", "round {round}");
        }
        app.http
            .delete(format!("{}/sim/faults", app.sim_url))
            .send()
            .await
            .unwrap();
    }
    // The race went both ways.
    assert!(outcomes.iter().any(|(p, ..)| *p == 409), "{outcomes:?}");
    assert!(outcomes.iter().any(|(p, ..)| *p == 200), "{outcomes:?}");
    assert!(
        outcomes.iter().any(|(.., s, _)| s == "paid"),
        "{outcomes:?}"
    );
    println!("payment vs cancel ({rounds} rounds): {outcomes:?}");
    app.cleanup().await;
}

async fn a_payment_refunded_elsewhere_is_recorded_and_leaves_the_work_list(db: Db) {
    // The reconciler's first look is at the order's expiry (2 s).
    let app = TestApp::spawn_with(db, |s| s.orders.ttl_secs = 2).await;
    app.fault(json!({"endpoint": "notify", "kind": "drop", "probability": 1.0}))
        .await;
    // Paid, the notify lost, then refunded in full on WeChat's merchant platform: the
    // user cancels (closeorder says ORDERPAID, orderquery says REFUND), and the reconciler
    // finds the other one at its expiry.
    let mut orders = Vec::new();
    for _ in 0..2 {
        let (token, openid, order) = app.user_with_order().await;
        let order_no = order["order_no"].as_str().unwrap().to_owned();
        assert_eq!(app.pay(&order, &openid).await, "requestPayment:ok");
        let refunded = app
            .sim_post(&format!("/sim/trades/{order_no}/refund"), json!({}))
            .await;
        assert_eq!(refunded["trade_state"], "REFUND");
        orders.push((token, order_no));
    }
    let (token, cancelled) = &orders[0];
    let (status, body) = app.order_action(token, cancelled, "cancel").await;
    assert_eq!(
        (status, &body["code"]),
        (409, &json!("ORDER_ALREADY_PAID")),
        "{body}"
    );
    let (_, expired) = &orders[1];
    app.wait_status(expired, "paid", Duration::from_secs(8))
        .await;
    for (token, order_no) in &orders {
        let (_, seen) = app.get_order(token, order_no).await;
        assert_eq!(seen["status"], "paid", "{seen}");
        assert_eq!(seen["late_payment"], true, "{seen}");
        let order = app.state.store.order(order_no).await.unwrap().unwrap();
        assert_eq!(order.next_check_at, None, "off the reconciler's work list");
        assert_eq!(app.payment_events(order_no).await, 1);
    }
    app.cleanup().await;
}

async fn an_order_wechat_never_answers_about_backs_off_and_is_flagged(db: Db) {
    let app = TestApp::spawn_with(db, |s| {
        s.wechat.retry_attempts = 1;
        s.orders.reconcile_after_secs = 0;
        s.orders.reconcile_max_failures = 4;
    })
    .await;
    let (_, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    app.fault(json!({"endpoint": "orderquery", "kind": "http_5xx", "count": 1000}))
        .await;
    // Pauses of 100, 200 and 400 ms after the first three failures: the fourth comes
    // ~0.7 s in, and then nothing more, however long we wait.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let queried = app.calls_seen("orderquery", 1000).await;
    assert_eq!(queried, 4, "four checks, then it stops");
    let flagged = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert!(flagged.needs_attention);
    assert_eq!(flagged.next_check_at, None);
    assert_eq!(flagged.check_failures, 4);
    // Announced once, in the transaction that flagged it.
    let announced = app.events_of_type("order.needs_attention").await;
    let described = crate::openapi::events_match_the_document(&app).await;
    assert!(described.contains("order.needs_attention"), "{described:?}");
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(announced[0].0.as_deref(), Some(order_no.as_str()));
    assert_eq!(announced[0].1["check_failures"], 4);
    assert_eq!(announced[0].1["status"], "awaiting_payment");
    assert_eq!(
        flagged.status.as_str(),
        "awaiting_payment",
        "nothing is assumed"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.calls_seen("orderquery", 1000).await, 4);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("wxpay_reconciler_gave_up_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("wxpay_orders_needing_attention 1"),
        "{metrics}"
    );
    // A notify still lands on a flagged order.
    let body = app.notify_for(&order_no, 2800).build_xml(&app.key);
    assert_eq!(app.post_notify(body, "text/xml").await.0, 200);
    assert_eq!(app.status_of(&order_no).await, "paid");
    app.cleanup().await;
}
