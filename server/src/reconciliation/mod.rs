//! Reconciliation: a day's bill from WeChat (v2 `downloadbill` or v3 `tradebill`)
//! compared with the orders and refunds here. A bill is not signed (v3 checks a SHA1
//! that is; v2 has nothing), so it never changes anything by itself: a payment the bill
//! shows and the database does not is recorded only through a signed, verified query
//! (the money-never-lost path, late for an order no longer open); every other difference
//! is reported (log, metric, `GET /v1/admin/reconciliation/{date}`), never applied.
//!
//! The bill is stored as first downloaded and findings are kept once found, so a day
//! reconciled again gives the same report. Days run daily (yesterday, after
//! `reconciliation.hour`, by whichever instance gets there first), from `wxpay reconcile
//! --date` and from `POST /v1/admin/reconciliation/{date}`.
//!
//! `reconciler` is the background job beside the server: open orders and refunds
//! checked at WeChat, housekeeping, and the daily reconciliation.
//!
//! Domain: uses `payments`, `refunds` and the layers below them.

mod compare;
pub mod reconciler;

use actix_web::http::StatusCode;
use serde::Serialize;
use wxpay_core::Fen;
use wxpay_core::v2::bill::{Bill, BillSummary, parse_bill};

use crate::base::clock::{
    beijing_date, beijing_day_of, beijing_day_start, beijing_hour, now_ms, rfc3339,
};
use crate::base::error::ApiError;
use crate::payments::{self, PaidAtWechat};
use crate::state::AppState;
use crate::state::metrics::OutcomeLabel;
use crate::store::{Finding, RETRY_RESOLUTION, StoredBill};
use compare::{Difference, Kind, Ours};

const DAY_MS: i64 = 86_400_000;
/// Our clock and WeChat's may differ: records from a little before the day are looked at.
const CLOCK_SLACK_MS: i64 = 10 * 60 * 1000;
/// A payment or refund of the day is looked for among those recorded here up to this long
/// after the day (notifies are retried for hours, the reconciler backs off).
const LEARNED_WITHIN_MS: i64 = 3 * DAY_MS;

/// A day's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct Report {
    /// `YYYY-MM-DD`, Beijing.
    pub(crate) date: String,
    /// No differences found.
    pub(crate) balanced: bool,
    pub(crate) bill: BillFigures,
    /// Bill lines without a difference.
    pub(crate) matched: usize,
    pub(crate) findings: Vec<FindingView>,
}

/// The bill's own figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct BillFigures {
    /// `v2` or `v3`: how it was downloaded.
    pub(crate) api: String,
    pub(crate) downloaded_at: String,
    /// False when WeChat had no bill that day ("No Bill Exist": no trades).
    pub(crate) exists: bool,
    pub(crate) payments: usize,
    pub(crate) refunds: usize,
    pub(crate) settled_fen: i64,
    pub(crate) refund_fen: i64,
    pub(crate) fee_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct FindingView {
    pub(crate) kind: String,
    /// The order number (out_trade_no) or the refund's out_refund_no.
    pub(crate) subject: String,
    pub(crate) wechat_fen: Option<i64>,
    pub(crate) our_fen: Option<i64>,
    pub(crate) detail: String,
    /// `reported`; for `paid_missing_here`: `settled`, `not_paid_at_wechat`,
    /// `payment_mismatch`, or `query_failed` (asked again on the next run).
    pub(crate) resolution: String,
    pub(crate) found_at: String,
}

fn bad_date(date: &str) -> ApiError {
    ApiError::bad_request(
        "INVALID_DATE",
        format!("{date:?} is not a date as YYYY-MM-DD (Beijing time)"),
    )
}

/// When the day starts, if it may be reconciled now.
fn check_date(state: &AppState, date: &str) -> Result<i64, ApiError> {
    let start = beijing_day_start(date).ok_or_else(|| bad_date(date))?;
    let now = now_ms();
    if start > now {
        return Err(ApiError::bad_request(
            "DATE_IN_FUTURE",
            format!("{date} has not begun in Beijing"),
        ));
    }
    if start + DAY_MS > now && !state.settings.reconciliation.unfinished_days {
        return Err(ApiError::conflict(
            "DAY_NOT_OVER",
            format!(
                "{date} is not over in Beijing; WeChat's bill of a day exists from about \
                 10:00 the next day"
            ),
        ));
    }
    Ok(start)
}

