//! `POST /pay/downloadbill` (protocol.md §2.10): the day's trade bill from the simulator's
//! own trades and refunds, as WeChat writes it: a text table (not XML) whose values each
//! start with a back-tick, amounts in yuan, a summary section; gzip with `tar_type=GZIP`.
//! Failures are XML (`return_code` FAIL): a bad signature, a bad `bill_date` or
//! `bill_type`, and "No Bill Exist" for a day without trades.

use std::io::Write as _;
use std::sync::Arc;

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use time::OffsetDateTime;
use wxpay_core::v2::{reply, xml};

use crate::clock::beijing_compact;
use crate::state::{Sim, SimState, Trade};

const HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const SUMMARY: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";
/// WeChat's usual rate for Mini Program payments: 0.6%.
const RATE_PER_MILLE: i64 = 6;

fn fail(message: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(reply::fail_reply(message))
}

/// Fen as WeChat's yuan text: `2800` -> `28.00`, `-6` -> `-0.06`.
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    format!("{sign}{}.{:02}", fen / 100, fen % 100)
}

/// The fee on an amount, rounded to the fen.
fn fee(fen: i64) -> i64 {
    (fen * RATE_PER_MILLE + 500) / 1000
}

fn day(at: OffsetDateTime) -> String {
    beijing_compact(at).chars().take(8).collect()
}

fn time_text(at: OffsetDateTime) -> String {
    let c = beijing_compact(at);
    let part = |a: usize, b: usize| c.get(a..b).unwrap_or_default().to_owned();
    format!(
        "{}-{}-{} {}:{}:{}",
        part(0, 4),
        part(4, 6),
        part(6, 8),
        part(8, 10),
        part(10, 12),
        part(12, 14)
    )
}

