//! Refunds: v2 over mutual TLS (the merchant's certificate, as PEM or as the legacy
//! `.p12`), `refundquery`, the `req_info` notify; v3 create / query and `REFUND.*`
//! notifies; WeChat's rules and the refund faults.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use wxpay_core::v2::refund::decrypt_refund_info;
use wxpay_core::v2::sign::SignType;
use wxpay_core::v2::{Params, sign, xml};
use wxpay_core::v3::verify::SignatureHeaders;
use wxpay_core::v3::{ApiV3Key, verify_notify};
use wxpay_sim::config::KeyMode;
use wxpay_sim::secapi::SandboxTls;

use crate::helpers::{Answer, MCH_ID, Order, Receiver, TestSim, base_params};
use crate::v3_helpers::{V3Merchant, V3Receiver, config as v3_config};

/// A paid v2 trade of 888 fen: its out_trade_no.
async fn paid(sim: &TestSim, no: &str) -> String {
    let mut order = Order::new(no, "https://merchant.example.com/notify");
    let prepay = sim.order_for_new_user(&mut order).await;
    assert_eq!(
        sim.pay(&prepay, SignType::Md5, &order.openid, "ok").await,
        "requestPayment:ok"
    );
    no.to_owned()
}

async fn tls(sim: &TestSim) -> SandboxTls {
    let (status, body) = sim.get_json(&format!("/sim/merchants/{MCH_ID}/tls")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

/// An HTTPS client trusting the simulator's root, presenting `identity` (PEM: certificate
/// and key) when given.
fn client(tls: &SandboxTls, identity: Option<String>) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(tls.ca_pem.as_bytes()).unwrap());
    if let Some(pem) = identity {
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

fn identity(tls: &SandboxTls) -> String {
    format!(
        "{}\n{}",
        tls.client_key_pem.as_deref().unwrap(),
        tls.client_cert_pem
    )
}

fn refund_params(no: &str, out_refund_no: &str, refund_fee: &str) -> Params<'static> {
    base_params(&[
        ("out_trade_no", no),
        ("out_refund_no", out_refund_no),
        ("total_fee", "888"),
        ("refund_fee", refund_fee),
        ("refund_desc", "退货"),
    ])
}

/// A signed refund request over `http`: the reply's fields (verified when SUCCESS).
async fn refund(
    sim: &TestSim,
    http: &reqwest::Client,
    url: &str,
    mut params: Params<'static>,
) -> Result<Params<'static>, (u16, String)> {
    sign::sign_in_place(&mut params, &sim.key, SignType::Md5);
    let response = http
        .post(format!("{url}/secapi/pay/refund"))
        .body(xml::to_xml(&params).unwrap())
        .send()
        .await
        .map_err(|e| (0, e.to_string()))?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    if status != 200 {
        return Err((status, body));
    }
    let reply = xml::parse(body.as_bytes()).unwrap().into_owned();
    if reply.get("return_code") == Some("SUCCESS") {
        assert!(sign::verify(&reply, &sim.key, Some(SignType::Md5)).is_ok());
    }
    Ok(reply)
}

