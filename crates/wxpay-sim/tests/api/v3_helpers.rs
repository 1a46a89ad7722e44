//! API v3 test harness: a merchant that signs its requests with the key the simulator
//! hands out and verifies every reply with the core, and a notify receiver that keeps
//! the headers.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use wxpay_core::v3::request::authorize;
use wxpay_core::v3::verify::SignatureHeaders;
use wxpay_core::v3::{KeySet, RequestPaymentV3, RequestToSign, RsaPrivateKey, VerifyError};
use wxpay_sim::config::{KeyMode, MerchantConfig};
use wxpay_sim::{RunningSim, SimConfig};

pub const APPID: &str = wxpay_sim::config::DOC_APPID;
pub const MCHID: &str = wxpay_sim::config::DOC_MCH_ID;

pub fn config(key_mode: KeyMode, time_scale: f64) -> SimConfig {
    let mut merchant = MerchantConfig::documentation();
    merchant.key_mode = key_mode;
    SimConfig {
        merchants: vec![merchant],
        seed: 7,
        time_scale,
    }
}

/// A reply from the simulator.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// Verifies the reply's signature with `keys`; the serial that verified it.
    pub fn verify(&self, keys: &KeySet) -> Result<String, VerifyError> {
        let headers = SignatureHeaders::from_lookup(|name| self.header(name))?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        keys.verify(&headers, self.body.as_bytes(), now)
            .map(|verified| verified.serial().to_owned())
    }
}

/// A v3 merchant talking to the simulator.
pub struct V3Merchant {
    pub sim: RunningSim,
    pub http: reqwest::Client,
    /// `GET /sim/merchants/{mchid}/v3-keys`.
    pub keys: Value,
    pub signer: RsaPrivateKey,
}

impl V3Merchant {
    pub async fn start(config: SimConfig) -> V3Merchant {
        let sim = wxpay_sim::spawn(&config).await.unwrap();
        let http = wxpay_sim::notify::http_client().unwrap();
        let keys = fetch_keys(&http, &sim.base_url, MCHID).await;
        let signer =
            RsaPrivateKey::from_pem(keys["merchant_private_key_pem"].as_str().unwrap()).unwrap();
        V3Merchant {
            sim,
            http,
            keys,
            signer,
        }
    }

    pub async fn refresh_keys(&mut self) {
        self.keys = fetch_keys(&self.http, &self.sim.base_url, MCHID).await;
    }

    /// WeChat's keys as the merchant would configure them (certificates and/or the
    /// public key), refusing its own certificate.
    pub fn key_set(&self) -> KeySet {
        let own = wxpay_core::v3::Certificate::from_pem(
            self.keys["merchant_certificate_pem"].as_str().unwrap(),
        )
        .unwrap();
        let mut keys = KeySet::for_merchant(own.public_key().clone(), own.serial_no());
        for certificate in self.keys["platform_certificates"].as_array().unwrap() {
            keys.add_pem(
                certificate["serial_no"].as_str().unwrap(),
                certificate["pem"].as_str().unwrap(),
            )
            .unwrap();
        }
        if let Some(id) = self.keys["public_key_id"].as_str() {
            keys.add_pem(id, self.keys["public_key_pem"].as_str().unwrap())
                .unwrap();
        }
        keys
    }

    pub fn serial_no(&self) -> &str {
        self.keys["merchant_serial_no"].as_str().unwrap()
    }

