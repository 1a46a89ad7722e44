//! Operations hygiene: `/metrics` behind a token or on its own listener and without a
//! table scan per scrape, catalog removals, one orderquery for concurrent readers,
//! housekeeping, sessions (single-session logins, logout), rate limits behind a proxy
//! and per IPv6 /64, and WeChat's limits on an order.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use wxpay_server::store::Product;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases!(
    metrics_can_need_a_token_or_live_on_their_own_listener,
    metrics_read_the_order_counts_at_most_every_few_seconds,
    products_gone_from_the_catalog_are_no_longer_sold,
    concurrent_readers_of_a_stale_order_cause_one_orderquery,
    housekeeping_deletes_expired_sessions_and_old_idempotency_keys,
    single_session_logins_and_logout_end_tokens,
    rate_limits_key_on_the_trusted_header_and_ipv6_prefixes,
    an_order_above_wechats_limit_is_refused_before_wechat,
    hot_connections_are_handed_back_and_reused,
);

async fn metrics_can_need_a_token_or_live_on_their_own_listener(db: Db) {
    let app = TestApp::spawn_with(db, |s| {
        s.server.metrics_token = Some(secrecy::SecretString::from("scrape-me-0123456789"));
    })
    .await;
    let url = app.url("/metrics");
    let (status, body) = app.send(app.http.get(&url)).await;
    assert_eq!((status, &body["code"]), (401, &json!("UNAUTHORIZED")));
    let (status, _) = app.send(app.http.get(&url).bearer_auth("wrong")).await;
    assert_eq!(status, 401);
    let (status, body) = app
        .send(app.http.get(&url).bearer_auth("scrape-me-0123456789"))
        .await;
    assert_eq!(status, 200);
    assert!(
        body.as_str()
            .unwrap()
            .contains("wxpay_late_payments_total 0")
    );

    let separate = app
        .spawn_beside(|s| s.server.metrics_bind = Some("127.0.0.1:0".into()))
        .await;
    let (status, _) = separate
        .send(separate.http.get(separate.url("/metrics")))
        .await;
    assert_eq!(status, 404, "not on the API listener");
    let metrics_url = format!("{}/metrics", separate.metrics_url.clone().unwrap());
    let (status, body) = separate.send(separate.http.get(&metrics_url)).await;
    assert_eq!(status, 200);
    assert!(
        body.as_str()
            .unwrap()
            .contains("wxpay_orders_created_total")
    );
    separate.cleanup().await;
    app.cleanup().await;
}

async fn metrics_read_the_order_counts_at_most_every_few_seconds(db: Db) {
    let app = TestApp::spawn(db).await;
    app.user_with_order().await;
    let first = app.metrics().await;
    assert!(
        first.contains("wxpay_orders{status=\"awaiting_payment\"} 1"),
        "{first}"
    );
    app.user_with_order().await;
    // Within a few seconds a scrape answers from the last count instead of scanning the
    // orders table again.
    let second = app.metrics().await;
    assert!(
        second.contains("wxpay_orders{status=\"awaiting_payment\"} 1"),
        "{second}"
    );
    assert!(second.contains("wxpay_orders_created_total 2"), "{second}");
    app.cleanup().await;
}

async fn products_gone_from_the_catalog_are_no_longer_sold(db: Db) {
    let app = TestApp::spawn(db).await;
    let keep = Product {
        sku: "latte".into(),
        name: "Latte".into(),
        price_fen: 2900,
    };
    let gone = app
        .state
        .store
        .replace_catalog(std::slice::from_ref(&keep))
        .await
        .unwrap();
    assert_eq!(gone.len(), 3, "{gone:?}");
    let (_, products) = app.send(app.http.get(app.url("/v1/products"))).await;
    assert_eq!(products["products"], json!([keep]));
    let (token, _) = app.login().await;
    let (status, body) = app
        .create_order(&token, json!([{"sku": gone[0], "quantity": 1}]), None)
        .await;
    assert_eq!((status, &body["code"]), (422, &json!("UNKNOWN_SKU")));
    let (status, order) = app
        .create_order(&token, json!([{"sku": "latte", "quantity": 1}]), None)
        .await;
    assert_eq!((status, &order["amount_fen"]), (201, &json!(2900)));
    app.cleanup().await;
}