#[tokio::test]
async fn v2_refunds_need_the_merchants_certificate() {
    let sim = TestSim::start(1000.0).await;
    let no = paid(&sim, "refund-tls-1").await;
    let tls = tls(&sim).await;
    assert!(tls.secapi_base_url.starts_with("https://127.0.0.1:"));
    assert_eq!(tls.p12_password, MCH_ID);
    let url = tls.secapi_base_url.clone();

    // No client certificate: WeChat's front end answers like nginx does.
    let refused = refund(
        &sim,
        &client(&tls, None),
        &url,
        refund_params(&no, "R1", "100"),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.0, 400);
    assert!(refused.1.contains("No required SSL certificate was sent"));
    // Plain HTTP on the main listener: no certificate either.
    let (status, body) = sim
        .post_raw("/secapi/pay/refund", "<xml></xml>".into())
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("No required SSL certificate was sent"));

    // The merchant's certificate as PEM: accepted, PROCESSING, then SUCCESS.
    let https = client(&tls, Some(identity(&tls)));
    let reply = refund(&sim, &https, &url, refund_params(&no, "R1", "100"))
        .await
        .unwrap();
    assert_eq!(reply.get("result_code"), Some("SUCCESS"), "{reply:?}");
    assert_eq!(reply.get("refund_fee"), Some("100"));
    assert!(reply.get("refund_id").unwrap().starts_with("503"));

    // The same certificate from the legacy .p12, as a merchant downloads it.
    let p12 = base64::engine::general_purpose::STANDARD
        .decode(tls.client_p12_base64.as_deref().unwrap())
        .unwrap();
    let store = p12_keystore::KeyStore::from_pkcs12(&p12, MCH_ID).unwrap();
    let (_, chain) = store.private_key_chain().unwrap();
    let pem = |label: &str, der: &[u8]| {
        pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap()
    };
    let from_p12 = format!(
        "{}{}",
        pem("PRIVATE KEY", chain.key()),
        pem("CERTIFICATE", chain.chain()[0].as_der())
    );
    let reply = refund(
        &sim,
        &client(&tls, Some(from_p12)),
        &url,
        refund_params(&no, "R2", "88"),
    )
    .await
    .unwrap();
    assert_eq!(reply.get("result_code"), Some("SUCCESS"), "{reply:?}");
    assert!(p12_keystore::KeyStore::from_pkcs12(&p12, "wrong").is_err());

    // Another merchant's certificate: CERT_ERROR.
    let (status, _) = sim
        .post_json(
            "/sim/merchants",
            json!({
                "appid": "wx1111111111111111",
                "mch_id": "1900000109",
                "api_key": "qazwsxedcrfvtgbyhnujmikolp111111",
                "app_secret": "abcdefabcdefabcdefabcdefabcdefab",
            }),
        )
        .await;
    assert_eq!(status, 201);
    let (_, theirs) = sim.get_json("/sim/merchants/1900000109/tls").await;
    let theirs: SandboxTls = serde_json::from_value(theirs).unwrap();
    let reply = refund(
        &sim,
        &client(&tls, Some(identity(&theirs))),
        &url,
        refund_params(&no, "R3", "1"),
    )
    .await
    .unwrap();
    assert_eq!(reply.get("err_code"), Some("CERT_ERROR"), "{reply:?}");
    // A certificate the simulator's root did not issue: the handshake fails.
    let stranger = format!(
        "{}\n{}",
        include_str!("../../../wxpay-core/tests/data/merchant_key_pkcs1.pem"),
        include_str!("../../../wxpay-core/tests/data/merchant_cert.pem")
    );
    let refused = refund(
        &sim,
        &client(&tls, Some(stranger)),
        &url,
        refund_params(&no, "R4", "1"),
    )
    .await;
    assert_eq!(refused.unwrap_err().0, 0, "no HTTP reply at all");
}

