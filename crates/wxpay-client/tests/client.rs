//! The client against the simulator: happy paths, WeChat's errors kept, retries only
//! where safe, and replies verified.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use wxpay_client::{
    ClientOptions, CloseOutcome, LoginClient, LoginError, PayClient, PayError, RetryPolicy,
    TradeState, UnifiedOrder,
};
use wxpay_core::v2::sign::SignType;
use wxpay_core::{ApiKey, Fen};
use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID};
use wxpay_sim::{RunningSim, SimConfig};

struct Harness {
    sim: RunningSim,
    control: reqwest::Client,
}

impl Harness {
    async fn start() -> Harness {
        let config = SimConfig {
            time_scale: 1000.0,
            ..SimConfig::default()
        };
        Harness {
            sim: wxpay_sim::spawn(&config).await.unwrap(),
            control: wxpay_sim::notify::http_client().unwrap(),
        }
    }

    fn options(&self) -> ClientOptions {
        ClientOptions {
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_millis(500),
            retry: RetryPolicy {
                attempts: 3,
                first_backoff: Duration::from_millis(10),
            },
            ..ClientOptions::default()
        }
    }

    fn login_client(&self, secret: &str) -> LoginClient {
        LoginClient::new(
            &self.sim.base_url,
            DOC_APPID,
            SecretString::from(secret),
            &self.options(),
        )
        .unwrap()
    }

    fn pay_client(&self) -> PayClient {
        self.pay_client_with(DOC_API_KEY, self.options())
    }

