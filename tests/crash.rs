//! Crash safety: notifies flow into a real `wxpay serve` process, which is killed with
//! SIGKILL mid-load and restarted. Every notify that got SUCCESS before the kill is in the
//! database (checked with the process dead); the rest are settled by WeChat's retries
//! (the simulator) or the reconciler; nothing is paid twice. On API v2 and on API v3.
//! Webhooks are on, and the endpoint refuses until the kill: the events owed then (and
//! those of the payments settled after the restart) all arrive, verified, one per order.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stdout
)]

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use sqlx::{AnyPool, Connection, Row};
use wxpay_tests::merchant::{self, API_KEY, APP_SECRET, APPID, MCH_ID};

#[path = "../server/tests/api/receiver.rs"]
#[allow(dead_code, unreachable_pub)]
mod receiver;
use wxpay_tests::{http_client, wxpay_binary};

const ORDERS: usize = 120;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    env: Vec<(String, String)>,
    child: Option<Child>,
    /// Its stderr (warnings and errors), shown if it does not come up.
    log: std::path::PathBuf,
}

impl Server {
    fn start(&mut self) {
        let child = Command::new(wxpay_binary().unwrap())
            // The simulator speaks plain HTTP on this machine.
            .args(["serve", "--insecure-http"])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.log)
                    .unwrap(),
            )
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap(); // SIGKILL: no shutdown, no flush
            child.wait().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn wait_healthy(http: &reqwest::Client, api: &str, server: &Server) {
    for _ in 0..400 {
        if http
            .get(format!("{api}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "wxpay did not come up: {}",
        std::fs::read_to_string(&server.log).unwrap_or_default()
    );
}

async fn post(http: &reqwest::Client, url: String, body: Value, token: Option<&str>) -> Value {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

async fn paid_orders(db: &AnyPool) -> BTreeSet<String> {
    sqlx::query("SELECT order_no FROM orders WHERE status = 'paid'")
        .fetch_all(db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect()
}

/// The merchant's settings in the environment: its v2 API key, or (v3) its keys as the
/// simulator hands them out, inline (no v2 key: a v3-only merchant).
async fn credentials(http: &reqwest::Client, sim: &str, v3: bool) -> Vec<(&'static str, String)> {
    if !v3 {
        return vec![("WXPAY_WECHAT__API_KEY", API_KEY.into())];
    }
    let keys: Value = http
        .get(format!("{sim}/sim/merchants/{MCH_ID}/v3-keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = |name: &str| keys[name].as_str().unwrap().to_owned();
    vec![
        ("WXPAY_WECHAT__API_VERSION", "v3".into()),
        (
            "WXPAY_WECHAT__V3__PRIVATE_KEY_PEM",
            text("merchant_private_key_pem"),
        ),
        (
            "WXPAY_WECHAT__V3__CERTIFICATE_PEM",
            text("merchant_certificate_pem"),
        ),
        ("WXPAY_WECHAT__V3__APIV3_KEY", text("apiv3_key")),
        ("WXPAY_WECHAT__V3__KEY_MODE", text("key_mode")),
        ("WXPAY_WECHAT__V3__PUBLIC_KEY_ID", text("public_key_id")),
        ("WXPAY_WECHAT__V3__PUBLIC_KEY_PEM", text("public_key_pem")),
    ]
}

async fn crash_run(database_url: String, label: &str, v3: bool) {
    sqlx::any::install_default_drivers();
    let sim = wxpay_sim::spawn(&merchant::sim_config(1000.0))
        .await
        .unwrap();
    let api_version = if v3 { "v3" } else { "v2" };
    let dir = std::env::temp_dir().join(format!(
        "wxpay-crash-{label}-{api_version}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = dir.join("catalog.toml");
    std::fs::write(
        &catalog,
        "[[products]]\nsku = \"latte\"\nname = \"Latte\"\nprice_fen = 2800\n",
    )
    .unwrap();
    let port = free_port();
    let api = format!("http://127.0.0.1:{port}");
    // Down until the kill: every event of the first run is still owed at the kill.
    let hooks = receiver::Receiver::start(503).await;
    let env = [
        ("WXPAY_SERVER__BIND", format!("127.0.0.1:{port}")),
        ("WXPAY_SERVER__PUBLIC_BASE_URL", api.clone()),
        ("WXPAY_DATABASE__URL", database_url.clone()),
        ("WXPAY_WECHAT__APPID", APPID.into()),
        ("WXPAY_WECHAT__MCH_ID", MCH_ID.into()),
        ("WXPAY_WECHAT__APP_SECRET", APP_SECRET.into()),
        ("WXPAY_WECHAT__MP_BASE_URL", sim.base_url.clone()),
        ("WXPAY_WECHAT__PAY_BASE_URL", sim.base_url.clone()),
        ("WXPAY_ORDERS__CATALOG", catalog.display().to_string()),
        ("WXPAY_ORDERS__RECONCILE_AFTER_SECS", "2".into()),
        ("WXPAY_ORDERS__RECONCILE_INTERVAL_MS", "200".into()),
        ("WXPAY_LIMITS__ORDERS_PER_USER_PER_MINUTE", "0".into()),
        ("WXPAY_LIMITS__ORDERS_PER_IP_PER_MINUTE", "0".into()),
        ("WXPAY_WEBHOOKS__URL", hooks.url.clone()),
        ("WXPAY_WEBHOOKS__SECRET", receiver::SECRET.into()),
        ("WXPAY_WEBHOOKS__TIMEOUT_SECS", "1".into()),
        ("WXPAY_WEBHOOKS__POLL_INTERVAL_MS", "100".into()),
    ];
    let http = http_client();
    let mut server = Server {
        env: env
            .into_iter()
            .chain(credentials(&http, &sim.base_url, v3).await)
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        child: None,
        log: dir.join("server.log"),
    };
    server.start();
    wait_healthy(&http, &api, &server).await;

    let wx = post(
        &http,
        format!("{}/sim/login", sim.base_url),
        json!({"appid": APPID}),
        None,
    )
    .await;
    let login = post(
        &http,
        format!("{api}/v1/login"),
        json!({"code": wx["code"]}),
        None,
    )
    .await;
    let token = login["token"].as_str().unwrap().to_owned();
    let mut payments = Vec::new();
    for _ in 0..ORDERS {
        let order = post(
            &http,
            format!("{api}/v1/orders"),
            json!({"items": [{"sku": "latte", "quantity": 1}]}),
            Some(&token),
        )
        .await;
        let mut pay = order["payment"].clone();
        assert!(pay.is_object(), "{order}");
        pay["appid"] = json!(APPID);
        pay["openid"] = wx["openid"].clone();
        payments.push(pay);
    }

    // Pay everything, 4 at a time; kill the server once a third of the payments are in.
    let kill_after = ORDERS / 3;
    let mut paying = futures_util::stream::iter(payments.iter())
        .map(|pay| {
            post(
                &http,
                format!("{}/sim/pay", sim.base_url),
                pay.clone(),
                None,
            )
        })
        .buffer_unordered(4)
        .enumerate();
    while let Some((i, reply)) = paying.next().await {
        assert_eq!(reply["errMsg"], "requestPayment:ok");
        if i + 1 == kill_after {
            server.kill();
        }
    }

    // With the process dead: every acknowledged notify is in the database.
    let notifies = http
        .get(format!("{}/sim/notifies", sim.base_url))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let acknowledged: BTreeSet<String> = notifies["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["acknowledged"] == true)
        .map(|a| a["out_trade_no"].as_str().unwrap().to_owned())
        .collect();
    let db = AnyPool::connect(&database_url).await.unwrap();
    let paid_at_kill = paid_orders(&db).await;
    assert!(
        !acknowledged.is_empty(),
        "the kill came before any notify was acknowledged"
    );
    let missing: Vec<_> = acknowledged.difference(&paid_at_kill).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not recorded: {missing:?}"
    );

    let (owed_at_kill,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM events WHERE delivery = 'pending'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        owed_at_kill,
        paid_at_kill.len() as i64,
        "each payment has its event, owed (the endpoint refused)"
    );

    // Restart: WeChat's retries and the reconciler settle the rest; the endpoint is back.
    hooks.answer(200);
    server.start();
    wait_healthy(&http, &api, &server).await;
    let started = Instant::now();
    let mut paid = paid_orders(&db).await;
    while paid.len() < ORDERS && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        paid = paid_orders(&db).await;
    }
    let settle_time = started.elapsed();
    assert_eq!(
        paid.len(),
        ORDERS,
        "not every payment was settled after the restart"
    );
    let row = sqlx::query(
        "SELECT COUNT(*), COUNT(DISTINCT order_no), \
         CAST(SUM(CASE WHEN source = 'orderquery' THEN 1 ELSE 0 END) AS BIGINT) FROM payment_events",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let (events, distinct, by_query): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (events, distinct),
        (ORDERS as i64, ORDERS as i64),
        "paid exactly once each"
    );
    // Every order's order.paid arrives (taken with a 2xx), verified; duplicates only as
    // the same id again.
    let started = Instant::now();
    let verified_orders = |deliveries: &[receiver::Delivery]| -> BTreeSet<String> {
        deliveries
            .iter()
            .filter(|d| d.answered == 200 && d.verifies_with(receiver::SECRET))
            .map(|d| d.json())
            .filter(|e| e["type"] == "order.paid")
            .map(|e| e["data"]["order_no"].as_str().unwrap().to_owned())
            .collect()
    };
    let delivered = hooks
        .wait_until(Duration::from_secs(60), |d| {
            verified_orders(d).len() >= ORDERS
        })
        .await;
    let webhooks_in = started.elapsed();
    assert_eq!(
        verified_orders(&delivered),
        paid,
        "every payment's webhook arrived"
    );
    let ids: BTreeSet<String> = delivered.iter().map(receiver::Delivery::id).collect();
    let (event_rows,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM events WHERE type = 'order.paid'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        (ids.len(), event_rows),
        (ORDERS, ORDERS as i64),
        "one event per payment, one webhook-id per event"
    );
    println!(
        "crash webhooks ({label}, {api_version}): {owed_at_kill} events owed at the kill (endpoint refusing), \
         all {ORDERS} order.paid delivered and verified {:.1} s after the restart; {} deliveries \
         for {} webhook-ids (the refused ones retried with their id), lost 0",
        webhooks_in.as_secs_f64(),
        delivered.len(),
        ids.len(),
    );
    hooks.stop().await;
    println!(
        "crash ({label}, {api_version}): {ORDERS} orders; killed after {kill_after} payments; {} notifies acknowledged before the kill, \
         every one of them in the database with the process dead ({} orders paid then: a commit can precede a lost reply); \
         after restart all {ORDERS} paid in {:.1} s ({} by WeChat's retries, {by_query} by the reconciler); \
         payment events {events}, lost 0, paid twice 0",
        acknowledged.len(),
        paid_at_kill.len(),
        settle_time.as_secs_f64(),
        ORDERS as i64 - paid_at_kill.len() as i64 - by_query,
    );
    db.close().await;
    server.kill();
    sim.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn on_sqlite(v3: bool) {
    let label = if v3 { "v3" } else { "v2" };
    let dir = std::env::temp_dir().join(format!("wxpay-crash-db-{label}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    crash_run(
        format!("sqlite://{}", dir.join("crash.sqlite").display()),
        "sqlite",
        v3,
    )
    .await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn on_postgres(v3: bool) {
    let Ok(admin_url) = std::env::var("WXPAY_TEST_POSTGRES_URL") else {
        assert_ne!(
            std::env::var("WXPAY_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "PostgreSQL required"
        );
        return;
    };
    let label = if v3 { "v3" } else { "v2" };
    let name = format!("wxpay_crash_{label}_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(b, _)| b);
    crash_run(format!("{base}/{name}"), "postgres", v3).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_sqlite_loses_nothing_acknowledged() {
    on_sqlite(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_postgres_loses_nothing_acknowledged() {
    on_postgres(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_sqlite_loses_nothing_acknowledged_v3() {
    on_sqlite(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_postgres_loses_nothing_acknowledged_v3() {
    on_postgres(true).await;
}
