//! Reconciliation against WeChat's daily bills: every kind of difference reported, a
//! payment the bill shows and the database lacks settled only through a signed query,
//! a forged bill changing nothing, a day reconciled twice giving the same report.

use std::time::Duration;

use serde_json::{Value, json};
use wxpay_server::base::clock::{beijing_compact, beijing_date, now_ms};
use wxpay_server::store::StoredBill;
use wxpay_sim::config::KeyMode;

use crate::helpers::{ADMIN_TOKEN, APPID, CertFormat, Db, MCH_ID, TestApp};
use crate::on_both_databases;

on_both_databases!(
    every_kind_of_difference_is_found_and_a_missing_payment_settled,
    a_v3_day_reconciles_through_tradebill,
    a_forged_bill_changes_nothing,
    days_must_be_real_and_over,
    the_daily_run_reconciles_yesterday,
);

const WITHIN: Duration = Duration::from_secs(10);
const DAY_MS: i64 = 86_400_000;

fn today() -> String {
    beijing_date(now_ms())
}

async fn reconcile(app: &TestApp, date: &str) -> (u16, Value) {
    app.send(
        app.http
            .post(app.url(&format!("/v1/admin/reconciliation/{date}")))
            .bearer_auth(ADMIN_TOKEN),
    )
    .await
}

async fn exec(app: &TestApp, sql: &str, binds: &[&str]) {
    let mut query = sqlx::query(sql);
    for value in binds {
        query = query.bind(*value);
    }
    let done = query.execute(app.state.store.pool()).await.unwrap();
    assert_eq!(done.rows_affected(), 1, "{sql}");
}

