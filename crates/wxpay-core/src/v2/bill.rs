//! The v2 trade bill (`/pay/downloadbill`, protocol.md §2.10): not XML but a text table,
//! every value prefixed with a back-tick, then a summary section. Amounts are yuan with two
//! decimals; they become fen exactly (decimal text, never a float). Columns are found by
//! their (Chinese) header names, so their order does not matter.

use crate::Fen;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillError {
    #[error("{0:?} is not an amount in yuan with at most two decimals")]
    Amount(String),
    #[error("the bill has no header line")]
    NoHeader,
    #[error("the bill's header has no {0} column")]
    MissingColumn(&'static str),
    #[error("line {line}: {found} values where the header has {expected}")]
    Width {
        line: usize,
        found: usize,
        expected: usize,
    },
    #[error("the summary says {summary} trades, the bill lists {listed}")]
    Count { summary: usize, listed: usize },
    #[error("the bill has no summary (总交易单数) section")]
    NoSummary,
}

/// `"1.10"` yuan -> 110 fen, exactly. At most two decimals, no exponent; a leading `-`
/// only for what the bill lists negative (a refund's returned fee).
pub fn yuan_to_fen(text: &str) -> Result<Fen, BillError> {
    let bad = || BillError::Amount(text.chars().take(32).collect());
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return Err(bad()),
        None => (unsigned, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.len() > 2 || (!fraction.is_empty() && !digits(fraction)) {
        return Err(bad());
    }
    let yuan: i64 = whole.parse().map_err(|_| bad())?;
    let cents: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    let fen = yuan
        .checked_mul(100)
        .and_then(|f| f.checked_add(cents))
        .ok_or_else(bad)?;
    Ok(Fen::new(if negative { -fen } else { fen }))
}

/// One line of the bill: a payment, or a refund of one (`refund_id` set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRow {
    pub trade_time: String,
    pub appid: String,
    pub mch_id: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub openid: String,
    /// `SUCCESS`, `REFUND`, `REVOKED`, ...
    pub trade_state: String,
    /// 应结订单金额: what the payer paid (settlement amount).
    pub settled_fen: Fen,
    /// 订单金额: the order's total.
    pub total_fen: Fen,
    pub refund_id: Option<String>,
    pub out_refund_no: Option<String>,
    pub refund_fen: Fen,
    pub refund_status: Option<String>,
    pub fee_fen: Fen,
}

/// The summary section's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillSummary {
    pub trades: usize,
    pub settled_fen: Fen,
    pub refund_fen: Fen,
    pub fee_fen: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub rows: Vec<BillRow>,
    pub summary: BillSummary,
}

/// The values of one line, back-ticks and surrounding spaces removed.
fn values(line: &str) -> Vec<&str> {
    line.split(',')
        .map(|v| v.trim().trim_start_matches('`').trim())
        .collect()
}

struct Columns<'h> {
    header: Vec<&'h str>,
}

impl Columns<'_> {
    fn index(&self, name: &'static str) -> Result<usize, BillError> {
        self.header
            .iter()
            .position(|h| *h == name)
            .ok_or(BillError::MissingColumn(name))
    }
}

/// Parses a whole bill (the text, after gunzip for `tar_type=GZIP`).
pub fn parse_bill(text: &str) -> Result<Bill, BillError> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate();
    let (_, header_line) = lines.next().ok_or(BillError::NoHeader)?;
    let columns = Columns {
        header: values(header_line.trim_start_matches('\u{feff}')),
    };
    let at = |name| columns.index(name);
    let (time, appid, mch_id, transaction_id, out_trade_no, openid, state, settled) = (
        at("交易时间")?,
        at("公众账号ID")?,
        at("商户号")?,
        at("微信订单号")?,
        at("商户订单号")?,
        at("用户标识")?,
        at("交易状态")?,
        at("应结订单金额")?,
    );
    let optional = |name| columns.index(name).ok();
    let (refund_id, out_refund_no, refund, refund_status, fee, total) = (
        optional("微信退款单号"),
        optional("商户退款单号"),
        optional("退款金额"),
        optional("退款状态"),
        optional("手续费"),
        optional("订单金额"),
    );
    let mut rows = Vec::new();
    let mut summary = None;
    while let Some((number, line)) = lines.next() {
        if line.starts_with("总交易单数") {
            let (_, figures) = lines.next().ok_or(BillError::NoSummary)?;
            summary = Some(parse_summary(line, figures)?);
            break;
        }
        let v = values(line);
        if v.len() != columns.header.len() {
            return Err(BillError::Width {
                line: number + 1,
                found: v.len(),
                expected: columns.header.len(),
            });
        }
        let get = |i: usize| v.get(i).copied().unwrap_or_default();
        let text = |i: Option<usize>| i.map(get).filter(|s| !s.is_empty()).map(str::to_owned);
        let amount = |i: Option<usize>| match i.map(get).filter(|s| !s.is_empty()) {
            Some(s) => yuan_to_fen(s),
            None => Ok(Fen::new(0)),
        };
        let settled_fen = yuan_to_fen(get(settled))?;
        rows.push(BillRow {
            trade_time: get(time).to_owned(),
            appid: get(appid).to_owned(),
            mch_id: get(mch_id).to_owned(),
            transaction_id: get(transaction_id).to_owned(),
            out_trade_no: get(out_trade_no).to_owned(),
            openid: get(openid).to_owned(),
            trade_state: get(state).to_owned(),
            settled_fen,
            total_fen: if total.is_some() {
                amount(total)?
            } else {
                settled_fen
            },
            refund_id: text(refund_id).filter(|r| r != "0"),
            out_refund_no: text(out_refund_no).filter(|r| r != "0"),
            refund_fen: amount(refund)?,
            refund_status: text(refund_status),
            fee_fen: amount(fee)?,
        });
    }
    let summary = summary.ok_or(BillError::NoSummary)?;
    if summary.trades != rows.len() {
        return Err(BillError::Count {
            summary: summary.trades,
            listed: rows.len(),
        });
    }
    Ok(Bill { rows, summary })
}

