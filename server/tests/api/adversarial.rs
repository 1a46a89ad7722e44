//! The adversarial notify suite: every class of forged, mismatched or hostile notify is
//! refused with FAIL, leaves the order untouched, and is counted in the metrics. A
//! genuine notify for a paid order is acknowledged and changes nothing.

use wxpay_core::ApiKey;
use wxpay_core::v2::testing::PayNotifyBuilder;
use wxpay_core::v2::{SignType, xml};

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases!(every_hostile_notify_is_refused_and_counted);

/// Each class: (name, body, content type).
fn classes(
    app: &TestApp,
    order_no: &str,
    closed_no: &str,
) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let genuine = app.notify_for(order_no, 2800).build_xml(&app.key);
    let other_key = ApiKey::new("00000000000000000000000000000000").unwrap();
    let signed = |notify: PayNotifyBuilder| notify.build_xml(&app.key).into_bytes();
    let inject = |from: &str, to: &str| {
        assert!(genuine.contains(from), "{from} is not in the notify");
        genuine.replacen(from, to, 1).into_bytes()
    };
    let lol_levels: String = (1..=9)
        .map(|i| {
            format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&lol{};", i - 1).repeat(10)
            )
        })
        .collect();
    let billion_laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY lol0 \"lol\">{lol_levels}]>{}",
        genuine.replacen("<total_fee>", "<total_fee>&lol9;", 1)
    );
    let quadratic = format!(
        "<!DOCTYPE xml [<!ENTITY a \"{}\">]>{}",
        "a".repeat(20_000),
        genuine.replacen(
            "<time_end>",
            &format!("<time_end>{}", "&a;".repeat(10_000)),
            1
        )
    );
    let xxe = format!(
        "<!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
        genuine.replacen("<total_fee>", "<total_fee>&x;", 1)
    );
    let text = "text/xml";
    vec![
        (
            "bad sign",
            inject("<total_fee>2800", "<total_fee>2801"),
            text,
        ),
        (
            "sign made with another key",
            app.notify_for(order_no, 2800)
                .build_xml(&other_key)
                .into_bytes(),
            text,
        ),
        (
            "MD5 sign on an HMAC-SHA256 order (sign_type field says MD5)",
            signed(
                app.notify_for(order_no, 2800)
                    .sign_type(SignType::Md5, true),
            ),
            text,
        ),
        (
            "MD5 sign on an HMAC-SHA256 order (no sign_type field)",
            signed(
                app.notify_for(order_no, 2800)
                    .sign_type(SignType::Md5, false),
            ),
            text,
        ),
        (
            "amount lower than the order",
            signed(app.notify_for(order_no, 2799)),
            text,
        ),
        (
            "amount higher than the order",
            signed(app.notify_for(order_no, 2801)),
            text,
        ),
        (
            "other appid",
            signed(
                app.notify_for(order_no, 2800)
                    .field("appid", "wx0000000000000000"),
            ),
            text,
        ),
        (
            "other mch_id",
            signed(app.notify_for(order_no, 2800).field("mch_id", "1900000109")),
            text,
        ),
        (
            "unknown out_trade_no",
            signed(app.notify_for("20990101000000123456789012", 2800)),
            text,
        ),
        (
            "closed order, amount differs",
            signed(app.notify_for(closed_no, 2801)),
            text,
        ),
        (
            "result_code FAIL with a sign made with another key",
            app.notify_for(order_no, 2800)
                .field("result_code", "FAIL")
                .build_xml(&other_key)
                .into_bytes(),
            text,
        ),
        (
            "a second total_fee",
            inject(
                "<total_fee>2800</total_fee>",
                "<total_fee>2800</total_fee><total_fee>1</total_fee>",
            ),
            text,
        ),
        (
            "nested element",
            inject(
                "<total_fee>2800</total_fee>",
                "<total_fee><v>2800</v></total_fee>",
            ),
            text,
        ),
        (
            "undeclared entity",
            inject("<total_fee>", "<total_fee>&nbsp;"),
            text,
        ),
        ("DOCTYPE / XXE", xxe.into_bytes(), text),
        ("billion laughs", billion_laughs.into_bytes(), text),
        ("quadratic blow-up", quadratic.into_bytes(), text),
        ("10 MiB body", vec![b'x'; 10 * 1024 * 1024], text),
        (
            "invalid UTF-8",
            inject("<total_fee>", "<total_fee>\u{fffd}")
                .into_iter()
                .map(|b| if b == 0xEF { 0xFF } else { b })
                .collect(),
            text,
        ),
        ("empty body", Vec::new(), text),
        (
            "wrong content type",
            genuine.clone().into_bytes(),
            "application/json",
        ),
        (
            "trailing garbage",
            format!("{genuine}<xml/>").into_bytes(),
            text,
        ),
    ]
}

