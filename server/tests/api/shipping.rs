//! WeChat's order-shipping service end to end against the simulator: uploads checked
//! before WeChat and WeChat's refusals named; the message push in every mode and
//! format moving an order to `settled` exactly once; forged, replayed, stale and
//! foreign pushes changing nothing; a reminder shown in the admin list.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use wxpay_core::push::{self, PushKey};
use wxpay_server::base::clock::now_ms;

use crate::helpers::{APPID, Db, MCH_ID, TestApp};
use crate::on_both_databases;
use crate::openapi::events_match_the_document;

const TOKEN: &str = "wxpayPushToken1";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const WITHIN: Duration = Duration::from_secs(10);

async fn shipping_app(db: Db) -> TestApp {
    shipping_app_with(db, false).await
}

/// [`shipping_app`], with `shipping.auto_virtual` as given.
async fn shipping_app_with(db: Db, auto_virtual: bool) -> TestApp {
    let app = TestApp::spawn_with(db, |s| {
        s.shipping.enabled = true;
        s.shipping.auto_virtual = auto_virtual;
        s.shipping.push_token = Some(SecretString::from(TOKEN));
        s.shipping.push_aes_key = Some(SecretString::from(AES_KEY));
    })
    .await;
    push_mode(&app, "secure", "json").await;
    app
}

/// The simulator's push settings for our app: to this instance, in `mode` and `format`.
async fn push_mode(app: &TestApp, mode: &str, format: &str) {
    let settings = app
        .sim_post(
            &format!("/sim/apps/{APPID}/shipping"),
            json!({"trade_managed": true, "push": {"url": app.url("/wechat/mp/events"),
                "token": TOKEN, "encoding_aes_key": AES_KEY, "mode": mode, "format": format}}),
        )
        .await;
    assert_eq!(settings["push"]["mode"], mode, "{settings}");
}

fn express(tracking: &str) -> Value {
    json!({"logistics_type": "express",
        "parcels": [{"tracking_no": tracking, "express_company": "YTO", "item_desc": "书 x1"}]})
}

async fn upload(app: &TestApp, order_no: &str, body: Value) -> (u16, Value) {
    app.admin_post(&format!("/v1/admin/orders/{order_no}/shipping"), body, None)
        .await
}

/// The simulator's push log, once it holds `n` acknowledged pushes.
async fn acknowledged_pushes(app: &TestApp, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let (_, log) = app.sim_get("/sim/pushes").await;
        let acked: Vec<Value> = log
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["acknowledged"] == true)
            .cloned()
            .collect();
        if acked.len() >= n || tokio::time::Instant::now() >= deadline {
            return acked;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn shipping_status(app: &TestApp, order_no: &str) -> String {
    let (_, page) = app.admin_get("/v1/admin/orders?limit=500").await;
    let order = page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["order_no"] == order_no)
        .cloned()
        .unwrap();
    order["shipping_status"].as_str().unwrap().to_owned()
}