fn parse(text: &str) -> Result<Bill, ApiError> {
    if text.is_empty() {
        return Ok(Bill {
            rows: Vec::new(),
            summary: BillSummary {
                trades: 0,
                settled_fen: Fen::new(0),
                refund_fen: Fen::new(0),
                fee_fen: Fen::new(0),
            },
        });
    }
    parse_bill(text).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "BILL_MALFORMED",
            format!("WeChat's bill does not parse: {e}"),
        )
    })
}

/// The day's stored bill, else downloaded (checked to parse) and stored.
async fn bill_of(state: &AppState, date: &str) -> Result<StoredBill, ApiError> {
    if let Some(stored) = state.store.bill(date).await? {
        return Ok(stored);
    }
    let (api, text) = state.merchant().gateways.bill(date).await?;
    let body = text.unwrap_or_default();
    parse(&body)?;
    let downloaded = StoredBill {
        api: api.as_str().to_owned(),
        body,
        downloaded_at: now_ms(),
    };
    Ok(state.store.save_bill(date, &downloaded).await?)
}

/// The orders and refunds the comparison needs.
async fn ours(state: &AppState, bill: &Bill, date: &str, start: i64) -> Result<Ours, ApiError> {
    let (from, to) = (start - CLOCK_SLACK_MS, start + DAY_MS + LEARNED_WITHIN_MS);
    let mut ours = Ours::default();
    // The bill is `[wechat]`'s merchant's: only its orders and refunds are compared
    // (each merchant's own bill is the next step of many merchants).
    let mch_id = &state.merchant().credentials.mch_id;
    for order in state.store.orders_paid_between(mch_id, from, to).await? {
        let day = order
            .time_end
            .as_deref()
            .and_then(beijing_day_of)
            .or_else(|| order.paid_at.map(beijing_date));
        if day.as_deref() == Some(date) {
            ours.paid_on_day.push(order.order_no.clone());
        }
        ours.orders.insert(order.order_no.clone(), order);
    }
    for succeeded in state
        .store
        .refunds_succeeded_between(mch_id, from, to)
        .await?
    {
        let success_time = succeeded.fields.as_deref().and_then(|fields| {
            let value: serde_json::Value = serde_json::from_str(fields).ok()?;
            value.get("success_time")?.as_str().map(str::to_owned)
        });
        let refund = succeeded.refund;
        let day = success_time
            .as_deref()
            .and_then(beijing_day_of)
            .or_else(|| refund.finished_at.map(beijing_date));
        if day.as_deref() == Some(date) {
            ours.refunded_on_day.push(refund.out_refund_no.clone());
        }
        ours.refunds.insert(refund.out_refund_no.clone(), refund);
    }
    for row in &bill.rows {
        if compare::is_refund(row) {
            let no = row.out_refund_no.as_deref().unwrap_or_default();
            if !ours.refunds.contains_key(no)
                && let Some(refund) = state.store.refund(no).await?
            {
                ours.refunds.insert(no.to_owned(), refund);
            }
        } else if compare::is_payment(row)
            && !ours.orders.contains_key(&row.out_trade_no)
            && let Some(order) = state.store.order(&row.out_trade_no).await?
        {
            ours.orders.insert(row.out_trade_no.clone(), order);
        }
    }
    Ok(ours)
}

/// What was done about a difference: a payment missing here is asked about (signed)
/// and settled if WeChat confirms it; anything else is reported.
async fn resolve(state: &AppState, difference: &Difference, ours: &Ours) -> &'static str {
    let order = match difference.kind {
        Kind::PaidMissingHere => ours.orders.get(&difference.subject),
        _ => None,
    };
    let Some(order) = order else {
        return "reported";
    };
    match payments::settle_if_paid_at_wechat(state, order).await {
        Ok(PaidAtWechat::Settled) => "settled",
        Ok(PaidAtWechat::NotPaid(_)) => "not_paid_at_wechat",
        Err(e) if e.code == "PAYMENT_MISMATCH" => "payment_mismatch",
        Err(_) => RETRY_RESOLUTION,
    }
}

