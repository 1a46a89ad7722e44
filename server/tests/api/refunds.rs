//! Refunds through the admin API, on v2 (mutual TLS, the certificate as PEM or as the
//! legacy `.p12`) and v3: partial and full, the order's states, the sum rule under
//! concurrency, WeChat's refusals, the notifies (genuine, duplicate, forged, wrong key,
//! tampered, unknown), the reconciler, and the admin API's authentication.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use wxpay_core::v2::refund::encrypt_refund_info;
use wxpay_core::v2::{Params, xml};
use wxpay_core::v3::testing as v3_testing;
use wxpay_core::{ApiKey, Fen};
use wxpay_sim::config::KeyMode;

use crate::helpers::{ADMIN_TOKEN, APPID, CertFormat, Db, MCH_ID, TestApp};
use crate::on_both_databases;

on_both_databases!(
    v2_partial_then_full_refunds_with_pem_certificates,
    v2_refunds_with_the_legacy_p12_file,
    v3_partial_then_full_refunds,
    refund_requests_are_idempotent_and_checked,
    concurrent_refunds_on_three_instances_never_exceed_the_paid_amount,
    wechat_refusals_close_the_refund_and_free_its_amount,
    abnormal_is_not_final_and_success_follows,
    a_lost_refund_notify_is_settled_by_the_reconciler,
    v2_refund_notifies,
    v3_refund_notifies,
    late_payments_are_refunded_when_the_policy_says_so,
    the_admin_api_needs_its_own_token,
);

const WITHIN: Duration = Duration::from_secs(10);

/// Asks for a refund and expects it created: its out_refund_no.
async fn refunded(app: &TestApp, order_no: &str, amount_fen: i64) -> String {
    let (status, refund) = app.refund(order_no, amount_fen, None).await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["amount_fen"], amount_fen, "{refund}");
    assert_eq!(refund["order_no"], order_no, "{refund}");
    refund["out_refund_no"].as_str().unwrap().to_owned()
}

/// The order as its owner sees it.
async fn seen(app: &TestApp, token: &str, order_no: &str) -> Value {
    let (status, order) = app.get_order(token, order_no).await;
    assert_eq!(status, 200, "{order}");
    order
}

