//! Orders from the merchant's own backend (`POST /v1/admin/orders`): priced by it, for a
//! payer it names by openid, idempotent by its key, unique by its reference, checked by
//! WeChat's limits before WeChat is called, and paid by the mini-program user who logs
//! in with that openid.

use std::time::Duration;

use serde_json::{Value, json};
use wxpay_sim::config::KeyMode;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases!(
    merchant_orders_are_idempotent_and_found_by_reference,
    merchant_orders_are_checked_before_wechat_is_called,
    the_payer_logs_in_later_and_pays_the_merchant_order,
    v3_merchant_orders_carry_the_merchants_description,
);

const ORDERS: &str = "/v1/admin/orders";

fn order_body(openid: &str, reference: &str) -> Value {
    json!({
        "openid": openid,
        "amount_fen": 12_345,
        "description": "Shop 42 - two books",
        "reference": reference,
        "attach": "batch=7",
        "expires_in_secs": 900,
        "items": [
            {"sku": "book-1", "name": "Book one", "unit_price_fen": 10_000, "quantity": 1},
            {"sku": "book-2", "name": "Book two", "unit_price_fen": 2_345, "quantity": 1},
        ],
    })
}

/// How many orders the instance has.
async fn order_count(app: &TestApp) -> usize {
    let (status, list) = app.admin_get("/v1/admin/orders?limit=500").await;
    assert_eq!(status, 200, "{list}");
    list["orders"].as_array().unwrap().len()
}

async fn merchant_orders_are_idempotent_and_found_by_reference(db: Db) {
    let app = TestApp::spawn(db).await;
    let body = order_body("o-merchant-user-1", "SO-1001");

    let (status, error) = app.admin_post(ORDERS, body.clone(), None).await;
    assert_eq!(
        (status, &error["code"]),
        (400, &json!("IDEMPOTENCY_KEY_REQUIRED"))
    );
    let unauthorized = app.send(app.http.post(app.url(ORDERS)).json(&body)).await;
    assert_eq!(unauthorized.0, 401, "{}", unauthorized.1);
    assert_eq!(order_count(&app).await, 0);

    let (status, first) = app.admin_post(ORDERS, body.clone(), Some("k-1")).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["amount_fen"], 12_345);
    assert_eq!(first["reference"], "SO-1001");
    assert_eq!(first["status"], "awaiting_payment");
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert!(first["payment"]["paySign"].is_string(), "{first}");
    let order_no = first["order_no"].as_str().unwrap();
    // The merchant's expiry, not the configured one (30 min).
    let created = time::OffsetDateTime::parse(
        first["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = time::OffsetDateTime::parse(
        first["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!((expires - created).whole_seconds(), 900);

    // A retry: the same order, no second one.
    let (status, again) = app.admin_post(ORDERS, body.clone(), Some("k-1")).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["order_no"], order_no);
    assert!(again["payment"]["paySign"].is_string(), "{again}");

    // The same key for another request.
    let mut other = body.clone();
    other["amount_fen"] = json!(999);
    other["items"] = Value::Null;
    let (status, error) = app.admin_post(ORDERS, other, Some("k-1")).await;
    assert_eq!(
        (status, &error["code"]),
        (422, &json!("IDEMPOTENCY_KEY_REUSED"))
    );

    // Another key, the same reference.
    let (status, error) = app.admin_post(ORDERS, body.clone(), Some("k-2")).await;
    assert_eq!((status, &error["code"]), (409, &json!("REFERENCE_EXISTS")));
    assert!(error["message"].as_str().unwrap().contains(order_no));
    assert_eq!(order_count(&app).await, 1);

    // Found by reference, with what the merchant sent.
    let (status, found) = app.admin_get("/v1/admin/orders?reference=SO-1001").await;
    assert_eq!(status, 200, "{found}");
    let found = found["orders"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["order_no"], order_no);
    assert_eq!(found[0]["reference"], "SO-1001");
    assert_eq!(found[0]["attach"], "batch=7");
    let (_, none) = app.admin_get("/v1/admin/orders?reference=SO-404").await;
    assert_eq!(none["orders"], json!([]));

    // WeChat got the merchant's description and attach.
    let stored = app.state.store.order(order_no).await.unwrap().unwrap();
    assert_eq!(stored.description, "Shop 42 - two books");
    let request: Value = serde_json::from_str(stored.prepay_request.as_deref().unwrap()).unwrap();
    assert_eq!(request["attach"], "batch=7", "{request}");
    assert_eq!(request["body"], "Shop 42 - two books", "{request}");

    // A second merchant order without a reference is fine.
    let mut plain = order_body("o-merchant-user-1", "unused");
    plain.as_object_mut().unwrap().remove("reference");
    let (status, second) = app.admin_post(ORDERS, plain, Some("k-3")).await;
    assert_eq!(status, 201, "{second}");
    assert!(second.get("reference").is_none(), "{second}");
    app.cleanup().await;
}

async fn merchant_orders_are_checked_before_wechat_is_called(db: Db) {
    let app = TestApp::spawn(db).await;
    // A counted, harmless fault: how many times WeChat was asked.
    app.fault(json!({"endpoint": "unifiedorder", "kind": "delay", "count": 100, "delay_ms": 1}))
        .await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("amount_fen", json!(0), "INVALID_AMOUNT"),
        ("amount_fen", json!(-5), "INVALID_AMOUNT"),
        ("amount_fen", json!(100_000_000_001_i64), "INVALID_AMOUNT"),
        ("description", json!("   "), "INVALID_DESCRIPTION"),
        ("description", json!("书".repeat(43)), "INVALID_DESCRIPTION"),
        ("description", json!("line\nbreak"), "INVALID_DESCRIPTION"),
        ("openid", json!(""), "INVALID_OPENID"),
        ("openid", json!("has space"), "INVALID_OPENID"),
        ("reference", json!(""), "INVALID_REFERENCE"),
        ("reference", json!("r".repeat(65)), "INVALID_REFERENCE"),
        ("attach", json!("a".repeat(128)), "INVALID_ATTACH"),
        ("expires_in_secs", json!(10), "INVALID_EXPIRY"),
        ("items", json!([]), "INVALID_ITEMS"),
        (
            "items",
            json!([{"sku": "x", "name": "X", "unit_price_fen": 100, "quantity": 1}]),
            "ITEMS_TOTAL_MISMATCH",
        ),
    ];
    for (n, (field, value, code)) in cases.into_iter().enumerate() {
        let mut body = order_body("o-checked", &format!("SO-{n}"));
        body[field] = value.clone();
        let (status, error) = app
            .admin_post(ORDERS, body, Some(&format!("check-{n}")))
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (422, Some(code)),
            "{field} = {value}: {error}"
        );
    }
    let mut unknown = order_body("o-checked", "SO-x");
    unknown["price"] = json!(1);
    let (status, error) = app.admin_post(ORDERS, unknown, Some("check-x")).await;
    assert_eq!((status, &error["code"]), (400, &json!("INVALID_JSON")));
    // 42 Chinese characters are 126 bytes: within v2's 128.
    let mut fits = order_body("o-checked", "SO-fits");
    fits["description"] = json!("书".repeat(42));
    assert_eq!(
        app.calls_seen("unifiedorder", 100).await,
        0,
        "WeChat was not asked"
    );
    let (status, order) = app.admin_post(ORDERS, fits, Some("check-fits")).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(app.calls_seen("unifiedorder", 100).await, 1);
    assert_eq!(order_count(&app).await, 1);
    app.cleanup().await;
}