async fn wait_shipping(app: &TestApp, order_no: &str, status: &str) -> String {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let now = shipping_status(app, order_no).await;
        if now == status || tokio::time::Instant::now() >= deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn uploads_are_checked_refused_and_recorded(db: Db) {
    let app = shipping_app(db).await;
    let (token, order_no, _) = app.paid_order().await;
    let (_, shown) = app.get_order(&token, &order_no).await;
    assert_eq!(shown["shipping_status"], "pending", "{shown}");
    let (_, pending) = app
        .admin_get("/v1/admin/orders?shipping_status=pending")
        .await;
    assert_eq!(
        pending["orders"][0]["order_no"],
        order_no.as_str(),
        "{pending}"
    );

    // Refused here, before WeChat: SF without a contact, too many parcels, no tracking.
    let sf = json!({"logistics_type": "express",
        "parcels": [{"tracking_no": "SF1", "express_company": "SF"}]});
    let (status, error) = upload(&app, &order_no, sf).await;
    assert_eq!(
        (status, &error["code"]),
        (400, &json!("INVALID_SHIPPING")),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("SF Express"),
        "{error}"
    );
    let many =
        json!({"logistics_type": "express", "parcels": vec![json!({"tracking_no": "T"}); 16]});
    assert_eq!(upload(&app, &order_no, many).await.0, 400);
    let untracked = json!({"logistics_type": "express", "parcels": [{"item_desc": "书"}]});
    assert_eq!(
        upload(&app, &order_no, untracked).await.1["code"],
        "INVALID_SHIPPING"
    );
    let (status, error) = upload(
        &app,
        &order_no,
        json!({"logistics_type": "drone", "parcels": []}),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    let stored = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!((stored.shipping_uploads, stored.shipping_status), (0, None));

    // Not ours, not paid.
    assert_eq!(
        upload(&app, "20261207000000000000000000", express("T"))
            .await
            .0,
        404
    );
    let (_, _, unpaid) = app.user_with_order().await;
    let (status, error) = upload(&app, unpaid["order_no"].as_str().unwrap(), express("T")).await;
    assert_eq!((status, &error["code"]), (409, &json!("ORDER_NOT_PAID")));

    // Accepted, corrected once, then WeChat's limit, named.
    let (status, order) = upload(&app, &order_no, express("YT1")).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["shipping_status"], "uploaded");
    assert_eq!(order["shipping_uploads"], 1);
    assert_eq!(order["shipping"]["parcels"][0]["tracking_no"], "YT1");
    assert_eq!(order["shipping"]["logistics_type"], "express");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (status, order) = upload(&app, &order_no, express("YT2")).await;
    assert_eq!(
        (status, order["shipping_uploads"].as_i64()),
        (200, Some(2)),
        "{order}"
    );
    let (status, error) = upload(&app, &order_no, express("YT3")).await;
    assert_eq!(
        (status, &error["code"]),
        (409, &json!("SHIPPING_CORRECTION_USED")),
        "{error}"
    );
    let (_, uploaded) = app
        .admin_get("/v1/admin/orders?shipping_status=uploaded")
        .await;
    assert_eq!(
        uploaded["orders"].as_array().unwrap().len(),
        1,
        "{uploaded}"
    );
    let (_, pending) = app
        .admin_get("/v1/admin/orders?shipping_status=pending")
        .await;
    assert!(
        pending["orders"].as_array().unwrap().is_empty(),
        "{pending}"
    );
    let (status, _) = app.admin_get("/v1/admin/orders?shipping_status=lost").await;
    assert_eq!(status, 400);
    app.cleanup().await;
}

async fn pushes_in_every_mode_and_format_settle_once(db: Db) {
    let app = shipping_app(db).await;
    let mut pushes = 0;
    for (mode, format) in [
        ("plain", "xml"),
        ("plain", "json"),
        ("compatible", "xml"),
        ("compatible", "json"),
        ("secure", "xml"),
        ("secure", "json"),
    ] {
        push_mode(&app, mode, format).await;
        let (_, order_no, _) = app.paid_order().await;
        let mut virtual_goods = json!({"logistics_type": "virtual", "parcels": [{}]});
        virtual_goods["parcels"][0]["item_desc"] = json!("会员月卡");
        let (status, order) = upload(&app, &order_no, virtual_goods).await;
        assert_eq!(status, 200, "{order}");
        // WeChat's "shipping complete" push: acknowledged, the order stays uploaded.
        pushes += 1;
        let log = acknowledged_pushes(&app, pushes).await;
        assert_eq!(log.len(), pushes, "{mode} {format}: {log:?}");
        assert_eq!(shipping_status(&app, &order_no).await, "uploaded");
        let confirmed = app
            .sim_post(
                "/sim/shipping/confirm",
                json!({"appid": APPID, "mch_id": MCH_ID, "out_trade_no": order_no}),
            )
            .await;
        assert_eq!(confirmed["order_state"], 4, "{confirmed}");
        pushes += 1;
        assert_eq!(
            wait_shipping(&app, &order_no, "settled").await,
            "settled",
            "{mode} {format}"
        );
        let last = &acknowledged_pushes(&app, pushes).await[pushes - 1];
        assert_eq!(last["mode"], mode);
        assert_eq!(last["format"], format);
    }
    let settled = app.events_of_type("order.settled").await;
    assert_eq!(settled.len(), 6, "one order.settled per order: {settled:?}");
    assert!(
        events_match_the_document(&app)
            .await
            .contains("order.settled")
    );
    app.cleanup().await;
}

/// The last push the simulator sent: its URL and body.
async fn last_push(app: &TestApp) -> (String, String) {
    let log = acknowledged_pushes(app, 1).await;
    let last = log.last().unwrap();
    (
        last["url"].as_str().unwrap().to_owned(),
        last["body"].as_str().unwrap().to_owned(),
    )
}

async fn post_push(app: &TestApp, url: &str, body: &str) -> u16 {
    app.http
        .post(url)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    let parsed = url::Url::parse(url).unwrap();
    parsed.query_pairs().into_owned().collect()
}

async fn forged_replayed_stale_and_foreign_pushes_change_nothing(db: Db) {
    let app = shipping_app(db).await;
    let (_, order_no, _) = app.paid_order().await;
    assert_eq!(upload(&app, &order_no, express("YT9")).await.0, 200);
    app.sim_post(
        "/sim/shipping/confirm",
        json!({"appid": APPID, "mch_id": MCH_ID, "out_trade_no": order_no}),
    )
    .await;
    assert_eq!(wait_shipping(&app, &order_no, "settled").await, "settled");
    let (url, body) = last_push(&app).await;

    // The same push again (WeChat's resend, or a replay): acknowledged, nothing new.
    assert_eq!(post_push(&app, &url, &body).await, 200);
    assert_eq!(app.events_of_type("order.settled").await.len(), 1);

    // Spoiled: another msg_signature; a changed Encrypt; no signature at all.
    let spoiled = url.replace("msg_signature=", "msg_signature=0");
    assert_eq!(post_push(&app, &spoiled, &body).await, 401);
    let changed = body.replacen("\"Encrypt\":\"", "\"Encrypt\":\"AAAA", 1);
    assert_eq!(post_push(&app, &url, &changed).await, 401);
    assert_eq!(
        post_push(&app, &app.url("/wechat/mp/events"), &body).await,
        401
    );

    // Sealed for another Mini Program (right Token and key): refused.
    let q = query_of(&url);
    let key = PushKey::from_encoding_aes_key(AES_KEY).unwrap();
    let message = r#"{"Event":"trade_manage_order_settlement","merchant_trade_no":"x"}"#;
    let foreign = push::encrypt(&key, message, "wx0000000000000000", &[3; 16]);
    let signature = push::msg_signature(TOKEN, &q["timestamp"], &q["nonce"], &foreign);
    let foreign_url = format!(
        "{}?signature={}&timestamp={}&nonce={}&encrypt_type=aes&msg_signature={signature}",
        app.url("/wechat/mp/events"),
        q["signature"],
        q["timestamp"],
        q["nonce"]
    );
    let foreign_body = json!({"ToUserName": "gh_x", "Encrypt": foreign}).to_string();
    assert_eq!(post_push(&app, &foreign_url, &foreign_body).await, 401);

    // Stale: a genuine signature over a timestamp an hour old.
    let old = (time::OffsetDateTime::now_utc().unix_timestamp() - 3600).to_string();
    let stale_signature = push::url_signature(TOKEN, &old, "1");
    let stale = app.url(&format!(
        "/wechat/mp/events?signature={stale_signature}&timestamp={old}&nonce=1"
    ));
    assert_eq!(post_push(&app, &stale, "{\"Event\":\"x\"}").await, 401);

    // A plain push may say anything its signature does not cover: a settlement for an
    // order WeChat still has awaiting shipment changes nothing.
    let (_, unshipped, _) = app.paid_order().await;
    let stored = app.state.store.order(&unshipped).await.unwrap().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let plain_signature = push::url_signature(TOKEN, &now, "7");
    let claim = json!({"ToUserName": "gh_x", "FromUserName": "o", "CreateTime": 1,
        "MsgType": "event", "Event": "trade_manage_order_settlement",
        "transaction_id": stored.transaction_id, "merchant_id": MCH_ID,
        "merchant_trade_no": unshipped, "settlement_time": 1});
    let plain = app.url(&format!(
        "/wechat/mp/events?signature={plain_signature}&timestamp={now}&nonce=7"
    ));
    assert_eq!(post_push(&app, &plain, &claim.to_string()).await, 200);
    assert_eq!(shipping_status(&app, &unshipped).await, "pending");
    assert_eq!(app.events_of_type("order.settled").await.len(), 1);
    assert_eq!(shipping_status(&app, &order_no).await, "settled");
    app.cleanup().await;
}

async fn a_reminder_shows_in_the_admin_list(db: Db) {
    let app = shipping_app(db).await;
    let (_, order_no, _) = app.paid_order().await;
    let reminded = app
        .sim_post("/sim/shipping/remind", json!({"appid": APPID}))
        .await;
    assert_eq!(reminded["reminded"], 1, "{reminded}");
    acknowledged_pushes(&app, 1).await;
    let (_, pending) = app
        .admin_get("/v1/admin/orders?shipping_status=pending")
        .await;
    let order = &pending["orders"][0];
    assert_eq!(order["order_no"], order_no.as_str(), "{pending}");
    assert!(order["shipping_reminded_at"].is_string(), "{order}");
    let events = app.events_of_type("order.shipping_reminder").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0.as_deref(), Some(order_no.as_str()));
    assert!(
        events_match_the_document(&app)
            .await
            .contains("order.shipping_reminder")
    );

    // Any other event on the same URL is acknowledged and changes nothing.
    app.sim_post(
        "/sim/pushes/send",
        json!({"appid": APPID, "event": "user_enter_tempsession", "fields": {"SessionFrom": "x"}}),
    )
    .await;
    let log = acknowledged_pushes(&app, 2).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(app.events_of_type("order.shipping_reminder").await.len(), 1);

    // The URL check: echostr back for our Token, 401 for another.
    let now = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let good = push::url_signature(TOKEN, &now, "5");
    let check = |signature: String| {
        app.url(&format!(
            "/wechat/mp/events?signature={signature}&timestamp={now}&nonce=5&echostr=4375120948345356249"
        ))
    };
    let response = app.http.get(check(good)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "4375120948345356249");
    let bad = push::url_signature("another", &now, "5");
    assert_eq!(app.http.get(check(bad)).send().await.unwrap().status(), 401);
    app.cleanup().await;
}

