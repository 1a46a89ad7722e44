//! The v2 trade bill (`/pay/downloadbill`, protocol.md §2.10): not XML but a text table,
//! every value prefixed with a back-tick, then a summary section. Amounts are yuan with two
//! decimals; they become fen exactly (decimal text, never a float). Columns are found by
//! their (Chinese) header names, so their order does not matter.

use std::borrow::Cow;

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
    #[error(
        "line {line}: a value holds a line break (WeChat does not escape them), so the line's values cannot be told apart"
    )]
    LineBreak { line: usize },
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
    /// 商品名称: the order's `body` (empty where the bill has no such column).
    pub body: String,
    /// 商户数据包: the order's `attach`.
    pub attach: String,
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

/// A header line's names: plain text joined by `,` (WeChat's names hold no comma).
fn names(line: &str) -> Vec<&str> {
    line.split(',').map(str::trim).collect()
}

/// The columns whose values are the merchant's free text (the order's `body` and
/// `attach`): the only ones that may hold `,` or `,\``. Every other column is an id, a
/// time, a code or an amount.
const FREE_TEXT: [&str; 2] = ["商品名称", "商户数据包"];

/// The values of one data line. Every value starts with a back-tick and WeChat escapes
/// nothing, so the separator is `,` followed by a back-tick (`Cafe, Shanghai` is one
/// value). A free-text value may even hold `,\`` itself: then the line has more pieces
/// than columns, and since the columns around the free text never hold a separator,
/// the extra pieces are the free text's (with two free-text columns side by side the
/// split between them is ambiguous: the extra pieces go to the first, the product name,
/// because `attach` is the merchant's own data).
fn values<'l>(
    line: &'l str,
    columns: &Columns<'_>,
    number: usize,
) -> Result<Vec<Cow<'l, str>>, BillError> {
    let Some(rest) = line.strip_prefix('`') else {
        // A line that does not start with a value is the rest of a value cut by a line
        // break (WeChat does not escape them either): the bill cannot be read right.
        return Err(BillError::LineBreak { line: number });
    };
    let pieces: Vec<&str> = rest.split(",`").collect();
    let expected = columns.header.len();
    let extra = pieces.len().saturating_sub(expected);
    let Some(first) = columns.free_text.filter(|_| extra > 0) else {
        return exact(pieces, expected, number);
    };
    let mut out: Vec<Cow<'l, str>> = pieces
        .iter()
        .take(first)
        .map(|p| Cow::Borrowed(*p))
        .collect();
    // The first free-text column takes its own piece and the extra ones.
    let free_end = first + 1 + extra;
    out.push(Cow::Owned(
        pieces.get(first..free_end).unwrap_or_default().join(",`"),
    ));
    out.extend(pieces.iter().skip(free_end).map(|p| Cow::Borrowed(*p)));
    Ok(out)
}

fn exact<'l>(
    pieces: Vec<&'l str>,
    expected: usize,
    number: usize,
) -> Result<Vec<Cow<'l, str>>, BillError> {
    if pieces.len() != expected {
        return Err(BillError::Width {
            line: number,
            found: pieces.len(),
            expected,
        });
    }
    Ok(pieces.into_iter().map(Cow::Borrowed).collect())
}

struct Columns<'h> {
    header: Vec<&'h str>,
    /// Where the free-text columns start, when they stand side by side (as in every
    /// WeChat bill): only then can a line's extra pieces be given to them.
    free_text: Option<usize>,
}

impl<'h> Columns<'h> {
    /// Found once per bill, not once per line.
    fn new(header: Vec<&'h str>) -> Self {
        let free: Vec<usize> = FREE_TEXT
            .iter()
            .filter_map(|name| header.iter().position(|h| h == name))
            .collect();
        let free_text = match (free.iter().min(), free.iter().max()) {
            (Some(&first), Some(&last)) if last - first + 1 == free.len() => Some(first),
            _ => None,
        };
        Columns { header, free_text }
    }

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
    let columns = Columns::new(names(header_line.trim_start_matches('\u{feff}')));
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
    let (body, attach) = (optional("商品名称"), optional("商户数据包"));
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
    let mut lines = lines.peekable();
    while let Some((number, line)) = lines.next() {
        if line.starts_with("总交易单数") {
            let (_, figures) = lines.next().ok_or(BillError::NoSummary)?;
            summary = Some(parse_summary(line, figures)?);
            break;
        }
        // Every line starts with a value, so a next line that does not start with a
        // back-tick is the rest of this one, cut by a line break in a value.
        if lines
            .peek()
            .is_some_and(|(_, next)| !next.starts_with('`') && !next.starts_with("总交易单数"))
        {
            return Err(BillError::LineBreak { line: number + 1 });
        }
        let v = values(line, &columns, number + 1)?;
        // Ids, times, codes and amounts without surrounding spaces; free text as written.
        let raw = |i: usize| v.get(i).map(|s| s.as_ref()).unwrap_or_default();
        let get = |i: usize| raw(i).trim();
        let free_text = |i: Option<usize>| i.map(raw).unwrap_or_default().to_owned();
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
            body: free_text(body),
            attach: free_text(attach),
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
    let columns = Columns::new(names(header));
    let v = values(figures, &columns, 0)?;
    let get = |name| -> Result<&str, BillError> {
        Ok(v.get(columns.index(name)?)
            .map(|s| s.trim())
            .unwrap_or_default())
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

    #[test]
    fn free_text_may_hold_commas_and_the_separator_itself() {
        // Failed before the fix (issue #23, finding 2): `Width { line: 2, found: 28 }`.
        let comma = BILL.replacen("`wxpay shop,", "`Cafe, Shanghai,", 1);
        let bill = parse_bill(&comma).unwrap();
        assert_eq!(bill.rows[0].body, "Cafe, Shanghai");
        assert_eq!(bill.rows[0].settled_fen, Fen::new(2800));
        let separator = BILL.replacen("`wxpay shop,`,", "`a,`b,`,`c,`x=1,", 1);
        let bill = parse_bill(&separator).unwrap();
        assert_eq!(
            (bill.rows[0].body.as_str(), bill.rows[0].attach.as_str()),
            ("a,`b,`,`c", "x=1")
        );
        assert_eq!(bill.rows[0].fee_fen, Fen::new(17));
        assert_eq!(bill.rows[1].body, "wxpay shop");
    }

    #[test]
    fn a_line_break_in_a_value_is_named() {
        let broken = BILL.replacen("`wxpay shop,", "`wxpay\nshop,", 1);
        assert_eq!(parse_bill(&broken), Err(BillError::LineBreak { line: 2 }));
    }
}
