//! Test harness: the real application on port 0 against an in-process simulator, on
//! SQLite or PostgreSQL, with one method per endpoint.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::Connection;
use wxpay_core::v2::testing::PayNotifyBuilder;
use wxpay_core::v3::testing::{self as v3_testing, SignedNotify};
use wxpay_core::{ApiKey, Fen};
use wxpay_server::config::Settings;
use wxpay_server::state::AppState;
use wxpay_server::{Application, PublicUrl};
use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID, KeyMode};
use wxpay_sim::secapi::SandboxTls;
use wxpay_sim::v3::SandboxKeys;
use wxpay_sim::v3::forge::{ForgedKey, Role};
use wxpay_sim::{MerchantConfig, RunningSim, SimConfig};

pub const APPID: &str = DOC_APPID;
pub const MCH_ID: &str = DOC_MCH_ID;
/// Every test instance has the admin API, with this token (unless a test unsets it).
pub const ADMIN_TOKEN: &str = "test-admin-token-d9c1f0a7b3e2";

/// How a v2 instance holds the merchant certificate its refunds present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertFormat {
    /// `apiclient_cert.pem` + `apiclient_key.pem` (inline PEMs in the settings).
    Pem,
    /// `apiclient_cert.p12` as WeChat issues it (legacy RC2-40, password the mch_id), as
    /// a file.
    LegacyP12,
}

static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite,
    /// Admin URL (a database the test user may CREATE DATABASE from).
    Postgres(String),
}

impl Db {
    /// PostgreSQL from `WXPAY_TEST_POSTGRES_URL`. Without it the PostgreSQL variant is
    /// skipped, unless `WXPAY_REQUIRE_POSTGRES=1` (CI), where that is a failure.
    pub fn postgres() -> Option<Db> {
        match std::env::var("WXPAY_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Db::Postgres(url)),
            _ if std::env::var("WXPAY_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
                panic!("WXPAY_REQUIRE_POSTGRES=1 but WXPAY_TEST_POSTGRES_URL is not set")
            }
            _ => None,
        }
    }
}

/// Runs a test body on SQLite and on PostgreSQL: `on_both_databases!(name, body_fn)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::helpers::Db::Sqlite).await;
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(db) = $crate::helpers::Db::postgres() {
                        super::$name(db).await;
                    }
                }
            }
        )*
    };
}

/// A database made for one test, dropped by `TestApp::cleanup`.
enum TestDatabase {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    async fn create(db: &Db) -> (TestDatabase, String) {
        let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        match db {
            Db::Sqlite => {
                let dir = std::env::temp_dir().join(format!("wxpay-test-{pid}-{n}"));
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}", dir.join("wxpay.sqlite").display());
                (TestDatabase::Sqlite(dir), url)
            }
            Db::Postgres(admin_url) => {
                sweep_dead_databases(admin_url).await;
                let name = format!("wxpay_t_{pid}_{n}");
                let mut admin = sqlx::PgConnection::connect(admin_url).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(base, _)| base);
                let url = format!("{base}/{name}");
                (
                    TestDatabase::Postgres {
                        admin_url: admin_url.clone(),
                        name,
                    },
                    url,
                )
            }
        }
    }

    async fn drop_it(self) {
        match self {
            TestDatabase::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDatabase::Postgres { admin_url, name } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut admin)
                            .await;
                }
            }
        }
    }
}

/// Drops test databases left by processes that died mid-test (their pid is gone).
async fn sweep_dead_databases(admin_url: &str) {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    let mut first = false;
    SWEPT.call_once(|| first = true);
    if !first {
        return;
    }
    let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await else {
        return;
    };
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'wxpay\\_t\\_%'")
            .fetch_all(&mut admin)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
}

/// A v3 instance's merchant keys (from the simulator) and the seed they derive from.
#[derive(Debug, Clone)]
pub struct V3Merchant {
    pub keys: SandboxKeys,
    pub seed: u64,
}

pub struct TestApp {
    pub address: String,
    /// Set when the instance runs on API v3.
    pub v3: Option<V3Merchant>,
    /// The simulator this instance owns (None: it shares another instance's).
    pub sim: Option<RunningSim>,
    pub sim_url: String,
    /// `http://...` of the metrics listener, when `server.metrics_bind` is set.
    pub metrics_url: Option<String>,
    pub db_url: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub key: ApiKey,
    /// The simulator's TLS material, when this instance refunds on v2.
    pub refund_tls: Option<SandboxTls>,
    handle: wxpay_server::AppHandle,
    database: Option<TestDatabase>,
}

