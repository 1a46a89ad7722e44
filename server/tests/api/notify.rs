//! Every notify outcome: valid, duplicates racing, forgeries and malformed input.

use futures_util::future::join_all;
use serde_json::json;
use wxpay_core::ApiKey;
use wxpay_core::v2::reply::SUCCESS_REPLY;
use wxpay_core::v2::{SignType, xml};

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_valid_notify_pays_once_and_duplicates_racing_change_nothing,
    forged_and_mismatched_notifies_are_refused,
    malformed_notifies_are_refused,
    a_verified_payment_lands_whatever_the_local_state,
    a_second_transaction_for_a_paid_order_is_recorded_and_flagged,
    failure_reports_are_acknowledged_and_change_nothing,
);

fn is_fail(body: &str) -> bool {
    xml::parse(body.as_bytes()).is_ok_and(|p| p.get("return_code") == Some("FAIL"))
}

async fn a_valid_notify_pays_once_and_duplicates_racing_change_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    let body = app.notify_for(&order_no, 2800).build_xml(&app.key);
    let replies = join_all((0..12).map(|_| app.post_notify(body.clone(), "text/xml"))).await;
    for (status, reply) in &replies {
        assert_eq!(*status, 200, "{reply}");
        assert_eq!(reply, SUCCESS_REPLY);
    }
    assert_eq!(app.status_of(&order_no).await, "paid");
    assert_eq!(app.payment_events(&order_no).await, 1);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("wxpay_notifies_total{outcome=\"paid\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("wxpay_notifies_total{outcome=\"duplicate\"} 11"),
        "{metrics}"
    );
    // MD5-signed notify with a sign_type field for the same (HMAC) order: refused.
    let md5 = app
        .notify_for(&order_no, 2800)
        .sign_type(SignType::Md5, true)
        .build_xml(&app.key);
    let (status, reply) = app.post_notify(md5, "text/xml").await;
    assert_eq!(status, 400);
    assert!(is_fail(&reply));
    app.cleanup().await;
}

async fn forged_and_mismatched_notifies_are_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    let other_key = ApiKey::new("00000000000000000000000000000000").unwrap();
    let genuine = app.notify_for(&order_no, 2800).build_xml(&app.key);
    let cases = [
        (
            "bad sign",
            genuine.replace("<total_fee>2800", "<total_fee>1"),
        ),
        (
            "other key",
            app.notify_for(&order_no, 2800).build_xml(&other_key),
        ),
        (
            "lower amount",
            app.notify_for(&order_no, 1).build_xml(&app.key),
        ),
        (
            "higher amount",
            app.notify_for(&order_no, 28000).build_xml(&app.key),
        ),
        (
            "other appid",
            app.notify_for(&order_no, 2800)
                .field("appid", "wx0000000000000000")
                .build_xml(&app.key),
        ),
        (
            "other mch_id",
            app.notify_for(&order_no, 2800)
                .field("mch_id", "1900000109")
                .build_xml(&app.key),
        ),
        (
            "unknown order",
            app.notify_for("20990101000000000000000000", 2800)
                .build_xml(&app.key),
        ),
        (
            "result FAIL with a bad signature",
            app.notify_for(&order_no, 2800)
                .field("result_code", "FAIL")
                .build_xml(&other_key),
        ),
    ];
    for (name, body) in cases {
        let (status, reply) = app.post_notify(body, "text/xml").await;
        assert!(status >= 400, "{name}: {status}");
        assert!(is_fail(&reply), "{name}: {reply}");
        assert_eq!(app.status_of(&order_no).await, "awaiting_payment", "{name}");
    }
    assert_eq!(app.payment_events(&order_no).await, 0);
    app.cleanup().await;
}