async fn the_payer_logs_in_later_and_pays_the_merchant_order(db: Db) {
    let app = TestApp::spawn(db).await;
    let openid = "o-later-login-7";
    let order = app.merchant_order(openid, 2_000, "SO-2001").await;
    let order_no = order["order_no"].as_str().unwrap();

    // The mini program's user with that openid finds it theirs, and another does not.
    let (token, _) = app.login_as(Some(openid)).await;
    let (status, seen) = app.get_order(&token, order_no).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["reference"], "SO-2001");
    let (stranger, _) = app.login().await;
    assert_eq!(app.get_order(&stranger, order_no).await.0, 404);

    let (status, fresh) = app.order_action(&token, order_no, "payment").await;
    assert_eq!(status, 200, "{fresh}");
    assert_eq!(app.pay(&fresh, openid).await, "requestPayment:ok");
    assert_eq!(
        app.wait_status(order_no, "paid", Duration::from_secs(10))
            .await,
        "paid"
    );
    let (_, paid) = app.get_order(&token, order_no).await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(paid["amount_fen"], 2_000);
    app.cleanup().await;
}

async fn v3_merchant_orders_carry_the_merchants_description(db: Db) {
    let app = TestApp::spawn_v3(db, KeyMode::PublicKey).await;
    // v3 counts characters: 127 Chinese characters fit, 128 do not.
    let mut body = order_body("o-v3-merchant", "SO-v3");
    body["description"] = json!("书".repeat(128));
    let (status, error) = app.admin_post(ORDERS, body.clone(), Some("v3-1")).await;
    assert_eq!(
        (status, &error["code"]),
        (422, &json!("INVALID_DESCRIPTION"))
    );
    body["description"] = json!("书".repeat(127));
    let (status, order) = app.admin_post(ORDERS, body, Some("v3-2")).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["payment"]["signType"], "RSA", "{order}");
    assert_eq!(app.pay(&order, "o-v3-merchant").await, "requestPayment:ok");
    let order_no = order["order_no"].as_str().unwrap();
    assert_eq!(
        app.wait_status(order_no, "paid", Duration::from_secs(10))
            .await,
        "paid"
    );
    let stored = app.state.store.order(order_no).await.unwrap().unwrap();
    let request: Value = serde_json::from_str(stored.prepay_request.as_deref().unwrap()).unwrap();
    assert_eq!(request["attach"], "batch=7", "{request}");
    app.cleanup().await;
}