/// The settings every test starts from: WeChat is the simulator, the reconciler is
/// effectively off (orders are only "stale" after an hour) unless a test turns it on.
pub fn base_settings(db_url: &str, sim_url: &str) -> Settings {
    let mut s = Settings::load(None).unwrap();
    s.server.bind = "127.0.0.1:0".into();
    s.database.url = SecretString::from(db_url);
    s.database.max_connections = 5;
    s.wechat.appid = Some(APPID.into());
    s.wechat.mch_id = Some(MCH_ID.into());
    s.wechat.app_secret = Some(SecretString::from(DOC_APP_SECRET));
    s.wechat.api_key = Some(SecretString::from(DOC_API_KEY));
    s.wechat.mp_base_url = sim_url.into();
    s.wechat.pay_base_url = sim_url.into();
    s.wechat.request_timeout_ms = 2000;
    s.orders.reconcile_interval_ms = 50;
    s.orders.reconcile_after_secs = 3600;
    s.orders.query_stale_after_secs = 3600;
    s.orders.catalog = None;
    s.admin.token = Some(SecretString::from(ADMIN_TOKEN));
    // Tests reconcile the days they mean to (one turns the daily run on).
    s.reconciliation.daily = false;
    s
}

impl TestApp {
    pub async fn spawn(db: Db) -> TestApp {
        Self::spawn_with(db, |_| {}).await
    }

    pub async fn spawn_with(db: Db, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let (database, url) = TestDatabase::create(&db).await;
        let mut app = Self::spawn_on(&url, tweak).await;
        app.database = Some(database);
        app
    }

    /// `n` instances sharing one new database (the first one drops it on cleanup).
    pub async fn spawn_instances(db: Db, n: usize) -> Vec<TestApp> {
        Self::spawn_instances_with(db, n, |_| {}).await
    }

    /// [`Self::spawn_instances`], each instance's settings changed by `tweak`.
    pub async fn spawn_instances_with(
        db: Db,
        n: usize,
        tweak: impl Fn(&mut Settings),
    ) -> Vec<TestApp> {
        let (database, url) = TestDatabase::create(&db).await;
        let mut apps = Vec::new();
        for _ in 0..n {
            apps.push(Self::spawn_on(&url, &tweak).await);
        }
        if let Some(first) = apps.first_mut() {
            first.database = Some(database);
        }
        apps
    }

    /// An instance on an existing database (with its own simulator).
    pub async fn spawn_on(url: &str, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let sim = test_sim().await;
        let sim_url = sim.base_url.clone();
        let mut app = Self::start(url, &sim_url, tweak).await;
        app.sim = Some(sim);
        app
    }