#[tokio::test]
async fn v2_refund_rules_query_and_notify() {
    let sim = TestSim::start(1000.0).await;
    let no = paid(&sim, "refund-rules-1").await;
    let tls = tls(&sim).await;
    let https = client(&tls, Some(identity(&tls)));
    let url = tls.secapi_base_url.clone();
    let receiver = Receiver::start(vec![Answer::Success]).await;
    let code = |reply: &Params<'static>| reply.get("err_code").map(str::to_owned);

    let mut first = refund_params(&no, "R-1", "300");
    first.insert("notify_url", receiver.url.clone());
    let reply = refund(&sim, &https, &url, first.clone()).await.unwrap();
    assert_eq!(reply.get("result_code"), Some("SUCCESS"));
    // The same out_refund_no: the same refund; with another amount: refused.
    let again = refund(&sim, &https, &url, first.clone()).await.unwrap();
    assert_eq!(again.get("refund_id"), reply.get("refund_id"));
    let mut changed = first.clone();
    changed.insert("refund_fee", "301");
    assert_eq!(
        code(&refund(&sim, &https, &url, changed).await.unwrap()).as_deref(),
        Some("PARAM_ERROR")
    );
    // More than what is left (888 - 300): refused; the rest: accepted.
    let too_much = refund(&sim, &https, &url, refund_params(&no, "R-2", "589"))
        .await
        .unwrap();
    assert_eq!(code(&too_much).as_deref(), Some("ERROR"));
    assert!(
        refund(&sim, &https, &url, refund_params(&no, "R-2", "588"))
            .await
            .unwrap()
            .get("refund_id")
            .is_some()
    );
    // Another total, an unpaid trade, a low balance.
    let mut wrong_total = refund_params(&no, "R-3", "1");
    wrong_total.insert("total_fee", "887");
    assert_eq!(
        code(&refund(&sim, &https, &url, wrong_total).await.unwrap()).as_deref(),
        Some("PARAM_ERROR")
    );
    let mut unpaid = Order::new("refund-unpaid", "https://merchant.example.com/notify");
    sim.order_for_new_user(&mut unpaid).await;
    let reply = refund(
        &sim,
        &https,
        &url,
        refund_params("refund-unpaid", "R-4", "1"),
    )
    .await
    .unwrap();
    assert_eq!(code(&reply).as_deref(), Some("ORDERNOTEXIST"));
    let other = paid(&sim, "refund-rules-2").await;
    sim.fault(json!({"endpoint": "refund", "kind": "not_enough", "count": 1}))
        .await;
    let reply = refund(&sim, &https, &url, refund_params(&other, "R-5", "1"))
        .await
        .unwrap();
    assert_eq!(code(&reply).as_deref(), Some("NOTENOUGH"));

    // PROCESSING, then SUCCESS (10 simulated seconds): refundquery, the trade, the notify.
    let sim = &sim;
    let query = |field: &str, value: &str| {
        let params = base_params(&[(field, value)]);
        async move { sim.call("/pay/refundquery", params, SignType::Md5).await }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut listed = query("out_trade_no", &no).await;
    while listed.get("refund_status_0") == Some("PROCESSING")
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
        listed = query("out_trade_no", &no).await;
    }
    assert_eq!(listed.get("refund_count"), Some("2"), "{listed:?}");
    assert_eq!(listed.get("refund_status_0"), Some("SUCCESS"));
    assert_eq!(listed.get("out_refund_no_0"), Some("R-1"));
    assert!(listed.get("refund_success_time_0").unwrap().contains(' '));
    assert_eq!(
        query("out_refund_no", "R-9").await.get("err_code"),
        Some("REFUNDNOTEXIST")
    );
    assert_eq!(sim.orderquery(&no).await.get("trade_state"), Some("REFUND"));
    let attempts = sim.wait_refund_attempts(&no, 1).await;
    let refund_attempts: Vec<&Value> = attempts.iter().filter(|a| a["kind"] == "refund").collect();
    assert_eq!(refund_attempts.len(), 1, "{attempts:?}");
    assert_eq!(refund_attempts[0]["out_refund_no"], "R-1");
    assert_eq!(refund_attempts[0]["acknowledged"], true);
    // The notify: unsigned outer XML; req_info opens with the API key only.
    let body = receiver
        .received()
        .into_iter()
        .find(|b| b.contains("req_info"))
        .unwrap();
    let outer = xml::parse(body.as_bytes()).unwrap();
    let info = decrypt_refund_info(outer.get("req_info").unwrap(), &sim.key).unwrap();
    assert_eq!(info.out_refund_no(), "R-1");
    assert_eq!(info.refund_status(), "SUCCESS");
    assert_eq!(info.refund_fee().get(), 300);
    assert_eq!(info.total_fee().get(), 888);
    let wrong = wxpay_core::ApiKey::new("qazwsxedcrfvtgbyhnujmikolp111111").unwrap();
    assert!(decrypt_refund_info(outer.get("req_info").unwrap(), &wrong).is_err());
}