async fn malformed_notifies_are_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    let genuine = app.notify_for(&order_no, 2800).build_xml(&app.key);
    let doctype = format!("<!DOCTYPE xml [<!ENTITY x \"y\">]>{genuine}");
    let oversized = format!("<xml><a>{}</a></xml>", "x".repeat(70 * 1024));
    for (name, body, content_type, expected) in [
        (
            "malformed",
            "<xml><return_code>SUCCESS".to_owned(),
            "text/xml",
            400,
        ),
        ("doctype", doctype, "text/xml", 400),
        ("oversized", oversized, "text/xml", 413),
        ("empty", String::new(), "text/xml", 400),
        (
            "json",
            "{\"return_code\":\"SUCCESS\"}".to_owned(),
            "application/json",
            415,
        ),
        (
            "genuine but not xml content type",
            genuine.clone(),
            "text/plain",
            415,
        ),
    ] {
        let (status, reply) = app.post_notify(body, content_type).await;
        assert_eq!(status, expected, "{name}");
        assert!(is_fail(&reply), "{name}: {reply}");
    }
    let invalid_utf8 = b"<xml><return_code>\xff</return_code></xml>".to_vec();
    assert_eq!(app.post_notify(invalid_utf8, "text/xml").await.0, 400);
    assert_eq!(app.status_of(&order_no).await, "awaiting_payment");
    // The genuine one still works afterwards.
    assert_eq!(
        app.post_notify(genuine, "text/xml; charset=utf-8").await.0,
        200
    );
    assert_eq!(app.status_of(&order_no).await, "paid");
    app.cleanup().await;
}

/// The kinds of the payment events recorded for an order, oldest first.
async fn event_kinds(app: &TestApp, order_no: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT transaction_id, kind FROM payment_events WHERE order_no = $1 ORDER BY received_at, kind",
    )
    .bind(order_no)
    .fetch_all(app.state.store.pool())
    .await
    .unwrap()
}

