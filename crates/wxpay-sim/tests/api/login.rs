//! `/sns/jscode2session` and `/sim/login`.

use std::time::Duration;

use serde_json::json;
use wxpay_sim::config::DOC_APP_SECRET;

use crate::helpers::{APPID, TestSim, config};

fn errcode(reply: &serde_json::Value) -> i64 {
    reply["errcode"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn codes_are_single_use_and_each_login_gets_a_new_session_key() {
    let sim = TestSim::start(1000.0).await;
    let (code, openid) = sim.login(None).await;
    let first = sim.code2session_ok(&code).await;
    assert_eq!(first["openid"], openid.as_str());
    let again = sim.code2session_ok(&code).await;
    assert_eq!(errcode(&again), 40163, "{again}");
    assert!(again["errmsg"].as_str().unwrap().contains("rid: "));

    let (code, same) = sim.login(Some(&openid)).await;
    assert_eq!(same, openid);
    let second = sim.code2session_ok(&code).await;
    assert_eq!(second["openid"], openid.as_str());
    assert_ne!(second["session_key"], first["session_key"]);
    assert!(second.get("unionid").is_none());
}

#[tokio::test]
async fn unknown_expired_and_foreign_codes_are_40029() {
    // 5 minutes at 10000x is 30 ms.
    let sim = TestSim::start(10_000.0).await;
    assert_eq!(errcode(&sim.code2session_ok("not-a-code").await), 40029);
    let (code, _) = sim.login(None).await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(errcode(&sim.code2session_ok(&code).await), 40029);
}

#[tokio::test]
async fn wrong_secret_appid_and_grant_type_are_refused() {
    let sim = TestSim::start(1000.0).await;
    let (code, _) = sim.login(None).await;
    assert_eq!(
        errcode(
            &sim.code2session(&code, "00000000000000000000000000000000")
                .await
        ),
        40125
    );
    let url = sim.url(&format!(
        "/sns/jscode2session?appid=wx0000000000000000&secret={DOC_APP_SECRET}&js_code={code}&grant_type=authorization_code"
    ));
    let reply: serde_json::Value = sim
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(errcode(&reply), 40013);
    let url = sim.url(&format!(
        "/sns/jscode2session?appid={APPID}&secret={DOC_APP_SECRET}&js_code={code}&grant_type=client"
    ));
    let reply: serde_json::Value = sim
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(errcode(&reply), 40002);
    // None of those consumed the code.
    assert!(sim.code2session_ok(&code).await.get("openid").is_some());
}

#[tokio::test]
async fn blocked_users_get_40226() {
    let sim = TestSim::start(1000.0).await;
    let (status, reply) = sim
        .post_json(
            "/sim/login",
            json!({"appid": APPID, "openid": "o-risky", "blocked": true}),
        )
        .await;
    assert_eq!(status, 200);
    let code = reply["code"].as_str().unwrap();
    assert_eq!(errcode(&sim.code2session_ok(code).await), 40226);
}

#[tokio::test]
async fn more_than_100_logins_a_minute_get_45011() {
    let sim = TestSim::start(1.0).await;
    let (_, openid) = sim.login(None).await;
    for _ in 0..100 {
        let (code, _) = sim.login(Some(&openid)).await;
        assert_eq!(errcode(&sim.code2session_ok(&code).await), 0);
    }
    let (code, _) = sim.login(Some(&openid)).await;
    assert_eq!(errcode(&sim.code2session_ok(&code).await), 45011);
}

#[tokio::test]
async fn busy_fault_is_minus_1_then_service_resumes() {
    let sim = TestSim::start(1000.0).await;
    sim.fault(json!({"endpoint": "jscode2session", "kind": "busy", "count": 1}))
        .await;
    let (code, _) = sim.login(None).await;
    assert_eq!(errcode(&sim.code2session_ok(&code).await), -1);
    // The busy reply did not consume the code.
    assert!(sim.code2session_ok(&code).await.get("openid").is_some());
}

#[tokio::test]
async fn unionid_when_the_app_is_bound_to_an_open_platform_account() {
    let mut config = config(1000.0);
    config.merchants[0].unionid = true;
    let sim = TestSim::with_config(config).await;
    let (code, openid) = sim.login(None).await;
    let first = sim.code2session_ok(&code).await;
    let unionid = first["unionid"].as_str().unwrap().to_owned();
    let (code, _) = sim.login(Some(&openid)).await;
    assert_eq!(
        sim.code2session_ok(&code).await["unionid"],
        unionid.as_str()
    );
}

#[tokio::test]
async fn sim_login_refuses_unknown_apps_and_bad_json() {
    let sim = TestSim::start(1000.0).await;
    let (status, body) = sim
        .post_json("/sim/login", json!({"appid": "wx0000000000000000"}))
        .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("unknown appid"));
    let (status, body) = sim.post_json("/sim/login", json!({"app_id": APPID})).await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn gateway_faults_on_code2session() {
    let sim = TestSim::start(1000.0).await;
    sim.fault(json!({"endpoint": "jscode2session", "kind": "http_5xx", "count": 1}))
        .await;
    let (code, _) = sim.login(None).await;
    let url = sim.url(&format!(
        "/sns/jscode2session?appid={APPID}&secret={DOC_APP_SECRET}&js_code={code}&grant_type=authorization_code"
    ));
    assert_eq!(
        sim.http.get(&url).send().await.unwrap().status().as_u16(),
        500
    );
    sim.fault(json!({"endpoint": "jscode2session", "kind": "delay", "count": 1, "delay_ms": 200}))
        .await;
    let started = std::time::Instant::now();
    assert!(sim.code2session_ok(&code).await.get("openid").is_some());
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn the_same_seed_gives_the_same_run() {
    let run = || async {
        let sim = TestSim::start(1000.0).await;
        let (code, openid) = sim.login(None).await;
        let session = sim.code2session_ok(&code).await;
        (
            code,
            openid,
            session["session_key"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(run().await, run().await);
}
