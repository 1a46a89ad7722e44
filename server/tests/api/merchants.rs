//! Many merchants in one deployment: a second direct merchant beside `[wechat]`'s, each
//! with its mini program. A user logs in on their app (`Wxpay-Appid`), their orders are
//! their app's merchant's (prepaid with its credentials, paid by a notify verified with
//! its key), and a notify signed with one merchant's key for the other's order changes
//! nothing. A merchant's admin token sees and acts on its own orders only, and each app's
//! message pushes verify with its own Token and key.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use wxpay_core::ApiKey;
use wxpay_server::config::{MerchantSettings, RefundTlsSettings};

use crate::helpers::{APPID, Db, MCH_ID, TestApp};
use crate::on_both_databases;

const TEA_APPID: &str = "wx7ea0000000000002";
const TEA_MCH_ID: &str = "1900000222";
const TEA_KEY: &str = "7ea7ea7ea7ea7ea7ea7ea7ea7ea7ea00";
const TEA_SECRET: &str = "7ea5ecre7000000000000000000000a1";
const TEA_ADMIN: &str = "tea-admin-token-0123456789abcdef0123";
const TEA_PUSH_TOKEN: &str = "teaPushToken42";
const TEA_PUSH_KEY: &str = "teaPushKeyAbCdEfGhIjKlMnOpQrStUvWxYz0123456";
const DEFAULT_PUSH_TOKEN: &str = "defaultPushToken7";

async fn two_merchants(db: Db) -> TestApp {
    let app = TestApp::spawn_with(db, |s| {
        s.merchants.push(MerchantSettings {
            id: "tea".into(),
            appid: TEA_APPID.into(),
            app_secret: SecretString::from(TEA_SECRET),
            mch_id: TEA_MCH_ID.into(),
            api_version: "v2".into(),
            api_key: Some(SecretString::from(TEA_KEY)),
            sign_type: "HMAC-SHA256".into(),
            v3: None,
            refund_tls: RefundTlsSettings::default(),
            admin_token: Some(SecretString::from(TEA_ADMIN)),
            push_token: Some(SecretString::from(TEA_PUSH_TOKEN)),
            push_aes_key: Some(SecretString::from(TEA_PUSH_KEY)),
        });
        s.shipping.push_token = Some(SecretString::from(DEFAULT_PUSH_TOKEN));
        s.shipping.push_aes_key = Some(SecretString::from(
            "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
        ));
    })
    .await;
    let added = app
        .sim_post(
            "/sim/merchants",
            json!({"appid": TEA_APPID, "mch_id": TEA_MCH_ID, "api_key": TEA_KEY,
                "app_secret": TEA_SECRET}),
        )
        .await;
    assert_eq!(added["mch_id"], TEA_MCH_ID, "{added}");
    app
}

