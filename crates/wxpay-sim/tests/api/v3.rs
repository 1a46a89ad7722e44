//! API v3: the merchant's keys, prepay / query / close with signed requests and replies,
//! WeChat's authorization errors, certificates in each key mode, rotation, the migration
//! week, the payer's RSA paySign, and v3 notifies with their faults. Every reply is
//! verified with the core, as a merchant's backend would.

use serde_json::{Value, json};
use wxpay_core::v3::certificates::decrypt_certificates;
use wxpay_core::v3::notify::NotifyError;
use wxpay_core::v3::verify::SignatureHeaders;
use wxpay_core::v3::{ApiV3Key, RequestPaymentV3, VerifyError, verify_notify};
use wxpay_sim::config::KeyMode;

use crate::v3_helpers::{APPID, MCHID, V3Merchant, V3Receiver, config, fetch_keys, prepay_body};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn keys_follow_the_mode_and_the_seed() {
    let public = V3Merchant::start(config(KeyMode::PublicKey, 1.0)).await;
    let keys = &public.keys;
    assert_eq!(keys["key_mode"], "public_key");
    assert_eq!(keys["mchid"], MCHID);
    assert_eq!(keys["appid"], APPID);
    assert!(
        keys["public_key_id"]
            .as_str()
            .unwrap()
            .starts_with("PUB_KEY_ID_")
    );
    assert!(
        keys["public_key_pem"]
            .as_str()
            .unwrap()
            .contains("BEGIN PUBLIC KEY")
    );
    assert_eq!(keys["platform_certificates"], json!([]));
    assert_eq!(keys["apiv3_key"].as_str().unwrap().len(), 32);
    assert_eq!(keys["merchant_serial_no"].as_str().unwrap().len(), 40);

    let certificates = V3Merchant::start(config(KeyMode::PlatformCertificate, 1.0)).await;
    assert_eq!(certificates.keys["public_key_id"], Value::Null);
    assert_eq!(
        certificates.keys["platform_certificates"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The same seed: the same merchant key, the same APIv3 key, on every run.
    assert_eq!(
        certificates.keys["merchant_private_key_pem"],
        keys["merchant_private_key_pem"]
    );
    assert_eq!(certificates.keys["apiv3_key"], keys["apiv3_key"]);

    let migrating = V3Merchant::start(config(KeyMode::Migrating, 1.0)).await;
    assert_eq!(migrating.keys["public_key_id"], keys["public_key_id"]);
    assert_eq!(
        migrating.keys["platform_certificates"],
        certificates.keys["platform_certificates"]
    );

    let mut other_seed = config(KeyMode::PublicKey, 1.0);
    other_seed.seed = 8;
    let other = V3Merchant::start(other_seed).await;
    assert_ne!(other.keys["public_key_pem"], keys["public_key_pem"]);
    assert_ne!(other.keys["public_key_id"], keys["public_key_id"]);

    let missing = public
        .http
        .get(public.url("/sim/merchants/1/v3-keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn a_v3_trade_from_prepay_to_paid_and_its_notify() {
    let merchant = V3Merchant::start(config(KeyMode::PublicKey, 1000.0)).await;
    let receiver = V3Receiver::start(vec![204]).await;
    let keys = merchant.key_set();
    let public_key_id = merchant.keys["public_key_id"].as_str().unwrap().to_owned();

    let openid = merchant.user().await;
    let prepay = merchant
        .prepay("v3flow000001", &openid, &receiver.url)
        .await;
    assert_eq!(prepay.status, 200, "{}", prepay.body);
    assert_eq!(prepay.verify(&keys).unwrap(), public_key_id);
    assert!(prepay.header("Request-ID").is_some());
    let prepay_id = prepay.json()["prepay_id"].as_str().unwrap().to_owned();
    assert!(prepay_id.starts_with("wx"));

    let unpaid = merchant.query("v3flow000001").await;
    assert_eq!(unpaid.status, 200);
    unpaid.verify(&keys).unwrap();
    let trade = unpaid.json();
    assert_eq!(trade["trade_state"], "NOTPAY");
    assert_eq!(trade["amount"]["total"], 100);
    assert_eq!(trade["payer"]["openid"], openid.as_str());
    assert_eq!(trade.get("transaction_id"), None);

    assert_eq!(merchant.pay(&prepay_id, &openid).await, "requestPayment:ok");
    let attempts = merchant.wait_attempts("v3flow000001", 1).await;
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["api"], "v3");
    assert_eq!(attempts[0]["acknowledged"], true);
    assert_eq!(attempts[0]["http_status"], 204);
    assert_eq!(attempts[0]["serial"], public_key_id.as_str());

    // The notify verifies over its raw body, decrypts with the APIv3 key, and is the
    // payment the query shows.
    let received = receiver.received();
    let notify = &received[0];
    assert!(
        notify
            .header("Content-Type")
            .unwrap()
            .starts_with("application/json")
    );
    let headers = SignatureHeaders::from_lookup(|name| notify.header(name)).unwrap();
    let verified = verify_notify(&keys, &headers, notify.body.as_bytes(), now()).unwrap();
    assert_eq!(verified.event_type(), "TRANSACTION.SUCCESS");
    let decrypted = verified
        .decrypt(&ApiV3Key::new(merchant.apiv3_key()).unwrap())
        .unwrap();
    let payment = decrypted.transaction().unwrap();
    assert_eq!(payment.out_trade_no, "v3flow000001");
    assert_eq!(payment.trade_state, "SUCCESS");
    assert_eq!(payment.amount.as_ref().unwrap().total, 100);
    let transaction_id = payment.transaction_id.as_deref().unwrap().to_owned();

    let by_id = merchant
        .call(
            "GET",
            &format!("/v3/pay/transactions/id/{transaction_id}?mchid={MCHID}"),
            None,
            None,
        )
        .await;
    assert_eq!(by_id.status, 200, "{}", by_id.body);
    by_id.verify(&keys).unwrap();
    let paid = by_id.json();
    assert_eq!(paid["trade_state"], "SUCCESS");
    assert_eq!(paid["out_trade_no"], "v3flow000001");
    assert!(paid["success_time"].as_str().unwrap().ends_with("+08:00"));
    assert_eq!(paid["amount"]["payer_total"], 100);

    // Paid: closing is refused, a repeat prepay too, and v2 sees the same trade.
    let close = merchant
        .call(
            "POST",
            "/v3/pay/transactions/out-trade-no/v3flow000001/close",
            Some(&json!({ "mchid": MCHID })),
            None,
        )
        .await;
    assert_eq!(
        (close.status, close.json()["code"].clone()),
        (400, json!("ORDER_PAID"))
    );
    close.verify(&keys).unwrap();
    let again = merchant
        .prepay("v3flow000001", &openid, &receiver.url)
        .await;
    assert_eq!(again.json()["code"], "ORDER_PAID");
    let view: Value = merchant
        .http
        .get(merchant.url("/sim/trades/v3flow000001"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["sign_type"], "RSA");
    assert_eq!(view["trade_state"], "SUCCESS");
}

#[tokio::test]
async fn prepay_repeats_closes_and_refuses_like_wechat() {
    let merchant = V3Merchant::start(config(KeyMode::PublicKey, 1.0)).await;
    let keys = merchant.key_set();
    let openid = merchant.user().await;
    let url = "https://merchant.example/notify/v3";
    let first = merchant.prepay("v3repeat0001", &openid, url).await;
    let again = merchant.prepay("v3repeat0001", &openid, url).await;
    assert_eq!(first.json()["prepay_id"], again.json()["prepay_id"]);
    let mut changed = prepay_body("v3repeat0001", &openid, url);
    changed["amount"]["total"] = json!(101);
    let different = merchant
        .call("POST", "/v3/pay/transactions/jsapi", Some(&changed), None)
        .await;
    assert_eq!(different.status, 400);
    assert_eq!(different.json()["code"], "INVALID_REQUEST");
    different.verify(&keys).unwrap();

    let close_path = "/v3/pay/transactions/out-trade-no/v3repeat0001/close";
    let closed = merchant
        .call("POST", close_path, Some(&json!({ "mchid": MCHID })), None)
        .await;
    assert_eq!(closed.status, 204);
    assert_eq!(closed.body, "");
    closed
        .verify(&keys)
        .expect("a 204 is signed over the empty body");
    let twice = merchant
        .call("POST", close_path, Some(&json!({ "mchid": MCHID })), None)
        .await;
    assert_eq!(twice.json()["code"], "ORDER_CLOSED");
    assert_eq!(
        merchant.query("v3repeat0001").await.json()["trade_state"],
        "CLOSED"
    );
    let reopened = merchant.prepay("v3repeat0001", &openid, url).await;
    assert_eq!(reopened.json()["code"], "ORDER_CLOSED");

    let missing = merchant.query("v3missing0001").await;
    assert_eq!(
        (missing.status, missing.json()["code"].clone()),
        (404, json!("ORDER_NOT_EXIST"))
    );
    missing.verify(&keys).unwrap();
    let no_mchid = merchant
        .call(
            "GET",
            "/v3/pay/transactions/out-trade-no/v3repeat0001",
            None,
            None,
        )
        .await;
    assert_eq!(
        (no_mchid.status, no_mchid.json()["code"].clone()),
        (400, json!("PARAM_ERROR"))
    );

    let mut bad = prepay_body("v3bad0000001", &openid, url);
    bad["amount"]["total"] = json!(0);
    let refused = merchant
        .call("POST", "/v3/pay/transactions/jsapi", Some(&bad), None)
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["code"], "PARAM_ERROR");
    assert_eq!(refused.json()["detail"]["field"], "amount/total");
    let mut other_app = prepay_body("v3bad0000002", &openid, url);
    other_app["appid"] = json!("wx0000000000000000");
    let refused = merchant
        .call("POST", "/v3/pay/transactions/jsapi", Some(&other_app), None)
        .await;
    assert_eq!(refused.json()["code"], "APPID_MCHID_NOT_MATCH");
    let not_json = merchant
        .send("POST", "/v3/pay/transactions/jsapi", "{".into(), "x", None)
        .await;
    assert_eq!(not_json.status, 401, "the Authorization is checked first");
}

#[tokio::test]
async fn authorization_errors_are_wechats_401s() {
    let merchant = V3Merchant::start(config(KeyMode::PublicKey, 1.0)).await;
    let keys = merchant.key_set();
    let path = format!("/v3/pay/transactions/out-trade-no/v3auth000001?mchid={MCHID}");
    let code = |reply: &crate::v3_helpers::Reply| (reply.status, reply.json()["code"].clone());

    let missing = merchant.send("GET", &path, String::new(), "", None).await;
    assert_eq!(code(&missing), (401, json!("SIGN_ERROR")));
    let garbled = merchant
        .send(
            "GET",
            &path,
            String::new(),
            "WECHATPAY2-SHA256-RSA2048 nonsense",
            None,
        )
        .await;
    assert_eq!(code(&garbled), (401, json!("SIGN_ERROR")));

    // Signed for another URL (the query left out): the detail shows the message WeChat
    // computed, so the difference is visible.
    let signed_without_query = wxpay_core::v3::request::authorize(
        &merchant.signer,
        MCHID,
        merchant.serial_no(),
        &wxpay_core::v3::RequestToSign {
            method: "GET",
            url: "/v3/pay/transactions/out-trade-no/v3auth000001",
            timestamp: now(),
            nonce: "n0nce",
            body: b"",
        },
    )
    .unwrap();
    let wrong = merchant
        .send(
            "GET",
            &path,
            String::new(),
            &signed_without_query.header_value(),
            None,
        )
        .await;
    assert_eq!(code(&wrong), (401, json!("SIGN_ERROR")));
    wrong
        .verify(&keys)
        .expect("errors for a known merchant are signed");
    let information = &wrong.json()["detail"]["sign_information"];
    let shown = information["truncated_sign_message"].as_str().unwrap();
    assert!(shown.starts_with(&format!("GET\n{path}\n")), "{shown}");
    assert_eq!(
        information["sign_message_length"].as_u64().unwrap() as usize,
        shown.len()
    );

    let stale = wxpay_core::v3::request::authorize(
        &merchant.signer,
        MCHID,
        merchant.serial_no(),
        &wxpay_core::v3::RequestToSign {
            method: "GET",
            url: &path,
            timestamp: now() - 300,
            nonce: "n0nce",
            body: b"",
        },
    )
    .unwrap();
    let stale = merchant
        .send("GET", &path, String::new(), &stale.header_value(), None)
        .await;
    assert_eq!(code(&stale), (401, json!("SIGN_ERROR")));
    assert!(stale.json()["message"].as_str().unwrap().contains("300"));

    let mut wrong_serial = signed_without_query.clone();
    wrong_serial.serial_no = "0123456789ABCDEF0123456789ABCDEF01234567".into();
    let refused = merchant
        .send(
            "GET",
            &path,
            String::new(),
            &wrong_serial.header_value(),
            None,
        )
        .await;
    assert_eq!(code(&refused), (401, json!("SIGN_ERROR")));
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("serial_no")
    );

    let mut stranger = signed_without_query;
    stranger.mchid = "1999999999".into();
    let unknown = merchant
        .send("GET", &path, String::new(), &stranger.header_value(), None)
        .await;
    assert_eq!(code(&unknown), (400, json!("MCH_NOT_EXISTS")));

    // A correctly signed request for the same path goes through.
    assert_eq!(merchant.call("GET", &path, None, None).await.status, 404);
}

#[tokio::test]
async fn certificates_in_each_mode_and_after_rotation() {
    let merchant = V3Merchant::start(config(KeyMode::PublicKey, 1.0)).await;
    let none = merchant.call("GET", "/v3/certificates", None, None).await;
    assert_eq!(none.status, 404);
    assert_eq!(none.json()["code"], "RESOURCE_NOT_EXISTS");
    assert!(
        none.json()["message"]
            .as_str()
            .unwrap()
            .contains("微信支付公钥")
    );
    none.verify(&merchant.key_set()).unwrap();

    let mut merchant = V3Merchant::start(config(KeyMode::PlatformCertificate, 1.0)).await;
    let key = ApiV3Key::new(merchant.apiv3_key()).unwrap();
    let listed = merchant.call("GET", "/v3/certificates", None, None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let first_serial = merchant.keys["platform_certificates"][0]["serial_no"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(listed.verify(&merchant.key_set()).unwrap(), first_serial);
    let decrypted = decrypt_certificates(listed.body.as_bytes(), &key).unwrap();
    assert_eq!(decrypted.len(), 1);
    assert_eq!(decrypted[0].serial_no(), first_serial);
    assert!(
        listed.json()["data"][0]["expire_time"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );

    // Rotation: a second certificate, which signs from now on; a merchant that does not
    // know it yet cannot verify, and finds it in /v3/certificates.
    let (status, body) = merchant
        .control(
            "/sim/faults",
            json!({ "endpoint": "certificates", "kind": "rotate_certificate", "count": 1 }),
        )
        .await;
    assert_eq!((status, body["rotated_merchants"].clone()), (201, json!(1)));
    let stale_keys = merchant.key_set();
    let after = merchant.call("GET", "/v3/certificates", None, None).await;
    assert!(
        after.verify(&stale_keys).is_err(),
        "signed with the new certificate"
    );
    let decrypted = decrypt_certificates(after.body.as_bytes(), &key).unwrap();
    assert_eq!(decrypted.len(), 2);
    assert_eq!(decrypted[0].serial_no(), first_serial);
    let second = decrypted[1].serial_no().to_owned();
    assert_ne!(second, first_serial);
    merchant.refresh_keys().await;
    assert_eq!(after.verify(&merchant.key_set()).unwrap(), second);
}

#[tokio::test]
async fn the_migration_week_signs_with_the_key_the_request_names() {
    let mut merchant = V3Merchant::start(config(KeyMode::PlatformCertificate, 1.0)).await;
    let certificate = merchant.keys["platform_certificates"][0]["serial_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = merchant
        .control(
            &format!("/sim/merchants/{MCHID}/key-mode"),
            json!({ "key_mode": "migrating" }),
        )
        .await;
    assert_eq!(
        (status, body["key_mode"].clone()),
        (200, json!("migrating"))
    );
    merchant.refresh_keys().await;
    let public_key_id = merchant.keys["public_key_id"].as_str().unwrap().to_owned();
    let keys = merchant.key_set();
    let path = format!("/v3/pay/transactions/out-trade-no/v3migrate001?mchid={MCHID}");
    let by_public_key = merchant
        .call("GET", &path, None, Some(&public_key_id))
        .await;
    assert_eq!(by_public_key.verify(&keys).unwrap(), public_key_id);
    let by_certificate = merchant.call("GET", &path, None, Some(&certificate)).await;
    assert_eq!(by_certificate.verify(&keys).unwrap(), certificate);
    let unnamed = merchant.call("GET", &path, None, None).await;
    assert_eq!(unnamed.verify(&keys).unwrap(), certificate);
    assert_eq!(
        merchant
            .call("GET", "/v3/certificates", None, None)
            .await
            .status,
        200
    );

    // The switch completed: the public key only, and no certificates any more.
    merchant
        .control(
            &format!("/sim/merchants/{MCHID}/key-mode"),
            json!({ "key_mode": "public_key" }),
        )
        .await;
    let done = merchant.call("GET", &path, None, Some(&certificate)).await;
    assert_eq!(done.verify(&keys).unwrap(), public_key_id);
    assert_eq!(
        merchant
            .call("GET", "/v3/certificates", None, None)
            .await
            .status,
        404
    );
    let (status, _) = merchant
        .control(
            &format!("/sim/merchants/{MCHID}/key-mode"),
            json!({ "key_mode": "none" }),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn notifies_move_to_the_public_key_through_the_migration_week() {
    let merchant = V3Merchant::start(config(KeyMode::PlatformCertificate, 1.0)).await;
    let receiver = V3Receiver::start(vec![204]).await;
    let certificate = merchant.keys["platform_certificates"][0]["serial_no"].clone();
    let switch =
        |elapsed_days: f64| json!({ "key_mode": "migrating", "elapsed_days": elapsed_days });
    let key_mode = format!("/sim/merchants/{MCHID}/key-mode");
    let mut serials = Vec::new();
    let days = [[0.0; 2].as_slice(), &[3.5; 10], &[7.0; 2]].concat();
    for (n, elapsed_days) in days.iter().enumerate() {
        let (status, body) = merchant.control(&key_mode, switch(*elapsed_days)).await;
        assert_eq!(status, 200, "{body}");
        let no = format!("v3week{n:06}");
        merchant.paid_trade(&no, &receiver.url).await;
        let attempts = merchant.wait_attempts(&no, 1).await;
        serials.push(attempts[0]["serial"].clone());
    }
    let mut refreshed = V3Merchant::start(config(KeyMode::Migrating, 1.0)).await;
    refreshed.refresh_keys().await;
    let public_key_id = refreshed.keys["public_key_id"].clone();
    // The first day: the certificate; after the week: the public key; midweek, both.
    assert_eq!(serials[..2], [certificate.clone(), certificate.clone()]);
    assert_eq!(
        serials[12..],
        [public_key_id.clone(), public_key_id.clone()]
    );
    let midweek = &serials[2..12];
    assert!(
        midweek.contains(&certificate) && midweek.contains(&public_key_id),
        "{midweek:?}"
    );
    // Each verifies with a key set that holds both (what a merchant configures that week).
    let keys = refreshed.key_set();
    for received in receiver.received() {
        let headers = SignatureHeaders::from_lookup(|name| received.header(name)).unwrap();
        verify_notify(&keys, &headers, received.body.as_bytes(), now()).unwrap();
    }
    let (status, _) = merchant
        .control(
            &key_mode,
            json!({ "key_mode": "public_key", "elapsed_days": 1 }),
        )
        .await;
    assert_eq!(status, 400, "elapsed_days is for the migration week only");
}

#[tokio::test]
async fn notify_faults_probe_stale_and_unknown_serial() {
    let merchant = V3Merchant::start(config(KeyMode::PublicKey, 1000.0)).await;
    let keys = merchant.key_set();
    // A merchant that verifies each notify and refuses what does not verify.
    let receiver = V3Receiver::start(vec![400, 400, 400, 400, 204]).await;
    for kind in ["probe", "stale_timestamp", "wrong_serial"] {
        merchant
            .control(
                "/sim/faults",
                json!({ "endpoint": "notify", "kind": kind, "count": 1 }),
            )
            .await;
    }
    merchant.paid_trade("v3faults0001", &receiver.url).await;
    let attempts = merchant.wait_attempts("v3faults0001", 4).await;
    let faults: Vec<_> = attempts.iter().map(|a| a["fault"].clone()).collect();
    assert_eq!(
        faults,
        [
            json!("probe"),
            Value::Null,
            json!("stale_timestamp"),
            json!("wrong_serial"),
            Value::Null
        ][..attempts.len()]
    );
    let received = receiver.received();
    let outcome = |r: &crate::v3_helpers::Received| {
        let headers = SignatureHeaders::from_lookup(|name| r.header(name)).unwrap();
        verify_notify(&keys, &headers, r.body.as_bytes(), now()).map(|_| ())
    };
    assert!(
        received[0]
            .header("Wechatpay-Signature")
            .unwrap()
            .starts_with("WECHATPAY/SIGNTEST/")
    );
    assert_eq!(
        outcome(&received[0]),
        Err(NotifyError::Verify(VerifyError::SignatureProbe))
    );
    // The probe's own answer (400) does not stop the real notification, which follows
    // at once; the merchant's script refused that one too, so it is retried: first with
    // a stale timestamp, then naming an unknown serial, then normally.
    assert!(outcome(&received[1]).is_ok());
    assert!(matches!(
        outcome(&received[2]),
        Err(NotifyError::Verify(VerifyError::OutsideWindow { skew })) if skew >= 600
    ));
    assert!(matches!(
        outcome(&received[3]),
        Err(NotifyError::Verify(VerifyError::UnknownSerial(_)))
    ));
    let attempts = merchant.wait_attempts("v3faults0001", 5).await;
    assert_eq!(attempts.len(), 5, "{attempts:?}");
    assert_eq!(attempts[4]["acknowledged"], true);
    assert!(outcome(&receiver.received()[4]).is_ok());
    // Every retry carries the same notification (same id), signed anew.
    let ids: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["id"].clone())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn the_payer_checks_the_rsa_pay_sign() {
    let merchant = V3Merchant::start(config(KeyMode::PublicKey, 1.0)).await;
    let openid = merchant.user().await;
    let prepay = merchant
        .prepay(
            "v3payer00001",
            &openid,
            "https://merchant.example/notify/v3",
        )
        .await;
    let prepay_id = prepay.json()["prepay_id"].as_str().unwrap().to_owned();
    // Signed with another key than the merchant's: refused.
    let stranger = wxpay_core::v3::RsaPrivateKey::from_pem(include_str!(
        "../../../wxpay-core/tests/data/merchant_key_pkcs1.pem"
    ))
    .unwrap();
    let forged =
        RequestPaymentV3::build(APPID, &prepay_id, &stranger, "nonce123", 1_764_000_000).unwrap();
    assert!(
        merchant
            .pay_with(&forged, &openid)
            .await
            .contains("paySign does not verify")
    );
    let mut md5 =
        RequestPaymentV3::build(APPID, &prepay_id, &merchant.signer, "n", 1_764_000_000).unwrap();
    md5.sign_type = "MD5".into();
    assert!(
        merchant
            .pay_with(&md5, &openid)
            .await
            .contains("paySign does not verify")
    );
    assert_eq!(merchant.pay(&prepay_id, &openid).await, "requestPayment:ok");
    assert!(
        merchant
            .pay(&prepay_id, &openid)
            .await
            .contains("already paid")
    );
}

#[tokio::test]
async fn endpoint_faults_apply_to_v3() {
    let merchant = V3Merchant::start(config(KeyMode::PublicKey, 1.0)).await;
    let keys = merchant.key_set();
    let path = format!("/v3/pay/transactions/out-trade-no/v3fault00001?mchid={MCHID}");
    for kind in ["system_error", "bad_sign", "http_5xx"] {
        merchant
            .control(
                "/sim/faults",
                json!({ "endpoint": "orderquery", "kind": kind, "count": 1 }),
            )
            .await;
    }
    let system = merchant.call("GET", &path, None, None).await;
    assert_eq!(
        (system.status, system.json()["code"].clone()),
        (500, json!("SYSTEM_ERROR"))
    );
    system.verify(&keys).unwrap();
    let bad_sign = merchant.call("GET", &path, None, None).await;
    assert_eq!(bad_sign.status, 404);
    assert_eq!(bad_sign.verify(&keys), Err(VerifyError::BadSignature));
    let gateway = merchant.call("GET", &path, None, None).await;
    assert_eq!(gateway.status, 500);
    assert_eq!(gateway.header("Wechatpay-Signature"), None);
    assert_eq!(merchant.call("GET", &path, None, None).await.status, 404);
}

#[tokio::test]
async fn a_merchant_registers_its_own_certificate() {
    let merchant = V3Merchant::start(config(KeyMode::PublicKey, 1.0)).await;
    let certificate = include_str!("../../../wxpay-core/tests/data/merchant_cert.pem");
    let own_key = wxpay_core::v3::RsaPrivateKey::from_pem(include_str!(
        "../../../wxpay-core/tests/data/merchant_key_pkcs1.pem"
    ))
    .unwrap();
    let (status, body) = merchant
        .control(
            "/sim/merchants",
            json!({
                "appid": "wx1111111111111111",
                "mch_id": "1900000109",
                "api_key": "qazwsxedcrfvtgbyhnujmikolp111111",
                "app_secret": "abcdefabcdefabcdefabcdefabcdefab",
                "apiv3_key": "0123456789abcdefghijklmnopqrstuv",
                "merchant_certificate_pem": certificate,
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let keys = fetch_keys(&merchant.http, &merchant.sim.base_url, "1900000109").await;
    assert_eq!(
        keys["merchant_private_key_pem"],
        Value::Null,
        "it keeps its own key"
    );
    assert_eq!(keys["apiv3_key"], "0123456789abcdefghijklmnopqrstuv");
    let serial = wxpay_core::v3::Certificate::from_pem(certificate)
        .unwrap()
        .serial_no()
        .to_owned();
    assert_eq!(keys["merchant_serial_no"], serial.as_str());
    // Requests signed with its own key are accepted; with the simulator-made one, not.
    let path = "/v3/pay/transactions/out-trade-no/v3own0000001?mchid=1900000109";
    let sign = |key: &wxpay_core::v3::RsaPrivateKey| {
        wxpay_core::v3::request::authorize(
            key,
            "1900000109",
            &serial,
            &wxpay_core::v3::RequestToSign {
                method: "GET",
                url: path,
                timestamp: now(),
                nonce: "n0nce",
                body: b"",
            },
        )
        .unwrap()
        .header_value()
    };
    let own = merchant
        .send("GET", path, String::new(), &sign(&own_key), None)
        .await;
    assert_eq!(own.status, 404, "{}", own.body);
    let other = merchant
        .send("GET", path, String::new(), &sign(&merchant.signer), None)
        .await;
    assert_eq!(other.status, 401);

    let (status, body) = merchant
        .control(
            "/sim/merchants",
            json!({
                "appid": "wx2222222222222222",
                "mch_id": "1900000110",
                "api_key": "qazwsxedcrfvtgbyhnujmikolp111111",
                "app_secret": "abcdefabcdefabcdefabcdefabcdefab",
                "merchant_certificate_pem": "not a certificate",
            }),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("merchant_certificate_pem")
    );
}
