//! Duplicate storm: 1,000 orders, each notified 5 times, concurrently and out of order,
//! across 3 instances sharing one PostgreSQL (and one instance on SQLite); the same with
//! API v3 notifies (RSA-signed, AES-GCM), on 2 instances sharing PostgreSQL and on
//! SQLite. Every order ends paid exactly once, one payment event per transaction_id,
//! every genuine notify acknowledged, none lost, and one `order.paid` event per order.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    unreachable_pub,
    dead_code,
    clippy::print_stdout
)]

#[path = "api/helpers.rs"]
mod helpers;
#[path = "api/receiver.rs"]
mod receiver;

use std::time::Instant;

use futures_util::StreamExt;
use helpers::{APPID, Db, MCH_ID, TestApp};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use sqlx::Row;
use wxpay_core::v3::testing::SignedNotify;
use wxpay_server::store::{InsertOutcome, KeyScope, NewOrder, OrderItem};
use wxpay_sim::config::KeyMode;

const ORDERS: usize = 1000;
const COPIES: usize = 5;
const IN_FLIGHT: usize = 48;

/// A notify as posted: v2 XML, or a v3 body with its signature headers.
#[derive(Clone)]
enum Notify {
    V2(String),
    V3(SignedNotify),
}

async fn post(app: &TestApp, notify: Notify) -> bool {
    match notify {
        Notify::V2(body) => {
            let (status, reply) = app.post_notify(body, "text/xml").await;
            status == 200 && reply == wxpay_core::v2::reply::SUCCESS_REPLY
        }
        Notify::V3(signed) => app.post_notify_v3(&signed).await.0 == 204,
    }
}

/// `instances` apps on one database: v2 ones, or v3 ones sharing one simulated merchant;
/// every one delivers webhooks to `hooks`.
async fn spawn(db: Db, instances: usize, v3: bool, hooks: &str) -> Vec<TestApp> {
    let webhooks = helpers::webhooks_to(hooks);
    if !v3 {
        return TestApp::spawn_instances_with(db, instances, webhooks).await;
    }
    let first = TestApp::spawn_v3_with(db, KeyMode::PublicKey, webhooks.clone()).await;
    let keys = first.v3.clone().unwrap();
    let mut apps = vec![first];
    for _ in 1..instances {
        let mut beside = apps[0]
            .spawn_beside(|s| {
                wxpay_server::ops::sandbox::apply_v3_keys(s, &keys.keys);
                webhooks(s);
            })
            .await;
        beside.v3 = Some(keys.clone());
        apps.push(beside);
    }
    apps
}

