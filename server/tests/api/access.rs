//! Login, authentication, input limits and the ops endpoints.

use serde_json::json;

use crate::helpers::{APPID, Db, TestApp};
use crate::on_both_databases;

on_both_databases!(
    floods_get_429_with_retry_after,
    health_checks_answer_while_wechat_is_down,
    login_errors_say_what_to_do,
    requests_need_a_valid_token,
    bad_input_is_a_clear_4xx,
    health_readiness_and_metrics,
);

async fn login_errors_say_what_to_do(db: Db) {
    let app = TestApp::spawn(db).await;
    let sim = app.sim_post("/sim/login", json!({ "appid": APPID })).await;
    let login = |code: serde_json::Value| {
        app.send(
            app.http
                .post(app.url("/v1/login"))
                .json(&json!({ "code": code })),
        )
    };
    assert_eq!(login(sim["code"].clone()).await.0, 200);
    let (status, body) = login(sim["code"].clone()).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "INVALID_CODE");
    assert!(body["message"].as_str().unwrap().contains("wx.login"));
    let blocked = app
        .sim_post("/sim/login", json!({ "appid": APPID, "blocked": true }))
        .await;
    let (status, body) = login(blocked["code"].clone()).await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "LOGIN_BLOCKED");
    app.fault(json!({"endpoint": "jscode2session", "kind": "busy", "count": 5}))
        .await;
    let busy = app.sim_post("/sim/login", json!({ "appid": APPID })).await;
    let (status, body) = login(busy["code"].clone()).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "WECHAT_UNAVAILABLE");
    assert_eq!(login(json!("")).await.0, 400);
    app.cleanup().await;
}

async fn requests_need_a_valid_token(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, body) = app
        .send(
            app.http
                .post(app.url("/v1/orders"))
                .json(&json!({"items": []})),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "UNAUTHORIZED");
    let (status, _) = app
        .get_order("not-a-token", "20261127000000000000000000")
        .await;
    assert_eq!(status, 401);
    app.cleanup().await;
}

async fn bad_input_is_a_clear_4xx(db: Db) {
    let app = TestApp::spawn(db).await;
    let (token, _) = app.login().await;
    let post = |body: String, content_type: &str| {
        app.send(
            app.http
                .post(app.url("/v1/orders"))
                .bearer_auth(&token)
                .header("content-type", content_type)
                .body(body),
        )
    };
    let (status, body) = post("{not json".into(), "application/json").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_JSON")));
    let (status, body) = post(
        format!("{{\"items\":[],\"pad\":\"{}\"}}", "x".repeat(20_000)),
        "application/json",
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    let (status, body) = post("items=1".into(), "application/x-www-form-urlencoded").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (415, Some("UNSUPPORTED_MEDIA_TYPE"))
    );
    let (status, body) = app.send(app.http.get(app.url("/v2/nothing"))).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    app.cleanup().await;
}

async fn health_readiness_and_metrics(db: Db) {
    let app = TestApp::spawn(db).await;
    assert_eq!(app.send(app.http.get(app.url("/healthz"))).await.0, 200);
    assert_eq!(app.send(app.http.get(app.url("/readyz"))).await.0, 200);
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    app.user_with_order().await;
    let (status, metrics) = app.send(app.http.get(app.url("/metrics"))).await;
    assert_eq!(status, 200);
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(
        metrics.contains("wxpay_orders{status=\"awaiting_payment\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("wxpay_orders_created_total 1"));
    assert!(
        metrics.contains(
            "wxpay_http_requests_total{method=\"POST\",route=\"/v1/orders\",status=\"201\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("wxpay_http_request_duration_seconds_bucket"));
    // The database is gone: not ready, but still alive.
    app.state.store.close().await;
    assert_eq!(app.send(app.http.get(app.url("/readyz"))).await.0, 503);
    assert_eq!(app.send(app.http.get(app.url("/healthz"))).await.0, 200);
    app.cleanup().await;
}

async fn floods_get_429_with_retry_after(db: Db) {
    let app = TestApp::spawn_with(db, |s| {
        s.limits.login_per_ip_per_minute = 3;
        s.limits.orders_per_user_per_minute = 2;
    })
    .await;
    let (token, _) = app.login().await;
    app.login().await;
    app.login().await;
    let sim = app.sim_post("/sim/login", json!({ "appid": APPID })).await;
    let response = app
        .http
        .post(app.url("/v1/login"))
        .json(&json!({ "code": sim["code"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMITED");
    let items = json!([{"sku": "latte", "quantity": 1}]);
    assert_eq!(app.create_order(&token, items.clone(), None).await.0, 201);
    assert_eq!(app.create_order(&token, items.clone(), None).await.0, 201);
    let (status, body) = app.create_order(&token, items, None).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("orders for this user")
    );
    app.cleanup().await;
}

async fn health_checks_answer_while_wechat_is_down(db: Db) {
    let app = TestApp::spawn_with(db, |s| s.wechat.request_timeout_ms = 300).await;
    let (token, _) = app.login().await;
    app.sim.as_ref().unwrap().stop().await;
    for path in ["/healthz", "/readyz"] {
        assert_eq!(app.send(app.http.get(app.url(path))).await.0, 200, "{path}");
    }
    let (status, body) = app
        .create_order(&token, json!([{"sku": "latte", "quantity": 1}]), None)
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "WECHAT_UNAVAILABLE");
    assert_eq!(app.send(app.http.get(app.url("/healthz"))).await.0, 200);
    app.cleanup().await;
}