/// WeChat busy once, then an answer lost after WeChat took a correction: each upload is
/// resent as the identical request, so the lost one ends in 10060023 ("nothing
/// changed"), counted as done, and does not spend a second correction.
async fn uploads_survive_a_busy_wechat_and_a_lost_answer(db: Db) {
    let app = shipping_app(db).await;
    let (_, order_no, _) = app.paid_order().await;
    app.fault(json!({"endpoint": "shipping_upload", "kind": "busy", "count": 1}))
        .await;
    let (status, order) = upload(&app, &order_no, express("YT1")).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["shipping_uploads"], 1, "{order}");

    // Longer than the test's request timeout (2 s): WeChat records it, the answer is lost.
    app.fault(
        json!({"endpoint": "shipping_upload", "kind": "timeout", "count": 1,
        "delay_ms": 2500}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (status, order) = upload(&app, &order_no, express("YT2")).await;
    assert_eq!(
        status, 200,
        "a fresh upload_time would have been a second correction: {order}"
    );
    assert_eq!(order["shipping_uploads"], 2, "{order}");
    assert_eq!(order["shipping"]["parcels"][0]["tracking_no"], "YT2");
    // WeChat counted one correction: the next is refused, and named.
    let (status, error) = upload(&app, &order_no, express("YT3")).await;
    assert_eq!(
        (status, &error["code"]),
        (409, &json!("SHIPPING_CORRECTION_USED")),
        "{error}"
    );
    app.cleanup().await;
}

/// `shipping.auto_virtual`: a paid order is uploaded as virtual goods by the reconciler,
/// WeChat takes it (the payer can confirm it), and it settles.
async fn virtual_goods_ship_themselves(db: Db) {
    let app = shipping_app_with(db, true).await;
    let (_, order_no, _) = app.paid_order().await;
    assert_eq!(wait_shipping(&app, &order_no, "uploaded").await, "uploaded");
    let stored = app.state.store.order(&order_no).await.unwrap().unwrap();
    let shipping: Value = serde_json::from_str(stored.shipping.as_deref().unwrap()).unwrap();
    assert_eq!(shipping["logistics_type"], "virtual", "{shipping}");
    assert_eq!(
        shipping["parcels"][0]["item_desc"],
        stored.description.as_str()
    );
    assert_eq!((stored.shipping_uploads, stored.shipping_error), (1, None));
    // WeChat's side: the trade is shipped, so the payer can confirm it, and it settles.
    let confirmed = app
        .sim_post(
            "/sim/shipping/confirm",
            json!({"appid": APPID, "mch_id": MCH_ID, "out_trade_no": order_no}),
        )
        .await;
    assert_eq!(confirmed["order_state"], 4, "{confirmed}");
    assert_eq!(wait_shipping(&app, &order_no, "settled").await, "settled");
    // Uploaded once, never again by later passes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stored = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(stored.shipping_uploads, 1);
    app.cleanup().await;
}

/// Right after a payment WeChat's shipping service may not have it yet (10060001): the
/// automatic upload leaves the order owed for a later pass instead of recording a
/// refusal; by hand the same answer is named.
async fn a_payment_not_yet_known_to_shipping_stays_owed(db: Db) {
    let app = shipping_app_with(db, true).await;
    app.fault(json!({"endpoint": "shipping_upload", "kind": "payment_not_yet_known", "count": 1}))
        .await;
    let (_, faults) = app.sim_get("/sim/faults").await;
    assert_eq!(faults["faults"][0]["count"], 1, "{faults}");
    let (_, order_no, _) = app.paid_order().await;
    // The reconciler's pass took the fault: WeChat said "no such payment".
    let mut spent = false;
    for _ in 0..200 {
        let (_, faults) = app.sim_get("/sim/faults").await;
        spent = faults["faults"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["count"].as_u64() == Some(0));
        if spent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(spent, "no automatic upload was tried");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stored = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(
        (stored.shipping_uploads, stored.shipping_error),
        (0, None),
        "not a refusal"
    );
    let after_lease = now_ms() + 61_000;
    let owed = app
        .state
        .store
        .claim_owed_shipping(after_lease, after_lease + 60_000, 16)
        .await
        .unwrap();
    assert_eq!(owed, vec![order_no.clone()], "still owed after the lease");

    app.fault(json!({"endpoint": "shipping_upload", "kind": "payment_not_yet_known", "count": 1}))
        .await;
    let (status, error) = upload(&app, &order_no, express("YT7")).await;
    assert_eq!(
        (status, &error["code"]),
        (422, &json!("SHIPPING_PAYMENT_UNKNOWN")),
        "{error}"
    );
    app.cleanup().await;
}

/// The work list behind it: a paid order is claimed once per lease, a refusal takes it
/// off the list, and an upload by hand clears the refusal.
async fn owed_shipping_is_leased_and_a_refusal_kept(db: Db) {
    let app = shipping_app(db).await;
    let (_, order_no, _) = app.paid_order().await;
    let (_, _, unpaid) = app.user_with_order().await;
    let store = &app.state.store;
    let now = now_ms();
    let claimed = store
        .claim_owed_shipping(now, now + 60_000, 16)
        .await
        .unwrap();
    assert_eq!(
        claimed,
        vec![order_no.clone()],
        "only the paid order is owed"
    );
    assert_ne!(unpaid["order_no"], order_no.as_str());
    let again = store
        .claim_owed_shipping(now + 1, now + 60_000, 16)
        .await
        .unwrap();
    assert!(again.is_empty(), "leased: {again:?}");
    let after_lease = now + 60_001;
    let back = store
        .claim_owed_shipping(after_lease, after_lease + 60_000, 16)
        .await
        .unwrap();
    assert_eq!(back, vec![order_no.clone()], "the lease ended");
    store
        .record_shipping_error(&order_no, "SHIPPING_REFUSED: errcode 10060001", now)
        .await
        .unwrap();
    let later = now + 600_000;
    assert!(
        store
            .claim_owed_shipping(later, later + 60_000, 16)
            .await
            .unwrap()
            .is_empty()
    );
    let (_, listed) = app
        .admin_get("/v1/admin/orders?shipping_status=pending")
        .await;
    assert_eq!(
        listed["orders"][0]["shipping_error"], "SHIPPING_REFUSED: errcode 10060001",
        "{listed}"
    );
    let (status, order) = upload(&app, &order_no, express("YT9")).await;
    assert_eq!(status, 200, "{order}");
    assert!(order.get("shipping_error").is_none(), "{order}");
    app.cleanup().await;
}

on_both_databases!(
    uploads_are_checked_refused_and_recorded,
    pushes_in_every_mode_and_format_settle_once,
    forged_replayed_stale_and_foreign_pushes_change_nothing,
    a_reminder_shows_in_the_admin_list,
    virtual_goods_ship_themselves,
    uploads_survive_a_busy_wechat_and_a_lost_answer,
    owed_shipping_is_leased_and_a_refusal_kept,
    a_payment_not_yet_known_to_shipping_stays_owed,
);
