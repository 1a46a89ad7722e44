//! Black-box: the real `wxpay` binary, driven over HTTP and its command line.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use wxpay_tests::{Sandbox, wxpay_binary};

const APPID: &str = "wxd930ea5d5a258f4f";

async fn json(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_sandbox_runs_the_whole_flow_over_http() {
    let sandbox = Sandbox::start("flow").unwrap();
    let http = wxpay_tests::http_client();
    let products = json(
        http.get(format!("{}/v1/products", sandbox.api))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(products["products"].as_array().unwrap().len(), 4);

    let wx_login = json(
        http.post(format!("{}/sim/login", sandbox.sim))
            .json(&json!({ "appid": APPID }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let login = json(
        http.post(format!("{}/v1/login", sandbox.api))
            .json(&json!({ "code": wx_login["code"] }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = login["token"].as_str().unwrap().to_owned();

    let created = http
        .post(format!("{}/v1/orders", sandbox.api))
        .bearer_auth(&token)
        .json(&json!({ "items": [{"sku": "latte", "quantity": 2}] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let order = json(created).await;
    assert_eq!(order["amount_fen"], 5600);
    let order_no = order["order_no"].as_str().unwrap().to_owned();

    let mut pay = order["payment"].clone();
    pay["appid"] = json!(APPID);
    pay["openid"] = wx_login["openid"].clone();
    let paid = json(
        http.post(format!("{}/sim/pay", sandbox.sim))
            .json(&pay)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(paid["errMsg"], "requestPayment:ok");

    let mut status = Value::Null;
    for _ in 0..100 {
        let seen = json(
            http.get(format!("{}/v1/orders/{order_no}", sandbox.api))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        status = seen["status"].clone();
        if status == "paid" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "paid");
    let notifies = json(
        http.get(format!("{}/sim/notifies", sandbox.sim))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(notifies["attempts"][0]["acknowledged"], true);
    let metrics = http
        .get(format!("{}/metrics", sandbox.api))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("wxpay_notifies_total{outcome=\"paid\"} 1"),
        "{metrics}"
    );
}

fn wxpay(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut child = Command::new(wxpay_binary().unwrap())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const KEY: (&str, &str) = ("WXPAY_API_KEY", "192006250b4c09247ec02edce69f6a2d");

#[test]
fn sign_and_verify_notify_helpers() {
    let params = r#"{"appid":"wxd930ea5d5a258f4f","mch_id":10000100,"device_info":"1000","body":"test","nonce_str":"ibuaiVcKdpRxkhJA"}"#;
    let (ok, out, _) = wxpay(&["sign"], params, &[KEY]);
    assert!(ok);
    let signed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(signed["sign"], "9A0A8659F005D6984697E2CA0A9CF3B7");
    assert!(!out.contains(KEY.1), "the key is never printed");
    let (ok, out, _) = wxpay(&["sign", "--sign-type", "HMAC-SHA256"], params, &[KEY]);
    assert!(ok);
    assert!(out.contains("6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"));
    let (ok, _, err) = wxpay(&["sign"], r#"{"total_fee": 8.88}"#, &[KEY]);
    assert!(!ok);
    assert!(err.contains("integer"), "{err}");
    let (ok, _, err) = wxpay(&["sign"], params, &[]);
    assert!(!ok);
    assert!(err.contains("WXPAY_API_KEY"), "{err}");

    let vectors: Value = serde_json::from_str(include_str!("vectors/vectors.json")).unwrap();
    let notify = vectors
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "v2_pay_notify_valid_md5")
        .unwrap();
    let body = notify["body_xml"].as_str().unwrap();
    let (ok, out, _) = wxpay(&["verify-notify"], body, &[KEY]);
    assert!(ok, "{out}");
    let verified: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["total_fee"], 1);
    let (ok, out, _) = wxpay(
        &["verify-notify"],
        &body.replace("<total_fee>1", "<total_fee>100"),
        &[KEY],
    );
    assert!(!ok);
    assert!(out.contains("\"valid\": false"));
}

#[test]
fn every_subcommand_has_help_and_production_needs_its_secrets() {
    for sub in ["serve", "sim", "migrate", "sign", "verify-notify"] {
        let (ok, out, _) = wxpay(&[sub, "--help"], "", &[]);
        assert!(ok && out.contains("Usage"), "{sub}: {out}");
    }
    let dir = std::env::temp_dir().join(format!("wxpay-blackbox-prod-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}", dir.join("prod.sqlite").display());
    let (ok, _, err) = wxpay(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            &database,
        ],
        "",
        &[],
    );
    assert!(!ok);
    assert!(
        err.contains("wechat.appid") && err.contains("WXPAY_WECHAT__APPID"),
        "{err}"
    );
    let (ok, out, err) = wxpay(&["migrate", "--database-url", &database], "", &[]);
    assert!(ok, "{err}");
    assert!(out.contains("\"migrated\": true"));
    let _ = std::fs::remove_dir_all(dir);
}
