//! Secrets never reach logs or error bodies. Every log line (all crates, TRACE) and every
//! response body of a run through the flow, its errors and hostile input is scanned for
//! the API key, the app secret, every session_key and every bearer token.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    unreachable_pub,
    dead_code,
    clippy::print_stdout
)]

#[path = "api/helpers.rs"]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex};

use helpers::{ADMIN_TOKEN, APPID, CertFormat, Db, TestApp};
use serde_json::json;
use sqlx::Row;
use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const WRONG_KEY: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f";

#[tokio::test]
async fn no_secret_in_any_log_line_or_error_body() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let app = TestApp::spawn_refunding(Db::Sqlite, CertFormat::Pem, |_| {}).await;
    let mut bodies: Vec<String> = Vec::new();
    let mut tokens: Vec<String> = Vec::new();

    // The whole flow, twice, and the user's other calls.
    for _ in 0..2 {
        let (token, openid, order) = app.user_with_order().await;
        bodies.push(order.to_string());
        let order_no = order["order_no"].as_str().unwrap().to_owned();
        assert_eq!(app.pay(&order, &openid).await, "requestPayment:ok");
        app.wait_status(&order_no, "paid", std::time::Duration::from_secs(5))
            .await;
        for (_, body) in [
            app.get_order(&token, &order_no).await,
            app.order_action(&token, &order_no, "payment").await,
            app.order_action(&token, &order_no, "cancel").await,
            app.get_order("bogus-token", &order_no).await,
        ] {
            bodies.push(body.to_string());
        }
        // Refunds: a good one, a wrong admin token, too much.
        for (bearer, amount) in [
            (ADMIN_TOKEN, 100),
            ("wrong-admin-token", 1),
            (ADMIN_TOKEN, 1_000_000),
        ] {
            let (_, body) = app
                .send(
                    app.http
                        .post(app.url(&format!("/v1/admin/orders/{order_no}/refunds")))
                        .bearer_auth(bearer)
                        .json(&json!({ "amount_fen": amount })),
                )
                .await;
            bodies.push(body.to_string());
        }
        tokens.push(token);
    }
    // Hostile refund notifies.
    for body in [
        "<xml><return_code>SUCCESS</return_code><req_info>AAAA</req_info></xml>",
        "<xml><return_code>SUCCESS</return_code></xml>",
    ] {
        let response = app
            .http
            .post(app.url(wxpay_server::REFUND_NOTIFY_PATH))
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .unwrap();
        bodies.push(response.text().await.unwrap());
    }
    let client_key = app
        .refund_tls
        .as_ref()
        .and_then(|tls| tls.client_key_pem.clone())
        .unwrap();
    // Login errors: a used code, a blocked user, WeChat busy.
    let sim = app.sim_post("/sim/login", json!({ "appid": APPID })).await;
    for _ in 0..2 {
        let (_, body) = app
            .send(
                app.http
                    .post(app.url("/v1/login"))
                    .json(&json!({ "code": sim["code"] })),
            )
            .await;
        // A successful login's body is where the token belongs; error bodies are scanned.
        match body["token"].as_str() {
            Some(token) => tokens.push(token.to_owned()),
            None => bodies.push(body.to_string()),
        }
    }
    app.fault(json!({"endpoint": "jscode2session", "kind": "busy", "count": 3}))
        .await;
    let busy = app.sim_post("/sim/login", json!({ "appid": APPID })).await;
    bodies.push(
        app.send(
            app.http
                .post(app.url("/v1/login"))
                .json(&json!({ "code": busy["code"] })),
        )
        .await
        .1
        .to_string(),
    );
    // Hostile notifies.
    for body in [
        "<xml><return_code>SUCCESS</return_code></xml>",
        "<!DOCTYPE x><xml/>",
        "garbage",
    ] {
        bodies.push(app.post_notify(body.to_owned(), "text/xml").await.1);
    }
    let session_keys: Vec<String> = sqlx::query("SELECT session_key FROM users")
        .fetch_all(app.state.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    app.cleanup().await;

    // WeChat refusing a merchant whose key is wrong: that key must not leak either.
    let wrong = TestApp::spawn_with(Db::Sqlite, |s| {
        s.wechat.api_key = Some(secrecy::SecretString::from(WRONG_KEY));
    })
    .await;
    let (token, _) = wrong.login().await;
    tokens.push(token.clone());
    bodies.push(
        wrong
            .create_order(&token, json!([{"sku": "latte", "quantity": 1}]), None)
            .await
            .1
            .to_string(),
    );
    wrong.cleanup().await;

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    let mut secrets: Vec<(&str, String)> = vec![
        ("API key", DOC_API_KEY.to_owned()),
        ("app secret", DOC_APP_SECRET.to_owned()),
        ("wrong API key", WRONG_KEY.to_owned()),
        ("admin token", ADMIN_TOKEN.to_owned()),
        // req_info's AES key: the lower-case hex MD5 of the API key.
        ("refund notify key", {
            use md5::Digest as _;
            md5::Md5::digest(DOC_API_KEY.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        }),
    ];
    // Any line of the merchant's private key (the certificate's key for /secapi).
    secrets.extend(
        client_key
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .map(|line| ("merchant private key", line.to_owned())),
    );
    secrets.extend(session_keys.into_iter().map(|k| ("session_key", k)));
    secrets.extend(tokens.into_iter().map(|t| ("token", t)));
    assert!(secrets.len() >= 8);
    assert!(
        logs.lines().count() > 50,
        "the run logged too little to be a real check"
    );
    for (what, secret) in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a {what} appears in the logs"
        );
        for body in &bodies {
            assert!(
                !body.contains(secret.as_str()),
                "a {what} appears in a response: {body}"
            );
        }
    }
    println!(
        "secrets scan: {} secrets, {} log lines, {} response bodies: none found",
        secrets.len(),
        logs.lines().count(),
        bodies.len()
    );
}