fn line(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// One paid trade's line; `fee_fen` is WeChat's fee on it.
fn paid_line(at: OffsetDateTime, t: &Trade, fee_fen: i64) -> String {
    line(&[
        time_text(at),
        t.appid.clone(),
        t.mch_id.clone(),
        "0".into(),
        String::new(),
        t.transaction_id.clone().unwrap_or_default(),
        t.out_trade_no.clone(),
        t.openid.clone(),
        "JSAPI".into(),
        "SUCCESS".into(),
        "OTHERS".into(),
        "CNY".into(),
        yuan(t.total_fee.get()),
        "0.00".into(),
        "0".into(),
        "0".into(),
        "0.00".into(),
        "0.00".into(),
        String::new(),
        String::new(),
        t.field("body").unwrap_or_default().to_owned(),
        t.field("attach").unwrap_or_default().to_owned(),
        yuan(fee_fen),
        "0.60%".into(),
        yuan(t.total_fee.get()),
        "0.00".into(),
        String::new(),
    ])
}

/// The bill's lines (payments and/or refunds of `mch_id` on `date`) and its totals:
/// (lines, settled, refunded, fees).
fn rows(
    state: &SimState,
    mch_id: &str,
    date: &str,
    bill_type: &str,
) -> (Vec<String>, i64, i64, i64) {
    let (mut lines, mut settled, mut refunded, mut fees) = (Vec::new(), 0, 0, 0);
    if bill_type != "REFUND" {
        let mut paid: Vec<_> = state
            .trades
            .values()
            .filter(|t| t.mch_id == mch_id && t.state.was_paid())
            .filter_map(|t| t.paid_at.filter(|at| day(*at) == date).map(|at| (at, t)))
            .collect();
        paid.sort_by_key(|(at, t)| (*at, t.out_trade_no.clone()));
        for (at, t) in paid {
            let total = t.total_fee.get();
            let f = fee(total);
            (settled, fees) = (settled + total, fees + f);
            lines.push(paid_line(at, t, f));
        }
    }
    if bill_type != "SUCCESS" {
        let mut done: Vec<_> = state
            .refunds
            .values()
            .filter(|r| r.mch_id == mch_id)
            .filter_map(|r| {
                r.success_time
                    .filter(|at| day(*at) == date)
                    .map(|at| (at, r))
            })
            .collect();
        done.sort_by_key(|(at, r)| (*at, r.out_refund_no.clone()));
        for (at, r) in done {
            let amount = r.amount.get();
            let f = -fee(amount);
            (refunded, fees) = (refunded + amount, fees + f);
            lines.push(line(&[
                time_text(at),
                r.appid.clone(),
                r.mch_id.clone(),
                "0".into(),
                String::new(),
                r.transaction_id.clone(),
                r.out_trade_no.clone(),
                String::new(),
                "JSAPI".into(),
                "REFUND".into(),
                "OTHERS".into(),
                "CNY".into(),
                "0.00".into(),
                "0.00".into(),
                r.refund_id.clone(),
                r.out_refund_no.clone(),
                yuan(amount),
                "0.00".into(),
                "ORIGINAL".into(),
                "SUCCESS".into(),
                String::new(),
                String::new(),
                yuan(f),
                "0.60%".into(),
                yuan(r.total.get()),
                yuan(amount),
                String::new(),
            ]));
        }
    }
    (lines, settled, refunded, fees)
}

pub(crate) async fn downloadbill(
    sim: web::Data<Arc<Sim>>,
    req: HttpRequest,
    body: Bytes,
) -> HttpResponse {
    if req.method() != actix_web::http::Method::POST {
        return fail("请使用post方法 (REQUIRE_POST_METHOD)");
    }
    let Ok(params) = xml::parse(&body) else {
        return fail("XML格式错误 (XML_FORMAT_ERROR)");
    };
    let state = sim.state();
    if let Err(reply) = crate::pay::check_signature(&state, &params) {
        return reply;
    }
    let date = params.get("bill_date").unwrap_or_default();
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return fail("invalid bill_date");
    }
    let bill_type = params
        .get("bill_type")
        .filter(|t| !t.is_empty())
        .unwrap_or("ALL");
    if !matches!(bill_type, "ALL" | "SUCCESS" | "REFUND") {
        return fail("invalid bill_type");
    }
    let mch_id = params.get("mch_id").unwrap_or_default();
    let text = bill_text(&state, mch_id, date, bill_type);
    drop(state);
    let Some(text) = text else {
        return fail("No Bill Exist");
    };
    if params.get("tar_type") == Some("GZIP") {
        return match gzip(&text) {
            Some(bytes) => HttpResponse::Ok()
                .content_type("application/x-gzip")
                .body(bytes),
            None => fail("CompressGZip Error"),
        };
    }
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(text)
}

/// The bill of `mch_id` on `date` (`yyyyMMdd`, Beijing) as WeChat writes it, `None` for
/// a day without trades. v2 and v3 bills share this text.
pub(crate) fn bill_text(
    state: &SimState,
    mch_id: &str,
    date: &str,
    bill_type: &str,
) -> Option<String> {
    let (lines, settled, refunded, fees) = rows(state, mch_id, date, bill_type);
    if lines.is_empty() {
        return None;
    }
    Some(document(&lines, settled, refunded, fees))
}

/// The bill around its lines: the header, the lines, the summary of their totals.
fn document(lines: &[String], settled: i64, refunded: i64, fees: i64) -> String {
    let mut text = format!("{HEADER}\r\n");
    for l in lines {
        text.push_str(l);
        text.push_str("\r\n");
    }
    let figures = [
        lines.len().to_string(),
        yuan(settled),
        yuan(refunded),
        "0.00".into(),
        yuan(fees),
        yuan(settled),
        yuan(refunded),
    ];
    text.push_str(&format!("{SUMMARY}\r\n{}\r\n", line(&figures)));
    text
}

