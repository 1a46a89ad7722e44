//! Refunds against the simulator: v2 over mutual TLS with the merchant certificate as PEM,
//! as the simulator's legacy `.p12`, and as `.p12` files OpenSSL writes (legacy RC2 and
//! modern AES); the classic certificate mistakes named; v3 refunds; retries with the same
//! out_refund_no never refund twice.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use wxpay_client::v3::{V3Credentials, V3PayClient, V3PayError, V3RefundRequest, WechatKeys};
use wxpay_client::{
    CertificateError, ClientOptions, MerchantCertificate, PayClient, RefundRequest, RetryPolicy,
    UnifiedOrder,
};
use wxpay_core::v2::{RequestPayment, SignType};
use wxpay_core::{ApiKey, Fen, RefundStatus};
use wxpay_sim::config::{DOC_API_KEY, DOC_APPID, DOC_MCH_ID};
use wxpay_sim::secapi::SandboxTls;
use wxpay_sim::{RunningSim, SimConfig};

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

async fn post(http: &reqwest::Client, url: String, body: Value) -> Value {
    http.post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

struct Harness {
    sim: RunningSim,
    http: reqwest::Client,
    tls: SandboxTls,
}

impl Harness {
    async fn start() -> Harness {
        let config = SimConfig {
            time_scale: 1000.0,
            ..SimConfig::default()
        };
        let sim = wxpay_sim::spawn(&config).await.unwrap();
        let http = wxpay_sim::notify::http_client().unwrap();
        let tls: SandboxTls = http
            .get(format!("{}/sim/merchants/{DOC_MCH_ID}/tls", sim.base_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Harness { sim, http, tls }
    }

    fn pem_certificate(&self) -> MerchantCertificate {
        MerchantCertificate::from_pem(
            &self.tls.client_cert_pem,
            self.tls.client_key_pem.as_deref().unwrap(),
            DOC_MCH_ID,
        )
        .unwrap()
    }

    fn client(&self, certificate: Option<&MerchantCertificate>) -> PayClient {
        let client = PayClient::new(
            &self.sim.base_url,
            DOC_APPID,
            DOC_MCH_ID,
            ApiKey::new(DOC_API_KEY).unwrap(),
            &options(),
        )
        .unwrap();
        match certificate {
            Some(certificate) => client
                .with_refunds(
                    &self.tls.secapi_base_url,
                    certificate,
                    Some(&self.tls.ca_pem),
                    &options(),
                )
                .unwrap(),
            None => client,
        }
    }

    /// A paid v2 order of 1,999 fen: its out_trade_no.
    async fn paid(&self, client: &PayClient, no: &str) -> String {
        let user = post(
            &self.http,
            format!("{}/sim/login", self.sim.base_url),
            json!({ "appid": DOC_APPID }),
        )
        .await;
        let openid = user["openid"].as_str().unwrap();
        let prepay = client
            .unified_order(&UnifiedOrder {
                sign_type: SignType::Md5,
                out_trade_no: no,
                body: "refund test",
                total_fee: Fen::new(1999),
                openid,
                notify_url: "https://merchant.example.com/notify",
                spbill_create_ip: "127.0.0.1",
                attach: None,
                time_expire: None,
            })
            .await
            .unwrap();
        let params = RequestPayment::build(
            DOC_APPID,
            &prepay.prepay_id,
            client.key(),
            SignType::Md5,
            "nonce",
            1_796_000_000,
        )
        .unwrap();
        let mut pay = serde_json::to_value(&params).unwrap();
        pay["appid"] = json!(DOC_APPID);
        pay["openid"] = json!(openid);
        let paid = post(&self.http, format!("{}/sim/pay", self.sim.base_url), pay).await;
        assert_eq!(paid["errMsg"], "requestPayment:ok");
        no.to_owned()
    }
}

fn refund<'a>(no: &'a str, out_refund_no: &'a str, fee: i64) -> RefundRequest<'a> {
    RefundRequest {
        sign_type: SignType::Md5,
        out_trade_no: no,
        out_refund_no,
        total_fee: Fen::new(1999),
        refund_fee: Fen::new(fee),
        refund_desc: Some("退货"),
        notify_url: None,
    }
}

async fn wait_final(client: &PayClient, out_refund_no: &str) -> RefundStatus {
    for _ in 0..200 {
        let status = client
            .refund_query(out_refund_no, SignType::Md5)
            .await
            .unwrap()
            .status;
        if status != RefundStatus::Processing {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    RefundStatus::Processing
}

/// `openssl pkcs12 -export` of the merchant's PEMs, with `extra` options (`-legacy`).
fn openssl_p12(tls: &SandboxTls, password: &str, extra: &[&str]) -> Vec<u8> {
    let dir =
        std::env::temp_dir().join(format!("wxpay-p12-{}-{}", std::process::id(), extra.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key, out) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("out.p12"),
    );
    std::fs::write(&cert, &tls.client_cert_pem).unwrap();
    std::fs::write(&key, tls.client_key_pem.as_deref().unwrap()).unwrap();
    let status = Command::new("openssl")
        .args(["pkcs12", "-export"])
        .args(extra)
        .arg("-in")
        .arg(&cert)
        .arg("-inkey")
        .arg(&key)
        .arg("-out")
        .arg(&out)
        .args(["-passout", &format!("pass:{password}")])
        .status()
        .expect("the OpenSSL 3 command line (the README's test command needs it)");
    assert!(status.success());
    let der = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    der
}

#[tokio::test]
async fn v2_refunds_with_each_certificate_format() {
    let h = Harness::start().await;
    let pem = h.pem_certificate();
    let client = h.client(Some(&pem));
    let no = h.paid(&client, "refund-client-1").await;

    let accepted = client.refund(&refund(&no, "RC-1", 500)).await.unwrap();
    assert_eq!(accepted.refund_fee, Fen::new(500));
    assert!(accepted.refund_id.starts_with("503"));
    assert_eq!(wait_final(&client, "RC-1").await, RefundStatus::Success);
    let queried = client.refund_query("RC-1", SignType::Md5).await.unwrap();
    assert_eq!(queried.refund_id, accepted.refund_id);
    assert_eq!(queried.out_trade_no, no);

    // The simulator's .p12 (legacy RC2-40, password the mch_id), as WeChat hands it out.
    let legacy = base64::engine::general_purpose::STANDARD
        .decode(h.tls.client_p12_base64.as_deref().unwrap())
        .unwrap();
    let from_p12 = MerchantCertificate::from_p12(&legacy, DOC_MCH_ID, DOC_MCH_ID).unwrap();
    client_refund_ok(&h, &from_p12, &no, "RC-2").await;
    // Files OpenSSL 3 writes: legacy (RC2-40 + 3DES, what old downloads are) and modern.
    let openssl_legacy = openssl_p12(&h.tls, DOC_MCH_ID, &["-legacy"]);
    let certificate =
        MerchantCertificate::from_p12(&openssl_legacy, DOC_MCH_ID, DOC_MCH_ID).unwrap();
    client_refund_ok(&h, &certificate, &no, "RC-3").await;
    let modern = openssl_p12(&h.tls, "secret", &[]);
    let certificate = MerchantCertificate::from_p12(&modern, "secret", DOC_MCH_ID).unwrap();
    client_refund_ok(&h, &certificate, &no, "RC-4").await;

    // The classic mistakes, each named.
    assert!(matches!(
        MerchantCertificate::from_p12(&legacy, "wrong", DOC_MCH_ID),
        Err(CertificateError::Password(_))
    ));
    assert!(matches!(
        MerchantCertificate::from_p12(&legacy, DOC_MCH_ID, "1900000109"),
        Err(CertificateError::OtherMerchant { .. })
    ));
    let stranger_key = include_str!("../../wxpay-core/tests/data/merchant_key_pkcs1.pem");
    assert!(matches!(
        MerchantCertificate::from_pem(&h.tls.client_cert_pem, stranger_key, DOC_MCH_ID),
        Err(CertificateError::KeyMismatch(_))
    ));
    assert!(
        format!("{pem:?}").find("PRIVATE").is_none(),
        "never printed"
    );
}

async fn client_refund_ok(h: &Harness, certificate: &MerchantCertificate, no: &str, out: &str) {
    let accepted = h
        .client(Some(certificate))
        .refund(&refund(no, out, 100))
        .await;
    assert!(accepted.is_ok(), "{out}: {accepted:?}");
}

#[tokio::test]
async fn v2_refund_errors_and_safe_retries() {
    let h = Harness::start().await;
    let client = h.client(Some(&h.pem_certificate()));
    let no = h.paid(&client, "refund-client-2").await;
    // Without the certificate: a clear error, nothing sent.
    let error = h
        .client(None)
        .refund(&refund(&no, "RE-1", 1))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("certificate"), "{error}");
    // SYSTEMERROR then a 5xx: retried with the same out_refund_no, one refund at WeChat.
    for kind in ["system_error", "http_5xx"] {
        post(
            &h.http,
            format!("{}/sim/faults", h.sim.base_url),
            json!({ "endpoint": "refund", "kind": kind, "count": 1 }),
        )
        .await;
    }
    let accepted = client.refund(&refund(&no, "RE-2", 1999)).await.unwrap();
    let again = client.refund(&refund(&no, "RE-2", 1999)).await.unwrap();
    assert_eq!(again.refund_id, accepted.refund_id);
    // More than what is left: WeChat's refusal, kept.
    let error = client.refund(&refund(&no, "RE-3", 1)).await.unwrap_err();
    assert_eq!(error.err_code(), Some("ERROR"), "{error}");
    assert!(!error.is_retryable());
    let error = client
        .refund_query("RE-9", SignType::Md5)
        .await
        .unwrap_err();
    assert_eq!(error.err_code(), Some("REFUNDNOTEXIST"));
}

#[tokio::test]
async fn v3_refunds_create_and_query() {
    let config = SimConfig {
        time_scale: 1000.0,
        ..SimConfig::default()
    };
    let sim = wxpay_sim::spawn(&config).await.unwrap();
    let http = wxpay_sim::notify::http_client().unwrap();
    let keys: wxpay_sim::v3::SandboxKeys = http
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
    let client = V3PayClient::new(
        &sim.base_url,
        V3Credentials {
            appid: keys.appid.clone(),
            mchid: keys.mchid.clone(),
            merchant_serial: keys.merchant_serial_no.clone(),
            merchant_key: std::sync::Arc::new(
                wxpay_core::v3::RsaPrivateKey::from_pem(
                    keys.merchant_private_key_pem.as_deref().unwrap(),
                )
                .unwrap(),
            ),
            apiv3_key: wxpay_core::v3::ApiV3Key::new(&keys.apiv3_key).unwrap(),
            wechat: WechatKeys::public_key(
                wxpay_core::v3::WechatPayPublicKey::from_pem(
                    keys.public_key_id.as_deref().unwrap(),
                    keys.public_key_pem.as_deref().unwrap(),
                )
                .unwrap(),
            ),
        },
        &options(),
    )
    .unwrap();
    // A paid v3 order of 2,800 fen.
    let user = post(
        &http,
        format!("{}/sim/login", sim.base_url),
        json!({"appid": DOC_APPID}),
    )
    .await;
    let openid = user["openid"].as_str().unwrap();
    let body = client.prepay_body(&wxpay_client::v3::JsapiOrder {
        description: "refund test",
        out_trade_no: "v3clientrefund1",
        notify_url: "https://merchant.example.com/notify/v3",
        total: Fen::new(2800),
        openid,
        time_expire: None,
        attach: None,
        payer_client_ip: None,
    });
    let prepay_id = client.prepay(&body).await.unwrap();
    let key =
        wxpay_core::v3::RsaPrivateKey::from_pem(keys.merchant_private_key_pem.as_deref().unwrap())
            .unwrap();
    let params =
        wxpay_core::v3::RequestPaymentV3::build(DOC_APPID, &prepay_id, &key, "n", 1_796_000_000)
            .unwrap();
    let mut pay = serde_json::to_value(&params).unwrap();
    pay["appid"] = json!(DOC_APPID);
    pay["openid"] = json!(openid);
    assert_eq!(
        post(&http, format!("{}/sim/pay", sim.base_url), pay).await["errMsg"],
        "requestPayment:ok"
    );

    post(
        &http,
        format!("{}/sim/faults", sim.base_url),
        json!({ "endpoint": "refund", "kind": "system_error", "count": 1 }),
    )
    .await;
    let request = V3RefundRequest {
        out_trade_no: "v3clientrefund1",
        out_refund_no: "VRC-1@shop",
        refund: Fen::new(800),
        total: Fen::new(2800),
        reason: Some("退货"),
        notify_url: None,
    };
    let body = client.refund_body(&request);
    let created = client.refund(&body).await.unwrap();
    assert_eq!(created.status, RefundStatus::Processing);
    assert_eq!(created.refund, Fen::new(800));
    assert_eq!(
        client.refund(&body).await.unwrap().refund_id,
        created.refund_id
    );
    let mut status = created.status;
    for _ in 0..200 {
        status = client.query_refund("VRC-1@shop").await.unwrap().status;
        if status != RefundStatus::Processing {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status, RefundStatus::Success);
    let too_much = client
        .refund(&client.refund_body(&V3RefundRequest {
            out_refund_no: "VRC-2",
            refund: Fen::new(2001),
            ..request
        }))
        .await
        .unwrap_err();
    assert_eq!(too_much.code(), Some("INVALID_REQUEST"));
    assert_eq!(
        client.query_refund("VRC-9").await.unwrap_err().code(),
        Some("RESOURCE_NOT_EXISTS")
    );

    // The v3 bill of today lists the payment and the refund (tradebill, then the file,
    // gzipped, its SHA1 checked); a day without trades is None.
    let today = beijing_today().to_string();
    let text = client
        .trade_bill(&today, wxpay_client::BillType::All)
        .await
        .unwrap()
        .expect("a bill for today");
    let bill = wxpay_core::v2::bill::parse_bill(&text).unwrap();
    let paid = bill
        .rows
        .iter()
        .find(|r| r.out_trade_no == "v3clientrefund1" && r.refund_id.is_none())
        .unwrap();
    assert_eq!(paid.settled_fen, Fen::new(2800));
    let refunded = bill
        .rows
        .iter()
        .find(|r| r.out_refund_no.as_deref() == Some("VRC-1@shop"))
        .unwrap();
    assert_eq!(refunded.refund_fen, Fen::new(800));
    assert_eq!(
        client
            .trade_bill("2020-01-01", wxpay_client::BillType::All)
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        client
            .trade_bill("20200101", wxpay_client::BillType::All)
            .await,
        Err(V3PayError::Sign(_))
    ));
}

/// `download_bill`: the day's bill (text, parsed by the core), `None` for a day without
/// trades, and WeChat's refusal of a wrong key kept as its message.
#[tokio::test]
async fn the_days_bill_downloads_and_parses() {
    use wxpay_client::{BillType, PayError};
    let harness = Harness::start().await;
    let client = harness.client(None);
    let no = harness.paid(&client, "bill-client-1").await;
    let today = beijing_today().to_string().replace('-', "");
    let text = client
        .download_bill(&today, BillType::All)
        .await
        .unwrap()
        .expect("a bill for today");
    let bill = wxpay_core::v2::bill::parse_bill(&text).unwrap();
    let row = bill.rows.iter().find(|r| r.out_trade_no == no).unwrap();
    assert_eq!(row.settled_fen, Fen::new(1999));
    assert_eq!(
        client
            .download_bill("20200101", BillType::All)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        client
            .download_bill(&today, BillType::Refund)
            .await
            .unwrap(),
        None
    );
    let wrong = PayClient::new(
        &harness.sim.base_url,
        DOC_APPID,
        DOC_MCH_ID,
        ApiKey::new("0123456789abcdefghijklmnopqrstuv").unwrap(),
        &options(),
    )
    .unwrap();
    match wrong.download_bill(&today, BillType::All).await {
        Err(PayError::Return { return_msg }) => {
            assert!(return_msg.contains("签名错误"), "{return_msg}")
        }
        other => panic!("{other:?}"),
    }
}

/// Today in Beijing, the day WeChat's bills cover.
fn beijing_today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date()
}

/// Security review (issue #23): the simulator's `/secapi` root had no basicConstraints or
/// keyUsage, so OpenSSL-based clients refused it ("invalid CA certificate") where rustls
/// took it as a trust anchor. Now `openssl s_client -verify_return_error` verifies the
/// server, and curl (OpenSSL) refunds over mutual TLS with the merchant certificate.
#[tokio::test]
async fn openssl_clients_verify_the_secapi_server_and_refund_over_mutual_tls() {
    use wxpay_core::v2::{Params, sign, xml};
    let h = Harness::start().await;
    let pem = h.pem_certificate();
    let client = h.client(Some(&pem));
    let no = h.paid(&client, "refund-openssl-1").await;
    let dir = std::env::temp_dir().join(format!("wxpay-secapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let ca = file("ca.pem", &h.tls.ca_pem);
    let cert = file("cert.pem", &h.tls.client_cert_pem);
    let key = file("key.pem", h.tls.client_key_pem.as_deref().unwrap());
    let host_port = h
        .tls
        .secapi_base_url
        .trim_start_matches("https://")
        .to_owned();

    let verified = Command::new("openssl")
        .args(["s_client", "-connect", &host_port, "-verify_return_error"])
        .args(["-verify_ip", "127.0.0.1", "-CAfile"])
        .arg(&ca)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the OpenSSL 3 command line");
    let said = String::from_utf8_lossy(&verified.stdout);
    assert!(
        verified.status.success() && said.contains("Verify return code: 0 (ok)"),
        "{said}\n{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    let mut params: Params<'_> = [
        ("appid", DOC_APPID),
        ("mch_id", DOC_MCH_ID),
        ("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
        ("out_trade_no", no.as_str()),
        ("out_refund_no", "RC-OPENSSL-1"),
        ("total_fee", "1999"),
        ("refund_fee", "100"),
    ]
    .into_iter()
    .collect();
    sign::sign_in_place(&mut params, client.key(), SignType::Md5);
    let body = file("refund.xml", &xml::to_xml(&params).unwrap());
    let curl = Command::new("curl")
        .args(["--silent", "--show-error", "--fail", "--max-time", "10"])
        .arg("--cacert")
        .arg(&ca)
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .args(["-H", "content-type: text/xml", "--data-binary"])
        .arg(format!("@{}", body.display()))
        .arg(format!("{}/secapi/pay/refund", h.tls.secapi_base_url))
        .output()
        .expect("curl (the README's test command installs it)");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    let reply = xml::parse(&curl.stdout).unwrap();
    assert_eq!(
        (reply.get("return_code"), reply.get("result_code")),
        (Some("SUCCESS"), Some("SUCCESS")),
        "{reply:?}"
    );
    assert_eq!(reply.get("refund_fee"), Some("100"));
    assert_eq!(
        wait_final(&client, "RC-OPENSSL-1").await,
        RefundStatus::Success
    );
}