fn metric(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

async fn a_verified_payment_lands_whatever_the_local_state(db: Db) {
    let app = TestApp::spawn(db).await;
    for local in ["closed", "failed", "created"] {
        let (token, _, order) = app.user_with_order().await;
        let order_no = order["order_no"].as_str().unwrap().to_owned();
        if local == "closed" {
            assert_eq!(app.order_action(&token, &order_no, "cancel").await.0, 200);
        } else {
            sqlx::query("UPDATE orders SET status = $1 WHERE order_no = $2")
                .bind(local)
                .bind(&order_no)
                .execute(app.state.store.pool())
                .await
                .unwrap();
        }
        assert_eq!(app.status_of(&order_no).await, local);
        let body = app.notify_for(&order_no, 2800).build_xml(&app.key);
        let (status, reply) = app.post_notify(body.clone(), "text/xml").await;
        assert_eq!((status, reply.as_str()), (200, SUCCESS_REPLY), "{local}");
        let (_, seen) = app.get_order(&token, &order_no).await;
        assert_eq!(seen["status"], "paid", "{local}: {seen}");
        assert_eq!(seen["late_payment"], true, "{local}: {seen}");
        assert_eq!(seen["double_payment"], false, "{local}: {seen}");
        assert_eq!(
            seen["transaction_id"].as_str().unwrap(),
            format!("4200000001{order_no}")
        );
        let paid_at = app
            .state
            .store
            .order(&order_no)
            .await
            .unwrap()
            .unwrap()
            .paid_at;
        // The same notify again: acknowledged, nothing changes.
        let (status, reply) = app.post_notify(body, "text/xml").await;
        assert_eq!((status, reply.as_str()), (200, SUCCESS_REPLY), "{local}");
        let again = app.state.store.order(&order_no).await.unwrap().unwrap();
        assert_eq!(again.paid_at, paid_at, "{local}");
        assert_eq!(event_kinds(&app, &order_no).await.len(), 1, "{local}");
        assert_eq!(event_kinds(&app, &order_no).await[0].1, "late", "{local}");
        assert_eq!(again.next_check_at, None, "{local}: off the work list");
    }
    let metrics = app.metrics().await;
    assert_eq!(
        metric(&metrics, "wxpay_late_payments_total"),
        3,
        "{metrics}"
    );
    assert!(
        metrics.contains("wxpay_notifies_total{outcome=\"late_payment\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("wxpay_notifies_total{outcome=\"duplicate\"} 3"),
        "{metrics}"
    );
    // An on-time payment is not late.
    let (token, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    let body = app.notify_for(&order_no, 2800).build_xml(&app.key);
    assert_eq!(app.post_notify(body, "text/xml").await.0, 200);
    let (_, seen) = app.get_order(&token, &order_no).await;
    assert_eq!(
        (&seen["status"], &seen["late_payment"]),
        (&json!("paid"), &json!(false))
    );
    assert_eq!(metric(&app.metrics().await, "wxpay_late_payments_total"), 3);
    app.cleanup().await;
}

async fn a_second_transaction_for_a_paid_order_is_recorded_and_flagged(db: Db) {
    let app = TestApp::spawn(db).await;
    let (token, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    let first = app.notify_for(&order_no, 2800).build_xml(&app.key);
    assert_eq!(app.post_notify(first, "text/xml").await.0, 200);
    let paid = app.state.store.order(&order_no).await.unwrap().unwrap();
    let second_id = format!("4200000002{order_no}");
    let second = app
        .notify_for(&order_no, 2800)
        .field("transaction_id", &second_id)
        .build_xml(&app.key);
    for _ in 0..2 {
        let (status, reply) = app.post_notify(second.clone(), "text/xml").await;
        assert_eq!((status, reply.as_str()), (200, SUCCESS_REPLY));
    }
    let after = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(after.status.as_str(), "paid");
    assert_eq!(
        after.transaction_id, paid.transaction_id,
        "paid once, by the first"
    );
    assert_eq!(after.paid_at, paid.paid_at);
    assert!(after.double_payment && !after.late_payment);
    let kinds: Vec<String> = event_kinds(&app, &order_no)
        .await
        .into_iter()
        .map(|(_, kind)| kind)
        .collect();
    assert_eq!(kinds, ["payment", "extra"]);
    let (_, seen) = app.get_order(&token, &order_no).await;
    assert_eq!(seen["double_payment"], true, "{seen}");
    let metrics = app.metrics().await;
    assert_eq!(
        metric(&metrics, "wxpay_double_payments_total"),
        1,
        "{metrics}"
    );
    assert!(metrics.contains("wxpay_notifies_total{outcome=\"double_payment\"} 1"));

    // A transaction already recorded for another order: the records disagree with
    // WeChat. Not acknowledged (WeChat keeps retrying while an operator looks), nothing
    // changes.
    let (_, _, other) = app.user_with_order().await;
    let other_no = other["order_no"].as_str().unwrap().to_owned();
    let conflicting = app
        .notify_for(&other_no, 2800)
        .field("transaction_id", &second_id)
        .build_xml(&app.key);
    let (status, reply) = app.post_notify(conflicting, "text/xml").await;
    assert_eq!(status, 409);
    assert!(is_fail(&reply));
    assert_eq!(app.status_of(&other_no).await, "awaiting_payment");
    assert_eq!(app.payment_events(&other_no).await, 0);
    app.cleanup().await;
}

async fn failure_reports_are_acknowledged_and_change_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    for (name, body) in [
        (
            "result_code FAIL, genuinely signed",
            app.notify_for(&order_no, 2800)
                .field("result_code", "FAIL")
                .field("err_code", "NOTENOUGH")
                .build_xml(&app.key),
        ),
        (
            "return_code FAIL",
            "<xml><return_code>FAIL</return_code><return_msg>x</return_msg></xml>".to_owned(),
        ),
        (
            "return_code FAIL with the fields of a payment",
            app.notify_for(&order_no, 2800)
                .field("return_code", "FAIL")
                .build_xml(&app.key),
        ),
    ] {
        let (status, reply) = app.post_notify(body, "text/xml").await;
        assert_eq!((status, reply.as_str()), (200, SUCCESS_REPLY), "{name}");
        assert_eq!(app.status_of(&order_no).await, "awaiting_payment", "{name}");
    }
    assert_eq!(app.payment_events(&order_no).await, 0);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("wxpay_notifies_total{outcome=\"result_fail\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("wxpay_notifies_total{outcome=\"return_fail\"} 2"),
        "{metrics}"
    );
    app.cleanup().await;
}
