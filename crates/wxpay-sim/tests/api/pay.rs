//! `/pay/unifiedorder`, `/pay/orderquery`, `/pay/closeorder`: signatures and field rules.

use std::time::Duration;

use wxpay_core::ApiKey;
use wxpay_core::v2::sign::SignType;
use wxpay_core::v2::xml;

use crate::helpers::{MCH_ID, Order, TestSim, base_params};

const NOTIFY: &str = "https://merchant.example.com/wxpay/notify";

fn err_code(reply: &wxpay_core::v2::Params<'_>) -> Option<String> {
    reply.get("err_code").map(str::to_owned)
}

#[tokio::test]
async fn unifiedorder_both_sign_types_and_identical_repeats() {
    let sim = TestSim::start(1000.0).await;
    for (no, sign_type) in [("md5-1", SignType::Md5), ("hmac-1", SignType::HmacSha256)] {
        let mut order = Order::new(no, NOTIFY);
        order.sign_type = sign_type;
        let first = sim.unifiedorder(&order).await;
        assert_eq!(first.get("result_code"), Some("SUCCESS"), "{first:?}");
        let prepay = first.get("prepay_id").unwrap();
        assert!(prepay.starts_with("wx"));
        // Same params again while unpaid: the same, still valid prepay_id.
        let again = sim.unifiedorder(&order).await;
        assert_eq!(again.get("prepay_id"), Some(prepay));
        // Different params, same out_trade_no.
        order.total_fee = "1".into();
        let changed = sim.unifiedorder(&order).await;
        assert_eq!(changed.get("result_code"), Some("FAIL"));
        assert_eq!(err_code(&changed).as_deref(), Some("OUT_TRADE_NO_USED"));
    }
}

#[tokio::test]
async fn a_wrong_key_gets_the_sign_error() {
    let sim = TestSim::start(1000.0).await;
    let other = ApiKey::new("00000000000000000000000000000000").unwrap();
    let (status, body) = sim
        .post_signed(
            "/pay/unifiedorder",
            Order::new("k-1", NOTIFY).params(),
            &other,
            SignType::Md5,
        )
        .await;
    assert_eq!(status, 200);
    let reply = xml::parse(body.as_bytes()).unwrap();
    assert_eq!(reply.get("return_code"), Some("FAIL"));
    assert!(reply.get("return_msg").unwrap().contains("签名错误"));
    assert!(reply.get("sign").is_none());
    // Nothing was created.
    assert_eq!(
        err_code(&sim.orderquery("k-1").await).as_deref(),
        Some("ORDERNOTEXIST")
    );
}