async fn concurrent_readers_of_a_stale_order_cause_one_orderquery(db: Db) {
    let app = TestApp::spawn_with(db, |s| s.orders.query_stale_after_secs = 5).await;
    let (token, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    sqlx::query("UPDATE orders SET last_checked_at = 0 WHERE order_no = $1")
        .bind(&order_no)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    // Each orderquery takes 200 ms: the readers overlap.
    app.fault(json!({"endpoint": "orderquery", "kind": "delay", "count": 100, "delay_ms": 200}))
        .await;
    let reads = join_all((0..8).map(|_| app.get_order(&token, &order_no))).await;
    for (status, body) in &reads {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["status"], "awaiting_payment");
    }
    assert_eq!(app.calls_seen("orderquery", 100).await, 1);
    assert!(app.state.order_checks.is_empty(), "no lock left behind");
    app.cleanup().await;
}

async fn housekeeping_deletes_expired_sessions_and_old_idempotency_keys(db: Db) {
    let app = TestApp::spawn(db).await;
    let (old_token, _) = app.login().await;
    let (token, _) = app.login().await;
    for key in ["old-key", "new-key"] {
        let (status, _) = app
            .create_order(&token, json!([{"sku": "latte", "quantity": 1}]), Some(key))
            .await;
        assert_eq!(status, 201);
    }
    let pool = app.state.store.pool();
    sqlx::query("UPDATE sessions SET expires_at = 1 WHERE token_hash = $1")
        .bind(wxpay_hash(&old_token))
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE idempotency_keys SET created_at = 1 WHERE idempotency_key = 'old-key'")
        .execute(pool)
        .await
        .unwrap();
    let deleted = wxpay_server::reconciliation::reconciler::housekeeping(&app.state)
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    let (status, _) = app.get_order(&old_token, "x").await;
    assert_eq!(status, 401, "the expired session is gone");
    let keys: Vec<(String,)> = sqlx::query_as("SELECT idempotency_key FROM idempotency_keys")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(keys, [("new-key".to_owned(),)]);
    // The live session still works.
    let (status, _) = app.get_order(&token, "x").await;
    assert_eq!(status, 404);
    app.cleanup().await;
}

/// The stored form of a token (hex SHA-256), as the server keeps it.
fn wxpay_hash(token: &str) -> String {
    use sha2::Digest;
    base16ct::lower::encode_string(&sha2::Sha256::digest(token.as_bytes()))
}

