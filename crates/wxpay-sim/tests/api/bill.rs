//! `/pay/downloadbill`: the day's bill from the simulator's trades, read back with the
//! core's bill parser (rows, summary, yuan to fen), as text and gzip; WeChat's failures.

use std::io::Read as _;

use wxpay_core::Fen;
use wxpay_core::v2::bill::parse_bill;
use wxpay_core::v2::sign::SignType;
use wxpay_core::v2::{sign, xml};

use crate::helpers::{Order, TestSim, base_params};

/// Today in Beijing, as bill_date wants it.
fn today() -> String {
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    format!(
        "{:04}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

async fn download(sim: &TestSim, fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let mut params = base_params(fields);
    sign::sign_in_place(&mut params, &sim.key, SignType::Md5);
    let response = sim
        .http
        .post(sim.url("/pay/downloadbill"))
        .body(xml::to_xml(&params).unwrap())
        .send()
        .await
        .unwrap();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (content_type, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn the_days_bill_lists_the_paid_trades() {
    let sim = TestSim::start(1000.0).await;
    let today = today();
    let (_, body) = download(&sim, &[("bill_date", &today)]).await;
    assert!(String::from_utf8_lossy(&body).contains("No Bill Exist"));
    let mut paid = Vec::new();
    for no in ["bill-1", "bill-2"] {
        let mut order = Order::new(no, "https://merchant.example.com/notify");
        let prepay = sim.order_for_new_user(&mut order).await;
        assert_eq!(
            sim.pay(&prepay, SignType::Md5, &order.openid, "ok").await,
            "requestPayment:ok"
        );
        paid.push((no, Fen::new(order.total_fee.parse().unwrap())));
    }
    // The payments' day (taken after paying: a run across midnight stays right).
    let today = self::today();
    let (content_type, body) = download(&sim, &[("bill_date", &today), ("bill_type", "ALL")]).await;
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = String::from_utf8(body).unwrap();
    let bill = parse_bill(&text).unwrap();
    assert_eq!(bill.rows.len(), 2, "{text}");
    let total: i64 = paid.iter().map(|(_, fee)| fee.get()).sum();
    assert_eq!(bill.summary.settled_fen, Fen::new(total));
    for (no, fee) in &paid {
        let row = bill.rows.iter().find(|r| r.out_trade_no == *no).unwrap();
        assert_eq!(
            (row.settled_fen, row.trade_state.as_str()),
            (*fee, "SUCCESS")
        );
        assert!(row.transaction_id.starts_with("42"), "{row:?}");
    }
    // gzip: the same bill.
    let (content_type, body) = download(&sim, &[("bill_date", &today), ("tar_type", "GZIP")]).await;
    assert_eq!(content_type, "application/x-gzip");
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(body.as_slice())
        .read_to_string(&mut unzipped)
        .unwrap();
    assert_eq!(parse_bill(&unzipped).unwrap(), bill);
    // Only refunds: none today.
    let (_, body) = download(&sim, &[("bill_date", &today), ("bill_type", "REFUND")]).await;
    assert!(String::from_utf8_lossy(&body).contains("No Bill Exist"));
    // WeChat's refusals, as XML.
    for (fields, says) in [
        (vec![("bill_date", "2026-11-30")], "invalid bill_date"),
        (
            vec![("bill_date", today.as_str()), ("bill_type", "EVERYTHING")],
            "invalid bill_type",
        ),
    ] {
        let (_, body) = download(&sim, &fields).await;
        let reply = xml::parse(&body).unwrap();
        assert_eq!(reply.get("return_code"), Some("FAIL"));
        assert!(reply.get("return_msg").unwrap().contains(says));
    }
    let mut forged = base_params(&[("bill_date", &today)]);
    sign::sign_in_place(
        &mut forged,
        &wxpay_core::ApiKey::new("0123456789abcdefghijklmnopqrstuv").unwrap(),
        SignType::Md5,
    );
    let (_, body) = sim
        .post_raw("/pay/downloadbill", xml::to_xml(&forged).unwrap())
        .await;
    assert!(body.contains("签名错误"), "{body}");
}