    /// A v2 instance whose refunds present the simulator's merchant certificate in
    /// `format`, as a merchant would configure it from `GET /sim/merchants/{mch_id}/tls`.
    pub async fn spawn_refunding(
        db: Db,
        format: CertFormat,
        tweak: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let (database, url) = TestDatabase::create(&db).await;
        let sim = test_sim().await;
        let sim_url = sim.base_url.clone();
        let (status, tls) = get_json(&format!("{sim_url}/sim/merchants/{MCH_ID}/tls")).await;
        assert_eq!(status, 200, "{tls}");
        let tls: SandboxTls = serde_json::from_value(tls).unwrap();
        let p12_file = (format == CertFormat::LegacyP12).then(|| {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(tls.client_p12_base64.as_deref().unwrap())
                .unwrap();
            let path = std::env::temp_dir().join(format!(
                "wxpay-test-{}-{}-apiclient_cert.p12",
                std::process::id(),
                NEXT_DB.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, bytes).unwrap();
            path
        });
        let mut app = Self::start(&url, &sim_url, |s| {
            wxpay_server::ops::sandbox::apply_refund_tls(s, &tls);
            if let Some(path) = &p12_file {
                let section = &mut s.wechat.refund_tls;
                section.certificate_pem = None;
                section.key_pem = None;
                // The password is left out: WeChat's default, the mch_id.
                section.p12_file = Some(path.clone());
            }
            tweak(s);
        })
        .await;
        if let Some(path) = p12_file {
            let _ = std::fs::remove_file(path);
        }
        app.sim = Some(sim);
        app.database = Some(database);
        app.refund_tls = Some(tls);
        app
    }

    /// An instance on API v3, its merchant in `mode`, configured from the simulator's
    /// `v3-keys` as a merchant would be.
    pub async fn spawn_v3(db: Db, mode: KeyMode) -> TestApp {
        Self::spawn_v3_with(db, mode, |_| {}).await
    }

    pub async fn spawn_v3_with(
        db: Db,
        mode: KeyMode,
        tweak: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let (database, url) = TestDatabase::create(&db).await;
        let seed = 1_000 + u64::from(NEXT_DB.load(Ordering::Relaxed));
        let mut merchant = MerchantConfig::documentation();
        merchant.key_mode = mode;
        let sim = wxpay_sim::spawn(&SimConfig {
            merchants: vec![merchant],
            seed,
            time_scale: 1000.0,
        })
        .await
        .unwrap();
        let sim_url = sim.base_url.clone();
        let keys: SandboxKeys = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!("{sim_url}/sim/merchants/{MCH_ID}/v3-keys"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut app = Self::start(&url, &sim_url, |s| {
            wxpay_server::ops::sandbox::apply_v3_keys(s, &keys);
            tweak(s);
        })
        .await;
        app.sim = Some(sim);
        app.database = Some(database);
        app.v3 = Some(V3Merchant { keys, seed });
        app
    }

    /// A second instance beside this one: the same database and the same simulator, its
    /// own settings (e.g. a configuration changed between two deployments), the same
    /// refund certificate.
    pub async fn spawn_beside(&self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let tls = self.refund_tls.clone();
        let mut app = Self::start(&self.db_url, &self.sim_url, |s| {
            if let Some(tls) = &tls {
                wxpay_server::ops::sandbox::apply_refund_tls(s, tls);
            }
            tweak(s);
        })
        .await;
        app.refund_tls = tls;
        app
    }

    async fn start(url: &str, sim_url: &str, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = base_settings(url, sim_url);
        tweak(&mut settings);
        let app = Application::build(settings, PublicUrl::FromBind)
            .await
            .unwrap();
        app.state()
            .store
            .upsert_products(
                &wxpay_server::orders::catalog::parse(wxpay_server::orders::catalog::DEMO).unwrap(),
            )
            .await
            .unwrap();
        let address = format!("http://{}", app.local_addr());
        let metrics_url = app.metrics_addr().map(|a| format!("http://{a}"));
        let state = app.state().clone();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            v3: None,
            sim: None,
            sim_url: sim_url.to_owned(),
            metrics_url,
            db_url: url.to_owned(),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            state,
            key: ApiKey::new(DOC_API_KEY).unwrap(),
            refund_tls: None,
            handle,
            database: None,
        }
    }

    /// Stops the app and the simulator and drops the test database.
    pub async fn cleanup(mut self) {
        self.handle.stop(false).await;
        if let Some(sim) = &self.sim {
            sim.stop().await;
        }
        self.state.store.close().await;
        if let Some(db) = self.database.take() {
            db.drop_it().await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn sim_post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.sim_url);
        self.http
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn sim_get(&self, path: &str) -> (u16, Value) {
        let url = format!("{}{path}", self.sim_url);
        self.send(self.http.get(url)).await
    }

    /// How many calls of `endpoint` a counted fault (`count: of`) has seen: the way to
    /// count what the server asked WeChat.
    pub async fn calls_seen(&self, endpoint: &str, of: u64) -> u64 {
        let (_, faults) = self.sim_get("/sim/faults").await;
        let left = faults["faults"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["endpoint"] == endpoint)
            .and_then(|f| f["count"].as_u64())
            .unwrap_or(0);
        of - left
    }

    pub async fn fault(&self, spec: Value) {
        self.sim_post("/sim/faults", spec).await;
    }

    /// A new user logged in through wx.login + /v1/login: (token, openid).
    pub async fn login(&self) -> (String, String) {
        self.login_as(None).await
    }

    /// A login of `openid` (a new user when None): (token, openid).
    pub async fn login_as(&self, openid: Option<&str>) -> (String, String) {
        let mut request = json!({ "appid": APPID });
        if let Some(openid) = openid {
            request["openid"] = json!(openid);
        }
        let sim = self.sim_post("/sim/login", request).await;
        let (status, body) = self
            .send(
                self.http
                    .post(self.url("/v1/login"))
                    .json(&json!({ "code": sim["code"] })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        (
            body["token"].as_str().unwrap().to_owned(),
            sim["openid"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn create_order(&self, token: &str, items: Value, key: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url("/v1/orders"))
            .bearer_auth(token)
            .json(&json!({ "items": items }));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(request).await
    }

    /// One latte for a new user: (token, openid, order body).
    pub async fn user_with_order(&self) -> (String, String, Value) {
        let (token, openid) = self.login().await;
        let (status, order) = self
            .create_order(&token, json!([{"sku": "latte", "quantity": 1}]), None)
            .await;
        assert_eq!(status, 201, "{order}");
        (token, openid, order)
    }

    pub async fn get_order(&self, token: &str, order_no: &str) -> (u16, Value) {
        self.send(
            self.http
                .get(self.url(&format!("/v1/orders/{order_no}")))
                .bearer_auth(token),
        )
        .await
    }

    pub async fn order_action(&self, token: &str, order_no: &str, action: &str) -> (u16, Value) {
        let url = self.url(&format!("/v1/orders/{order_no}/{action}"));
        self.send(self.http.post(url).bearer_auth(token)).await
    }

    /// Plays the user paying in wx.requestPayment with the params the server returned.
    pub async fn pay(&self, order: &Value, openid: &str) -> String {
        let mut params = order["payment"].clone();
        params["appid"] = json!(APPID);
        params["openid"] = json!(openid);
        let reply = self.sim_post("/sim/pay", params).await;
        reply["errMsg"].as_str().unwrap().to_owned()
    }

    pub async fn post_notify(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> (u16, String) {
        let response = self
            .http
            .post(self.url(wxpay_server::NOTIFY_PATH))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A genuine notify for an order, as WeChat would sign it.
    pub fn notify_for(&self, order_no: &str, amount_fen: i64) -> PayNotifyBuilder {
        PayNotifyBuilder::new(APPID, MCH_ID, order_no, Fen::new(amount_fen))
            .sign_type(wxpay_core::v2::SignType::HmacSha256, false)
            .field("transaction_id", &format!("4200000001{order_no}"))
    }

    /// WeChat's key (as the simulator derives it) of `role` for this v3 instance.
    pub fn wechat_key(&self, role: Role) -> std::sync::Arc<ForgedKey> {
        let v3 = self.v3.as_ref().expect("a v3 instance");
        wxpay_sim::v3::forge::key(v3.seed, MCH_ID, role).unwrap()
    }

    /// Who signs this v3 instance's notifies: its public key, else its first platform
    /// certificate (the key's role and the serial it names).
    fn v3_signer(&self) -> (Role, String) {
        let v3 = self.v3.as_ref().expect("a v3 instance");
        match &v3.keys.public_key_id {
            Some(id) => (Role::PublicKey, id.clone()),
            None => (
                Role::Platform(0),
                v3.keys.platform_certificates[0].serial_no.clone(),
            ),
        }
    }

    /// A genuine v3 notify for an order, signed the way the merchant's mode verifies, at
    /// `now`.
    pub fn v3_notify_for(&self, order_no: &str, amount_fen: i64) -> SignedNotify {
        let v3 = self.v3.as_ref().expect("a v3 instance");
        let (role, serial) = self.v3_signer();
        let payment = v3_testing::payment(
            APPID,
            MCH_ID,
            order_no,
            &format!("4200000001{order_no}"),
            Fen::new(amount_fen),
        );
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        v3_testing::notify(
            &payment,
            v3.keys.apiv3_key.as_bytes(),
            &self.wechat_key(role).signer,
            &serial,
            now,
        )
        .unwrap()
    }

    /// A genuine `REFUND.<status>` notify of `refund_json` (`v3_testing::refund`), at `now`.
    pub fn v3_refund_notify(&self, refund_json: &str, status: &str) -> SignedNotify {
        let v3 = self.v3.as_ref().expect("a v3 instance");
        let (role, serial) = self.v3_signer();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        v3_testing::refund_notify(
            refund_json,
            status,
            v3.keys.apiv3_key.as_bytes(),
            &self.wechat_key(role).signer,
            &serial,
            now,
        )
        .unwrap()
    }

    /// POSTs a v3 notify to `path`: the status and the body.
    pub async fn post_notify_v3_to(&self, path: &str, notify: &SignedNotify) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url(path))
            .header(CONTENT_TYPE, "application/json")
            .body(notify.body.clone());
        for (name, value) in &notify.headers {
            request = request.header(*name, value);
        }
        self.send(request).await
    }

    /// POSTs a v3 notify: the status and the body.
    pub async fn post_notify_v3(&self, notify: &SignedNotify) -> (u16, Value) {
        self.post_notify_v3_to(wxpay_server::NOTIFY_PATH_V3, notify)
            .await
    }

    pub async fn status_of(&self, order_no: &str) -> String {
        let order = self.state.store.order(order_no).await.unwrap().unwrap();
        order.status.as_str().to_owned()
    }

    /// How many payment events the order has (1 once paid, whatever the duplicates).
    pub async fn payment_events(&self, order_no: &str) -> i64 {
        self.state
            .store
            .payment_event_count(order_no)
            .await
            .unwrap()
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let body = self.send(self.http.get(self.url("/metrics"))).await.1;
        body.as_str().unwrap().to_owned()
    }

    /// `POST /v1/admin/orders/{order_no}/refunds` as the admin.
    pub async fn refund(&self, order_no: &str, amount_fen: i64, key: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url(&format!("/v1/admin/orders/{order_no}/refunds")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "amount_fen": amount_fen, "reason": "退货" }));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(request).await
    }

    /// `POST` of an admin path as the admin, with an Idempotency-Key if given.
    pub async fn admin_post(&self, path: &str, body: Value, key: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(request).await
    }

    /// An order from the merchant's backend for `openid`: its body (201 expected).
    pub async fn merchant_order(&self, openid: &str, amount_fen: i64, reference: &str) -> Value {
        let (status, order) = self
            .admin_post(
                "/v1/admin/orders",
                json!({
                    "openid": openid,
                    "amount_fen": amount_fen,
                    "description": "Merchant shop - order",
                    "reference": reference,
                }),
                Some(&format!("key-{reference}")),
            )
            .await;
        assert_eq!(status, 201, "{order}");
        order
    }

    /// The outbox's events of `kind`, oldest first, read from the table itself (the
    /// events API may hold back a just-written one): (order_no, data).
    pub async fn events_of_type(&self, kind: &str) -> Vec<(Option<String>, Value)> {
        let rows: Vec<(Option<String>, String)> =
            sqlx::query_as("SELECT order_no, data FROM events WHERE type = $1 ORDER BY seq")
                .bind(kind)
                .fetch_all(self.state.store.pool())
                .await
                .unwrap();
        rows.into_iter()
            .map(|(order_no, data)| (order_no, serde_json::from_str(&data).unwrap()))
            .collect()
    }

    /// `GET` of an admin path as the admin.
    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(self.url(path)).bearer_auth(ADMIN_TOKEN))
            .await
    }

    /// A new user's paid order: (token, order_no, amount_fen).
    pub async fn paid_order(&self) -> (String, String, i64) {
        let (token, openid, order) = self.user_with_order().await;
        let order_no = order["order_no"].as_str().unwrap().to_owned();
        assert_eq!(self.pay(&order, &openid).await, "requestPayment:ok");
        assert_eq!(
            self.wait_status(&order_no, "paid", Duration::from_secs(10))
                .await,
            "paid"
        );
        (token, order_no, order["amount_fen"].as_i64().unwrap())
    }

    /// Polls until the refund has `status` (or gives up after `within`).
    pub async fn wait_refund(&self, out_refund_no: &str, status: &str, within: Duration) -> String {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let refund = self
                .state
                .store
                .refund(out_refund_no)
                .await
                .unwrap()
                .unwrap();
            let now = refund.status.as_str();
            if now == status || tokio::time::Instant::now() >= deadline {
                return now.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls until the order has `status` (or gives up after `within`).
    pub async fn wait_status(&self, order_no: &str, status: &str, within: Duration) -> String {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let now = self.status_of(order_no).await;
            if now == status || tokio::time::Instant::now() >= deadline {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Settings pointing an instance's webhooks at `url` with fast retries (the secret:
/// `receiver::SECRET`, 32 random bytes).
pub fn webhooks_to(url: &str) -> impl Fn(&mut Settings) + Clone + use<> {
    let url = url.to_owned();
    move |s| {
        s.webhooks.url = Some(url.clone());
        s.webhooks.secret = Some(SecretString::from(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7Tm8Sm2tfS0=",
        ));
        s.webhooks.retry_schedule_ms = vec![100, 200, 300, 400, 500, 600, 700];
        s.webhooks.poll_interval_ms = 50;
        s.webhooks.timeout_secs = 2;
    }
}

/// A simulator for one test instance: 1000x time, a seed of its own.
async fn test_sim() -> RunningSim {
    wxpay_sim::spawn(&SimConfig {
        time_scale: 1000.0,
        seed: u64::from(NEXT_DB.load(Ordering::Relaxed)),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

async fn get_json(url: &str) -> (u16, Value) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}
