//! The order-shipping calls against the simulator: upload, WeChat's refusals kept with
//! their errcodes, the one correction, get_order's states through settlement, the
//! confirmation reminder, and the trade-management pushes the simulator sends (opened
//! with `wxpay_core::push`, as a backend would).

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use secrecy::SecretString;
use serde_json::{Value, json};
use wxpay_client::shipping::{
    DeliveryMode, LogisticsType, OrderKey, Parcel, ShippingInfo, WeChatOrderState, upload_time,
};
use wxpay_client::{ClientOptions, LoginClient, MpError, PayClient, RetryPolicy, UnifiedOrder};
use wxpay_core::push::{self, PushKey};
use wxpay_core::v2::{RequestPayment, SignType};
use wxpay_core::{ApiKey, Fen};
use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID};
use wxpay_sim::{RunningSim, SimConfig};

const TOKEN: &str = "ShippingPushToken";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

type Received = Arc<Mutex<Vec<(String, String)>>>;

/// The message push URL: keeps each push's query and body, answers `success`.
async fn push_receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let kept = Arc::clone(&received);
    let server = HttpServer::new(move || {
        let kept = Arc::clone(&kept);
        App::new().default_service(web::to(move |req: HttpRequest, body: String| {
            let kept = Arc::clone(&kept);
            async move {
                kept.lock()
                    .unwrap()
                    .push((req.query_string().to_owned(), body));
                HttpResponse::Ok().body("success")
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let url = format!("http://{}/wechat/mp/events", server.addrs()[0]);
    tokio::spawn(server.run());
    (url, received)
}

struct Harness {
    sim: RunningSim,
    http: reqwest::Client,
    mp: LoginClient,
    pay: PayClient,
}

impl Harness {
    async fn start() -> Harness {
        let config = SimConfig {
            time_scale: 1000.0,
            ..SimConfig::default()
        };
        let sim = wxpay_sim::spawn(&config).await.unwrap();
        let options = ClientOptions {
            request_timeout: Duration::from_secs(2),
            retry: RetryPolicy {
                attempts: 1,
                first_backoff: Duration::from_millis(10),
            },
            ..ClientOptions::default()
        };
        let mp = LoginClient::new(
            &sim.base_url,
            DOC_APPID,
            SecretString::from(DOC_APP_SECRET),
            &options,
        )
        .unwrap();
        let pay = PayClient::new(
            &sim.base_url,
            DOC_APPID,
            DOC_MCH_ID,
            ApiKey::new(DOC_API_KEY).unwrap(),
            &options,
        )
        .unwrap();
        Harness {
            sim,
            http: wxpay_sim::notify::http_client().unwrap(),
            mp,
            pay,
        }
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.sim.base_url);
        let response = self.http.post(url).json(&body).send().await.unwrap();
        response.json().await.unwrap()
    }

    /// A paid trade: its payer's openid.
    async fn paid(&self, no: &str) -> String {
        let user = self
            .control("/sim/login", json!({ "appid": DOC_APPID }))
            .await;
        let openid = user["openid"].as_str().unwrap().to_owned();
        let prepay = self
            .pay
            .unified_order(&UnifiedOrder {
                sign_type: SignType::Md5,
                out_trade_no: no,
                body: "shipping test",
                total_fee: Fen::new(2500),
                openid: &openid,
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
            self.pay.key(),
            SignType::Md5,
            "nonce",
            1_796_000_000,
        )
        .unwrap();
        let mut pay = serde_json::to_value(&params).unwrap();
        pay["appid"] = json!(DOC_APPID);
        pay["openid"] = json!(openid);
        assert_eq!(
            self.control("/sim/pay", pay).await["errMsg"],
            "requestPayment:ok"
        );
        openid
    }

    async fn pushes_received(&self, received: &Received, n: usize) -> Vec<(String, String)> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let seen = received.lock().unwrap().clone();
            if seen.len() >= n || tokio::time::Instant::now() >= deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn key(no: &str) -> OrderKey {
    OrderKey::Merchant {
        mchid: DOC_MCH_ID.into(),
        out_trade_no: no.into(),
    }
}

fn express(no: &str, openid: &str, tracking: &str, at_ms: i64) -> ShippingInfo {
    ShippingInfo {
        order_key: key(no),
        logistics_type: LogisticsType::Express,
        delivery_mode: DeliveryMode::Unified,
        shipping_list: vec![Parcel {
            tracking_no: Some(tracking.into()),
            express_company: Some("YTO".into()),
            item_desc: "微信气泡狗集线器*1".into(),
            contact: None,
        }],
        upload_time: upload_time(at_ms),
        payer_openid: openid.into(),
    }
}

fn errcode(result: Result<(), MpError>) -> i64 {
    result.unwrap_err().errcode().unwrap()
}

/// A push as a backend opens it: `msg_signature` checked, `Encrypt` decrypted, appid
/// ours.
fn open(query: &str, body: &str) -> Value {
    let query: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(query["encrypt_type"], "aes");
    assert!(push::verify_url_signature(
        TOKEN,
        &query["timestamp"],
        &query["nonce"],
        &query["signature"]
    ));
    let outer: Value = serde_json::from_str(body).unwrap();
    let key = PushKey::from_encoding_aes_key(AES_KEY).unwrap();
    let message = push::open(
        TOKEN,
        &key,
        DOC_APPID,
        &query["timestamp"],
        &query["nonce"],
        outer["Encrypt"].as_str().unwrap(),
        &query["msg_signature"],
    )
    .unwrap();
    serde_json::from_str(&message).unwrap()
}

#[tokio::test]
async fn upload_correct_once_confirm_and_settle() {
    let h = Harness::start().await;
    let (url, received) = push_receiver().await;
    let token = h.mp.stable_token(false).await.unwrap().token;
    assert!(!h.mp.is_trade_managed(&token).await.unwrap());
    let settings = h
        .control(
            &format!("/sim/apps/{DOC_APPID}/shipping"),
            json!({"trade_managed": true, "push": {"url": url, "token": TOKEN,
                "encoding_aes_key": AES_KEY, "mode": "secure", "format": "json"}}),
        )
        .await;
    assert_eq!(settings["trade_managed"], true, "{settings}");
    assert!(h.mp.is_trade_managed(&token).await.unwrap());

    let openid = h.paid("ship-1").await;
    let now = 1_800_000_000_000;
    // Unknown order, someone else's openid: WeChat's codes, kept.
    let unknown = express("ship-none", &openid, "T0", now);
    assert_eq!(
        errcode(h.mp.upload_shipping_info(&token, &unknown).await),
        10060001
    );
    let stranger = express("ship-1", "o-someone-else", "T0", now);
    assert_eq!(
        errcode(h.mp.upload_shipping_info(&token, &stranger).await),
        10060031
    );

    let first = express("ship-1", &openid, "YT100", now);
    h.mp.upload_shipping_info(&token, &first).await.unwrap();
    let order = h.mp.shipping_order(&token, &key("ship-1")).await.unwrap();
    assert_eq!(order.state, WeChatOrderState::Shipped);
    assert_eq!(
        (order.finish_shipping, order.finish_shipping_count),
        (true, 1)
    );
    assert_eq!(order.paid_amount, 2500);
    assert_eq!(order.openid, openid);
    // The same upload again (a retry) changes nothing and says so.
    assert_eq!(
        errcode(h.mp.upload_shipping_info(&token, &first).await),
        10060023
    );
    // A correction must be later, and there is one.
    let stale = express("ship-1", &openid, "YT200", now - 1000);
    assert_eq!(
        errcode(h.mp.upload_shipping_info(&token, &stale).await),
        268485216
    );
    let corrected = express("ship-1", &openid, "YT200", now + 1000);
    h.mp.upload_shipping_info(&token, &corrected).await.unwrap();
    let order = h.mp.shipping_order(&token, &key("ship-1")).await.unwrap();
    assert_eq!(order.finish_shipping_count, 2);
    let again = express("ship-1", &openid, "YT300", now + 2000);
    assert_eq!(
        errcode(h.mp.upload_shipping_info(&token, &again).await),
        10060003
    );

    // The shipping's settlement push: estimated, not yet settled.
    let pushes = h.pushes_received(&received, 1).await;
    assert_eq!(
        pushes.len(),
        1,
        "one push per completed shipping: {pushes:?}"
    );
    let shipped = open(&pushes[0].0, &pushes[0].1);
    assert_eq!(shipped["Event"], "trade_manage_order_settlement");
    assert_eq!(shipped["merchant_trade_no"], "ship-1");
    assert_eq!(shipped["transaction_id"], order.transaction_id.as_str());
    assert!(shipped["estimated_settlement_time"].as_i64().unwrap() > 0);
    assert!(shipped.get("settlement_time").is_none());

    // Reminding the payer: once.
    let by_id = OrderKey::Transaction {
        transaction_id: order.transaction_id.clone(),
    };
    let received_at = shipped["shipped_time"].as_i64().unwrap() + 3600;
    h.mp.notify_confirm_receive(&token, &by_id, received_at)
        .await
        .unwrap();
    assert_eq!(
        errcode(
            h.mp.notify_confirm_receive(&token, &by_id, received_at)
                .await
        ),
        10060030
    );

    // The payer confirms; the funds settle; the second push says so.
    let confirmed = h
        .control(
            "/sim/shipping/confirm",
            json!({"appid": DOC_APPID, "out_trade_no": "ship-1", "mch_id": DOC_MCH_ID}),
        )
        .await;
    assert_eq!(confirmed["order_state"], 4, "{confirmed}");
    let order = h.mp.shipping_order(&token, &by_id).await.unwrap();
    assert_eq!(order.state, WeChatOrderState::Completed);
    let pushes = h.pushes_received(&received, 2).await;
    let settled = open(&pushes[1].0, &pushes[1].1);
    assert_eq!(settled["Event"], "trade_manage_order_settlement");
    assert_eq!(settled["confirm_receive_method"], 2);
    assert!(settled["settlement_time"].as_i64().unwrap() > 0);
    // After confirmation the shipping can no longer change.
    let late = express("ship-1", &openid, "YT400", now + 3000);
    assert_eq!(
        errcode(h.mp.upload_shipping_info(&token, &late).await),
        10060004
    );
}

#[tokio::test]
async fn virtual_goods_split_parcels_companies_and_tokens() {
    let h = Harness::start().await;
    let token = h.mp.stable_token(false).await.unwrap().token;
    let openid = h.paid("ship-v").await;
    let mut virtual_goods = express("ship-v", &openid, "", 1_800_000_000_000);
    virtual_goods.logistics_type = LogisticsType::Virtual;
    virtual_goods.shipping_list = vec![Parcel {
        item_desc: "会员月卡".into(),
        ..Parcel::default()
    }];
    h.mp.upload_shipping_info(&token, &virtual_goods)
        .await
        .unwrap();
    let order = h.mp.shipping_order(&token, &key("ship-v")).await.unwrap();
    assert_eq!(order.state, WeChatOrderState::Shipped);
    // Not express: no confirmation reminder.
    assert_eq!(
        errcode(
            h.mp.notify_confirm_receive(&token, &key("ship-v"), 1_900_000_000)
                .await
        ),
        10060032
    );

    // Split shipping: not complete until is_all_delivered.
    let openid = h.paid("ship-s").await;
    let mut split = express("ship-s", &openid, "ZT1", 1_800_000_000_000);
    split.delivery_mode = DeliveryMode::Split {
        all_delivered: false,
    };
    h.mp.upload_shipping_info(&token, &split).await.unwrap();
    let order = h.mp.shipping_order(&token, &key("ship-s")).await.unwrap();
    assert_eq!(order.state, WeChatOrderState::AwaitingShipment);
    split.delivery_mode = DeliveryMode::Split {
        all_delivered: true,
    };
    split.shipping_list.push(split.shipping_list[0].clone());
    split.shipping_list[1].tracking_no = Some("ZT2".into());
    split.upload_time = upload_time(1_800_000_001_000);
    h.mp.upload_shipping_info(&token, &split).await.unwrap();
    let order = h.mp.shipping_order(&token, &key("ship-s")).await.unwrap();
    assert_eq!(
        (order.state, order.finish_shipping_count),
        (WeChatOrderState::Shipped, 1)
    );

    let companies = h.mp.delivery_companies(&token).await.unwrap();
    assert!(
        companies.iter().any(|c| c.delivery_id == "SF"),
        "{companies:?}"
    );
    h.mp.set_msg_jump_path(&token, "pages/orders/detail")
        .await
        .unwrap();
    let wrong = SecretString::from("not-a-token");
    assert_eq!(
        h.mp.shipping_order(&wrong, &key("ship-s"))
            .await
            .unwrap_err(),
        MpError::InvalidToken(40001)
    );
    // A rule broken locally never reaches WeChat: its errcode, its reason.
    let mut unmasked = express("ship-s", &openid, "SF1", 1_800_000_002_000);
    unmasked.shipping_list[0].express_company = Some("SF".into());
    let error =
        h.mp.upload_shipping_info(&token, &unmasked)
            .await
            .unwrap_err();
    assert!(
        error.to_string().contains("SF Express needs a contact"),
        "{error}"
    );
}
