//! API v3 end to end: the mini-program flow in each key mode, every notify outcome (the v2
//! ones that apply, plus probes, stale timestamps, unknown serials, a wrong APIv3 key, a
//! tampered resource), a lost notify settled by the reconciler, and v2 orders served after
//! the switch to v3.

use std::time::Duration;

use serde_json::{Value, json};
use wxpay_core::v3::testing as v3_testing;
use wxpay_sim::config::KeyMode;
use wxpay_sim::v3::forge::Role;

use crate::helpers::{APPID, Db, MCH_ID, TestApp};
use crate::on_both_databases;

/// Login, order, pay in the simulator's payer, WeChat's v3 notify, paid.
async fn full_flow(app: &TestApp) -> String {
    let (token, openid, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    let payment = &order["payment"];
    assert_eq!(payment["signType"], "RSA", "{order}");
    assert!(
        payment["package"]
            .as_str()
            .unwrap()
            .starts_with("prepay_id=wx")
    );
    assert_eq!(app.pay(&order, &openid).await, "requestPayment:ok");
    assert_eq!(
        app.wait_status(&order_no, "paid", Duration::from_secs(5))
            .await,
        "paid"
    );
    let (status, read) = app.get_order(&token, &order_no).await;
    assert_eq!(status, 200);
    assert_eq!(read["status"], "paid");
    assert!(read["transaction_id"].as_str().unwrap().starts_with("4200"));
    let (_, attempts) = app
        .sim_get(&format!("/sim/notifies?out_trade_no={order_no}"))
        .await;
    let attempts = attempts["attempts"].as_array().unwrap().clone();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["api"], "v3");
    assert_eq!(attempts[0]["http_status"], 204);
    assert_eq!(app.payment_events(&order_no).await, 1);
    let stored = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(stored.sign_type, "RSA");
    let request: Value = serde_json::from_str(stored.prepay_request.as_deref().unwrap()).unwrap();
    assert_eq!(request["amount"]["total"], 2800);
    assert!(
        request["notify_url"]
            .as_str()
            .unwrap()
            .ends_with("/wechat/pay/notify/v3")
    );
    assert!(request["time_expire"].as_str().unwrap().ends_with("+08:00"));
    order_no
}

async fn flow_on_public_key(db: Db) {
    let app = TestApp::spawn_v3(db, KeyMode::PublicKey).await;
    // A fault on /v3/certificates stays unused if nothing calls it.
    app.fault(json!({ "endpoint": "certificates", "kind": "http_5xx", "count": 1 }))
        .await;
    full_flow(&app).await;
    assert_eq!(
        app.calls_seen("certificates", 1).await,
        0,
        "never a certificate download for a merchant on the public key"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("wxpay_notifies_total{outcome=\"paid\"} 1"),
        "{metrics}"
    );
    app.cleanup().await;
}

async fn flow_on_platform_certificates(db: Db) {
    let app = TestApp::spawn_v3_with(db, KeyMode::PlatformCertificate, |s| {
        s.wechat.v3.certificate_refresh_min_secs = 0;
    })
    .await;
    let client = app.state.merchant().gateways.v3_client().unwrap();
    assert_eq!(
        client.key_set().serials().count(),
        1,
        "downloaded at start-up"
    );
    full_flow(&app).await;
    // WeChat rotates its certificate and signs with the new one: the next reply names a
    // serial the server does not know, so it downloads the certificates (once) and goes on.
    app.sim_post(
        "/sim/faults",
        json!({ "endpoint": "certificates", "kind": "rotate_certificate", "count": 1 }),
    )
    .await;
    let order_no = full_flow(&app).await;
    assert_eq!(
        client.key_set().serials().count(),
        2,
        "both certificates kept"
    );
    assert_eq!(app.status_of(&order_no).await, "paid");
    app.cleanup().await;
}