/// A paid order refunded partly, then for the rest; nothing more can be refunded.
async fn partial_then_full(app: &TestApp) {
    let (token, order_no, amount) = app.paid_order().await;
    let first = refunded(app, &order_no, 100).await;
    assert_eq!(
        app.wait_refund(&first, "succeeded", WITHIN).await,
        "succeeded"
    );
    let order = seen(app, &token, &order_no).await;
    assert_eq!(
        (&order["status"], &order["refunded_fen"]),
        (&json!("partially_refunded"), &json!(100)),
        "{order}"
    );
    let rest = refunded(app, &order_no, amount - 100).await;
    assert_eq!(
        app.wait_refund(&rest, "succeeded", WITHIN).await,
        "succeeded"
    );
    let order = seen(app, &token, &order_no).await;
    assert_eq!(
        (&order["status"], &order["refunded_fen"]),
        (&json!("refunded"), &json!(amount)),
        "{order}"
    );
    let (status, body) = app.refund(&order_no, 1, None).await;
    assert_eq!(
        (status, &body["code"]),
        (422, &json!("REFUND_TOO_LARGE")),
        "{body}"
    );

    // The operator's view: both refunds, each with WeChat's refund_id.
    let (status, listed) = app
        .admin_get(&format!("/v1/admin/orders/{order_no}/refunds"))
        .await;
    assert_eq!(status, 200, "{listed}");
    let refunds = listed["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 2, "{listed}");
    assert!(
        refunds
            .iter()
            .all(|r| r["status"] == "succeeded" && r["refund_id"].is_string())
    );
    assert_eq!(listed["order"]["refunded_fen"], amount);
    let (_, all) = app.admin_get("/v1/admin/orders?status=refunded").await;
    assert!(
        all["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["order_no"] == order_no.as_str()),
        "{all}"
    );
    let (_, trade) = app.sim_get(&format!("/sim/trades/{order_no}")).await;
    assert_eq!(trade["trade_state"], "REFUND", "{trade}");
}

async fn v2_partial_then_full_refunds_with_pem_certificates(db: Db) {
    let app = TestApp::spawn_refunding(db, CertFormat::Pem, |_| {}).await;
    partial_then_full(&app).await;
    app.cleanup().await;
}

async fn v2_refunds_with_the_legacy_p12_file(db: Db) {
    let app = TestApp::spawn_refunding(db, CertFormat::LegacyP12, |_| {}).await;
    partial_then_full(&app).await;
    app.cleanup().await;
}

async fn v3_partial_then_full_refunds(db: Db) {
    let app = TestApp::spawn_v3(db, KeyMode::PublicKey).await;
    partial_then_full(&app).await;
    app.cleanup().await;
}

async fn refund_requests_are_idempotent_and_checked(db: Db) {
    let app = TestApp::spawn_refunding(db, CertFormat::Pem, |_| {}).await;
    let (token, order_no, amount) = app.paid_order().await;
    let (status, first) = app.refund(&order_no, 300, Some("refund-1")).await;
    assert_eq!(status, 201, "{first}");
    // A retry with the key: the same refund, not a second one.
    let (status, again) = app.refund(&order_no, 300, Some("refund-1")).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["out_refund_no"], first["out_refund_no"]);
    // The key with another amount is a mistake, said as such.
    let (status, body) = app.refund(&order_no, 301, Some("refund-1")).await;
    assert_eq!(
        (status, &body["code"]),
        (422, &json!("IDEMPOTENCY_KEY_REUSED")),
        "{body}"
    );
    let refunds = app.state.store.refunds_of(&order_no).await.unwrap();
    assert_eq!(refunds.len(), 1);

    // Bad requests, each with what is wrong, none changing the order.
    for (amount_fen, code) in [
        (0, "INVALID_AMOUNT"),
        (-5, "INVALID_AMOUNT"),
        (amount, "REFUND_TOO_LARGE"),
    ] {
        let (status, body) = app.refund(&order_no, amount_fen, None).await;
        assert_eq!(
            (status, &body["code"]),
            (422, &json!(code)),
            "{amount_fen}: {body}"
        );
    }
    let long = "退".repeat(81);
    let (status, body) = app
        .send(
            app.http
                .post(app.url(&format!("/v1/admin/orders/{order_no}/refunds")))
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({"amount_fen": 1, "reason": long})),
        )
        .await;
    assert_eq!(
        (status, &body["code"]),
        (422, &json!("INVALID_REASON")),
        "{body}"
    );
    let (status, body) = app.refund("20261130000000000000000000", 1, None).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = app.refund(&order_no, 1, Some("bad key with spaces")).await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("INVALID_IDEMPOTENCY_KEY")),
        "{body}"
    );
    let order = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(order.refund_held_fen, 300);

    // An unpaid order has nothing to refund.
    let (_, _, unpaid) = app.user_with_order().await;
    let (status, body) = app
        .refund(unpaid["order_no"].as_str().unwrap(), 1, None)
        .await;
    assert_eq!(
        (status, &body["code"]),
        (409, &json!("ORDER_NOT_PAID")),
        "{body}"
    );
    let _ = token;
    app.cleanup().await;
}

async fn concurrent_refunds_on_three_instances_never_exceed_the_paid_amount(db: Db) {
    let first = TestApp::spawn_refunding(db, CertFormat::Pem, |_| {}).await;
    let second = first.spawn_beside(|_| {}).await;
    let third = first.spawn_beside(|_| {}).await;
    let (_, order_no, amount) = first.paid_order().await;
    // Each asks for a bit more than a quarter: at most three fit.
    let each = amount / 4 + 1;
    let apps = [&first, &second, &third];
    let asks = (0..12).map(|i| apps[i % 3].refund(&order_no, each, None));
    let answers = futures_util::future::join_all(asks).await;
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    assert!(
        answers
            .iter()
            .all(|(s, b)| *s == 201 || (*s == 422 && b["code"] == "REFUND_TOO_LARGE")),
        "{answers:?}"
    );
    assert_eq!(created.len(), 3, "{answers:?}");
    for refund in &created {
        let no = refund["out_refund_no"].as_str().unwrap();
        assert_eq!(
            first.wait_refund(no, "succeeded", WITHIN).await,
            "succeeded"
        );
    }
    let order = first.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(order.refunded_fen, 3 * each);
    assert!(order.refunded_fen <= amount && order.refund_held_fen <= amount);
    let (_, trade) = first.sim_get(&format!("/sim/trades/{order_no}")).await;
    assert_eq!(trade["trade_state"], "REFUND", "{trade}");
    second.cleanup().await;
    third.cleanup().await;
    first.cleanup().await;
}