/// A login on the tea shop's mini program: (token, openid).
async fn tea_login(app: &TestApp) -> (String, String) {
    let sim = app
        .sim_post("/sim/login", json!({ "appid": TEA_APPID }))
        .await;
    let (status, body) = app
        .send(
            app.http
                .post(app.url("/v1/login"))
                .header("Wxpay-Appid", TEA_APPID)
                .json(&json!({ "code": sim["code"] })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (
        body["token"].as_str().unwrap().to_owned(),
        sim["openid"].as_str().unwrap().to_owned(),
    )
}

async fn tea_order(app: &TestApp, token: &str) -> Value {
    let (status, order) = app
        .create_order(token, json!([{"sku": "latte", "quantity": 1}]), None)
        .await;
    assert_eq!(status, 201, "{order}");
    order
}

async fn each_merchant_is_paid_for_its_own_orders(db: Db) {
    let app = two_merchants(db).await;
    let (token, openid) = tea_login(&app).await;
    let order = tea_order(&app, &token).await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    let stored = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(
        (stored.appid.as_str(), stored.mch_id.as_str()),
        (TEA_APPID, TEA_MCH_ID)
    );

    let mut params = order["payment"].clone();
    params["appid"] = json!(TEA_APPID);
    params["openid"] = json!(openid);
    let paid = app.sim_post("/sim/pay", params).await;
    assert_eq!(paid["errMsg"], "requestPayment:ok", "{paid}");
    assert_eq!(
        app.wait_status(&order_no, "paid", Duration::from_secs(10))
            .await,
        "paid"
    );
    // `[wechat]`'s merchant goes on as before, beside it.
    let (_, default_order, _) = app.paid_order().await;
    let stored = app
        .state
        .store
        .order(&default_order)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.appid.as_str(), stored.mch_id.as_str()),
        (APPID, MCH_ID)
    );

    // The user is the tea app's: their order list holds the tea order.
    let (status, listed) = app
        .send(
            app.http
                .get(app.url(&format!("/v1/orders/{order_no}")))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(
        (status, &listed["status"]),
        (200, &json!("paid")),
        "{listed}"
    );

    // An appid this server does not serve is refused by name.
    let (status, refused) = app
        .send(
            app.http
                .post(app.url("/v1/login"))
                .header("Wxpay-Appid", "wx0000000000000bad")
                .json(&json!({ "code": "anything" })),
        )
        .await;
    assert_eq!(
        (status, &refused["code"]),
        (400, &json!("UNKNOWN_APP")),
        "{refused}"
    );
    app.cleanup().await;
}

async fn a_notify_signed_by_one_merchant_for_the_others_order_changes_nothing(db: Db) {
    let app = two_merchants(db).await;
    let (token, _) = tea_login(&app).await;
    let tea = tea_order(&app, &token).await;
    let tea_no = tea["order_no"].as_str().unwrap();
    let amount = tea["amount_fen"].as_i64().unwrap();
    let default_key = app.key.clone();
    let tea_key = ApiKey::new(TEA_KEY).unwrap();

    // `[wechat]`'s key, naming its own mch_id, for the tea shop's order.
    let forged = app.notify_for(tea_no, amount).build_xml(&default_key);
    let (status, _) = app.post_notify(forged, "text/xml").await;
    assert!((400..500).contains(&status), "{status}");
    // `[wechat]`'s key, naming the tea shop's mch_id: it does not verify under the tea key.
    let claimed = app
        .notify_for(tea_no, amount)
        .field("mch_id", TEA_MCH_ID)
        .field("appid", TEA_APPID)
        .build_xml(&default_key);
    let (status, _) = app.post_notify(claimed, "text/xml").await;
    assert!((400..500).contains(&status), "{status}");
    assert_eq!(app.status_of(tea_no).await, "awaiting_payment");

    // The tea key for `[wechat]`'s order.
    let (_, _, other) = app.user_with_order().await;
    let other_no = other["order_no"].as_str().unwrap();
    let forged = app
        .notify_for(other_no, other["amount_fen"].as_i64().unwrap())
        .field("mch_id", TEA_MCH_ID)
        .field("appid", TEA_APPID)
        .build_xml(&tea_key);
    let (status, _) = app.post_notify(forged, "text/xml").await;
    assert!((400..500).contains(&status), "{status}");
    assert_eq!(app.status_of(other_no).await, "awaiting_payment");

    // And the tea key, naming the tea shop, for its own order: paid.
    let genuine = app
        .notify_for(tea_no, amount)
        .field("mch_id", TEA_MCH_ID)
        .field("appid", TEA_APPID)
        .build_xml(&tea_key);
    let (status, _) = app.post_notify(genuine, "text/xml").await;
    assert_eq!(status, 200);
    assert_eq!(app.status_of(tea_no).await, "paid");
    app.cleanup().await;
}

/// A request with the tea shop's admin token.
async fn as_tea(app: &TestApp, request: reqwest::RequestBuilder) -> (u16, Value) {
    app.send(request.bearer_auth(TEA_ADMIN)).await
}

async fn a_merchants_admin_token_sees_only_its_own(db: Db) {
    let app = two_merchants(db).await;
    let (token, _) = tea_login(&app).await;
    let tea_no = tea_order(&app, &token).await["order_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, _, other) = app.user_with_order().await;
    let other_no = other["order_no"].as_str().unwrap().to_owned();

    let listed = |orders: &Value| -> Vec<String> {
        orders["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["order_no"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, tea_list) = as_tea(&app, app.http.get(app.url("/v1/admin/orders"))).await;
    assert_eq!(status, 200, "{tea_list}");
    assert_eq!(listed(&tea_list), vec![tea_no.clone()]);
    let (_, all) = app.admin_get("/v1/admin/orders").await;
    assert!(listed(&all).contains(&tea_no) && listed(&all).contains(&other_no));

    // Another merchant's order is as if it did not exist; the platform's routes refuse.
    for path in [
        format!("/v1/admin/orders/{other_no}/refunds"),
        format!("/v1/admin/orders/{tea_no}/refunds"),
    ] {
        let (status, body) = as_tea(&app, app.http.get(app.url(&path))).await;
        let expected = if path.contains(&tea_no) { 200 } else { 404 };
        assert_eq!(status, expected, "{path}: {body}");
    }
    let (status, refused) = as_tea(
        &app,
        app.http
            .post(app.url(&format!("/v1/admin/orders/{other_no}/refunds")))
            .json(&json!({"amount_fen": 1})),
    )
    .await;
    assert_eq!((status, &refused["code"]), (404, &json!("ORDER_NOT_FOUND")));
    let (status, body) = as_tea(
        &app,
        app.http.get(app.url("/v1/admin/reconciliation/2026-01-01")),
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (403, &json!("PLATFORM_ONLY")),
        "{body}"
    );
    // Its backend's orders are its own: its appid and mch_id, its user.
    let (status, created) = as_tea(
        &app,
        app.http
            .post(app.url("/v1/admin/orders"))
            .header("Idempotency-Key", "tea-1")
            .json(&json!({"openid": "o-tea-backend-user", "amount_fen": 990,
                "description": "Oolong", "reference": "T-1"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let stored = app
        .state
        .store
        .order(created["order_no"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.appid.as_str(), stored.mch_id.as_str()),
        (TEA_APPID, TEA_MCH_ID)
    );
    // The same key and reference are the platform merchant's own to use.
    let (status, _) = app
        .admin_post(
            "/v1/admin/orders",
            json!({"openid": "o-default-backend-user", "amount_fen": 990,
                "description": "Oolong", "reference": "T-1"}),
            Some("tea-1"),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .send(
            app.http
                .get(app.url("/v1/admin/orders"))
                .bearer_auth("tea-admin-token-wrong"),
        )
        .await;
    assert_eq!(status, 401);
    app.cleanup().await;
}

/// The events API with a merchant's token: the events of its own orders only.
async fn a_merchants_admin_token_pulls_its_own_events(db: Db) {
    let app = two_merchants(db).await;
    let (token, openid) = tea_login(&app).await;
    let order = tea_order(&app, &token).await;
    let tea_no = order["order_no"].as_str().unwrap().to_owned();
    let mut params = order["payment"].clone();
    params["appid"] = json!(TEA_APPID);
    params["openid"] = json!(openid);
    app.sim_post("/sim/pay", params).await;
    assert_eq!(
        app.wait_status(&tea_no, "paid", Duration::from_secs(10))
            .await,
        "paid"
    );
    let (_, other_no, _) = app.paid_order().await;
    let orders_of = |page: &Value| -> Vec<(String, String)> {
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let no = e["data"]["order_no"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                (e["type"].as_str().unwrap().to_owned(), no)
            })
            .collect()
    };
    let mut tea_page = Value::Null;
    let mut all = Value::Null;
    for _ in 0..100 {
        (_, all) = app.admin_get("/v1/admin/events").await;
        if orders_of(&all).len() >= 2 {
            (_, tea_page) = as_tea(&app, app.http.get(app.url("/v1/admin/events"))).await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        orders_of(&tea_page),
        [("order.paid".to_owned(), tea_no.clone())],
        "{tea_page}"
    );
    let others: Vec<&Value> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["order_no"] == other_no.as_str())
        .collect();
    let other_id = others[0]["id"].as_str().unwrap();
    let (status, _) = as_tea(
        &app,
        app.http
            .get(app.url(&format!("/v1/admin/events/{other_id}"))),
    )
    .await;
    assert_eq!(
        status, 404,
        "another merchant's event is as if it did not exist"
    );
    let tea_id = tea_page["events"][0]["id"].as_str().unwrap();
    let (status, event) = as_tea(
        &app,
        app.http.get(app.url(&format!("/v1/admin/events/{tea_id}"))),
    )
    .await;
    assert_eq!(status, 200, "{event}");
    app.cleanup().await;
}

/// A secure-mode push as WeChat would send it: the query and the body.
fn push_for(token: &str, key: &str, appid: &str, message: &str) -> (String, String) {
    use wxpay_core::push;
    let key = push::PushKey::from_encoding_aes_key(key).unwrap();
    let encrypt = push::encrypt(&key, message, appid, &[5; 16]);
    let (timestamp, nonce) = (
        (wxpay_server::base::clock::now_ms() / 1000).to_string(),
        "n1",
    );
    let query = format!(
        "signature={}&timestamp={timestamp}&nonce={nonce}&encrypt_type=aes&msg_signature={}",
        push::url_signature(token, &timestamp, nonce),
        push::msg_signature(token, &timestamp, nonce, &encrypt)
    );
    (
        query,
        json!({ "ToUserName": "gh_tea", "Encrypt": encrypt }).to_string(),
    )
}

/// One push URL for every app: each app's push verifies under its own Token and key and
/// must be for its appid; the URL check answers any app's Token.
async fn each_apps_pushes_verify_with_its_own_settings(db: Db) {
    let app = two_merchants(db).await;
    let message = r#"{"ToUserName":"gh_tea","MsgType":"event","Event":"user_enter_tempsession","CreateTime":1}"#;
    let post = |(query, body): (String, String)| {
        let request = app
            .http
            .post(app.url(&format!("/wechat/mp/events?{query}")))
            .header("content-type", "application/json")
            .body(body);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        post(push_for(TEA_PUSH_TOKEN, TEA_PUSH_KEY, TEA_APPID, message)).await,
        200
    );
    // The tea app's key and Token, for another app: refused.
    assert_eq!(
        post(push_for(TEA_PUSH_TOKEN, TEA_PUSH_KEY, APPID, message)).await,
        401
    );
    // The default app's Token with the tea app's key: no app has that pair.
    assert_eq!(
        post(push_for(
            DEFAULT_PUSH_TOKEN,
            TEA_PUSH_KEY,
            TEA_APPID,
            message
        ))
        .await,
        401
    );
    assert_eq!(
        post(push_for("guessedToken1", TEA_PUSH_KEY, TEA_APPID, message)).await,
        401
    );
    for token in [TEA_PUSH_TOKEN, DEFAULT_PUSH_TOKEN] {
        let timestamp = (wxpay_server::base::clock::now_ms() / 1000).to_string();
        let signature = wxpay_core::push::url_signature(token, &timestamp, "n2");
        let response = app
            .http
            .get(app.url(&format!(
                "/wechat/mp/events?signature={signature}&timestamp={timestamp}&nonce=n2&echostr=hello"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{token}");
        assert_eq!(response.text().await.unwrap(), "hello");
    }
    app.cleanup().await;
}

on_both_databases!(
    each_apps_pushes_verify_with_its_own_settings,
    a_merchants_admin_token_pulls_its_own_events,
    a_merchants_admin_token_sees_only_its_own,
    each_merchant_is_paid_for_its_own_orders,
    a_notify_signed_by_one_merchant_for_the_others_order_changes_nothing,
);
