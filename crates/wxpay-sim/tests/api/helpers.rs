//! Test harness: a simulator on port 0, a merchant-side notify receiver, and one method
//! per endpoint.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use wxpay_core::ApiKey;
use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::{Params, RequestPayment, reply, xml};
use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID};
use wxpay_sim::{MerchantConfig, RunningSim, SimConfig};

pub const APPID: &str = DOC_APPID;
pub const MCH_ID: &str = DOC_MCH_ID;

pub struct TestSim {
    pub sim: RunningSim,
    pub http: reqwest::Client,
    pub key: ApiKey,
}

pub fn config(time_scale: f64) -> SimConfig {
    SimConfig {
        merchants: vec![MerchantConfig::documentation()],
        seed: 7,
        time_scale,
    }
}

impl TestSim {
    pub async fn start(time_scale: f64) -> TestSim {
        Self::with_config(config(time_scale)).await
    }

    pub async fn with_config(config: SimConfig) -> TestSim {
        let sim = wxpay_sim::spawn(&config).await.unwrap();
        TestSim {
            sim,
            http: wxpay_sim::notify::http_client().unwrap(),
            key: ApiKey::new(DOC_API_KEY).unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url)
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Plays `wx.login`: (code, openid).
    pub async fn login(&self, openid: Option<&str>) -> (String, String) {
        let mut body = json!({ "appid": APPID });
        if let Some(openid) = openid {
            body["openid"] = json!(openid);
        }
        let (status, reply) = self.post_json("/sim/login", body).await;
        assert_eq!(status, 200, "{reply}");
        (
            reply["code"].as_str().unwrap().to_owned(),
            reply["openid"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn code2session(&self, code: &str, secret: &str) -> Value {
        let url = self.url(&format!(
            "/sns/jscode2session?appid={APPID}&secret={secret}&js_code={code}&grant_type=authorization_code"
        ));
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn code2session_ok(&self, code: &str) -> Value {
        self.code2session(code, DOC_APP_SECRET).await
    }

    /// Signs `params` with `key` and POSTs them as XML. Returns the HTTP status and body.
    pub async fn post_signed(
        &self,
        path: &str,
        mut params: Params<'static>,
        key: &ApiKey,
        sign_type: SignType,
    ) -> (u16, String) {
        sign::sign_in_place(&mut params, key, sign_type);
        self.post_raw(path, xml::to_xml(&params).unwrap()).await
    }

    pub async fn post_raw(&self, path: &str, body: String) -> (u16, String) {
        let response = self
            .http
            .post(self.url(path))
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A v2 call with the merchant's key; the reply must verify (when it is SUCCESS).
    pub async fn call(
        &self,
        path: &str,
        params: Params<'static>,
        sign_type: SignType,
    ) -> Params<'static> {
        let (status, body) = self.post_signed(path, params, &self.key, sign_type).await;
        assert_eq!(status, 200, "{body}");
        let reply = xml::parse(body.as_bytes()).unwrap().into_owned();
        if reply.get("return_code") == Some("SUCCESS") {
            assert_eq!(
                sign::verify(&reply, &self.key, Some(sign_type)),
                Ok(sign_type),
                "reply must be signed with the request's sign type: {body}"
            );
        }
        reply
    }

    pub async fn unifiedorder(&self, order: &Order) -> Params<'static> {
        self.call("/pay/unifiedorder", order.params(), order.sign_type)
            .await
    }

    pub async fn orderquery(&self, out_trade_no: &str) -> Params<'static> {
        let params = base_params(&[("out_trade_no", out_trade_no)]);
        self.call("/pay/orderquery", params, SignType::Md5).await
    }

    pub async fn closeorder(&self, out_trade_no: &str) -> Params<'static> {
        let params = base_params(&[("out_trade_no", out_trade_no)]);
        self.call("/pay/closeorder", params, SignType::Md5).await
    }

    /// Plays `wx.requestPayment` with params built like a correct server would.
    pub async fn pay(
        &self,
        prepay_id: &str,
        sign_type: SignType,
        openid: &str,
        outcome: &str,
    ) -> String {
        let payment = RequestPayment::build(
            APPID,
            prepay_id,
            &self.key,
            sign_type,
            "nonce123",
            1_764_000_000,
        )
        .unwrap();
        self.pay_with(payment_json(&payment, openid, outcome)).await
    }

    pub async fn pay_with(&self, body: Value) -> String {
        let (status, reply) = self.post_json("/sim/pay", body).await;
        assert_eq!(status, 200, "{reply}");
        reply["errMsg"].as_str().unwrap().to_owned()
    }

    pub async fn fault(&self, spec: Value) {
        let (status, body) = self.post_json("/sim/faults", spec).await;
        assert_eq!(status, 201, "{body}");
    }

    pub async fn attempts(&self, out_trade_no: &str) -> Vec<Value> {
        let (_, body) = self
            .get_json(&format!("/sim/notifies?out_trade_no={out_trade_no}"))
            .await;
        body["attempts"].as_array().unwrap().clone()
    }

    /// Waits (up to `within`) until at least `n` attempts for the trade are logged.
    pub async fn wait_attempts(
        &self,
        out_trade_no: &str,
        n: usize,
        within: Duration,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let attempts = self.attempts(out_trade_no).await;
            if attempts.len() >= n || tokio::time::Instant::now() >= deadline {
                return attempts;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits (up to 20 s: a loaded machine delays deliveries) until `n` refund notify
    /// attempts for the trade are logged: all its attempts.
    pub async fn wait_refund_attempts(&self, out_trade_no: &str, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let attempts = self.attempts(out_trade_no).await;
            let refunds = attempts.iter().filter(|a| a["kind"] == "refund").count();
            if refunds >= n || tokio::time::Instant::now() >= deadline {
                return attempts;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A user who logged in and an unpaid order for them: (openid, prepay_id).
    pub async fn order_for_new_user(&self, order: &mut Order) -> String {
        let (_, openid) = self.login(None).await;
        order.openid = openid;
        let reply = self.unifiedorder(order).await;
        assert_eq!(reply.get("result_code"), Some("SUCCESS"), "{reply:?}");
        reply.get("prepay_id").unwrap().to_owned()
    }
}

pub fn payment_json(payment: &RequestPayment, openid: &str, outcome: &str) -> Value {
    json!({
        "appid": APPID,
        "openid": openid,
        "timeStamp": payment.time_stamp,
        "nonceStr": payment.nonce_str,
        "package": payment.package,
        "signType": payment.sign_type,
        "paySign": payment.pay_sign,
        "outcome": outcome,
    })
}

/// appid, mch_id, nonce_str and the given fields.
pub fn base_params(fields: &[(&str, &str)]) -> Params<'static> {
    let mut params: Params<'static> = [
        ("appid", APPID),
        ("mch_id", MCH_ID),
        ("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in fields {
        params.insert(k.to_string(), v.to_string());
    }
    params
}

/// A unifiedorder request under construction.
#[derive(Debug, Clone)]
pub struct Order {
    pub out_trade_no: String,
    pub total_fee: String,
    pub openid: String,
    pub notify_url: String,
    pub sign_type: SignType,
    pub extra: Vec<(String, String)>,
}

impl Order {
    pub fn new(out_trade_no: &str, notify_url: &str) -> Order {
        Order {
            out_trade_no: out_trade_no.to_owned(),
            total_fee: "888".to_owned(),
            openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".to_owned(),
            notify_url: notify_url.to_owned(),
            sign_type: SignType::Md5,
            extra: Vec::new(),
        }
    }

    pub fn params(&self) -> Params<'static> {
        let mut params = base_params(&[
            ("body", "腾讯充值中心-QQ会员充值"),
            ("out_trade_no", &self.out_trade_no),
            ("total_fee", &self.total_fee),
            ("spbill_create_ip", "123.12.12.123"),
            ("notify_url", &self.notify_url),
            ("trade_type", "JSAPI"),
            ("openid", &self.openid),
        ]);
        for (k, v) in &self.extra {
            params.insert(k.clone(), v.clone());
        }
        params
    }
}

/// What the merchant-side receiver answers.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Success,
    Fail,
    Status500,
    /// `success` in plain text: not WeChat's SUCCESS XML.
    PlainSuccess,
    /// Sleep this long, then answer SUCCESS.
    Slow(Duration),
}

/// A merchant's notify endpoint: records bodies, answers per a script (the last answer
/// repeats).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub bodies: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub async fn start(script: Vec<Answer>) -> Receiver {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script));
        let state = (Arc::clone(&bodies), script);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .route("/notify", web::post().to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/notify"),
            bodies,
        }
    }

    pub fn received(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

type ReceiverState = (Arc<Mutex<Vec<String>>>, Arc<Mutex<Vec<Answer>>>);

async fn receive(state: web::Data<ReceiverState>, body: String) -> HttpResponse {
    state.0.lock().unwrap().push(body);
    let answer = {
        let mut script = state.1.lock().unwrap();
        if script.len() > 1 {
            script.remove(0)
        } else {
            script.first().copied().unwrap_or(Answer::Success)
        }
    };
    match answer {
        Answer::Success => HttpResponse::Ok().body(reply::SUCCESS_REPLY),
        Answer::Fail => HttpResponse::Ok().body(reply::fail_reply("not now")),
        Answer::Status500 => HttpResponse::InternalServerError().finish(),
        Answer::PlainSuccess => HttpResponse::Ok().body("success"),
        Answer::Slow(delay) => {
            tokio::time::sleep(delay).await;
            HttpResponse::Ok().body(reply::SUCCESS_REPLY)
        }
    }
}