async fn wechat_refusals_close_the_refund_and_free_its_amount(db: Db) {
    let app = TestApp::spawn_refunding(db, CertFormat::Pem, |_| {}).await;
    let (_, order_no, amount) = app.paid_order().await;
    app.fault(json!({"endpoint": "refund", "kind": "not_enough", "count": 1}))
        .await;
    let (status, refund) = app.refund(&order_no, amount, None).await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "closed", "{refund}");
    assert!(
        refund["failure"].as_str().unwrap().contains("NOTENOUGH"),
        "{refund}"
    );
    let order = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!((order.refund_held_fen, order.refunded_fen), (0, 0));
    // Closed at WeChat after it was accepted: the same.
    app.fault(json!({"endpoint": "refund", "kind": "refund_closed", "count": 1}))
        .await;
    let closed = refunded(&app, &order_no, amount).await;
    assert_eq!(app.wait_refund(&closed, "closed", WITHIN).await, "closed");
    // The whole amount is refundable again.
    let last = refunded(&app, &order_no, amount).await;
    assert_eq!(
        app.wait_refund(&last, "succeeded", WITHIN).await,
        "succeeded"
    );
    let order = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(
        (order.refund_held_fen, order.refunded_fen),
        (amount, amount)
    );
    // Each move is an event: two closes (the refusal says why), one success.
    let closes = app.events_of_type("refund.closed").await;
    assert_eq!(closes.len(), 2, "{closes:?}");
    assert!(
        closes
            .iter()
            .all(|(o, _)| o.as_deref() == Some(order_no.as_str()))
    );
    assert!(
        closes[0].1["failure"]
            .as_str()
            .unwrap()
            .contains("NOTENOUGH"),
        "{closes:?}"
    );
    assert_eq!(app.events_of_type("refund.succeeded").await.len(), 1);
    let described = crate::openapi::events_match_the_document(&app).await;
    assert!(described.contains("refund.closed"), "{described:?}");
    app.cleanup().await;
}

async fn abnormal_is_not_final_and_success_follows(db: Db) {
    let app = TestApp::spawn_refunding(db, CertFormat::Pem, |_| {}).await;
    let (_, order_no, _) = app.paid_order().await;
    app.fault(json!({"endpoint": "refund", "kind": "refund_abnormal", "count": 1}))
        .await;
    let no = refunded(&app, &order_no, 200).await;
    assert_eq!(app.wait_refund(&no, "abnormal", WITHIN).await, "abnormal");
    let order = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(
        (order.refund_held_fen, order.refunded_fen),
        (200, 0),
        "still held"
    );
    // Resolved on the merchant platform: WeChat's SUCCESS notify settles it.
    app.sim_post(
        &format!("/sim/refunds/{no}/status"),
        json!({"status": "SUCCESS"}),
    )
    .await;
    assert_eq!(app.wait_refund(&no, "succeeded", WITHIN).await, "succeeded");
    let order = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(order.refunded_fen, 200);
    // Abnormal announced once (not again while it stayed abnormal), then the success.
    assert_eq!(app.events_of_type("refund.abnormal").await.len(), 1);
    assert_eq!(app.events_of_type("refund.succeeded").await.len(), 1);
    let described = crate::openapi::events_match_the_document(&app).await;
    assert!(described.contains("refund.abnormal"), "{described:?}");
    app.cleanup().await;
}

async fn a_lost_refund_notify_is_settled_by_the_reconciler(db: Db) {
    let app = TestApp::spawn_refunding(db, CertFormat::Pem, |s| {
        s.orders.reconcile_after_secs = 0;
    })
    .await;
    app.fault(json!({"endpoint": "notify", "kind": "drop", "probability": 1.0}))
        .await;
    let (_, order_no, amount) = app.paid_order().await;
    let no = refunded(&app, &order_no, amount).await;
    assert_eq!(app.wait_refund(&no, "succeeded", WITHIN).await, "succeeded");
    let sources: Vec<(String,)> = sqlx::query_as(
        "SELECT source FROM refund_events WHERE out_refund_no = $1 ORDER BY created_at",
    )
    .bind(&no)
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(sources.last().unwrap().0, "query", "{sources:?}");
    let refund = app.state.store.refund(&no).await.unwrap().unwrap();
    assert_eq!(refund.next_check_at, None, "off the reconciler's work list");
    app.cleanup().await;
}

