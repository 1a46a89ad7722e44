//! Every notify outcome: valid, duplicates racing, forgeries and malformed input.

use futures_util::future::join_all;
use wxpay_core::reply::SUCCESS_REPLY;
use wxpay_core::{ApiKey, SignType, xml};

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_valid_notify_pays_once_and_duplicates_racing_change_nothing,
    forged_and_mismatched_notifies_are_refused,
    malformed_notifies_are_refused,
    notify_for_a_closed_order_is_refused,
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
            "result FAIL",
            app.notify_for(&order_no, 2800)
                .field("result_code", "FAIL")
                .build_xml(&app.key),
        ),
        (
            "return FAIL",
            "<xml><return_code>FAIL</return_code><return_msg>x</return_msg></xml>".to_owned(),
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

async fn notify_for_a_closed_order_is_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let (token, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    assert_eq!(app.order_action(&token, &order_no, "cancel").await.0, 200);
    let body = app.notify_for(&order_no, 2800).build_xml(&app.key);
    let (status, reply) = app.post_notify(body, "text/xml").await;
    assert_eq!(status, 409);
    assert!(is_fail(&reply));
    assert_eq!(app.status_of(&order_no).await, "closed");
    app.cleanup().await;
}
