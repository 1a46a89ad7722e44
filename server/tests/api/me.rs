//! `POST /v1/me/phone` and the shared access_token: one token for every instance, one
//! refresh at WeChat per expiry however many instances ask at once, and a token WeChat
//! calls invalid replaced once.

use serde_json::{Value, json};

use crate::helpers::{APPID, Db, TestApp};
use crate::on_both_databases;

on_both_databases!(
    the_phone_number_comes_through_the_shared_token,
    three_instances_share_one_token_and_refresh_it_once,
    phone_lookups_are_limited_per_user_and_per_address,
    a_number_for_another_app_or_another_time_is_refused,
);

async fn phone(app: &TestApp, token: &str) -> (u16, Value) {
    phone_with(app, token, json!({})).await
}

/// A lookup whose reply has the `watermark` the simulator is told (default: this app, now).
async fn phone_with(app: &TestApp, token: &str, watermark: Value) -> (u16, Value) {
    let code = app
        .sim_post(
            "/sim/phone",
            json!({ "appid": APPID, "phone": "13912345678", "watermark": watermark }),
        )
        .await;
    app.send(
        app.http
            .post(app.url("/v1/me/phone"))
            .bearer_auth(token)
            .json(&json!({ "code": code["code"] })),
    )
    .await
}

async fn issued(app: &TestApp) -> u64 {
    app.sim_get("/sim/access-tokens").await.1["issued"]
        .as_u64()
        .unwrap()
}

async fn the_phone_number_comes_through_the_shared_token(db: Db) {
    let app = TestApp::spawn(db).await;
    let (token, _) = app.login().await;
    let (status, body) = phone(&app, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pure_phone_number"], "13912345678");
    assert_eq!(body["country_code"], "86");
    let (status, _) = phone(&app, &token).await;
    assert_eq!(status, 200);
    assert_eq!(issued(&app).await, 1, "one token for both calls");
    // A used code, a wx.login code, no user.
    let code = app.sim_post("/sim/phone", json!({ "appid": APPID })).await;
    let ask = |code: Value, bearer: Option<String>| {
        let mut request = app
            .http
            .post(app.url("/v1/me/phone"))
            .json(&json!({ "code": code }));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        app.send(request)
    };
    assert_eq!(ask(code["code"].clone(), Some(token.clone())).await.0, 200);
    let (status, body) = ask(code["code"].clone(), Some(token.clone())).await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("INVALID_CODE")),
        "{body}"
    );
    assert_eq!(ask(code["code"].clone(), None).await.0, 401);
    // WeChat no longer takes the stored token (fetched anew elsewhere): replaced once.
    app.sim_post("/sim/access-tokens/expire", json!({})).await;
    let (status, body) = phone(&app, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(issued(&app).await, 2);
    app.cleanup().await;
}

async fn three_instances_share_one_token_and_refresh_it_once(db: Db) {
    let first = TestApp::spawn(db).await;
    let second = first.spawn_beside(|_| {}).await;
    let third = first.spawn_beside(|_| {}).await;
    let (token, _) = first.login().await;
    let apps = [&first, &second, &third];
    let round = || futures_util::future::join_all((0..9).map(|i| phone(apps[i % 3], &token)));
    let answers = round().await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    assert_eq!(
        issued(&first).await,
        1,
        "one token for 9 calls on 3 instances"
    );
    // Two hours later: expired at WeChat and here. One refresh, every instance uses it.
    first.sim_post("/sim/access-tokens/expire", json!({})).await;
    sqlx::query("UPDATE access_tokens SET expires_at = 0")
        .execute(first.state.store.pool())
        .await
        .unwrap();
    let answers = round().await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    assert_eq!(
        issued(&first).await,
        2,
        "one refresh for 9 calls on 3 instances"
    );
    second.cleanup().await;
    third.cleanup().await;
    first.cleanup().await;
}

/// Security review (issue #23): one user made 200 lookups in 0.2 s on the app's shared
/// quota. Now a user, and an address, get 429 RATE_LIMITED past their limit.
async fn phone_lookups_are_limited_per_user_and_per_address(db: Db) {
    let app = TestApp::spawn_with(db, |s| {
        s.limits.phone_per_user_per_minute = 3;
        s.limits.phone_per_ip_per_minute = 5;
    })
    .await;
    let (greedy, _) = app.login().await;
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let (status, body) = phone(&app, &greedy).await;
        if status == 429 {
            assert_eq!(body["code"], "RATE_LIMITED", "{body}");
        }
        statuses.push(status);
    }
    assert_eq!(statuses[..3], [200; 3], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    // Another user from the same address: two more, then the address is spent.
    let (other, _) = app.login().await;
    let others: Vec<u16> = futures_util::future::join_all((0..4).map(|_| phone(&app, &other)))
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    assert_eq!(
        others.iter().filter(|s| **s == 200).count(),
        2,
        "{others:?}"
    );
    app.cleanup().await;
}

/// Security review (issue #23): the reply's watermark was parsed and never compared.
async fn a_number_for_another_app_or_another_time_is_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let (token, _) = app.login().await;
    for watermark in [
        json!({ "appid": "wx0000000000000000" }),
        json!({ "shift_secs": -3600 }),
        json!({ "shift_secs": 3600 }),
    ] {
        let (status, body) = phone_with(&app, &token, watermark.clone()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (502, Some("PHONE_WATERMARK_MISMATCH")),
            "{watermark}: {body}"
        );
        assert!(body.get("phone_number").is_none(), "{body}");
    }
    // A small clock difference is fine.
    let (status, body) = phone_with(&app, &token, json!({ "shift_secs": -60 })).await;
    assert_eq!(status, 200, "{body}");
    app.cleanup().await;
}