#[tokio::test]
async fn v2_refund_faults_abnormal_then_resolved() {
    let sim = TestSim::start(1000.0).await;
    let no = paid(&sim, "refund-abnormal").await;
    let tls = tls(&sim).await;
    let https = client(&tls, Some(identity(&tls)));
    sim.fault(json!({"endpoint": "refund", "kind": "refund_abnormal", "count": 1}))
        .await;
    refund(
        &sim,
        &https,
        &tls.secapi_base_url,
        refund_params(&no, "RA-1", "888"),
    )
    .await
    .unwrap();
    let query = || {
        sim.call(
            "/pay/refundquery",
            base_params(&[("out_refund_no", "RA-1")]),
            SignType::Md5,
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut state = query().await;
    while state.get("refund_status_0") == Some("PROCESSING")
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
        state = query().await;
    }
    assert_eq!(
        state.get("refund_status_0"),
        Some("CHANGE"),
        "ABNORMAL in v2's words"
    );
    assert_eq!(
        sim.orderquery(&no).await.get("trade_state"),
        Some("SUCCESS")
    );
    let (status, body) = sim
        .post_json("/sim/refunds/RA-1/status", json!({"status": "SUCCESS"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(query().await.get("refund_status_0"), Some("SUCCESS"));
    assert_eq!(sim.orderquery(&no).await.get("trade_state"), Some("REFUND"));
}

#[tokio::test]
async fn v3_refunds_create_query_and_notify() {
    let merchant = V3Merchant::start(v3_config(KeyMode::PublicKey, 1000.0)).await;
    let receiver = V3Receiver::start(vec![204]).await;
    merchant
        .paid_trade("v3refund0001", "https://merchant.example.com/notify/v3")
        .await;
    let keys = merchant.key_set();
    let body = |out_refund_no: &str, refund: i64| {
        json!({
            "out_trade_no": "v3refund0001",
            "out_refund_no": out_refund_no,
            "reason": "退货",
            "notify_url": receiver.url,
            "amount": { "refund": refund, "total": 100, "currency": "CNY" },
        })
    };
    let created = merchant
        .call(
            "POST",
            "/v3/refund/domestic/refunds",
            Some(&body("VR-1", 40)),
            None,
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    created.verify(&keys).unwrap();
    assert_eq!(created.json()["status"], "PROCESSING");
    assert_eq!(created.json()["amount"]["refund"], 40);
    let again = merchant
        .call(
            "POST",
            "/v3/refund/domestic/refunds",
            Some(&body("VR-1", 40)),
            None,
        )
        .await;
    assert_eq!(again.json()["refund_id"], created.json()["refund_id"]);
    let reused = merchant
        .call(
            "POST",
            "/v3/refund/domestic/refunds",
            Some(&body("VR-1", 41)),
            None,
        )
        .await;
    assert_eq!(
        (reused.status, reused.json()["code"].clone()),
        (400, json!("INVALID_REQUEST"))
    );
    let too_much = merchant
        .call(
            "POST",
            "/v3/refund/domestic/refunds",
            Some(&body("VR-2", 61)),
            None,
        )
        .await;
    assert_eq!(too_much.json()["code"], "INVALID_REQUEST");
    let mut missing = body("VR-3", 1);
    missing["out_trade_no"] = json!("v3nosuchtrade");
    let missing = merchant
        .call("POST", "/v3/refund/domestic/refunds", Some(&missing), None)
        .await;
    assert_eq!(
        (missing.status, missing.json()["code"].clone()),
        (404, json!("RESOURCE_NOT_EXISTS"))
    );

    // The notify: REFUND.SUCCESS, verified, decrypted (AAD refund) into the typed refund.
    let attempts = merchant.wait_refund_attempt("v3refund0001").await;
    let refund_attempt = attempts.iter().find(|a| a["kind"] == "refund").unwrap();
    assert_eq!(refund_attempt["acknowledged"], true);
    let received = receiver.received();
    let notify = received.last().unwrap();
    let headers = SignatureHeaders::from_lookup(|n| notify.header(n)).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let verified = verify_notify(&keys, &headers, notify.body.as_bytes(), now).unwrap();
    assert_eq!(verified.event_type(), "REFUND.SUCCESS");
    let decrypted = verified
        .decrypt(&ApiV3Key::new(merchant.apiv3_key()).unwrap())
        .unwrap();
    let refund = decrypted.refund().unwrap();
    assert_eq!(refund.out_refund_no, "VR-1");
    assert_eq!(refund.refund_status, "SUCCESS");
    assert_eq!(refund.amount.refund, 40);
    let queried = merchant
        .call("GET", "/v3/refund/domestic/refunds/VR-1", None, None)
        .await;
    queried.verify(&keys).unwrap();
    assert_eq!(queried.json()["status"], "SUCCESS");
    assert!(
        queried.json()["success_time"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    assert_eq!(
        merchant.query("v3refund0001").await.json()["trade_state"],
        "REFUND"
    );
    let none = merchant
        .call("GET", "/v3/refund/domestic/refunds/VR-9", None, None)
        .await;
    assert_eq!(
        (none.status, none.json()["code"].clone()),
        (404, json!("RESOURCE_NOT_EXISTS"))
    );

    // A closed refund gives its amount back, and says so in a REFUND.CLOSED notify.
    merchant
        .control(
            "/sim/faults",
            json!({"endpoint": "refund", "kind": "refund_closed", "count": 1}),
        )
        .await;
    merchant
        .call(
            "POST",
            "/v3/refund/domestic/refunds",
            Some(&body("VR-4", 60)),
            None,
        )
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while merchant
        .call("GET", "/v3/refund/domestic/refunds/VR-4", None, None)
        .await
        .json()["status"]
        != "CLOSED"
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let full_rest = merchant
        .call(
            "POST",
            "/v3/refund/domestic/refunds",
            Some(&body("VR-5", 60)),
            None,
        )
        .await;
    assert_eq!(
        full_rest.status, 200,
        "the closed refund's 60 fen are refundable again"
    );
}