fn parse_summary(header: &str, figures: &str) -> Result<BillSummary, BillError> {
    let columns = Columns {
        header: values(header),
    };
    let v = values(figures);
    let get = |name| -> Result<&str, BillError> {
        Ok(v.get(columns.index(name)?).copied().unwrap_or_default())
    };
    let trades = get("总交易单数")?;
    Ok(BillSummary {
        trades: trades
            .parse()
            .map_err(|_| BillError::Amount(trades.to_owned()))?,
        settled_fen: yuan_to_fen(get("应结订单总金额")?)?,
        refund_fen: yuan_to_fen(get("退款总金额")?)?,
        fee_fen: yuan_to_fen(get("手续费总金额")?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_become_fen_exactly() {
        for (yuan, fen) in [
            ("0.01", 1),
            ("1.10", 110),
            ("1.1", 110),
            ("100.00", 10_000),
            ("100", 10_000),
            ("1234567.89", 123_456_789),
            ("0.00", 0),
            ("21474836.47", 2_147_483_647),
            ("-0.06", -6),
        ] {
            assert_eq!(yuan_to_fen(yuan), Ok(Fen::new(fen)), "{yuan}");
        }
        for bad in [
            "",
            ".5",
            "1.234",
            "--1.00",
            "-",
            "1e3",
            "1,00",
            "0x10",
            " 1.00",
            "1.",
            "99999999999999999999",
        ] {
            assert!(yuan_to_fen(bad).is_err(), "{bad:?}");
        }
    }

    const BILL: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注
`2026-11-30 12:00:01,`wxd930ea5d5a258f4f,`10000100,`0,`,`4200000001202611300000000001,`20261130000000000000000001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`28.00,`0.00,`0,`0,`0.00,`0.00,`,`,`wxpay shop,`,`0.17,`0.60%,`28.00,`0.00,`
`2026-11-30 12:10:00,`wxd930ea5d5a258f4f,`10000100,`0,`,`4200000001202611300000000002,`20261130000000000000000002,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`REFUND,`OTHERS,`CNY,`56.00,`0.00,`50000000012026113000000000001,`R20261130000000000000000002,`10.00,`0.00,`ORIGINAL,`SUCCESS,`wxpay shop,`,`-0.06,`0.60%,`56.00,`10.00,`
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
`2,`84.00,`10.00,`0.00,`0.11,`84.00,`10.00
";

    #[test]
    fn a_bill_parses_into_rows_and_its_summary() {
        let bill = parse_bill(BILL).unwrap();
        assert_eq!(bill.rows.len(), 2);
        let paid = &bill.rows[0];
        assert_eq!(paid.out_trade_no, "20261130000000000000000001");
        assert_eq!(paid.trade_state, "SUCCESS");
        assert_eq!(paid.settled_fen, Fen::new(2800));
        assert_eq!(
            (paid.refund_id.as_deref(), paid.refund_fen),
            (None, Fen::new(0))
        );
        let refunded = &bill.rows[1];
        assert_eq!(
            refunded.out_refund_no.as_deref(),
            Some("R20261130000000000000000002")
        );
        assert_eq!(refunded.refund_fen, Fen::new(1000));
        assert_eq!(refunded.refund_status.as_deref(), Some("SUCCESS"));
        assert_eq!(
            bill.summary,
            BillSummary {
                trades: 2,
                settled_fen: Fen::new(8400),
                refund_fen: Fen::new(1000),
                fee_fen: Fen::new(11),
            }
        );
    }

    #[test]
    fn broken_bills_say_what_is_wrong() {
        assert_eq!(parse_bill(""), Err(BillError::NoHeader));
        let no_summary = BILL.split("总交易单数").next().unwrap();
        assert_eq!(parse_bill(no_summary), Err(BillError::NoSummary));
        let miscounted = BILL.replace("`2,`84.00", "`3,`84.00");
        assert_eq!(
            parse_bill(&miscounted),
            Err(BillError::Count {
                summary: 3,
                listed: 2
            })
        );
        let bad_amount = BILL.replace("`28.00,`0.00,`0,", "`28.001,`0.00,`0,");
        assert!(matches!(parse_bill(&bad_amount), Err(BillError::Amount(_))));
        let short = BILL.replace("`0.60%,`28.00,`0.00,`\n", "`0.60%,`28.00\n");
        assert!(matches!(
            parse_bill(&short),
            Err(BillError::Width { line: 2, .. })
        ));
        let renamed = BILL.replace("商户订单号", "订单号");
        assert_eq!(
            parse_bill(&renamed),
            Err(BillError::MissingColumn("商户订单号"))
        );
    }
}