/// (kind, subject, resolution) of each finding, in the report's order.
fn findings(report: &Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_owned(),
                f["subject"].as_str().unwrap().to_owned(),
                f["resolution"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn finding(kind: &str, subject: &str, resolution: &str) -> (String, String, String) {
    (kind.to_owned(), subject.to_owned(), resolution.to_owned())
}

/// An order WeChat was paid for whose notify never arrives (the reconciler is slow in
/// these tests): awaiting payment here, paid at WeChat.
async fn paid_at_wechat_only(app: &TestApp) -> String {
    app.fault(json!({"endpoint": "notify", "kind": "drop", "probability": 1.0}))
        .await;
    let (_, openid, order) = app.user_with_order().await;
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    assert_eq!(app.pay(&order, &openid).await, "requestPayment:ok");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.status_of(&order_no).await, "awaiting_payment");
    order_no
}

async fn every_kind_of_difference_is_found_and_a_missing_payment_settled(db: Db) {
    let app = TestApp::spawn_refunding(db, CertFormat::Pem, |s| {
        s.reconciliation.unfinished_days = true;
    })
    .await;
    let date = today();
    let (_, matched, _) = app.paid_order().await;
    let (_, amount_changed, amount) = app.paid_order().await;
    let (_, other_transaction, _) = app.paid_order().await;
    let (status, refund) = app.refund(&matched, 100, None).await;
    assert_eq!(status, 201, "{refund}");
    let refund_no = refund["out_refund_no"].as_str().unwrap().to_owned();
    assert_eq!(
        app.wait_refund(&refund_no, "succeeded", WITHIN).await,
        "succeeded"
    );
    let lost_notify = paid_at_wechat_only(&app).await;
    // Records WeChat does not have, or has otherwise (as a bug or a hand edit would).
    let (_, _, unpaid) = app.user_with_order().await;
    let paid_here_only = unpaid["order_no"].as_str().unwrap().to_owned();
    exec(
        &app,
        "UPDATE orders SET status = 'paid', transaction_id = '4200009999202611309999999999', \
         paid_at = CAST($1 AS BIGINT), time_end = $2, next_check_at = NULL WHERE order_no = $3",
        &[
            &now_ms().to_string(),
            &beijing_compact(now_ms()),
            &paid_here_only,
        ],
    )
    .await;
    exec(
        &app,
        "UPDATE orders SET amount_fen = amount_fen + 100 WHERE order_no = $1",
        &[&amount_changed],
    )
    .await;
    exec(
        &app,
        "UPDATE orders SET transaction_id = '4200000000000000000000000042' WHERE order_no = $1",
        &[&other_transaction],
    )
    .await;
    exec(
        &app,
        "UPDATE refunds SET amount_fen = amount_fen + 1 WHERE out_refund_no = $1",
        &[&refund_no],
    )
    .await;
    exec(
        &app,
        "INSERT INTO refunds (out_refund_no, order_no, amount_fen, status, request, created_at, \
           updated_at, finished_at) \
         VALUES ('R-ghost', $1, 50, 'succeeded', '{}', CAST($2 AS BIGINT), CAST($2 AS BIGINT), \
           CAST($2 AS BIGINT))",
        &[&amount_changed, &now_ms().to_string()],
    )
    .await;

    let (status, report) = reconcile(&app, &date).await;
    assert_eq!(status, 200, "{report}");
    let mut expected = vec![
        finding("amount_differs", &amount_changed, "reported"),
        finding("paid_missing_at_wechat", &paid_here_only, "reported"),
        finding("paid_missing_here", &lost_notify, "settled"),
        finding("refund_differs", &refund_no, "reported"),
        finding("refund_missing_at_wechat", "R-ghost", "reported"),
        finding("transaction_differs", &other_transaction, "reported"),
    ];
    expected.sort();
    assert_eq!(findings(&report), expected, "{report}");
    assert_eq!(report["balanced"], false);
    assert_eq!(report["bill"]["api"], "v2");
    assert_eq!(report["bill"]["payments"], 4, "{report}");
    assert_eq!(report["bill"]["refunds"], 1, "{report}");
    // Five bill lines, four with a difference.
    assert_eq!(report["matched"], 1, "{report}");
    let amount_finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "amount_differs")
        .unwrap();
    assert_eq!(amount_finding["wechat_fen"], amount);
    assert_eq!(amount_finding["our_fen"], amount + 100);

    // The missing payment was recorded from a signed orderquery, once; nothing else moved.
    assert_eq!(app.status_of(&lost_notify).await, "paid");
    let source: (String,) = sqlx::query_as("SELECT source FROM payment_events WHERE order_no = $1")
        .bind(&lost_notify)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(source.0, "orderquery");
    let order = app
        .state
        .store
        .order(&amount_changed)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.amount_fen, amount + 100, "reported, never changed");

    // Reconciled again (and read): the same report; the bill was downloaded once.
    let (status, again) = reconcile(&app, &date).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, report);
    let (status, read) = app
        .admin_get(&format!("/v1/admin/reconciliation/{date}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(read, report);
    let bills: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bills")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(bills.0, 1);
    let metrics = app.metrics().await;
    for kind in [
        "paid_missing_here",
        "amount_differs",
        "refund_missing_at_wechat",
    ] {
        assert!(
            metrics.contains(&format!(
                "wxpay_reconciliation_findings_total{{outcome=\"{kind}\"}} 1"
            )),
            "{kind} counted once: {metrics}"
        );
    }
    app.cleanup().await;
}

async fn a_v3_day_reconciles_through_tradebill(db: Db) {
    let app = TestApp::spawn_v3_with(db, KeyMode::PublicKey, |s| {
        s.reconciliation.unfinished_days = true;
    })
    .await;
    let (_, paid, _) = app.paid_order().await;
    let lost_notify = paid_at_wechat_only(&app).await;
    let (status, report) = reconcile(&app, &today()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["bill"]["api"], "v3");
    assert_eq!(report["bill"]["payments"], 2);
    assert_eq!(
        findings(&report),
        vec![finding("paid_missing_here", &lost_notify, "settled")]
    );
    assert_eq!(report["matched"], 1);
    assert_eq!(app.status_of(&lost_notify).await, "paid");
    assert_eq!(app.status_of(&paid).await, "paid");
    app.cleanup().await;
}

const HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const SUMMARY: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";

/// One bill line as WeChat writes it (back-ticked values).
fn line(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A bill nobody downloaded from WeChat: it claims an unpaid order paid, an order and a
/// refund this database never had. Only a signed query can pay an order, so nothing is
/// paid; everything is reported.
async fn a_forged_bill_changes_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    let yesterday = beijing_date(now_ms() - DAY_MS);
    let (_, _, unpaid) = app.user_with_order().await;
    let claimed = unpaid["order_no"].as_str().unwrap().to_owned();
    let paid = |no: &str, transaction: &str| {
        line(&[
            "2026-11-29 10:00:00",
            APPID,
            MCH_ID,
            "0",
            "",
            transaction,
            no,
            "oUser",
            "JSAPI",
            "SUCCESS",
            "OTHERS",
            "CNY",
            "0.01",
            "0.00",
            "0",
            "0",
            "0.00",
            "0.00",
            "",
            "",
            "x",
            "",
            "0.00",
            "0.60%",
            "0.01",
            "0.00",
            "",
        ])
    };
    let refunded = line(&[
        "2026-11-29 11:00:00",
        APPID,
        MCH_ID,
        "0",
        "",
        "4200000000000000000000000002",
        "NOPE-1",
        "",
        "JSAPI",
        "REFUND",
        "OTHERS",
        "CNY",
        "0.00",
        "0.00",
        "50000000000000000000000001",
        "RNOPE",
        "0.01",
        "0.00",
        "ORIGINAL",
        "SUCCESS",
        "",
        "",
        "0.00",
        "0.60%",
        "0.01",
        "0.01",
        "",
    ]);
    let body = format!(
        "{HEADER}\r\n{}\r\n{}\r\n{refunded}\r\n{SUMMARY}\r\n{}\r\n",
        paid(&claimed, "4200000000000000000000000001"),
        paid("NOPE-1", "4200000000000000000000000002"),
        line(&["3", "0.02", "0.01", "0.00", "0.00", "0.02", "0.01"])
    );
    let forged = StoredBill {
        api: "v2".into(),
        body,
        downloaded_at: now_ms(),
    };
    let stored = app
        .state
        .store
        .save_bill(&yesterday, &forged)
        .await
        .unwrap();
    assert_eq!(stored, forged);
    let (status, report) = reconcile(&app, &yesterday).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        findings(&report),
        vec![
            finding("paid_missing_here", &claimed, "not_paid_at_wechat"),
            finding("refund_unknown_here", "RNOPE", "reported"),
            finding("unknown_order", "NOPE-1", "reported"),
        ]
    );
    assert_eq!(app.status_of(&claimed).await, "awaiting_payment");
    assert_eq!(app.payment_events(&claimed).await, 0);
    // Each new finding is an event, once: the day reconciled again adds none.
    let (status, _) = reconcile(&app, &yesterday).await;
    assert_eq!(status, 200);
    let announced = app.events_of_type("reconciliation.finding").await;
    let described = crate::openapi::events_match_the_document(&app).await;
    assert!(
        described.contains("reconciliation.finding"),
        "{described:?}"
    );
    let mut kinds: Vec<(String, String)> = announced
        .iter()
        .map(|(_, data)| {
            assert_eq!(data["bill_date"], yesterday.as_str());
            (
                data["kind"].as_str().unwrap().to_owned(),
                data["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("paid_missing_here".to_owned(), claimed.clone()),
            ("refund_unknown_here".to_owned(), "RNOPE".to_owned()),
            ("unknown_order".to_owned(), "NOPE-1".to_owned()),
        ]
    );
    app.cleanup().await;
}

async fn days_must_be_real_and_over(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, body) = reconcile(&app, &today()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("DAY_NOT_OVER")),
        "{body}"
    );
    for bad in ["2026-02-30", "20261130", "yesterday"] {
        let (status, body) = reconcile(&app, bad).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_DATE")),
            "{body}"
        );
    }
    let tomorrow = beijing_date(now_ms() + DAY_MS);
    let (status, body) = reconcile(&app, &tomorrow).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("DATE_IN_FUTURE")),
        "{body}"
    );
    let (status, body) = app.admin_get("/v1/admin/reconciliation/2026-01-01").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NOT_RECONCILED")),
        "{body}"
    );
    let (status, _) = app
        .send(
            app.http
                .post(app.url("/v1/admin/reconciliation/2026-01-01")),
        )
        .await;
    assert_eq!(status, 401);
    // A day without trades: WeChat has no bill ("No Bill Exist"), and nothing here either.
    let (status, report) = reconcile(&app, "2026-01-01").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["balanced"], true);
    assert_eq!(report["bill"]["exists"], false);
    assert_eq!(report["matched"], 0);
    app.cleanup().await;
}

/// With `reconciliation.daily` on and its hour passed, an instance reconciles yesterday
/// by itself (here a day without trades: WeChat has no bill, the database no payments).
async fn the_daily_run_reconciles_yesterday(db: Db) {
    let app = TestApp::spawn_with(db, |s| {
        s.reconciliation.daily = true;
        s.reconciliation.hour = 0;
    })
    .await;
    let path = format!(
        "/v1/admin/reconciliation/{}",
        beijing_date(now_ms() - DAY_MS)
    );
    let deadline = tokio::time::Instant::now() + WITHIN;
    let report = loop {
        let (status, report) = app.admin_get(&path).await;
        if status == 200 || tokio::time::Instant::now() >= deadline {
            break report;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(report["balanced"], true, "{report}");
    assert_eq!(report["bill"]["exists"], false, "{report}");
    app.cleanup().await;
}