async fn single_session_logins_and_logout_end_tokens(db: Db) {
    let app = TestApp::spawn_with(db, |s| s.auth.single_session = true).await;
    let (first, openid) = app.login().await;
    let (second, _) = app.login_as(Some(&openid)).await;
    let status_with = |token: String| {
        let app = &app;
        async move { app.get_order(&token, "none").await.0 }
    };
    assert_eq!(
        status_with(first.clone()).await,
        401,
        "the older token was revoked"
    );
    assert_eq!(status_with(second.clone()).await, 404);
    let logout = |token: &str| {
        app.http
            .post(app.url("/v1/logout"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(logout(&second).await.unwrap().status().as_u16(), 204);
    assert_eq!(status_with(second.clone()).await, 401, "logged out");
    assert_eq!(logout(&second).await.unwrap().status().as_u16(), 401);

    // Without single_session, a second login keeps the first token.
    let multi = app.spawn_beside(|_| {}).await;
    let (a, openid) = multi.login().await;
    let (b, _) = multi.login_as(Some(&openid)).await;
    assert_eq!(multi.get_order(&a, "none").await.0, 404);
    assert_eq!(multi.get_order(&b, "none").await.0, 404);
    multi.cleanup().await;
    app.cleanup().await;
}

async fn rate_limits_key_on_the_trusted_header_and_ipv6_prefixes(db: Db) {
    let app = TestApp::spawn_with(db, |s| {
        s.limits.login_per_ip_per_minute = 2;
        s.limits.client_ip_header = Some("X-Real-IP".into());
    })
    .await;
    let shared = &app;
    let login_from = |ip: &'static str| async move {
        let sim = shared
            .sim_post("/sim/login", json!({ "appid": crate::helpers::APPID }))
            .await;
        shared
            .send(
                shared
                    .http
                    .post(shared.url("/v1/login"))
                    .header("X-Real-IP", ip)
                    .json(&json!({ "code": sim["code"] })),
            )
            .await
            .0
    };
    assert_eq!(login_from("203.0.113.7").await, 200);
    assert_eq!(login_from("203.0.113.7").await, 200);
    assert_eq!(login_from("203.0.113.7").await, 429);
    assert_eq!(login_from("203.0.113.8").await, 200, "another client");
    // One IPv6 /64 is one client, whatever address inside it.
    assert_eq!(login_from("2001:db8:aa:bb::1").await, 200);
    assert_eq!(login_from("2001:db8:aa:bb:ffff::2").await, 200);
    assert_eq!(login_from("2001:db8:aa:bb:1234::3").await, 429);
    assert_eq!(login_from("2001:db8:aa:cc::1").await, 200, "another /64");
    app.cleanup().await;
}

async fn an_order_above_wechats_limit_is_refused_before_wechat(db: Db) {
    let app = TestApp::spawn(db).await;
    app.state
        .store
        .upsert_products(&[Product {
            sku: "gold-bar".into(),
            name: "Gold bar".into(),
            price_fen: 1_500_000_000,
        }])
        .await
        .unwrap();
    let (token, _) = app.login().await;
    app.fault(json!({"endpoint": "unifiedorder", "kind": "delay", "count": 100, "delay_ms": 1}))
        .await;
    let (status, body) = app
        .create_order(&token, json!([{"sku": "gold-bar", "quantity": 2}]), None)
        .await;
    assert_eq!(
        (status, &body["code"]),
        (422, &json!("INVALID_ITEMS")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("2147483647"));
    assert_eq!(
        app.calls_seen("unifiedorder", 100).await,
        0,
        "WeChat was not asked"
    );
    let (status, _) = app
        .create_order(&token, json!([{"sku": "gold-bar", "quantity": 1}]), None)
        .await;
    assert_eq!(status, 201, "one is within the limit");
    assert_eq!(app.calls_seen("unifiedorder", 100).await, 1);
    app.cleanup().await;
}

/// The hot statements' PostgreSQL connections (handed back without sqlx's ping) are
/// reused, not reopened, also after a statement PostgreSQL refused; SQLite has none.
async fn hot_connections_are_handed_back_and_reused(db: Db) {
    let app = TestApp::spawn(db).await;
    let postgres = app.state.store.backend() == wxpay_server::store::Backend::Postgres;
    let mut paid = Vec::new();
    for _ in 0..4 {
        let (token, order_no, amount) = app.paid_order().await;
        let (status, _) = app.get_order(&token, &order_no).await;
        assert_eq!(status, 200);
        paid.push(order_no);
        assert!(amount > 0);
    }
    // A notify carrying a transaction already recorded for another order: the paying
    // statement violates a unique constraint (a database error: the connection is sound).
    let (_, openid, order) = app.user_with_order().await;
    let open = order["order_no"].as_str().unwrap();
    let first = app.state.store.order(&paid[0]).await.unwrap().unwrap();
    let xml = app
        .notify_for(open, order["amount_fen"].as_i64().unwrap())
        .field("transaction_id", first.transaction_id.as_deref().unwrap())
        .build_xml(&app.key);
    let before = app.state.store.hot_connections();
    let (status, _) = app.post_notify(xml, "text/xml").await;
    assert_eq!(status, 409);
    assert_eq!(
        app.state.store.hot_connections(),
        before,
        "a connection PostgreSQL refused a statement on is handed back, not closed"
    );
    assert_eq!(app.pay(&order, &openid).await, "requestPayment:ok");
    assert_eq!(
        app.wait_status(open, "paid", Duration::from_secs(10)).await,
        "paid"
    );
    let hot = app.state.store.hot_connections();
    if postgres {
        // max_connections 5 in the tests: at most 3 hot ones; at least one stays open.
        assert!((1..=3).contains(&hot), "{hot} hot connections");
    } else {
        assert_eq!(hot, 0);
    }
    app.cleanup().await;
}
