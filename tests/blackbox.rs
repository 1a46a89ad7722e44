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

/// A user logs in, orders two lattes, pays in the simulator, and the order is read back
/// until it is paid: (the order as last read, the user's token).
async fn buy_two_lattes(sandbox: &Sandbox) -> (Value, String) {
    let http = wxpay_tests::http_client();
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

    let mut seen = Value::Null;
    for _ in 0..100 {
        seen = json(
            http.get(format!("{}/v1/orders/{order_no}", sandbox.api))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if seen["status"] == "paid" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (seen, token)
}

/// Refunds part of a paid order through the admin API with the sandbox's documented token,
/// and waits until WeChat (the simulator) has refunded it: the order as its owner sees it.
async fn refund_part(sandbox: &Sandbox, order: &Value, token: &str) -> Value {
    let http = wxpay_tests::http_client();
    let order_no = order["order_no"].as_str().unwrap();
    let amount = order["amount_fen"].as_i64().unwrap();
    let refund = http
        .post(format!(
            "{}/v1/admin/orders/{order_no}/refunds",
            sandbox.api
        ))
        .bearer_auth("sandbox-admin")
        .header("Idempotency-Key", "blackbox-1")
        .json(&serde_json::json!({"amount_fen": amount / 2, "reason": "退货"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refund.status().as_u16(), 201, "{}", sandbox.log());
    let refund = json(refund).await;
    assert_eq!(refund["status"], "processing", "{refund}");
    // WeChat takes a while (the simulator: 10 s); finished now as the merchant platform
    // would, its notify then settles the refund.
    let finished = http
        .post(format!(
            "{}/sim/refunds/{}/status",
            sandbox.sim,
            refund["out_refund_no"].as_str().unwrap()
        ))
        .json(&serde_json::json!({"status": "SUCCESS"}))
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status().as_u16(), 200);
    let mut seen = Value::Null;
    for _ in 0..200 {
        seen = json(
            http.get(format!("{}/v1/orders/{order_no}", sandbox.api))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if seen["status"] == "partially_refunded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen["refunded_fen"],
        amount / 2,
        "{seen}\n{}",
        sandbox.log()
    );
    seen
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
    let (order, token) = buy_two_lattes(&sandbox).await;
    assert_eq!(order["status"], "paid", "{order}");
    assert_eq!(order["late_payment"], false);
    // Refunds work out of the box: v2 over mutual TLS with the simulator's certificate.
    let refunded = refund_part(&sandbox, &order, &token).await;
    assert_eq!(refunded["status"], "partially_refunded");
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

    // Today reconciles (the sandbox's bills exist at once) over the admin API and with
    // `wxpay reconcile` on the same database: the same report from the one stored bill.
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date()
        .to_string();
    let report = json(
        http.post(format!("{}/v1/admin/reconciliation/{today}", sandbox.api))
            .bearer_auth("sandbox-admin")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(report["balanced"], true, "{report}");
    assert_eq!(report["bill"]["payments"], 1, "{report}");
    assert_eq!(report["bill"]["refunds"], 1, "{report}");
    assert_eq!(report["matched"], 2, "{report}");
    let database = format!("sqlite://{}", sandbox.dir.join("sandbox.sqlite").display());
    let env = [
        ("WXPAY_SERVER__PUBLIC_BASE_URL", sandbox.api.as_str()),
        ("WXPAY_WECHAT__APPID", wxpay_sim::config::DOC_APPID),
        ("WXPAY_WECHAT__MCH_ID", wxpay_sim::config::DOC_MCH_ID),
        (
            "WXPAY_WECHAT__APP_SECRET",
            wxpay_sim::config::DOC_APP_SECRET,
        ),
        ("WXPAY_WECHAT__API_KEY", wxpay_sim::config::DOC_API_KEY),
        ("WXPAY_WECHAT__MP_BASE_URL", sandbox.sim.as_str()),
        ("WXPAY_WECHAT__PAY_BASE_URL", sandbox.sim.as_str()),
        ("WXPAY_DATABASE__URL", database.as_str()),
        ("WXPAY_RECONCILIATION__UNFINISHED_DAYS", "true"),
    ];
    let (code, out, err) = wxpay_exit(&["reconcile", "--date", &today], "", &env);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), report);
    // The order's amount changed behind the server's back: reported, exit 1.
    let order_no = order["order_no"].as_str().unwrap();
    let pool = sqlx::SqlitePool::connect(&database).await.unwrap();
    sqlx::query("UPDATE orders SET amount_fen = amount_fen + 1 WHERE order_no = ?")
        .bind(order_no)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (code, out, err) = wxpay_exit(&["reconcile", "--date", &today], "", &env);
    assert_eq!(code, Some(1), "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["findings"][0]["kind"], "amount_differs", "{report}");
    assert_eq!(report["findings"][0]["subject"], order_no, "{report}");
    assert!(
        !out.contains(wxpay_sim::config::DOC_API_KEY)
            && !err.contains(wxpay_sim::config::DOC_API_KEY),
        "a secret printed"
    );
    let (code, _, err) = wxpay_exit(&["reconcile", "--date", "2026-02-30"], "", &env);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a date as YYYY-MM-DD"), "{err}");
}

/// SIGTERM (systemd, Docker) stops the server gracefully and it says so; its log file
/// has no colour codes and durations rounded to the microsecond.
#[tokio::test]
async fn the_sandbox_stops_on_sigterm_and_says_so() {
    let dir = wxpay_tests::test_dir("sigterm").unwrap();
    let sandbox = Sandbox::start_in(&dir, &[], &[("RUST_LOG", "info")]).unwrap();
    let (order, _) = buy_two_lattes(&sandbox).await;
    assert_eq!(order["status"], "paid", "{order}");
    let (clean, log) = sandbox.terminate();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(clean, "{log}");
    assert!(
        log.contains("shutting down") && log.contains("SIGTERM") && log.contains("wxpay stopped"),
        "{log}"
    );
    assert!(!log.contains('\u{1b}'), "colour codes in a log file: {log}");
    let durations: Vec<&str> = log
        .lines()
        .filter_map(|line| line.split("elapsed_ms=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert!(!durations.is_empty(), "{log}");
    for duration in durations {
        let decimals = duration.split('.').nth(1).map_or(0, str::len);
        assert!(decimals <= 3, "{duration}");
    }
}

/// `wxpay serve --sandbox --api v3` in each key mode: the same flow over HTTP, paid by a
/// v3 notify (204) whose serial is the key the mode signs with.
#[tokio::test]
async fn the_v3_sandbox_runs_the_whole_flow_in_each_key_mode() {
    for mode in ["public_key", "platform_certificate", "migrating"] {
        let sandbox =
            Sandbox::start_with(&format!("v3-{mode}"), &["--api", "v3", "--key-mode", mode])
                .unwrap();
        // The banner's later lines reach the log a moment after the URLs.
        let said = format!("v3 ({mode})");
        for _ in 0..100 {
            if sandbox.log().contains(&said) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(sandbox.log().contains(&said), "{}", sandbox.log());
        let (order, token) = buy_two_lattes(&sandbox).await;
        assert_eq!(
            order["status"],
            "paid",
            "{mode}: {order}\n{}",
            sandbox.log()
        );
        refund_part(&sandbox, &order, &token).await;
        let http = wxpay_tests::http_client();
        let notifies = json(
            http.get(format!("{}/sim/notifies", sandbox.sim))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let attempt = &notifies["attempts"][0];
        assert_eq!(attempt["api"], "v3", "{mode}");
        assert_eq!(attempt["http_status"], 204, "{mode}");
        let serial = attempt["serial"].as_str().unwrap();
        assert_eq!(
            serial.starts_with("PUB_KEY_ID_"),
            mode == "public_key",
            "{mode}: {serial}"
        );
    }
}

/// The README's sandbox command, started twice on the same working directory (its
/// default database): payments after the restart are paid too (the simulator has a
/// fresh seed each start, so its transaction ids do not repeat the recorded ones).
#[tokio::test]
async fn the_sandbox_keeps_working_after_a_restart() {
    let dir = wxpay_tests::test_dir("restart").unwrap();
    let mut paid = Vec::new();
    for start in 0..2 {
        let sandbox = Sandbox::start_in(&dir, &[], &[]).unwrap();
        for _ in 0..2 {
            let (order, _) = buy_two_lattes(&sandbox).await;
            assert_eq!(order["status"], "paid", "start {start}: {order}");
            paid.push(order["transaction_id"].as_str().unwrap().to_owned());
        }
        assert!(dir.join("wxpay-sandbox.sqlite").exists());
    }
    paid.dedup();
    assert_eq!(paid.len(), 4, "four payments, four transactions");
    // --sim-seed makes a run repeatable (and, on the same database, shows why the default
    // is a fresh seed: the first seeded run's transaction ids are taken by then).
    let seeded = Sandbox::start_in(&dir, &["--sim-seed", "7"], &[]).unwrap();
    let (order, _) = buy_two_lattes(&seeded).await;
    assert_eq!(order["status"], "paid", "{order}");
    drop(seeded);
    let _ = std::fs::remove_dir_all(dir);
}

/// An inherited WXPAY_DATABASE__URL may point at a real database: the sandbox ignores it
/// (with a warning) and never writes to a database it did not create.
#[tokio::test]
async fn the_sandbox_only_writes_to_its_own_database() {
    let dir = wxpay_tests::test_dir("sandbox-db").unwrap();
    let production = format!("sqlite://{}", dir.join("production.sqlite").display());
    let sandbox = Sandbox::start_in(&dir, &[], &[("WXPAY_DATABASE__URL", &production)]).unwrap();
    let (order, _) = buy_two_lattes(&sandbox).await;
    assert_eq!(order["status"], "paid");
    assert!(
        sandbox
            .log()
            .contains("WXPAY_DATABASE__URL is ignored in sandbox mode"),
        "{}",
        sandbox.log()
    );
    drop(sandbox);
    assert!(!dir.join("production.sqlite").exists(), "never touched");
    assert!(dir.join("wxpay-sandbox.sqlite").exists());

    // A wxpay database the sandbox did not create, where the sandbox's file would be.
    let other = wxpay_tests::test_dir("sandbox-db-other").unwrap();
    let foreign = format!("sqlite://{}", other.join("wxpay-sandbox.sqlite").display());
    let (ok, _, err) = wxpay(&["migrate", "--database-url", &foreign], "", &[]);
    assert!(ok, "{err}");
    let refused = Sandbox::start_in(&other, &[], &[]).unwrap_err();
    assert!(
        refused.contains("not created by `wxpay serve --sandbox`"),
        "{refused}"
    );
    // Given on the command line, it is used on purpose.
    let chosen = Sandbox::start_in(&other, &["--database-url", &foreign], &[]).unwrap();
    let (order, _) = buy_two_lattes(&chosen).await;
    assert_eq!(order["status"], "paid");
    drop(chosen);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(other);
}

fn wxpay(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let (code, out, err) = wxpay_exit(args, stdin, env);
    (code == Some(0), out, err)
}

/// [`wxpay`] with the exit code.
fn wxpay_exit(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
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
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const KEY: (&str, &str) = ("WXPAY_API_KEY", "192006250b4c09247ec02edce69f6a2d");

/// A golden vector of `tests/vectors/vectors.json`, by name.
fn vector(name: &str) -> Value {
    let vectors: Value = serde_json::from_str(include_str!("vectors/vectors.json")).unwrap();
    vectors
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap()
        .clone()
}

/// `wxpay explain` on the real binary: correct params, classic mistakes, a notify checked
/// with the right and a wrong key; exit code 1 when there is a problem.
#[test]
fn explain_names_each_problem() {
    use wxpay_core::v2::{Params, sign};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let mut signed = Params::new();
    for (name, value) in [
        ("appId", "wxd930ea5d5a258f4f"),
        ("timeStamp", now.as_str()),
        ("nonceStr", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
        ("package", "prepay_id=wx30123456789012345678901234567890"),
        ("signType", "MD5"),
    ] {
        signed.insert(name, value.to_owned());
    }
    let key = wxpay_core::ApiKey::new(KEY.1).unwrap();
    let pay_sign = sign::sign(&signed, &key, sign::SignType::Md5);
    let params = serde_json::json!({
        "appId": "wxd930ea5d5a258f4f", "timeStamp": now, "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        "package": "prepay_id=wx30123456789012345678901234567890", "signType": "MD5", "paySign": pay_sign.as_str(),
    });
    let (ok, out, err) = wxpay(&["explain"], &params.to_string(), &[KEY]);
    assert!(ok, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(report["expected"], pay_sign.as_str());
    assert_eq!(report["canonical"], signed.canonical_string());
    let codes = |out: &str| -> Vec<String> {
        let report: Value = serde_json::from_str(out).unwrap();
        report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut millis = params.clone();
    millis["timeStamp"] = Value::String(format!("{now}000"));
    let (ok, out, _) = wxpay(&["explain"], &millis.to_string(), &[]);
    assert!(!ok);
    assert!(
        codes(&out).contains(&"TIMESTAMP_MILLISECONDS".to_owned()),
        "{out}"
    );
    let mut lower = params.clone();
    lower["paySign"] = Value::String(pay_sign.as_str().to_lowercase());
    let (ok, out, _) = wxpay(&["explain"], &lower.to_string(), &[KEY]);
    assert!(!ok);
    assert!(
        codes(&out).contains(&"PAYSIGN_LOWERCASE".to_owned()),
        "{out}"
    );
    let other_key = ("WXPAY_API_KEY", "00000000000000000000000000000000");
    let (ok, out, _) = wxpay(&["explain"], &params.to_string(), &[other_key]);
    assert!(!ok);
    assert!(
        codes(&out).contains(&"WRONG_KEY_LIKELY".to_owned()),
        "{out}"
    );
    assert!(!out.contains(KEY.1), "the key is never printed");

    let notify = vector("v2_pay_notify_valid_md5");
    let body = notify["body_xml"].as_str().unwrap();
    let (ok, out, _) = wxpay(&["explain"], body, &[KEY]);
    assert!(ok, "{out}");
    let (ok, out, _) = wxpay(&["explain"], body, &[other_key]);
    assert!(!ok);
    assert_eq!(codes(&out), ["BAD_SIGNATURE"], "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_ne!(report["expected"], report["given"]);

    // v3: paySign with the merchant's public key; a notify with WeChat's certificate.
    let keys = vector("v3_test_keys");
    let v = vector("v3_requestPayment_paySign_generated_key");
    let dir = wxpay_tests::test_dir("explain-v3").unwrap();
    let cert = dir.join("merchant_public_key.pem");
    std::fs::write(&cert, keys["merchant_public_key_pem"].as_str().unwrap()).unwrap();
    let v3_params = serde_json::json!({
        "appId": v["appId"], "timeStamp": v["timeStamp"], "nonceStr": v["nonceStr"],
        "package": v["package"], "signType": "RSA", "paySign": v["expected_paySign"],
    });
    let at = v["timeStamp"].as_str().unwrap();
    let cert_arg = cert.display().to_string();
    let (ok, out, _) = wxpay(
        &["explain", "--cert", &cert_arg, "--now", at],
        &v3_params.to_string(),
        &[],
    );
    assert!(ok, "{out}");
    let mut wrong = v3_params.clone();
    wrong["nonceStr"] = Value::String("x".repeat(16));
    let (ok, out, _) = wxpay(
        &["explain", "--cert", &cert_arg, "--now", at],
        &wrong.to_string(),
        &[],
    );
    assert!(!ok);
    assert!(
        codes(&out).contains(&"PAYSIGN_MISMATCH".to_owned()),
        "{out}"
    );
    let n = vector("v3_notify_end_to_end");
    let platform = dir.join("platform.pem");
    std::fs::write(
        &platform,
        keys["platform_certificate_pem"].as_str().unwrap(),
    )
    .unwrap();
    let serial = n["headers"]["Wechatpay-Serial"].as_str().unwrap();
    let wechat_key = format!("{serial}={}", platform.display());
    let now = n["now_for_skew_check"].to_string();
    let captured = serde_json::json!({ "headers": n["headers"], "body": n["body"] });
    let (ok, out, _) = wxpay(
        &["explain", "--wechat-key", &wechat_key, "--now", &now],
        &captured.to_string(),
        &[],
    );
    assert!(ok, "{out}");
    let mut tampered = captured.clone();
    tampered["body"] = Value::String(n["body"].as_str().unwrap().replacen('"', "'", 1));
    let (ok, out, _) = wxpay(
        &["explain", "--wechat-key", &wechat_key, "--now", &now],
        &tampered.to_string(),
        &[],
    );
    assert!(!ok);
    assert_eq!(codes(&out), ["BAD_SIGNATURE"], "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `wxpay explain` on a captured message push (wechatpy's, secure mode): verified with the
/// Token and key from the environment, then each mistake named; neither is ever printed.
#[test]
fn explain_names_why_a_push_does_not_verify() {
    let file: Value = serde_json::from_str(include_str!(
        "../crates/wxpay-core/tests/vectors/push_wechatpy.json"
    ))
    .unwrap();
    let v = &file["vectors"][0];
    let text = |name: &str| v[name].as_str().unwrap().to_owned();
    let (token, key, appid) = (text("token"), text("encoding_aes_key"), text("appid"));
    let env = [
        ("WXPAY_SHIPPING__PUSH_TOKEN", token.as_str()),
        ("WXPAY_SHIPPING__PUSH_AES_KEY", key.as_str()),
    ];
    let url = format!(
        "https://shop.example/wechat/mp/events?signature={}&timestamp={}&nonce={}&openid=o1&encrypt_type=aes&msg_signature={}",
        text("url_signature"),
        text("timestamp"),
        text("nonce"),
        text("msg_signature")
    );
    let captured = serde_json::json!({
        "query": url,
        "body": format!("<xml><Encrypt><![CDATA[{}]]></Encrypt></xml>", text("encrypt")),
    });
    let at = text("timestamp");
    let explain = |extra: &[&str], env: &[(&str, &str)]| {
        let args: Vec<&str> = ["explain"]
            .into_iter()
            .chain(extra.iter().copied())
            .collect();
        let (ok, out, err) = wxpay(&args, &captured.to_string(), env);
        assert!(!out.contains(&token) && !out.contains(&key), "{out}");
        let report: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}{err}"));
        let codes: Vec<String> = report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}:{}",
                    p["field"].as_str().unwrap(),
                    p["code"].as_str().unwrap()
                )
            })
            .collect();
        (ok, report, codes)
    };
    let (ok, report, codes) = explain(&["--appid", &appid, "--now", &at], &env);
    assert!(ok, "{codes:?}");
    assert_eq!(report["kind"], "encrypted push");
    assert_eq!(report["message"], v["message"]);
    assert_eq!(report["event"], "trade_manage_order_settlement");

    let other_token = [("WXPAY_SHIPPING__PUSH_TOKEN", "another")];
    let (ok, _, codes) = explain(&["--appid", &appid, "--now", &at], &other_token);
    assert!(!ok);
    assert_eq!(
        codes,
        [
            "query.signature:BAD_SIGNATURE",
            "query.msg_signature:BAD_SIGNATURE",
            "encodingAesKey:KEY_REQUIRED"
        ]
    );
    let (ok, report, codes) = explain(&["--appid", "wxother", "--now", &at], &env);
    assert!(!ok);
    assert_eq!(codes, ["appid:WRONG_APPID"]);
    assert_eq!(report["appidFound"], appid.as_str());
    assert!(report.get("message").is_none());
    let (_, _, codes) = explain(
        &["--appid", &appid, "--max-age-secs", "0", "--now", "1"],
        &env,
    );
    assert_eq!(codes, ["query.timestamp:TIMESTAMP_OUTSIDE_WINDOW"]);
}

/// `wxpay doctor` on the real binary: a database that does not exist yet, then a correct
/// configuration (exit 0), then the app secret used as the API key (exit 1, named); JSON.
#[test]
fn doctor_names_the_mistake_and_exits_1() {
    let dir = wxpay_tests::test_dir("doctor").unwrap();
    let database = format!("sqlite://{}", dir.join("shop.sqlite").display());
    let mut env = vec![
        ("WXPAY_SERVER__PUBLIC_BASE_URL", "https://pay.example.com"),
        ("WXPAY_WECHAT__APPID", "wx1111111111111111"),
        ("WXPAY_WECHAT__MCH_ID", "1900000109"),
        (
            "WXPAY_WECHAT__APP_SECRET",
            "3a1f0e7b9c2d4e6f8a0b1c2d3e4f5a6b",
        ),
        ("WXPAY_WECHAT__API_KEY", "Kq8mZ2xW4vN6pR0tY3uB5cE7gH9jL1aS"),
        ("WXPAY_DATABASE__URL", database.as_str()),
    ];
    let (ok, out, err) = wxpay(&["doctor"], "", &env);
    assert!(!ok, "{out}{err}");
    assert!(
        out.contains("database") && out.contains("does not exist"),
        "{out}"
    );
    assert!(
        !dir.join("shop.sqlite").exists(),
        "the doctor created the database"
    );
    let (ok, _, err) = wxpay(&["migrate"], "", &env);
    assert!(ok, "{err}");
    let (ok, out, err) = wxpay(&["doctor"], "", &env);
    assert!(ok, "{out}{err}");
    assert!(out.contains("every migration applied"), "{out}");
    env[3] = (
        "WXPAY_WECHAT__APP_SECRET",
        "Kq8mZ2xW4vN6pR0tY3uB5cE7gH9jL1aS",
    );
    let (ok, out, _) = wxpay(&["doctor", "--json"], "", &env);
    assert!(!ok);
    let lines: Value = serde_json::from_str(&out).unwrap();
    assert!(
        lines
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["check"] == "secrets_distinct" && l["status"] == "error"),
        "{out}"
    );
    assert!(
        !out.contains("Kq8mZ2xW4vN6pR0tY3uB5cE7gH9jL1aS"),
        "a secret printed: {out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `sign --v3` and `verify-notify --v3` with test keys (a throwaway key pair stands in for
/// the merchant's and for WeChat's): outputs checked with the core, keys never printed.
#[test]
fn v3_sign_and_verify_notify_helpers() {
    use wxpay_core::v3::testing;
    let dir = wxpay_tests::test_dir("cli-v3").unwrap();
    let key_pem = include_str!("../crates/wxpay-core/tests/data/merchant_key_pkcs1.pem");
    let public_pem = include_str!("../crates/wxpay-core/tests/data/test_public_key.pem");
    let key_file = dir.join("apiclient_key.pem");
    let public_file = dir.join("pub_key.pem");
    std::fs::write(&key_file, key_pem).unwrap();
    std::fs::write(&public_file, public_pem).unwrap();
    let key_path = key_file.display().to_string();

    let (ok, out, err) = wxpay(
        &[
            "sign",
            "--v3",
            "--method",
            "POST",
            "--url",
            "/v3/pay/transactions/jsapi",
            "--mchid",
            "1900000109",
            "--serial",
            "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
            "--private-key",
            &key_path,
            "--timestamp",
            "1554208460",
            "--nonce",
            "593BEC0C930BF1AFEB40B4A08C8FB242",
        ],
        r#"{"appid":"wxd678efh567hg6787"}"#,
        &[],
    );
    assert!(ok, "{err}");
    let signed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        signed["message"],
        "POST\n/v3/pay/transactions/jsapi\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{\"appid\":\"wxd678efh567hg6787\"}\n"
    );
    let header = signed["authorization"].as_str().unwrap();
    let parsed = wxpay_core::v3::Authorization::parse(header).unwrap();
    assert_eq!(parsed.mchid, "1900000109");
    let public = wxpay_core::v3::keys::public_key_from_pem(public_pem, "test").unwrap();
    let signature = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&parsed.signature)
            .unwrap()
    };
    assert!(public.verify_sha256(signed["message"].as_str().unwrap().as_bytes(), &signature));
    assert!(!out.contains("PRIVATE KEY") && !err.contains("PRIVATE KEY"));
    let (ok, _, err) = wxpay(&["sign", "--v3", "--url", "/v3/x"], "{}", &[]);
    assert!(!ok && err.contains("--private-key"), "{err}");

    // A notify as captured: headers as `Name: value` lines, the body on stdin.
    let id = "PUB_KEY_ID_0114232134912410000000000000000004";
    let apiv3 = "0123456789abcdefghijklmnopqrstuv";
    let signer = wxpay_core::v3::RsaPrivateKey::from_pem(key_pem).unwrap();
    let payment = testing::payment(
        "wxd930ea5d5a258f4f",
        "1900000109",
        "20261130000000000000000001",
        "4200000001",
        wxpay_core::Fen::new(2800),
    );
    let notify = testing::notify(&payment, apiv3.as_bytes(), &signer, id, 1_796_000_000).unwrap();
    let headers_file = dir.join("headers.txt");
    let lines: String = notify
        .headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\n"))
        .collect();
    std::fs::write(&headers_file, lines).unwrap();
    let headers_path = headers_file.display().to_string();
    let key_arg = format!("{id}={}", public_file.display());
    let verify = |body: &str, now: &str| {
        wxpay(
            &[
                "verify-notify",
                "--v3",
                "--headers",
                &headers_path,
                "--key",
                &key_arg,
                "--now",
                now,
            ],
            body,
            &[("WXPAY_APIV3_KEY", apiv3)],
        )
    };
    let (ok, out, err) = verify(&notify.body, "1796000010");
    assert!(ok, "{out}{err}");
    let verified: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["serial"], id);
    assert_eq!(
        verified["resource"]["out_trade_no"],
        "20261130000000000000000001"
    );
    assert_eq!(verified["resource"]["amount"]["total"], 2800);
    assert!(!out.contains(apiv3));
    let (ok, out, _) = verify(
        &notify.body.replace("encrypt-resource", "encrypt-resourcE"),
        "1796000010",
    );
    assert!(!ok);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["valid"], false);
    let (ok, out, _) = verify(&notify.body, "1796001000");
    assert!(!ok);
    assert!(out.contains("--now"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

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

    let notify = vector("v2_pay_notify_valid_md5");
    let body = notify["body_xml"].as_str().unwrap();
    let (ok, out, _) = wxpay(&["verify-notify"], body, &[KEY]);
    assert!(ok, "{out}");
    let verified: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["total_fee"], 1);
    // Every verified field, not a selection.
    let fields = verified["fields"].as_object().unwrap();
    for name in [
        "openid",
        "bank_type",
        "cash_fee",
        "nonce_str",
        "trade_type",
        "is_subscribe",
    ] {
        assert!(fields.contains_key(name), "{name}: {out}");
    }
    // An order bound to HMAC-SHA256 and an MD5-signed notify: said as such.
    let (ok, out, _) = wxpay(
        &["verify-notify", "--sign-type", "HMAC-SHA256"],
        body,
        &[KEY],
    );
    assert!(!ok);
    assert!(
        out.contains("the order is HMAC-SHA256 but this message is signed MD5"),
        "{out}"
    );
    // A missing file is named.
    let (ok, _, err) = wxpay(&["verify-notify", "/nonexistent/notify.xml"], "", &[KEY]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/notify.xml"), "{err}");
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
        // No `[env: NAME=]`: an unset variable's empty value is not shown.
        assert!(!out.contains("=]"), "{sub}: {out}");
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

/// Production (`serve` without `--sandbox`) refuses WeChat's documentation credentials,
/// plain-HTTP URLs (unless --insecure-http) and orders shorter-lived than WeChat allows,
/// and names the key to fix.
#[test]
fn production_refuses_unsafe_settings() {
    let dir = wxpay_tests::test_dir("prod-unsafe").unwrap();
    let database = format!("sqlite://{}", dir.join("prod.sqlite").display());
    use wxpay_tests::merchant;
    let good = [
        ("WXPAY_SERVER__PUBLIC_BASE_URL", "https://pay.example.com"),
        ("WXPAY_WECHAT__APPID", merchant::APPID),
        ("WXPAY_WECHAT__MCH_ID", merchant::MCH_ID),
        ("WXPAY_WECHAT__APP_SECRET", merchant::APP_SECRET),
        ("WXPAY_WECHAT__API_KEY", merchant::API_KEY),
    ];
    let serve = |spoil: (&str, &str), extra: &[&str]| {
        let env: Vec<(&str, &str)> = good
            .iter()
            .copied()
            .filter(|(k, _)| *k != spoil.0)
            .chain([spoil])
            .collect();
        let mut args = vec![
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            &database,
        ];
        args.extend_from_slice(extra);
        wxpay(&args, "", &env)
    };
    for (spoil, key) in [
        (("WXPAY_WECHAT__APPID", APPID), "wechat.appid"),
        (("WXPAY_WECHAT__MCH_ID", "10000100"), "wechat.mch_id"),
        (
            ("WXPAY_WECHAT__API_KEY", "192006250b4c09247ec02edce69f6a2d"),
            "wechat.api_key",
        ),
        (
            ("WXPAY_SERVER__PUBLIC_BASE_URL", "http://pay.example.com"),
            "server.public_base_url",
        ),
        (("WXPAY_ORDERS__TTL_SECS", "60"), "orders.ttl_secs"),
    ] {
        let (ok, _, err) = serve(spoil, &[]);
        assert!(!ok, "{key}");
        assert!(
            err.contains("refusing to start") && err.contains(key),
            "{key}: {err}"
        );
        assert!(!err.contains("192006250b4c09247ec02edce69f6a2d"), "{err}");
    }
    // --insecure-http lets plain http through (and start-up then goes on: the bind of a
    // busy port fails, later, for another reason).
    let (_, _, err) = serve(
        ("WXPAY_SERVER__PUBLIC_BASE_URL", "http://127.0.0.1:9"),
        &["--insecure-http", "--bind", "256.0.0.1:1"],
    );
    assert!(!err.contains("refusing to start"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
