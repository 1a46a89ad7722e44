//! The whole happy path, as a Mini Program backend would drive it.

use std::time::Duration;

use wxpay_core::v2::notify::verify_pay_notify;
use wxpay_core::v2::sign::SignType;
use wxpay_core::{Fen, SessionKey};

use crate::helpers::{APPID, Answer, MCH_ID, Order, Receiver, TestSim};

#[tokio::test]
async fn login_order_pay_notify_query() {
    let sim = TestSim::start(1000.0).await;
    let receiver = Receiver::start(vec![Answer::Success]).await;

    // wx.login -> code -> code2session
    let (code, openid) = sim.login(None).await;
    let session = sim.code2session_ok(&code).await;
    assert_eq!(session["openid"], openid.as_str());
    assert!(session.get("errcode").is_none());
    assert!(SessionKey::from_base64(session["session_key"].as_str().unwrap()).is_ok());

    // unifiedorder -> prepay_id (HMAC-SHA256 order)
    let mut order = Order::new("flow-0001", &receiver.url);
    order.openid = openid.clone();
    order.sign_type = SignType::HmacSha256;
    order.extra.push(("attach".into(), "order-meta=42".into()));
    let reply = sim.unifiedorder(&order).await;
    assert_eq!(reply.get("return_code"), Some("SUCCESS"));
    assert_eq!(reply.get("result_code"), Some("SUCCESS"));
    assert_eq!(reply.get("trade_type"), Some("JSAPI"));
    let prepay_id = reply.get("prepay_id").unwrap().to_owned();

    // The payer pays; the notify reaches the merchant, who acknowledges it.
    assert_eq!(
        sim.pay(&prepay_id, SignType::HmacSha256, &openid, "ok")
            .await,
        "requestPayment:ok"
    );
    let attempts = sim
        .wait_attempts("flow-0001", 1, Duration::from_secs(5))
        .await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["acknowledged"], true);
    assert_eq!(attempts[0]["http_status"], 200);
    let bodies = receiver.received();
    assert_eq!(bodies.len(), 1);
    let notify =
        verify_pay_notify(bodies[0].as_bytes(), &sim.key, Some(SignType::HmacSha256)).unwrap();
    assert_eq!(notify.out_trade_no(), "flow-0001");
    assert_eq!(notify.total_fee(), Fen::new(888));
    assert_eq!(notify.openid(), openid);
    assert_eq!(notify.appid(), APPID);
    assert_eq!(notify.mch_id(), MCH_ID);
    assert_eq!(notify.attach(), Some("order-meta=42"));
    assert_eq!(notify.transaction_id().len(), 28);
    // Like WeChat's HMAC notifies: no sign_type element; the type comes from the order.
    assert!(notify.params().get("sign_type").is_none());

    // orderquery agrees.
    let query = sim.orderquery("flow-0001").await;
    assert_eq!(query.get("trade_state"), Some("SUCCESS"));
    assert_eq!(query.get("transaction_id"), Some(notify.transaction_id()));
    assert_eq!(query.get("time_end"), Some(notify.time_end()));
    assert_eq!(query.get("cash_fee"), Some("888"));

    // And the control API's view.
    let (status, trade) = sim.get_json("/sim/trades/flow-0001").await;
    assert_eq!(status, 200);
    assert_eq!(trade["trade_state"], "SUCCESS");
    assert_eq!(trade["sign_type"], "HMAC-SHA256");
    assert_eq!(trade["total_fee"], 888);
}

#[tokio::test]
async fn control_api_reports_unknown_trades_and_lists_merchants_without_secrets() {
    let sim = TestSim::start(1000.0).await;
    let (status, _) = sim.get_json("/sim/trades/nope").await;
    assert_eq!(status, 404);
    let (status, merchants) = sim.get_json("/sim/merchants").await;
    assert_eq!(status, 200);
    let shown = merchants.to_string();
    assert!(shown.contains(APPID));
    assert!(!shown.contains(wxpay_sim::config::DOC_API_KEY));
    assert!(!shown.contains(wxpay_sim::config::DOC_APP_SECRET));
}

#[tokio::test]
async fn merchants_can_be_added_at_runtime() {
    let sim = TestSim::start(1000.0).await;
    let (status, _) = sim
        .post_json(
            "/sim/merchants",
            serde_json::json!({
                "appid": "wx1111111111111111", "mch_id": "1900000109",
                "api_key": "qazwsxedcrfvtgbyhnujmikolp111111",
                "app_secret": "abcdefabcdefabcdefabcdefabcdefab"
            }),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = sim
        .post_json(
            "/sim/login",
            serde_json::json!({"appid": "wx1111111111111111"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The same appid twice, or a bad key, is refused with a reason.
    let (status, body) = sim
        .post_json(
            "/sim/merchants",
            serde_json::json!({
                "appid": "wx1111111111111111", "mch_id": "1900000110",
                "api_key": "qazwsxedcrfvtgbyhnujmikolp111111",
                "app_secret": "abcdefabcdefabcdefabcdefabcdefab"
            }),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("already"));
}