/// A paid v3 trade of 28.00 yuan at `at` with `body` and `attach`, numbered `n`.
fn sample_trade(n: usize, body: &str, attach: &str, at: OffsetDateTime) -> Trade {
    Trade {
        appid: "wxd930ea5d5a258f4f".into(),
        mch_id: "10000100".into(),
        out_trade_no: format!("2026113000000000000{n:07}"),
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        total_fee: wxpay_core::Fen::new(2800),
        protocol: crate::state::Protocol::V3 {
            request: serde_json::json!({ "description": body, "attach": attach }),
        },
        notify_url: String::new(),
        prepay_id: String::new(),
        prepay_issued: std::time::Instant::now(),
        state: crate::state::TradeState::Success,
        transaction_id: Some(format!("42000000012026113000{n:08}")),
        paid_at: Some(at),
    }
}

/// The bill of a day with `trades` payments, each with the longest product name (127
/// bytes, as WeChat's v2 `body` allows) and attach (127 bytes) there can be, written by
/// the simulator's own writer: the measure of how large a real day's bill may be.
pub fn sized_bill(trades: usize) -> String {
    let body = format!("{}x", "咖".repeat(42));
    let attach = "a".repeat(127);
    let at = time::macros::datetime!(2026-11-30 04:00:01 UTC);
    let fee_fen = fee(2800);
    let lines: Vec<String> = (0..trades)
        .map(|n| paid_line(at, &sample_trade(n, &body, &attach, at), fee_fen))
        .collect();
    let count = i64::try_from(trades).unwrap_or(i64::MAX);
    document(&lines, 2800 * count, 0, fee_fen * count)
}

/// `text` gzipped (None only if writing to memory failed).
pub(crate) fn gzip(text: &str) -> Option<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).ok()?;
    gz.finish().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use proptest::prelude::*;
    use wxpay_core::Fen;
    use wxpay_core::v2::bill::{BillError, parse_bill};

    use super::*;

    /// One paid trade's bill, with `body` and `attach` as the merchant sent them,
    /// written by the simulator's own writer.
    fn bill_of(body: &str, attach: &str) -> String {
        let at = time::macros::datetime!(2026-11-30 04:00:01 UTC);
        let trade = sample_trade(1, body, attach, at);
        let fee_fen = fee(2800);
        let line = paid_line(trade.paid_at.unwrap(), &trade, fee_fen);
        document(&[line], 2800, 0, fee_fen)
    }

    /// Text as a product name can be: any characters but line breaks, dense in the
    /// bill's own punctuation.
    fn free_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just(",".to_owned()),
                Just("`".to_owned()),
                Just(",`".to_owned()),
                Just(" ".to_owned()),
                "[^\r\n]",
            ],
            0..12,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn any_product_name_round_trips(body in free_text(), attach in "[^\r\n`]{0,8}|[^\r\n,]{0,8}") {
            let bill = parse_bill(&bill_of(&body, &attach)).unwrap();
            let row = &bill.rows[0];
            // Spaces at the ends of the line are the line's, not the value's.
            prop_assert_eq!(row.body.as_str(), body.as_str());
            prop_assert_eq!(row.attach.as_str(), attach.as_str());
            prop_assert_eq!(row.out_trade_no.as_str(), "20261130000000000000000001");
            prop_assert_eq!((row.settled_fen, row.fee_fen), (Fen::new(2800), Fen::new(17)));
        }

        #[test]
        fn a_line_break_in_a_value_is_refused_by_name(
            before in free_text(), after in free_text(), brk in "\n|\r\n",
        ) {
            let body = format!("{before}{brk}{after}");
            // Never a row read wrong: refused, and named as a line break whenever the
            // rest of the value does not itself look like a value.
            let refused = parse_bill(&bill_of(&body, "")).unwrap_err();
            if !after.trim_start().starts_with('`') {
                prop_assert!(matches!(refused, BillError::LineBreak { .. }), "{refused:?}");
            }
        }
    }
}