    pub fn apiv3_key(&self) -> &str {
        self.keys["apiv3_key"].as_str().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url)
    }

    /// A correctly signed request; `wechatpay_serial` is sent as `Wechatpay-Serial`.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        wechatpay_serial: Option<&str>,
    ) -> Reply {
        let body = body.map(Value::to_string).unwrap_or_default();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let authorization = authorize(
            &self.signer,
            MCHID,
            self.serial_no(),
            &RequestToSign {
                method,
                url: path,
                timestamp: now,
                nonce: "593BEC0C930BF1AFEB40B4A08C8FB242",
                body: body.as_bytes(),
            },
        )
        .unwrap();
        self.send(
            method,
            path,
            body,
            &authorization.header_value(),
            wechatpay_serial,
        )
        .await
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: String,
        authorization: &str,
        wechatpay_serial: Option<&str>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("Authorization", authorization)
            .header("Accept", "application/json");
        if !body.is_empty() {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        if let Some(serial) = wechatpay_serial {
            request = request.header("Wechatpay-Serial", serial);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = response.text().await.unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn prepay(&self, out_trade_no: &str, openid: &str, notify_url: &str) -> Reply {
        let body = prepay_body(out_trade_no, openid, notify_url);
        self.call("POST", "/v3/pay/transactions/jsapi", Some(&body), None)
            .await
    }

    pub async fn query(&self, out_trade_no: &str) -> Reply {
        let path = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={MCHID}");
        self.call("GET", &path, None, None).await
    }

    /// Logs a user in (`/sim/login`): their openid.
    pub async fn user(&self) -> String {
        let response: Value = self
            .http
            .post(self.url("/sim/login"))
            .json(&json!({ "appid": APPID }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["openid"].as_str().unwrap().to_owned()
    }

    /// Plays `wx.requestPayment` with v3 params signed by the merchant: the errMsg.
    pub async fn pay(&self, prepay_id: &str, openid: &str) -> String {
        let params =
            RequestPaymentV3::build(APPID, prepay_id, &self.signer, "nonce123", 1_764_000_000)
                .unwrap();
        self.pay_with(&params, openid).await
    }

    pub async fn pay_with(&self, params: &RequestPaymentV3, openid: &str) -> String {
        let response: Value = self
            .http
            .post(self.url("/sim/pay"))
            .json(&json!({
                "appid": APPID,
                "openid": openid,
                "timeStamp": params.time_stamp,
                "nonceStr": params.nonce_str,
                "package": params.package,
                "signType": params.sign_type,
                "paySign": params.pay_sign,
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["errMsg"].as_str().unwrap().to_owned()
    }

    /// A paid trade: its prepay reply must have been 200.
    pub async fn paid_trade(&self, out_trade_no: &str, notify_url: &str) -> String {
        let openid = self.user().await;
        let prepay = self.prepay(out_trade_no, &openid, notify_url).await;
        assert_eq!(prepay.status, 200, "{}", prepay.body);
        let prepay_id = prepay.json()["prepay_id"].as_str().unwrap().to_owned();
        assert_eq!(self.pay(&prepay_id, &openid).await, "requestPayment:ok");
        openid
    }

    pub async fn control(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn attempts(&self, out_trade_no: &str) -> Vec<Value> {
        let response: Value = self
            .http
            .get(self.url(&format!("/sim/notifies?out_trade_no={out_trade_no}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["attempts"].as_array().unwrap().clone()
    }

    /// Waits (up to 20 s: a loaded machine delays deliveries) until an acknowledged refund
    /// notify attempt for the trade is logged: all its attempts.
    pub async fn wait_refund_attempt(&self, out_trade_no: &str) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let attempts = self.attempts(out_trade_no).await;
            let done = attempts
                .iter()
                .any(|a| a["kind"] == "refund" && a["acknowledged"] == true);
            if done || tokio::time::Instant::now() >= deadline {
                return attempts;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Waits (up to 5 s) until `n` attempts for the trade are logged.
    pub async fn wait_attempts(&self, out_trade_no: &str, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let attempts = self.attempts(out_trade_no).await;
            if attempts.len() >= n || tokio::time::Instant::now() >= deadline {
                return attempts;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

pub async fn fetch_keys(http: &reqwest::Client, base: &str, mchid: &str) -> Value {
    let response = http
        .get(format!("{base}/sim/merchants/{mchid}/v3-keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

pub fn prepay_body(out_trade_no: &str, openid: &str, notify_url: &str) -> Value {
    json!({
        "appid": APPID,
        "mchid": MCHID,
        "description": "Image形象店-深圳腾大-QQ公仔",
        "out_trade_no": out_trade_no,
        "notify_url": notify_url,
        "amount": { "total": 100, "currency": "CNY" },
        "payer": { "openid": openid },
    })
}

/// One notify as the merchant's endpoint received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A merchant's v3 notify endpoint: keeps what arrives, answers the scripted statuses
/// (the last repeats).
#[derive(Clone)]
pub struct V3Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

type ReceiverState = (Arc<Mutex<Vec<Received>>>, Arc<Mutex<Vec<u16>>>);

impl V3Receiver {
    pub async fn start(script: Vec<u16>) -> V3Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state: ReceiverState = (Arc::clone(&received), Arc::new(Mutex::new(script)));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .route("/notify/v3", web::post().to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        V3Receiver {
            url: format!("http://127.0.0.1:{port}/notify/v3"),
            received,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive(state: web::Data<ReceiverState>, req: HttpRequest, body: String) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    state.0.lock().unwrap().push(Received { headers, body });
    let status = {
        let mut script = state.1.lock().unwrap();
        if script.len() > 1 {
            script.remove(0)
        } else {
            script.first().copied().unwrap_or(204)
        }
    };
    let status = actix_web::http::StatusCode::from_u16(status).unwrap();
    if status.is_success() {
        HttpResponse::build(status).finish()
    } else {
        HttpResponse::build(status).json(json!({ "code": "FAIL", "message": "失败" }))
    }
}