#[tokio::test]
async fn transport_errors_are_wechat_fail_replies() {
    let sim = TestSim::start(1000.0).await;
    let get = sim
        .http
        .get(sim.url("/pay/unifiedorder"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 200);
    let body = get.text().await.unwrap();
    assert!(
        body.contains("FAIL") && body.contains("REQUIRE_POST_METHOD"),
        "{body}"
    );
    for (input, expected) in [
        ("", "POST_DATA_EMPTY"),
        ("<xml><appid>", "XML_FORMAT_ERROR"),
        (
            "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><a>&e;</a></xml>",
            "XML_FORMAT_ERROR",
        ),
        ("not xml at all", "XML_FORMAT_ERROR"),
    ] {
        let (status, body) = sim.post_raw("/pay/unifiedorder", input.to_owned()).await;
        assert_eq!(status, 200);
        let reply = xml::parse(body.as_bytes()).unwrap();
        assert_eq!(reply.get("return_code"), Some("FAIL"), "{input}");
        assert!(
            reply.get("return_msg").unwrap().contains(expected),
            "{input}: {body}"
        );
    }
    let invalid_utf8 = sim
        .http
        .post(sim.url("/pay/orderquery"))
        .body(b"<xml><a>\xff</a></xml>".to_vec())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(invalid_utf8.contains("NOT_UTF8"), "{invalid_utf8}");
    // An unknown merchant cannot even be answered with a signed reply.
    let mut params = Order::new("m-1", NOTIFY).params();
    params.insert("mch_id", "999");
    let (_, body) = sim
        .post_signed("/pay/unifiedorder", params, &sim.key, SignType::Md5)
        .await;
    assert!(body.contains("MCHID_NOT_EXIST"), "{body}");
}

#[tokio::test]
async fn field_rules_answer_signed_business_errors() {
    let sim = TestSim::start(1000.0).await;
    let case = |tweak: &dyn Fn(&mut wxpay_core::v2::Params<'static>)| {
        let mut params = Order::new("rules-1", NOTIFY).params();
        tweak(&mut params);
        params
    };
    let cases: Vec<(wxpay_core::v2::Params<'static>, &str)> = vec![
        (
            case(&|p| {
                p.remove("openid");
            }),
            "LACK_PARAMS",
        ),
        (
            case(&|p| {
                p.remove("body");
            }),
            "LACK_PARAMS",
        ),
        (
            case(&|p| {
                p.insert("total_fee", "0");
            }),
            "INVALID_REQUEST",
        ),
        (
            case(&|p| {
                p.insert("total_fee", "8.88");
            }),
            "INVALID_REQUEST",
        ),
        (
            case(&|p| {
                p.insert("out_trade_no", "has space");
            }),
            "INVALID_REQUEST",
        ),
        (
            case(&|p| {
                p.insert("out_trade_no", "1".repeat(33));
            }),
            "INVALID_REQUEST",
        ),
        (
            case(&|p| {
                p.insert("notify_url", "https://m.example.com/n?x=1");
            }),
            "INVALID_REQUEST",
        ),
        (
            case(&|p| {
                p.insert("notify_url", "/relative");
            }),
            "INVALID_REQUEST",
        ),
        (
            case(&|p| {
                p.insert("trade_type", "NATIVE");
            }),
            "INVALID_REQUEST",
        ),
        (
            case(&|p| {
                p.insert("spbill_create_ip", "localhost");
            }),
            "INVALID_REQUEST",
        ),
        (
            case(&|p| {
                p.insert("appid", "wx0000000000000000");
            }),
            "APPID_MCHID_NOT_MATCH",
        ),
    ];
    for (params, expected) in cases {
        let reply = sim.call("/pay/unifiedorder", params, SignType::Md5).await;
        assert_eq!(reply.get("return_code"), Some("SUCCESS"));
        assert_eq!(reply.get("result_code"), Some("FAIL"));
        assert_eq!(err_code(&reply).as_deref(), Some(expected), "{reply:?}");
        assert!(!reply.get("err_code_des").unwrap_or_default().is_empty());
    }
    assert_eq!(
        err_code(&sim.orderquery("rules-1").await).as_deref(),
        Some("ORDERNOTEXIST")
    );
}

#[tokio::test]
async fn orderquery_and_closeorder_follow_the_trade() {
    let sim = TestSim::start(1000.0).await;
    let mut order = Order::new("close-1", NOTIFY);
    let prepay = sim.order_for_new_user(&mut order).await;
    let query = sim.orderquery("close-1").await;
    assert_eq!(query.get("trade_state"), Some("NOTPAY"));
    assert_eq!(query.get("total_fee"), Some("888"));
    assert!(query.get("transaction_id").is_none());

    let closed = sim.closeorder("close-1").await;
    assert_eq!(closed.get("result_code"), Some("SUCCESS"), "{closed:?}");
    assert_eq!(
        sim.orderquery("close-1").await.get("trade_state"),
        Some("CLOSED")
    );
    assert_eq!(
        err_code(&sim.closeorder("close-1").await).as_deref(),
        Some("ORDERCLOSED")
    );
    assert_eq!(
        err_code(&sim.unifiedorder(&order).await).as_deref(),
        Some("ORDERCLOSED")
    );
    assert_eq!(
        sim.pay(&prepay, SignType::Md5, &order.openid, "ok").await,
        "requestPayment:fail order closed"
    );
    assert_eq!(
        err_code(&sim.closeorder("never-made").await).as_deref(),
        Some("ORDERNOTEXIST")
    );

    // A paid trade cannot be closed or re-ordered.
    let mut order = Order::new("paid-1", NOTIFY);
    let prepay = sim.order_for_new_user(&mut order).await;
    assert_eq!(
        sim.pay(&prepay, SignType::Md5, &order.openid, "ok").await,
        "requestPayment:ok"
    );
    assert_eq!(
        err_code(&sim.closeorder("paid-1").await).as_deref(),
        Some("ORDERPAID")
    );
    assert_eq!(
        err_code(&sim.unifiedorder(&order).await).as_deref(),
        Some("ORDERPAID")
    );

    // orderquery by transaction_id.
    let tx = sim
        .orderquery("paid-1")
        .await
        .get("transaction_id")
        .unwrap()
        .to_owned();
    let by_tx = sim
        .call(
            "/pay/orderquery",
            base_params(&[("transaction_id", &tx)]),
            SignType::HmacSha256,
        )
        .await;
    assert_eq!(by_tx.get("out_trade_no"), Some("paid-1"));
    assert_eq!(by_tx.get("mch_id"), Some(MCH_ID));
}

#[tokio::test]
async fn prepay_ids_expire_and_a_repeat_gives_a_usable_one() {
    // 2 hours at 10000x is 720 ms.
    let sim = TestSim::start(10_000.0).await;
    let mut order = Order::new("expire-1", NOTIFY);
    let old = sim.order_for_new_user(&mut order).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        sim.pay(&old, SignType::Md5, &order.openid, "ok").await,
        "requestPayment:fail prepay_id expired"
    );
    let fresh = sim
        .unifiedorder(&order)
        .await
        .get("prepay_id")
        .unwrap()
        .to_owned();
    assert_ne!(fresh, old);
    assert_eq!(
        sim.pay(&fresh, SignType::Md5, &order.openid, "ok").await,
        "requestPayment:ok"
    );
}
