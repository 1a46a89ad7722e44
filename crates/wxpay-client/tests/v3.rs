//! The v3 client against the simulator in each key mode: calls verified, certificates
//! downloaded only by merchants that have them (and again after a rotation), WeChat's
//! errors kept, forged / unsigned / stale replies refused, writes never called failed
//! when their reply does not verify.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use wxpay_client::v3::{JsapiOrder, V3Credentials, V3PayClient, V3PayError, WechatKeys};
use wxpay_client::{ClientOptions, CloseOutcome, RetryPolicy};
use wxpay_core::Fen;
use wxpay_core::v3::{ApiV3Key, Certificate, RsaPrivateKey, VerifyError, WechatPayPublicKey};
use wxpay_sim::config::{DOC_MCH_ID, KeyMode, MerchantConfig};
use wxpay_sim::v3::SandboxKeys;
use wxpay_sim::{RunningSim, SimConfig};

struct Harness {
    sim: RunningSim,
    control: reqwest::Client,
    keys: SandboxKeys,
}

impl Harness {
    async fn start(key_mode: KeyMode) -> Harness {
        let mut merchant = MerchantConfig::documentation();
        merchant.key_mode = key_mode;
        let config = SimConfig {
            merchants: vec![merchant],
            seed: 11,
            time_scale: 1000.0,
        };
        let sim = wxpay_sim::spawn(&config).await.unwrap();
        let control = wxpay_sim::notify::http_client().unwrap();
        let keys: SandboxKeys = control
            .get(format!(
                "{}/sim/merchants/{DOC_MCH_ID}/v3-keys",
                sim.base_url
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Harness { sim, control, keys }
    }

    fn options() -> ClientOptions {
        ClientOptions {
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_millis(800),
            retry: RetryPolicy {
                attempts: 3,
                first_backoff: Duration::from_millis(10),
            },
            ..ClientOptions::default()
        }
    }

    fn credentials(&self, wechat: WechatKeys) -> V3Credentials {
        credentials(&self.keys, wechat)
    }

    /// What a merchant in this mode configures: its public key, and/or nothing up front
    /// for certificates (downloaded).
    fn wechat_keys(&self) -> WechatKeys {
        let public_key = self.keys.public_key_id.as_ref().map(|id| {
            WechatPayPublicKey::from_pem(id, self.keys.public_key_pem.as_ref().unwrap()).unwrap()
        });
        match (self.keys.key_mode, public_key) {
            (KeyMode::PublicKey, Some(key)) => WechatKeys::public_key(key),
            (KeyMode::Migrating, Some(key)) => WechatKeys::migrating(key),
            _ => WechatKeys::platform_certificates(),
        }
    }

    fn client(&self) -> V3PayClient {
        self.client_at(&self.sim.base_url)
    }

    fn client_at(&self, base: &str) -> V3PayClient {
        V3PayClient::new(base, self.credentials(self.wechat_keys()), &Self::options()).unwrap()
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        self.control
            .post(format!("{}{path}", self.sim.base_url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(Value::Null)
    }

    async fn faults(&self) -> Value {
        self.control
            .get(format!("{}/sim/faults", self.sim.base_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// WeChat's public key for this merchant as the simulator derives it (seed 11), and
    /// its id: what a fake WeChat signs with.
    fn wechat_public_key(&self) -> (std::sync::Arc<wxpay_sim::v3::forge::ForgedKey>, String) {
        let key = wxpay_sim::v3::forge::key(11, DOC_MCH_ID, wxpay_sim::v3::forge::Role::PublicKey)
            .unwrap();
        (key, self.keys.public_key_id.clone().unwrap())
    }

    async fn openid(&self) -> String {
        let reply = self
            .control("/sim/login", json!({ "appid": self.keys.appid }))
            .await;
        reply["openid"].as_str().unwrap().to_owned()
    }
}

fn credentials(keys: &SandboxKeys, wechat: WechatKeys) -> V3Credentials {
    V3Credentials {
        appid: keys.appid.clone(),
        mchid: keys.mchid.clone(),
        merchant_serial: keys.merchant_serial_no.clone(),
        merchant_key: Arc::new(
            RsaPrivateKey::from_pem(keys.merchant_private_key_pem.as_ref().unwrap()).unwrap(),
        ),
        apiv3_key: ApiV3Key::new(&keys.apiv3_key).unwrap(),
        wechat,
    }
}

fn order<'a>(no: &'a str, openid: &'a str) -> JsapiOrder<'a> {
    JsapiOrder {
        description: "wxpay test shop-order",
        out_trade_no: no,
        notify_url: "https://merchant.example.com/wechat/pay/notify/v3",
        total: Fen::new(1999),
        openid,
        time_expire: None,
        attach: Some("cart=7"),
        payer_client_ip: Some("127.0.0.1"),
    }
}

#[tokio::test]
async fn public_key_mode_never_downloads_certificates() {
    let h = Harness::start(KeyMode::PublicKey).await;
    // A fault on /v3/certificates stays unused if nothing ever calls it.
    h.control(
        "/sim/faults",
        json!({ "endpoint": "certificates", "kind": "http_5xx", "count": 1 }),
    )
    .await;
    let client = h.client();
    let openid = h.openid().await;
    let body = client.prepay_body(&order("v3client0001", &openid));
    let prepay_id = client.prepay(&body).await.unwrap();
    assert!(prepay_id.starts_with("wx"));
    assert_eq!(
        client.prepay(&body).await.unwrap(),
        prepay_id,
        "identical re-entry"
    );
    let trade = client.query_by_out_trade_no("v3client0001").await.unwrap();
    assert_eq!(trade.trade_state, "NOTPAY");
    assert_eq!(trade.amount.as_ref().unwrap().total, 1999);
    assert_eq!(trade.attach.as_deref(), Some("cart=7"));
    assert_eq!(
        client.close("v3client0001").await.unwrap(),
        CloseOutcome::Closed
    );
    assert_eq!(
        client.close("v3client0001").await.unwrap(),
        CloseOutcome::AlreadyClosed
    );
    assert_eq!(
        client.close("v3missing001").await.unwrap(),
        CloseOutcome::NotFound
    );
    assert_eq!(
        client.download_certificates().await,
        Err(V3PayError::NoCertificates)
    );
    assert_eq!(h.faults().await["faults"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn certificate_mode_downloads_then_follows_a_rotation() {
    let h = Harness::start(KeyMode::PlatformCertificate).await;
    let client = h.client();
    assert_eq!(client.key_set().serials().count(), 0);
    // The first reply names a certificate the client does not know: it downloads them
    // (once) and the call succeeds.
    let missing = client.query_by_out_trade_no("v3client0002").await;
    assert_eq!(missing.unwrap_err().code(), Some("ORDER_NOT_EXIST"));
    let first = h.keys.platform_certificates[0].serial_no.clone();
    assert_eq!(
        client.key_set().serials().collect::<Vec<_>>(),
        [first.as_str()]
    );

    h.control(
        "/sim/faults",
        json!({ "endpoint": "certificates", "kind": "rotate_certificate", "count": 1 }),
    )
    .await;
    // This client downloaded a moment ago, and an unknown serial triggers at most one
    // download a minute (never a loop): the reply is refused, not trusted.
    let stale = client
        .query_by_out_trade_no("v3client0002")
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            V3PayError::Unverified {
                reason: VerifyError::UnknownSerial(_),
                may_have_taken_effect: false
            }
        ),
        "{stale:?}"
    );
    let fresh = h.client();
    let openid = h.openid().await;
    let body = fresh.prepay_body(&order("v3client0003", &openid));
    fresh.prepay(&body).await.unwrap();
    assert_eq!(
        fresh.key_set().serials().count(),
        2,
        "both certificates kept"
    );
    assert_eq!(fresh.download_certificates().await.unwrap().len(), 2);
}

#[tokio::test]
async fn migrating_merchants_name_the_public_key_and_verify_both() {
    let h = Harness::start(KeyMode::Migrating).await;
    let client = h.client();
    let openid = h.openid().await;
    let body = client.prepay_body(&order("v3client0004", &openid));
    client.prepay(&body).await.unwrap();
    // It sent Wechatpay-Serial = its public key id, so WeChat answered with the public
    // key; the certificates still download (and verify) for notifies signed with them.
    assert_eq!(client.key_set().serials().count(), 1);
    let serials = client.download_certificates().await.unwrap();
    assert_eq!(serials, [h.keys.platform_certificates[0].serial_no.clone()]);
    assert_eq!(client.key_set().serials().count(), 2);
}

#[tokio::test]
async fn wechats_errors_are_kept_and_retries_are_safe() {
    let h = Harness::start(KeyMode::PublicKey).await;
    let client = h.client();
    let openid = h.openid().await;
    let body = client.prepay_body(&order("v3client0005", &openid));
    // SYSTEM_ERROR and a 503 from a gateway: the identical body is sent again.
    h.control(
        "/sim/faults",
        json!({ "endpoint": "unifiedorder", "kind": "system_error", "count": 1 }),
    )
    .await;
    h.control(
        "/sim/faults",
        json!({ "endpoint": "unifiedorder", "kind": "http_5xx", "status": 503, "count": 1 }),
    )
    .await;
    let prepay_id = client.prepay(&body).await.unwrap();
    assert_eq!(client.prepay(&body).await.unwrap(), prepay_id);

    let changed = body.replace("1999", "2000");
    let refused = client.prepay(&changed).await.unwrap_err();
    match &refused {
        V3PayError::Api {
            status,
            code,
            message,
            ..
        } => {
            assert_eq!((*status, code.as_str()), (400, "INVALID_REQUEST"));
            assert!(!message.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(!refused.is_retryable());
    let bad = client
        .prepay(&body.replace("\"total\":1999", "\"total\":0"))
        .await
        .unwrap_err();
    assert!(
        matches!(&bad, V3PayError::Api { detail: Some(d), .. } if d["field"] == "amount/total"),
        "{bad:?}"
    );
}

#[tokio::test]
async fn an_unverified_reply_to_a_write_may_have_taken_effect() {
    let h = Harness::start(KeyMode::PublicKey).await;
    let client = h.client();
    let openid = h.openid().await;
    let body = client.prepay_body(&order("v3client0006", &openid));
    h.control(
        "/sim/faults",
        json!({ "endpoint": "unifiedorder", "kind": "bad_sign", "count": 1 }),
    )
    .await;
    let error = client.prepay(&body).await.unwrap_err();
    assert!(error.may_have_taken_effect(), "{error:?}");
    assert!(
        !error.is_retryable(),
        "a write is queried, not blindly retried"
    );
    assert!(error.to_string().contains("query before retrying"));
    // It did take effect: the trade exists, and the identical prepay returns its id.
    let trade = client.query_by_out_trade_no("v3client0006").await.unwrap();
    assert_eq!(trade.trade_state, "NOTPAY");
    client.prepay(&body).await.unwrap();
    // A read with a bad signature is retried (and the next reply verifies).
    h.control(
        "/sim/faults",
        json!({ "endpoint": "orderquery", "kind": "bad_sign", "count": 1 }),
    )
    .await;
    client.query_by_out_trade_no("v3client0006").await.unwrap();
}

/// A fake WeChat answering every call with `reply` (status, headers, body).
/// The `Wechatpay-*` headers WeChat would send with `body`, signed with `key`.
fn signed_like_wechat(
    key: &wxpay_sim::v3::forge::ForgedKey,
    serial: &str,
    timestamp: i64,
    body: &str,
) -> Vec<(String, String)> {
    let nonce = "n0nce".to_owned();
    let signature = key
        .signer
        .sign_base64(&wxpay_core::v3::verify::signed_message(
            &timestamp.to_string(),
            &nonce,
            body.as_bytes(),
        ))
        .unwrap();
    vec![
        ("Wechatpay-Timestamp".to_owned(), timestamp.to_string()),
        ("Wechatpay-Nonce".to_owned(), nonce),
        ("Wechatpay-Signature".to_owned(), signature),
        ("Wechatpay-Serial".to_owned(), serial.to_owned()),
    ]
}

async fn fake_wechat(reply: (u16, Vec<(String, String)>, String)) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let reply = Arc::new(reply);
    let server = HttpServer::new(move || {
        let reply = Arc::clone(&reply);
        App::new().default_service(web::to(move || {
            let reply = Arc::clone(&reply);
            async move {
                let mut response =
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(reply.0).unwrap());
                for (name, value) in &reply.1 {
                    response.insert_header((name.as_str(), value.as_str()));
                }
                response.body(reply.2.clone())
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn forged_unsigned_and_stale_replies_are_refused() {
    let h = Harness::start(KeyMode::PublicKey).await;
    let (wechat, public_key_id) = h.wechat_public_key();
    let body = r#"{"prepay_id":"wx201410272009395522657a690389285100"}"#.to_owned();
    let signed_at = |timestamp: i64| signed_like_wechat(&wechat, &public_key_id, timestamp, &body);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let prepay = |base: String| {
        let client = h.client_at(&base);
        async move { client.prepay(r#"{"appid":"x"}"#).await }
    };

    let genuine = fake_wechat((200, signed_at(now), body.clone())).await;
    assert_eq!(
        prepay(genuine).await.unwrap(),
        "wx201410272009395522657a690389285100",
        "the fake signs like WeChat: a control for the cases below"
    );
    let unsigned = fake_wechat((200, Vec::new(), body.clone())).await;
    assert!(matches!(
        prepay(unsigned).await.unwrap_err(),
        V3PayError::Unverified {
            reason: VerifyError::MissingHeader(_),
            may_have_taken_effect: true
        }
    ));
    let stale = fake_wechat((200, signed_at(now - 400), body.clone())).await;
    assert!(matches!(
        prepay(stale).await.unwrap_err(),
        V3PayError::Unverified {
            reason: VerifyError::OutsideWindow { .. },
            ..
        }
    ));
    let mut tampered_headers = signed_at(now);
    tampered_headers[0].1 = (now + 1).to_string();
    let tampered = fake_wechat((200, tampered_headers, body.clone())).await;
    assert!(matches!(
        prepay(tampered).await.unwrap_err(),
        V3PayError::Unverified {
            reason: VerifyError::BadSignature,
            ..
        }
    ));
    // The merchant's own certificate can never stand in for WeChat's key.
    let own = Certificate::from_pem(&h.keys.merchant_certificate_pem).unwrap();
    let mut keys = h.wechat_keys();
    keys.certificates.push(own);
    keys.platform_certificates = true;
    let refused = V3PayClient::new(&h.sim.base_url, h.credentials(keys), &Harness::options());
    assert!(refused.unwrap_err().to_string().contains("merchant"));
}

/// A bill file is not signed: one that does not hash to the SHA1 in the signed tradebill
/// answer is refused, and the same file with the right hash is accepted (the control).
#[tokio::test]
async fn a_bill_file_that_does_not_match_its_signed_hash_is_refused() {
    use sha1::Digest as _;
    let h = Harness::start(KeyMode::PublicKey).await;
    let (wechat, public_key_id) = h.wechat_public_key();
    let file = "交易时间,商户订单号\r\n`2026-11-30 10:00:00,`A1\r\n".to_owned();
    let fake = |hash_of: &str| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let location = json!({
            "hash_type": "SHA1",
            "hash_value": base16ct::lower::encode_string(&sha1::Sha1::digest(hash_of.as_bytes())),
            "download_url": format!("https://api.mch.weixin.qq.com/v3/billdownload/file?token=t{port}"),
        })
        .to_string();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let headers = signed_like_wechat(&wechat, &public_key_id, now, &location);
        let file = file.clone();
        let server = HttpServer::new(move || {
            let (location, headers, file) = (location.clone(), headers.clone(), file.clone());
            App::new()
                .route(
                    "/v3/bill/tradebill",
                    web::get().to(move || {
                        let mut reply = HttpResponse::Ok();
                        for (name, value) in &headers {
                            reply.insert_header((name.as_str(), value.as_str()));
                        }
                        let reply = reply.body(location.clone());
                        async move { reply }
                    }),
                )
                .route(
                    "/v3/billdownload/file",
                    web::get().to(move || {
                        let body = file.clone();
                        async move { HttpResponse::Ok().body(body) }
                    }),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        format!("http://127.0.0.1:{port}")
    };
    let genuine = h.client_at(&fake(&file));
    let text = genuine
        .trade_bill("2026-11-30", wxpay_client::BillType::All)
        .await
        .unwrap();
    assert_eq!(text.as_deref(), Some(file.as_str()));
    let tampered = h.client_at(&fake("another file"));
    match tampered
        .trade_bill("2026-11-30", wxpay_client::BillType::All)
        .await
    {
        Err(V3PayError::Malformed(message)) => {
            assert!(message.contains("SHA1"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}