/// Reconciles one day (`YYYY-MM-DD`, Beijing) and returns its report.
pub(crate) async fn reconcile_day(state: &AppState, date: &str) -> Result<Report, ApiError> {
    let start = check_date(state, date)?;
    let stored = bill_of(state, date).await?;
    let bill = parse(&stored.body)?;
    let ours = ours(state, &bill, date, start).await?;
    let differences = compare::compare(&bill, &ours);
    let mut new = 0;
    for difference in &differences {
        let resolution = resolve(state, difference, &ours).await;
        let finding = Finding {
            kind: difference.kind.as_str().to_owned(),
            subject: difference.subject.clone(),
            wechat_fen: difference.wechat_fen,
            our_fen: difference.our_fen,
            detail: difference.detail.clone(),
            resolution: resolution.to_owned(),
            found_at: now_ms(),
            updated_at: now_ms(),
        };
        if state.store.record_finding(date, &finding).await? {
            new += 1;
            state
                .metrics
                .reconciliation_findings
                .get_or_create(&OutcomeLabel {
                    outcome: difference.kind.as_str(),
                })
                .inc();
            tracing::warn!(
                %date,
                kind = difference.kind.as_str(),
                subject = %difference.subject,
                detail = %difference.detail,
                resolution,
                "reconciliation: WeChat's bill and the database differ"
            );
        }
    }
    let report = report(state, date).await?.ok_or_else(|| {
        ApiError::from(crate::store::StoreError::Corrupt(format!(
            "the bill of {date} was not kept"
        )))
    })?;
    tracing::info!(
        %date,
        lines = bill.rows.len(),
        matched = report.matched,
        findings = report.findings.len(),
        new,
        "reconciled a day against WeChat's bill"
    );
    Ok(report)
}

/// A reconciled day's report (None: never reconciled).
pub(crate) async fn report(state: &AppState, date: &str) -> Result<Option<Report>, ApiError> {
    beijing_day_start(date).ok_or_else(|| bad_date(date))?;
    let Some(stored) = state.store.bill(date).await? else {
        return Ok(None);
    };
    let bill = parse(&stored.body)?;
    let findings = state.store.findings(date).await?;
    let payments = bill.rows.iter().filter(|r| compare::is_payment(r)).count();
    let refunds = bill.rows.iter().filter(|r| compare::is_refund(r)).count();
    let on_bill_lines = findings
        .iter()
        .filter(|f| {
            !Kind::ABOUT_RECORDS_HERE
                .iter()
                .any(|k| k.as_str() == f.kind)
        })
        .map(|f| f.subject.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len();
    Ok(Some(Report {
        date: date.to_owned(),
        balanced: findings.is_empty(),
        bill: BillFigures {
            api: stored.api,
            downloaded_at: rfc3339(stored.downloaded_at),
            exists: !stored.body.is_empty(),
            payments,
            refunds,
            settled_fen: bill.summary.settled_fen.get(),
            refund_fen: bill.summary.refund_fen.get(),
            fee_fen: bill.summary.fee_fen.get(),
        },
        matched: (payments + refunds).saturating_sub(on_bill_lines),
        findings: findings
            .into_iter()
            .map(|f| FindingView {
                kind: f.kind,
                subject: f.subject,
                wechat_fen: f.wechat_fen,
                our_fen: f.our_fen,
                detail: f.detail,
                resolution: f.resolution,
                found_at: rfc3339(f.found_at),
            })
            .collect(),
    }))
}

/// The daily run: yesterday, once its bill should exist and if no instance did it yet.
pub(crate) async fn daily(state: &AppState) -> Result<Option<Report>, ApiError> {
    let settings = &state.settings.reconciliation;
    let now = now_ms();
    if !settings.daily || beijing_hour(now) < settings.hour {
        return Ok(None);
    }
    let yesterday = beijing_date(now - DAY_MS);
    if state.store.bill(&yesterday).await?.is_some() {
        return Ok(None);
    }
    reconcile_day(state, &yesterday).await.map(Some)
}