/// A v2 refund notify of `fields`, `req_info` encrypted under `key` (WeChat's format: the
/// outer XML unsigned).
fn v2_refund_notify(key: &ApiKey, fields: &[(&str, &str)]) -> String {
    let mut inner = Params::new();
    for (name, value) in fields {
        inner.insert(*name, (*value).to_owned());
    }
    let root = xml::to_xml(&inner)
        .unwrap()
        .replacen("<xml>", "<root>", 1)
        .replace("</xml>", "</root>");
    v2_outer(&encrypt_refund_info(&root, key))
}

fn v2_outer(req_info: &str) -> String {
    let mut outer = Params::new();
    outer.insert("return_code", "SUCCESS".to_owned());
    outer.insert("appid", APPID.to_owned());
    outer.insert("mch_id", MCH_ID.to_owned());
    outer.insert("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS".to_owned());
    outer.insert("req_info", req_info.to_owned());
    xml::to_xml(&outer).unwrap()
}

async fn post_v2_refund_notify(app: &TestApp, body: String) -> (u16, String) {
    let response = app
        .http
        .post(app.url(wxpay_server::REFUND_NOTIFY_PATH))
        .header(CONTENT_TYPE, "text/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A refund the server made whose notifies never arrive: (order_no, out_refund_no,
/// refund_id, amount_fen, total_fen).
async fn processing_refund(app: &TestApp) -> (String, String, String, i64, i64) {
    let (_, order_no, amount) = app.paid_order().await;
    app.fault(json!({"endpoint": "notify", "kind": "drop", "probability": 1.0}))
        .await;
    let no = refunded(app, &order_no, 500).await;
    let refund = app.state.store.refund(&no).await.unwrap().unwrap();
    assert_eq!(refund.status.as_str(), "processing");
    (order_no, no, refund.refund_id.unwrap(), 500, amount)
}

async fn refund_events(app: &TestApp, no: &str) -> i64 {
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM refund_events WHERE out_refund_no = $1")
            .bind(no)
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    count
}

async fn v2_refund_notifies(db: Db) {
    let app = TestApp::spawn_refunding(db, CertFormat::Pem, |_| {}).await;
    let (order_no, no, refund_id, amount, total) = processing_refund(&app).await;
    let (amount_text, total_text) = (amount.to_string(), total.to_string());
    let fields = |out_refund_no: &'static str, refund_fee: &str| -> Vec<(&'static str, String)> {
        vec![
            ("out_trade_no", order_no.clone()),
            (
                "out_refund_no",
                if out_refund_no.is_empty() {
                    no.clone()
                } else {
                    out_refund_no.to_owned()
                },
            ),
            ("refund_id", refund_id.clone()),
            ("transaction_id", format!("4200000001{order_no}")),
            ("total_fee", total_text.clone()),
            ("refund_fee", refund_fee.to_owned()),
            ("refund_status", "SUCCESS".to_owned()),
            ("success_time", "2026-11-30 12:10:00".to_owned()),
        ]
    };
    let body = |key: &ApiKey, f: Vec<(&'static str, String)>| {
        let borrowed: Vec<(&str, &str)> = f.iter().map(|(n, v)| (*n, v.as_str())).collect();
        v2_refund_notify(key, &borrowed)
    };
    let genuine = body(&app.key, fields("", &amount_text));
    let other_key = ApiKey::new("0123456789abcdefghijklmnopqrstuv").unwrap();
    let tampered = {
        let start = genuine.find("<req_info>").unwrap() + "<req_info>".len();
        let mut bytes = genuine.clone().into_bytes();
        bytes[start + 10] = if bytes[start + 10] == b'A' {
            b'B'
        } else {
            b'A'
        };
        String::from_utf8(bytes).unwrap()
    };
    let refused = [
        ("wrong key", body(&other_key, fields("", &amount_text))),
        ("tampered", tampered),
        // Whoever lacks the key can only make up ciphertext.
        (
            "forged",
            v2_outer(&"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTIz".repeat(2)),
        ),
        ("another amount", body(&app.key, fields("", "1"))),
        (
            "unknown refund",
            body(
                &app.key,
                fields("R20261130000000000000000000", &amount_text),
            ),
        ),
        (
            "malformed",
            "<xml><return_code>SUCCESS</return_code>".to_owned(),
        ),
    ];
    for (what, notify) in refused {
        let (status, reply) = post_v2_refund_notify(&app, notify).await;
        assert!(
            status >= 400 && reply.contains("FAIL"),
            "{what}: {status} {reply}"
        );
        assert_eq!(
            app.wait_refund(&no, "processing", Duration::ZERO).await,
            "processing",
            "{what}"
        );
    }
    assert_eq!(
        refund_events(&app, &no).await,
        1,
        "only the request's answer"
    );
    let (status, reply) = post_v2_refund_notify(&app, genuine.clone()).await;
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply.contains("<return_code><![CDATA[SUCCESS]]></return_code>"),
        "{reply}"
    );
    assert_eq!(
        app.wait_refund(&no, "succeeded", Duration::ZERO).await,
        "succeeded"
    );
    // Duplicates are acknowledged and change nothing.
    for _ in 0..2 {
        let (status, _) = post_v2_refund_notify(&app, genuine.clone()).await;
        assert_eq!(status, 200);
    }
    assert_eq!(refund_events(&app, &no).await, 2);
    let order = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(order.refunded_fen, amount);
    app.cleanup().await;
}