    fn pay_client_with(&self, key: &str, options: ClientOptions) -> PayClient {
        PayClient::new(
            &self.sim.base_url,
            DOC_APPID,
            DOC_MCH_ID,
            ApiKey::new(key).unwrap(),
            &options,
        )
        .unwrap()
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.sim.base_url);
        self.control
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn code(&self, extra: Value) -> String {
        let mut body = json!({ "appid": DOC_APPID });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        self.control("/sim/login", body).await["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn fault(&self, spec: Value) {
        self.control("/sim/faults", spec).await;
    }

    async fn trade_count(&self, out_trade_no: &str) -> u16 {
        let url = format!("{}/sim/trades/{out_trade_no}", self.sim.base_url);
        self.control
            .get(url)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

fn order(no: &str) -> UnifiedOrder<'_> {
    UnifiedOrder {
        sign_type: SignType::HmacSha256,
        out_trade_no: no,
        body: "wxpay test shop-order",
        total_fee: Fen::new(1999),
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        notify_url: "https://merchant.example.com/wechat/pay/notify",
        spbill_create_ip: "127.0.0.1",
        attach: None,
        time_expire: None,
    }
}

#[tokio::test]
async fn code2session_success_and_wechats_errors() {
    let h = Harness::start().await;
    let client = h.login_client(DOC_APP_SECRET);
    let code = h.code(json!({})).await;
    let session = client.code2session(&code).await.unwrap();
    assert!(session.openid.starts_with('o'));
    assert_eq!(format!("{:?}", session.session_key), "SessionKey(***)");
    assert_eq!(
        client.code2session(&code).await.unwrap_err(),
        LoginError::CodeUsed
    );
    assert_eq!(
        client.code2session("nope").await.unwrap_err(),
        LoginError::InvalidCode
    );
    let blocked = h.code(json!({"openid": "o-risky", "blocked": true})).await;
    assert_eq!(
        client.code2session(&blocked).await.unwrap_err(),
        LoginError::Blocked
    );
    let wrong = h.login_client("00000000000000000000000000000000");
    let code = h.code(json!({})).await;
    let err = wrong.code2session(&code).await.unwrap_err();
    assert_eq!(err, LoginError::Credentials(40125));
}

#[tokio::test]
async fn code2session_retries_busy_but_not_timeouts() {
    let h = Harness::start().await;
    let client = h.login_client(DOC_APP_SECRET);
    h.fault(json!({"endpoint": "jscode2session", "kind": "busy", "count": 2}))
        .await;
    let code = h.code(json!({})).await;
    assert!(
        client.code2session(&code).await.is_ok(),
        "two busy replies, then success"
    );

    h.fault(json!({"endpoint": "jscode2session", "kind": "timeout", "count": 1, "delay_ms": 2000}))
        .await;
    let code = h.code(json!({})).await;
    assert_eq!(
        client.code2session(&code).await.unwrap_err(),
        LoginError::Timeout
    );
}

#[tokio::test]
async fn errors_never_carry_the_app_secret() {
    // Nothing listens on port 9: a transport error whose reqwest form names the URL.
    let client = LoginClient::new(
        "http://127.0.0.1:9",
        DOC_APPID,
        SecretString::from(DOC_APP_SECRET),
        &ClientOptions::default(),
    )
    .unwrap();
    let err = client.code2session("abc").await.unwrap_err();
    assert!(matches!(err, LoginError::Transport(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(DOC_APP_SECRET));
}

#[tokio::test]
async fn unified_order_both_sign_types_and_identical_repeats() {
    let h = Harness::start().await;
    for (no, sign_type) in [("c-md5", SignType::Md5), ("c-hmac", SignType::HmacSha256)] {
        let client = h.pay_client();
        let request = UnifiedOrder {
            sign_type,
            ..order(no)
        };
        let first = client.unified_order(&request).await.unwrap();
        let again = client.unified_order(&request).await.unwrap();
        assert_eq!(first.prepay_id, again.prepay_id);
        for changed in [
            UnifiedOrder {
                total_fee: Fen::new(1),
                ..request.clone()
            },
            // The sign type is part of the order at WeChat.
            UnifiedOrder {
                sign_type: if sign_type == SignType::Md5 {
                    SignType::HmacSha256
                } else {
                    SignType::Md5
                },
                ..request.clone()
            },
        ] {
            let err = client.unified_order(&changed).await.unwrap_err();
            assert_eq!(err.err_code(), Some("OUT_TRADE_NO_USED"));
            assert!(!err.is_retryable());
        }
    }
}

#[tokio::test]
async fn safe_failures_are_retried_with_the_same_request() {
    let h = Harness::start().await;
    let client = h.pay_client();
    for (no, fault) in [
        (
            "r-sys",
            json!({"endpoint": "unifiedorder", "kind": "system_error", "count": 2}),
        ),
        (
            "r-5xx",
            json!({"endpoint": "unifiedorder", "kind": "http_5xx", "count": 2}),
        ),
        (
            "r-sign",
            json!({"endpoint": "unifiedorder", "kind": "bad_sign", "count": 2}),
        ),
        // WeChat acts but answers after the client's 500 ms timeout: the retry must get
        // the same order's prepay_id, not create another.
        (
            "r-late",
            json!({"endpoint": "unifiedorder", "kind": "timeout", "count": 1, "delay_ms": 1500}),
        ),
    ] {
        h.fault(fault).await;
        let prepay = client.unified_order(&order(no)).await.unwrap();
        assert!(prepay.prepay_id.starts_with("wx"), "{no}");
        assert_eq!(h.trade_count(no).await, 200, "{no}");
    }
    // Three failures in a row exhaust the budget: the caller gets a clear error.
    h.fault(json!({"endpoint": "unifiedorder", "kind": "system_error", "count": 3}))
        .await;
    let err = client
        .unified_order(&order("r-exhausted"))
        .await
        .unwrap_err();
    assert_eq!(err.err_code(), Some("SYSTEMERROR"));
    assert_eq!(h.trade_count("r-exhausted").await, 404);
}

#[tokio::test]
async fn a_wrong_key_is_a_return_fail_and_not_retried() {
    let h = Harness::start().await;
    let client = h.pay_client_with("00000000000000000000000000000000", h.options());
    let err = client.unified_order(&order("wrong-key")).await.unwrap_err();
    assert!(
        matches!(&err, PayError::Return { return_msg } if return_msg.contains("签名错误")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn query_and_close_follow_the_trade() {
    let h = Harness::start().await;
    let client = h.pay_client();
    let md5 = SignType::Md5;
    let err = client.order_query("q-none", md5).await.unwrap_err();
    assert_eq!(err.err_code(), Some("ORDERNOTEXIST"));
    assert_eq!(
        client.close_order("q-none", md5).await.unwrap(),
        CloseOutcome::NotFound
    );
    client
        .unified_order(&UnifiedOrder {
            sign_type: md5,
            ..order("q-1")
        })
        .await
        .unwrap();
    let trade = client.order_query("q-1", md5).await.unwrap();
    assert_eq!(trade.state, TradeState::NotPay);
    assert_eq!(trade.total_fee, Some(Fen::new(1999)));
    assert_eq!(trade.out_trade_no, "q-1");
    assert_eq!(
        client.close_order("q-1", md5).await.unwrap(),
        CloseOutcome::Closed
    );
    assert_eq!(
        client.close_order("q-1", md5).await.unwrap(),
        CloseOutcome::AlreadyClosed
    );
    assert_eq!(
        client.order_query("q-1", md5).await.unwrap().state,
        TradeState::Closed
    );
}

/// A host that answers every request with `307` to `location` (a hijacked or mistyped
/// MP host), and counts what reaches `location`'s own listener.
async fn redirect_to_a_counting_host() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere_url = format!("http://{}", elsewhere.local_addr().unwrap());
    let reached = Arc::new(AtomicUsize::new(0));
    let seen = reached.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = elsewhere.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    let redirector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirector_url = format!("http://{}", redirector.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = redirector.accept().await {
            let location = elsewhere_url.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = stream.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}/cgi-bin/stable_token\r\n\
                     content-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    (redirector_url, reached)
}

/// Issue #23, finding 6: reqwest's default policy followed the 307 and sent the app
/// secret (stable_token's body) to the other host. A redirect is now an error.
#[tokio::test]
async fn redirects_are_never_followed() {
    let (url, reached) = redirect_to_a_counting_host().await;
    let options = ClientOptions {
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            attempts: 1,
            first_backoff: Duration::from_millis(10),
        },
        ..ClientOptions::default()
    };
    let client = LoginClient::new(
        &url,
        DOC_APPID,
        SecretString::from(DOC_APP_SECRET),
        &options,
    )
    .unwrap();
    let refused = client.stable_token(false).await;
    assert!(refused.is_err(), "a 307 is not a token: {refused:?}");
    assert!(client.code2session("a-code").await.is_err());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        reached.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a call followed the redirect"
    );
}