async fn flow_in_the_migration_week(db: Db) {
    let app = TestApp::spawn_v3(db, KeyMode::Migrating).await;
    full_flow(&app).await;
    // Notifies signed with the certificate verify too (the week's other half).
    let (_, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap();
    let certificate = app.v3.as_ref().unwrap().keys.platform_certificates[0]
        .serial_no
        .clone();
    let payment = v3_testing::payment(
        APPID,
        MCH_ID,
        order_no,
        &format!("4200000002{order_no}"),
        wxpay_core::Fen::new(2800),
    );
    let by_certificate = v3_testing::notify(
        &payment,
        app.v3.as_ref().unwrap().keys.apiv3_key.as_bytes(),
        &app.wechat_key(Role::Platform(0)).signer,
        &certificate,
        now(),
    )
    .unwrap();
    assert_eq!(app.post_notify_v3(&by_certificate).await.0, 204);
    assert_eq!(app.status_of(order_no).await, "paid");
    app.cleanup().await;
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An order awaiting payment (its prepay done), without paying it.
async fn awaiting(app: &TestApp) -> String {
    let (_, _, order) = app.user_with_order().await;
    order["order_no"].as_str().unwrap().to_owned()
}

async fn notify_outcomes(db: Db) {
    let app = TestApp::spawn_v3(db, KeyMode::PublicKey).await;
    let order_no = awaiting(&app).await;
    let genuine = app.v3_notify_for(&order_no, 2800);
    let code = |reply: &(u16, Value)| (reply.0, reply.1["code"].clone());

    // Each forgery is refused with the failure JSON and changes nothing.
    let probe = genuine.clone().with_header(
        "Wechatpay-Signature",
        "WECHATPAY/SIGNTEST/aGVsbG8gd29ybGQgdGhpcyBpcyBhIHByb2Jl",
    );
    let stale = v3_testing::notify(
        &v3_testing::payment(
            APPID,
            MCH_ID,
            &order_no,
            &format!("4200000001{order_no}"),
            wxpay_core::Fen::new(2800),
        ),
        app.v3.as_ref().unwrap().keys.apiv3_key.as_bytes(),
        &app.wechat_key(Role::PublicKey).signer,
        app.v3
            .as_ref()
            .unwrap()
            .keys
            .public_key_id
            .as_ref()
            .unwrap(),
        now() - 300,
    )
    .unwrap();
    let unknown_serial = genuine.clone().with_header(
        "Wechatpay-Serial",
        "PUB_KEY_ID_0000000000000000000000000000000099",
    );
    let mut tampered_body = genuine.clone();
    tampered_body.body = tampered_body
        .body
        .replace("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESS ");
    let unsigned = v3_testing::SignedNotify {
        headers: Vec::new(),
        body: genuine.body.clone(),
    };
    for (forged, outcome) in [
        (&probe, "probe"),
        (&stale, "stale"),
        (&unknown_serial, "unknown_serial"),
        (&tampered_body, "bad_signature"),
        (&unsigned, "bad_signature"),
    ] {
        let reply = app.post_notify_v3(forged).await;
        assert_eq!(code(&reply), (400, json!("FAIL")), "{outcome}: {reply:?}");
        assert!(
            app.metrics()
                .await
                .contains(&format!("wxpay_notifies_total{{outcome=\"{outcome}\"}}")),
            "{outcome} is counted"
        );
    }
    // Signed by WeChat but encrypted with another APIv3 key, or with its tag cut: not
    // readable, refused.
    let payment = v3_testing::payment(
        APPID,
        MCH_ID,
        &order_no,
        &format!("4200000001{order_no}"),
        wxpay_core::Fen::new(2800),
    );
    let wrong_key = v3_testing::notify(
        &payment,
        b"ThisIsNotTheMerchantsApiV3Key!!!",
        &app.wechat_key(Role::PublicKey).signer,
        app.v3
            .as_ref()
            .unwrap()
            .keys
            .public_key_id
            .as_ref()
            .unwrap(),
        now(),
    )
    .unwrap();
    assert_eq!(
        code(&app.post_notify_v3(&wrong_key).await),
        (400, json!("FAIL"))
    );
    let cut_tag = resigned(&app, &genuine.body, |envelope| {
        let ciphertext = envelope["resource"]["ciphertext"]
            .as_str()
            .unwrap()
            .to_owned();
        let sealed = base64_decode(&ciphertext);
        envelope["resource"]["ciphertext"] = json!(base64_encode(&sealed[..sealed.len() - 4]));
    });
    assert_eq!(
        code(&app.post_notify_v3(&cut_tag).await),
        (400, json!("FAIL"))
    );
    let wrong_aad = resigned(&app, &genuine.body, |envelope| {
        envelope["resource"]["associated_data"] = json!("certificate");
    });
    assert_eq!(
        code(&app.post_notify_v3(&wrong_aad).await),
        (400, json!("FAIL"))
    );
    assert!(
        app.metrics()
            .await
            .contains("wxpay_notifies_total{outcome=\"decrypt_failed\"} 3")
    );
    assert_eq!(app.status_of(&order_no).await, "awaiting_payment");
    assert_eq!(app.payment_events(&order_no).await, 0);

    // Genuine but for another amount: verified, does not match the order, refused.
    let mismatch = app.v3_notify_for(&order_no, 1);
    assert_eq!(app.post_notify_v3(&mismatch).await.0, 400);
    // For an order we never made: refused (WeChat retries; an operator looks).
    let unknown = app.v3_notify_for("20261130000000000000000000", 2800);
    assert_eq!(app.post_notify_v3(&unknown).await.0, 404);
    assert_eq!(app.status_of(&order_no).await, "awaiting_payment");

    // The genuine one pays it; its duplicates are acknowledged and change nothing.
    assert_eq!(
        app.post_notify_v3(&genuine).await,
        (204, Value::String(String::new()))
    );
    for _ in 0..3 {
        assert_eq!(app.post_notify_v3(&genuine).await.0, 204);
    }
    assert_eq!(app.status_of(&order_no).await, "paid");
    assert_eq!(app.payment_events(&order_no).await, 1);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("wxpay_notifies_total{outcome=\"paid\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("wxpay_notifies_total{outcome=\"duplicate\"} 3"),
        "{metrics}"
    );

    // A genuine payment of an order cancelled here is recorded, late, and acknowledged.
    let (token, _, order) = app.user_with_order().await;
    let cancelled = order["order_no"].as_str().unwrap().to_owned();
    assert_eq!(app.order_action(&token, &cancelled, "cancel").await.0, 200);
    assert_eq!(
        app.post_notify_v3(&app.v3_notify_for(&cancelled, 2800))
            .await
            .0,
        204
    );
    let row = app.state.store.order(&cancelled).await.unwrap().unwrap();
    assert_eq!(row.status.as_str(), "paid");
    assert!(row.late_payment);
    app.cleanup().await;
}

/// The notify `body` changed by `edit`, then correctly signed again by WeChat's key (so
/// only what `edit` broke is wrong).
fn resigned(app: &TestApp, body: &str, edit: impl FnOnce(&mut Value)) -> v3_testing::SignedNotify {
    let mut envelope: Value = serde_json::from_str(body).unwrap();
    edit(&mut envelope);
    let body = envelope.to_string();
    let keys = &app.v3.as_ref().unwrap().keys;
    v3_testing::SignedNotify {
        headers: v3_testing::sign(
            &body,
            &app.wechat_key(Role::PublicKey).signer,
            keys.public_key_id.as_ref().unwrap(),
            now(),
        ),
        body,
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn a_lost_notify_is_settled_by_the_reconciler(db: Db) {
    let app = TestApp::spawn_v3_with(db, KeyMode::PublicKey, |s| {
        s.orders.reconcile_after_secs = 0;
    })
    .await;
    app.fault(json!({ "endpoint": "notify", "kind": "drop", "count": 16 }))
        .await;
    let (_, openid, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    assert_eq!(app.pay(&order, &openid).await, "requestPayment:ok");
    assert_eq!(
        app.wait_status(&order_no, "paid", Duration::from_secs(10))
            .await,
        "paid"
    );
    let events = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert!(!events.late_payment);
    assert_eq!(app.payment_events(&order_no).await, 1);
    let (_, attempts) = app
        .sim_get(&format!("/sim/notifies?out_trade_no={order_no}"))
        .await;
    assert!(
        attempts["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["acknowledged"] == false),
        "no notify got through: the v3 query settled it"
    );
    app.cleanup().await;
}

async fn cancel_and_expiry_close_at_wechat(db: Db) {
    // WeChat v3 wants time_expire at least a minute away.
    let app = TestApp::spawn_v3_with(db, KeyMode::PublicKey, |s| {
        s.orders.ttl_secs = 61;
        s.orders.reconcile_after_secs = 0;
    })
    .await;
    let (token, _, order) = app.user_with_order().await;
    let cancelled = order["order_no"].as_str().unwrap().to_owned();
    assert_eq!(app.order_action(&token, &cancelled, "cancel").await.0, 200);
    let (_, trade) = app.sim_get(&format!("/sim/trades/{cancelled}")).await;
    assert_eq!(trade["trade_state"], "CLOSED");
    let expiring = awaiting(&app).await;
    // Its minute passes (in the database: the reconciler works from expires_at).
    sqlx::query("UPDATE orders SET expires_at = $1, next_check_at = $1 WHERE order_no = $2")
        .bind(wxpay_server::base::clock::now_ms() - 1)
        .bind(&expiring)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(
        app.wait_status(&expiring, "closed", Duration::from_secs(10))
            .await,
        "closed"
    );
    let (_, trade) = app.sim_get(&format!("/sim/trades/{expiring}")).await;
    assert_eq!(trade["trade_state"], "CLOSED");
    app.cleanup().await;
}

async fn v2_orders_are_served_after_the_switch_to_v3(db: Db) {
    // Yesterday's deployment: API v2, an order awaiting payment.
    let v2 = TestApp::spawn(db).await;
    let (token, _, order) = v2.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    assert_eq!(order["payment"]["signType"], "HMAC-SHA256");
    // Today's, on the same database and WeChat: API v3, the v2 API key kept.
    let (_, keys) = v2
        .sim_get(&format!("/sim/merchants/{MCH_ID}/v3-keys"))
        .await;
    let keys: wxpay_sim::v3::SandboxKeys = serde_json::from_value(keys).unwrap();
    let v3 = v2
        .spawn_beside(|s| wxpay_server::ops::sandbox::apply_v3_keys(s, &keys))
        .await;
    // The old order keeps its API: v2 params, v2 queries, its v2 notify.
    let (status, again) = v3.order_action(&token, &order_no, "payment").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["payment"]["signType"], "HMAC-SHA256");
    let notify = v3.notify_for(&order_no, 2800).build_xml(&v3.key);
    let (status, reply) = v3.post_notify(notify, "text/xml").await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(v3.status_of(&order_no).await, "paid");
    // New orders are v3.
    let (_, _, fresh) = v3.user_with_order().await;
    assert_eq!(fresh["payment"]["signType"], "RSA");
    // Without the v2 key, a v2 order's calls are refused clearly and the order kept.
    let (old_token, _, old) = v2.user_with_order().await;
    let old_no = old["order_no"].as_str().unwrap().to_owned();
    let v3_only = v2
        .spawn_beside(|s| {
            wxpay_server::ops::sandbox::apply_v3_keys(s, &keys);
            s.wechat.api_key = None;
        })
        .await;
    let (status, refused) = v3_only.order_action(&old_token, &old_no, "payment").await;
    assert_eq!(
        (status, refused["code"].clone()),
        (503, json!("WECHAT_UNAVAILABLE"))
    );
    assert!(refused["message"].as_str().unwrap().contains("API v2"));
    assert_eq!(v3_only.status_of(&old_no).await, "awaiting_payment");
    v3_only.cleanup().await;
    v3.cleanup().await;
    v2.cleanup().await;
}

async fn a_refresh_resends_the_stored_prepay_body(db: Db) {
    let app = TestApp::spawn_v3(db, KeyMode::PublicKey).await;
    let (token, openid, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    // Our copy of the prepay_id is past its lifetime: /payment asks WeChat again, with the
    // stored body byte for byte (a changed one would be INVALID_REQUEST at WeChat).
    sqlx::query("UPDATE orders SET prepay_expires_at = $1 WHERE order_no = $2")
        .bind(wxpay_server::base::clock::now_ms() - 1)
        .bind(&order_no)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    app.fault(json!({ "endpoint": "unifiedorder", "kind": "delay", "delay_ms": 1, "count": 1 }))
        .await;
    let (status, refreshed) = app.order_action(&token, &order_no, "payment").await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        app.calls_seen("unifiedorder", 1).await,
        1,
        "WeChat was asked again"
    );
    assert_eq!(refreshed["payment"]["signType"], "RSA");
    assert_eq!(refreshed["payment"]["package"], order["payment"]["package"]);
    assert_ne!(refreshed["payment"]["paySign"], order["payment"]["paySign"]);
    assert_eq!(app.pay(&refreshed, &openid).await, "requestPayment:ok");
    assert_eq!(
        app.wait_status(&order_no, "paid", Duration::from_secs(5))
            .await,
        "paid"
    );
    app.cleanup().await;
}

on_both_databases!(
    a_refresh_resends_the_stored_prepay_body,
    flow_on_public_key,
    flow_on_platform_certificates,
    flow_in_the_migration_week,
    notify_outcomes,
    a_lost_notify_is_settled_by_the_reconciler,
    cancel_and_expiry_close_at_wechat,
    v2_orders_are_served_after_the_switch_to_v3,
    the_payment_config_gives_a_front_end_the_key_paysign_verifies_with,
);

/// `GET /v1/payment-config`: on v3 the merchant's public key, with which the order's
/// paySign verifies (what a mini program's debug build checks); on v2 no key at all.
async fn the_payment_config_gives_a_front_end_the_key_paysign_verifies_with(db: Db) {
    let app = TestApp::spawn_v3(db, KeyMode::PublicKey).await;
    let (status, config) = app.send(app.http.get(app.url("/v1/payment-config"))).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(
        (&config["api"], &config["appid"]),
        (&json!("v3"), &json!(APPID))
    );
    let key = wxpay_core::v3::keys::public_key_from_pem(
        config["merchant_public_key_pem"].as_str().unwrap(),
        "the merchant public key",
    )
    .unwrap();
    let (_, _, order) = app.user_with_order().await;
    let params: wxpay_core::v3::RequestPaymentV3 =
        serde_json::from_value(order["payment"].clone()).unwrap();
    assert!(params.verify(APPID, &key).is_ok());
    let mut forged = order["payment"].clone();
    forged["nonceStr"] = json!("0000000000000000");
    let forged: wxpay_core::v3::RequestPaymentV3 = serde_json::from_value(forged).unwrap();
    assert!(forged.verify(APPID, &key).is_err());
    let v2 = app
        .spawn_beside(|s| s.wechat.api_version = "v2".into())
        .await;
    let (status, config) = v2.send(v2.http.get(v2.url("/v1/payment-config"))).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["api"], "v2");
    assert!(config.get("merchant_public_key_pem").is_none(), "{config}");
    assert!(!config.to_string().contains(wxpay_sim::config::DOC_API_KEY));
    v2.cleanup().await;
    app.cleanup().await;
}