async fn v3_refund_notifies(db: Db) {
    let app = TestApp::spawn_v3(db, KeyMode::PublicKey).await;
    let (order_no, no, refund_id, amount, total) = processing_refund(&app).await;
    let resource = |out_refund_no: &str, status: &str, refund: i64| {
        v3_testing::refund(
            MCH_ID,
            &order_no,
            out_refund_no,
            &refund_id,
            status,
            Fen::new(total),
            Fen::new(refund),
        )
    };
    let path = wxpay_server::REFUND_NOTIFY_PATH_V3;
    let abnormal = app.v3_refund_notify(&resource(&no, "ABNORMAL", amount), "ABNORMAL");
    let success = app.v3_refund_notify(&resource(&no, "SUCCESS", amount), "SUCCESS");
    let tampered = {
        let mut n = success.clone();
        n.body = n
            .body
            .replace("\"summary\":\"退款状态\"", "\"summary\":\"退款状态 \"");
        n
    };
    let forged = {
        let v3 = app.v3.as_ref().unwrap();
        let key =
            wxpay_sim::v3::forge::key(v3.seed + 1, MCH_ID, wxpay_sim::v3::forge::Role::PublicKey)
                .unwrap();
        let headers = v3_testing::sign(
            &success.body,
            &key.signer,
            v3.keys.public_key_id.as_deref().unwrap(),
            success_time(),
        );
        v3_testing::SignedNotify {
            headers,
            body: success.body.clone(),
        }
    };
    let wrong_key = {
        let v3 = app.v3.as_ref().unwrap();
        let key = app.wechat_key(wxpay_sim::v3::forge::Role::PublicKey);
        v3_testing::refund_notify(
            &resource(&no, "SUCCESS", amount),
            "SUCCESS",
            b"0123456789abcdefghijklmnopqrstuv",
            &key.signer,
            v3.keys.public_key_id.as_deref().unwrap(),
            success_time(),
        )
        .unwrap()
    };
    let refused = [
        ("forged", forged),
        ("tampered", tampered),
        ("wrong APIv3 key", wrong_key),
        (
            "another amount",
            app.v3_refund_notify(&resource(&no, "SUCCESS", 1), "SUCCESS"),
        ),
        (
            "unknown refund",
            app.v3_refund_notify(
                &resource("R20261130000000000000000000", "SUCCESS", amount),
                "SUCCESS",
            ),
        ),
    ];
    for (what, notify) in refused {
        let (status, _) = app.post_notify_v3_to(path, &notify).await;
        assert!(status >= 400, "{what}: {status}");
        assert_eq!(
            app.wait_refund(&no, "processing", Duration::ZERO).await,
            "processing",
            "{what}"
        );
    }
    // ABNORMAL is not final; SUCCESS then settles it, once (acknowledged: 204).
    let (status, body) = app.post_notify_v3_to(path, &abnormal).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        app.wait_refund(&no, "abnormal", Duration::ZERO).await,
        "abnormal"
    );
    // Either v3 route takes a refund notify (WeChat sends where the request said).
    let (status, body) = app.post_notify_v3(&success).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        app.wait_refund(&no, "succeeded", Duration::ZERO).await,
        "succeeded"
    );
    let (status, _) = app.post_notify_v3_to(path, &success).await;
    assert_eq!(status, 204, "a duplicate is acknowledged");
    // The request's answer, ABNORMAL, SUCCESS.
    assert_eq!(refund_events(&app, &no).await, 3);
    let order = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(order.refunded_fen, amount);
    app.cleanup().await;
}

