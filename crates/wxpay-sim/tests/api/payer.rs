//! `/sim/pay`: the WeChat client's checks of the five `wx.requestPayment` params.

use serde_json::json;
use wxpay_core::v2::RequestPayment;
use wxpay_core::v2::sign::SignType;

use crate::helpers::{APPID, Order, TestSim, payment_json};

const NOTIFY: &str = "https://merchant.example.com/wxpay/notify";

async fn setup(sim: &TestSim, no: &str, sign_type: SignType) -> (Order, RequestPayment) {
    let mut order = Order::new(no, NOTIFY);
    order.sign_type = sign_type;
    let prepay = sim.order_for_new_user(&mut order).await;
    let payment =
        RequestPayment::build(APPID, &prepay, &sim.key, sign_type, "n0nce", 1_764_000_000).unwrap();
    (order, payment)
}

#[tokio::test]
async fn type_errors_read_like_the_client() {
    let sim = TestSim::start(1000.0).await;
    let (order, payment) = setup(&sim, "types-1", SignType::Md5).await;
    let mut body = payment_json(&payment, &order.openid, "ok");
    body["timeStamp"] = json!(1_764_000_000);
    body.as_object_mut().unwrap().remove("paySign");
    assert_eq!(
        sim.pay_with(body).await,
        "requestPayment:fail parameter error: parameter.timeStamp should be String instead of Number;parameter.paySign should be String instead of Undefined;"
    );
}

#[tokio::test]
async fn bad_signs_wrong_type_wrong_app_and_wrong_payer_fail() {
    let sim = TestSim::start(1000.0).await;
    let (order, payment) = setup(&sim, "checks-1", SignType::HmacSha256).await;

    let mut bad = payment.clone();
    bad.pay_sign.replace_range(
        0..1,
        if bad.pay_sign.starts_with('A') {
            "B"
        } else {
            "A"
        },
    );
    let reply = sim.pay_with(payment_json(&bad, &order.openid, "ok")).await;
    assert!(reply.contains("支付验证签名失败"), "{reply}");

    // Signed correctly, but with MD5 for an HMAC-SHA256 order.
    let md5 = RequestPayment::build(
        APPID,
        payment.prepay_id().unwrap(),
        &sim.key,
        SignType::Md5,
        "n",
        1,
    )
    .unwrap();
    assert!(
        sim.pay_with(payment_json(&md5, &order.openid, "ok"))
            .await
            .contains("支付验证签名失败")
    );

    let mut other_app = payment_json(&payment, &order.openid, "ok");
    other_app["appid"] = json!("wx0000000000000000");
    assert_eq!(
        sim.pay_with(other_app).await,
        "requestPayment:fail invalid appid"
    );

    let mut bad_package = payment.clone();
    bad_package.package = "wx123".into();
    assert!(
        sim.pay_with(payment_json(&bad_package, &order.openid, "ok"))
            .await
            .contains("package")
    );

    let stranger = sim
        .pay_with(payment_json(&payment, "o-someone-else", "ok"))
        .await;
    assert!(stranger.contains("openid mismatch"), "{stranger}");

    // None of it paid the order.
    assert_eq!(
        sim.orderquery("checks-1").await.get("trade_state"),
        Some("NOTPAY")
    );
}

#[tokio::test]
async fn cancel_and_fail_leave_the_order_unpaid_and_ok_pays_once() {
    let sim = TestSim::start(1000.0).await;
    let (order, payment) = setup(&sim, "outcome-1", SignType::Md5).await;
    assert_eq!(
        sim.pay_with(payment_json(&payment, &order.openid, "cancel"))
            .await,
        "requestPayment:fail cancel"
    );
    assert!(
        sim.pay_with(payment_json(&payment, &order.openid, "fail"))
            .await
            .starts_with("requestPayment:fail")
    );
    assert_eq!(
        sim.orderquery("outcome-1").await.get("trade_state"),
        Some("NOTPAY")
    );
    assert_eq!(
        sim.pay_with(payment_json(&payment, &order.openid, "ok"))
            .await,
        "requestPayment:ok"
    );
    assert_eq!(
        sim.orderquery("outcome-1").await.get("trade_state"),
        Some("SUCCESS")
    );
    assert_eq!(
        sim.pay_with(payment_json(&payment, &order.openid, "ok"))
            .await,
        "requestPayment:fail order already paid"
    );
    let (status, body) = sim.post_json("/sim/pay", json!({"timeStamp": "1"})).await;
    assert_eq!(status, 200);
    assert!(body["errMsg"].as_str().unwrap().contains("parameter error"));
    let mut weird = payment_json(&payment, &order.openid, "ok");
    weird["outcome"] = json!("maybe");
    let (status, _) = sim.post_json("/sim/pay", weird).await;
    assert_eq!(status, 400);
}