/// Sum of `wxpay_notifies_total` over refusing outcomes.
fn refused_count(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("wxpay_notifies_total{"))
        .filter(|l| !l.contains("outcome=\"paid\"") && !l.contains("outcome=\"duplicate\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn every_hostile_notify_is_refused_and_counted(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    let (token, _, closed) = app.user_with_order().await;
    let closed_no = closed["order_no"].as_str().unwrap().to_owned();
    assert_eq!(app.order_action(&token, &closed_no, "cancel").await.0, 200);

    let classes = classes(&app, &order_no, &closed_no);
    for (name, body, content_type) in &classes {
        let (status, reply) = app.post_notify(body.clone(), content_type).await;
        assert!(status >= 400, "{name}: HTTP {status}");
        let parsed =
            xml::parse(reply.as_bytes()).unwrap_or_else(|e| panic!("{name}: reply {reply:?}: {e}"));
        assert_eq!(parsed.get("return_code"), Some("FAIL"), "{name}");
        assert_eq!(
            app.status_of(&order_no).await,
            "awaiting_payment",
            "{name} changed the order"
        );
        assert_eq!(
            app.status_of(&closed_no).await,
            "closed",
            "{name} changed the closed order"
        );
    }
    assert_eq!(app.payment_events(&order_no).await, 0);
    assert_eq!(
        refused_count(&app.metrics().await),
        classes.len() as u64,
        "every refusal is counted"
    );
    println!("adversarial notify classes refused: {}", classes.len());

    // The genuine notify pays; sent again, it is acknowledged and changes nothing.
    let genuine = app.notify_for(&order_no, 2800).build_xml(&app.key);
    assert_eq!(app.post_notify(genuine.clone(), "text/xml").await.0, 200);
    let paid = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(app.post_notify(genuine, "text/xml").await.0, 200);
    let again = app.state.store.order(&order_no).await.unwrap().unwrap();
    assert_eq!(again.status.as_str(), "paid");
    assert_eq!(again.paid_at, paid.paid_at);
    assert_eq!(app.payment_events(&order_no).await, 1);
    app.cleanup().await;
}

on_both_databases!(an_hmac_sign_on_an_md5_order_is_refused);

async fn an_hmac_sign_on_an_md5_order_is_refused(db: Db) {
    let app = TestApp::spawn_with(db, |s| s.wechat.sign_type = "MD5".into()).await;
    let (_, _, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    assert_eq!(order["payment"]["signType"], "MD5");
    for with_field in [true, false] {
        let body = app
            .notify_for(&order_no, 2800)
            .sign_type(SignType::HmacSha256, with_field)
            .build_xml(&app.key);
        let (status, reply) = app.post_notify(body, "text/xml").await;
        assert_eq!(status, 400, "{reply}");
        assert_eq!(app.status_of(&order_no).await, "awaiting_payment");
    }
    let genuine = app
        .notify_for(&order_no, 2800)
        .sign_type(SignType::Md5, false)
        .build_xml(&app.key);
    assert_eq!(app.post_notify(genuine, "text/xml").await.0, 200);
    assert_eq!(app.status_of(&order_no).await, "paid");
    app.cleanup().await;
}