fn success_time() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn late_payments_are_refunded_when_the_policy_says_so(db: Db) {
    let app = TestApp::spawn_refunding(db, CertFormat::Pem, |s| {
        s.orders.late_payment = "refund".into();
    })
    .await;
    let (token, openid, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    // Given up on here (say, a failed prepay), while the user still pays at WeChat.
    sqlx::query("UPDATE orders SET status = 'failed' WHERE order_no = $1")
        .bind(&order_no)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(app.pay(&order, &openid).await, "requestPayment:ok");
    let deadline = tokio::time::Instant::now() + WITHIN;
    let refunds = loop {
        let refunds = app.state.store.refunds_of(&order_no).await.unwrap();
        if refunds.iter().any(|r| r.status.as_str() == "succeeded")
            || tokio::time::Instant::now() >= deadline
        {
            break refunds;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(refunds.len(), 1, "refunded once, whatever the notifies");
    assert_eq!(refunds[0].amount_fen, order["amount_fen"].as_i64().unwrap());
    assert_eq!(refunds[0].status.as_str(), "succeeded");
    let order = seen(&app, &token, &order_no).await;
    assert_eq!(
        (&order["status"], &order["late_payment"]),
        (&json!("refunded"), &json!(true)),
        "{order}"
    );

    // The default keeps the money (the merchant fulfils or refunds by hand).
    let keeping = app.spawn_beside(|_| {}).await;
    let (_, openid, order) = keeping.user_with_order().await;
    let kept = order["order_no"].as_str().unwrap().to_owned();
    sqlx::query("UPDATE orders SET status = 'failed' WHERE order_no = $1")
        .bind(&kept)
        .execute(keeping.state.store.pool())
        .await
        .unwrap();
    assert_eq!(keeping.pay(&order, &openid).await, "requestPayment:ok");
    keeping.wait_status(&kept, "paid", WITHIN).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        keeping
            .state
            .store
            .refunds_of(&kept)
            .await
            .unwrap()
            .is_empty()
    );
    keeping.cleanup().await;
    app.cleanup().await;
}

async fn the_admin_api_needs_its_own_token(db: Db) {
    let app = TestApp::spawn(db).await;
    let (user_token, order_no, _) = app.paid_order().await;
    let url = app.url(&format!("/v1/admin/orders/{order_no}/refunds"));
    let (status, body) = app.send(app.http.get(&url)).await;
    assert_eq!(
        (status, &body["code"]),
        (401, &json!("UNAUTHORIZED")),
        "{body}"
    );
    for wrong in ["wrong", user_token.as_str(), &ADMIN_TOKEN[1..]] {
        let (status, body) = app.send(app.http.get(&url).bearer_auth(wrong)).await;
        assert_eq!(status, 401, "{wrong}: {body}");
        let (status, _) = app
            .send(
                app.http
                    .post(&url)
                    .bearer_auth(wrong)
                    .json(&json!({"amount_fen": 1})),
            )
            .await;
        assert_eq!(status, 401, "{wrong}");
    }
    assert!(
        app.state
            .store
            .refunds_of(&order_no)
            .await
            .unwrap()
            .is_empty()
    );
    let (status, _) = app.admin_get("/v1/admin/orders").await;
    assert_eq!(status, 200);
    // Without admin.token there is no admin API at all.
    let closed = app.spawn_beside(|s| s.admin.token = None).await;
    let (status, _) = closed
        .send(
            closed
                .http
                .get(closed.url("/v1/admin/orders"))
                .bearer_auth(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = closed.refund(&order_no, 1, None).await;
    assert_eq!(status, 404);
    closed.cleanup().await;
    app.cleanup().await;
}