async fn storm(db: Db, instances: usize, v3: bool) {
    let hooks = receiver::Receiver::start(200).await;
    let apps = spawn(db, instances, v3, &hooks.url).await;
    let store = &apps[0].state.store;
    let now = wxpay_server::base::clock::now_ms();
    let user = store
        .upsert_user("o-storm", None, "c2Vzc2lvbmtleXN0b3JtIQ==", None, now)
        .await
        .unwrap();
    let item = [OrderItem {
        sku: "latte".into(),
        name: "Latte".into(),
        unit_price_fen: 2800,
        quantity: 1,
    }];
    let mut notifies = Vec::with_capacity(ORDERS * COPIES);
    for i in 0..ORDERS {
        let order_no = format!("20261127{i:018}");
        let amount = 100 + i as i64;
        let inserted = store
            .insert_order(&NewOrder {
                order_no: &order_no,
                user_id: user,
                openid: "o-storm",
                amount_fen: amount,
                description: "storm",
                sign_type: if v3 { "RSA" } else { "HMAC-SHA256" },
                appid: APPID,
                mch_id: MCH_ID,
                now,
                expires_at: now + 3_600_000,
                prepay_request: "{}",
                next_check_at: now + 3_600_000,
                items: &item,
                idempotency: None,
                key_scope: KeyScope::User,
                reference: None,
                attach: None,
            })
            .await
            .unwrap();
        assert!(matches!(inserted, InsertOutcome::Inserted));
        // Awaiting payment, as after unifiedorder (a payment of a `created` order is late).
        store
            .set_prepay(&order_no, "wx-storm", now + 3_600_000, now)
            .await
            .unwrap()
            .unwrap();
        let notify = if v3 {
            Notify::V3(apps[0].v3_notify_for(&order_no, amount))
        } else {
            Notify::V2(
                apps[0]
                    .notify_for(&order_no, amount)
                    .build_xml(&apps[0].key),
            )
        };
        for _ in 0..COPIES {
            notifies.push(notify.clone());
        }
    }
    notifies.shuffle(&mut rand::rngs::StdRng::seed_from_u64(7));

    let started = Instant::now();
    let replies: Vec<bool> = futures_util::stream::iter(notifies.iter().enumerate())
        .map(|(i, notify)| post(&apps[i % apps.len()], notify.clone()))
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let acknowledged = replies.iter().filter(|acknowledged| **acknowledged).count();
    assert_eq!(
        acknowledged,
        ORDERS * COPIES,
        "every genuine notify is acknowledged"
    );
    let paid = store.count_orders_by_status().await.unwrap();
    assert_eq!(
        paid.by_status,
        vec![(wxpay_server::store::OrderStatus::Paid, ORDERS as i64)]
    );
    let row = sqlx::query("SELECT COUNT(*), COUNT(DISTINCT transaction_id), COUNT(DISTINCT order_no) FROM payment_events")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let (events, transactions, orders): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (events, transactions, orders),
        (ORDERS as i64, ORDERS as i64, ORDERS as i64)
    );
    // The outbox: one order.paid event per paid order, none for the duplicates.
    let row = sqlx::query(
        "SELECT COUNT(*), COUNT(DISTINCT order_no) FROM events WHERE type = 'order.paid'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    let (announced, announced_orders): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(
        (announced, announced_orders),
        (ORDERS as i64, ORDERS as i64),
        "every change has its event, and only one"
    );
    // Webhooks on: every event delivered, by one instance, once (the endpoint answers
    // 2xx), and verified by the official library.
    let delivered = hooks
        .wait_until(std::time::Duration::from_secs(60), |d| d.len() >= ORDERS)
        .await;
    let webhook_ids: std::collections::BTreeSet<String> =
        delivered.iter().map(receiver::Delivery::id).collect();
    assert_eq!(
        (delivered.len(), webhook_ids.len()),
        (ORDERS, ORDERS),
        "each order.paid delivered once"
    );
    assert!(delivered.iter().all(|d| d.verifies_with(receiver::SECRET)));
    let delivered_after = started.elapsed();
    let mut paid_total = 0;
    let mut duplicates = 0;
    for app in &apps {
        for line in app.metrics().await.lines() {
            let count = |l: &str| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap();
            if line.starts_with("wxpay_notifies_total{outcome=\"paid\"}") {
                paid_total += count(line);
            } else if line.starts_with("wxpay_notifies_total{outcome=\"duplicate\"}") {
                duplicates += count(line);
            }
        }
    }
    assert_eq!(
        paid_total, ORDERS as u64,
        "exactly one transition per order, across instances"
    );
    assert_eq!(duplicates, (ORDERS * (COPIES - 1)) as u64);
    println!(
        "storm ({}) on {instances} instance(s): {} notifies for {ORDERS} orders in {:.2} s ({:.0}/s): \
         acknowledged {acknowledged}, transitions {paid_total}, duplicates {duplicates}, \
         payment events {events}, lost 0; webhooks: {} order.paid delivered once each, \
         all in by {:.2} s",
        if v3 { "v3" } else { "v2" },
        ORDERS * COPIES,
        elapsed.as_secs_f64(),
        (ORDERS * COPIES) as f64 / elapsed.as_secs_f64(),
        webhook_ids.len(),
        delivered_after.as_secs_f64()
    );
    for app in apps {
        app.cleanup().await;
    }
    hooks.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_on_three_instances_sharing_postgres() {
    if let Some(db) = Db::postgres() {
        storm(db, 3, false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_on_one_sqlite_instance() {
    storm(Db::Sqlite, 1, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_storm_on_two_instances_sharing_postgres() {
    if let Some(db) = Db::postgres() {
        storm(db, 2, true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_storm_on_one_sqlite_instance() {
    storm(Db::Sqlite, 1, true).await;
}
