//! SQLite's write turn: writers queue in the process (no busy-handler sleeps), and no
//! path waits for a second connection while holding the turn. With one connection in
//! the pool, any such path would stall until the acquire timeout and fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use secrecy::SecretString;
use wxpay_server::config::DatabaseSettings;
use wxpay_server::store::{InsertOutcome, KeyScope, NewOrder, OrderItem, OrderStatus, Store};

const WRITERS: usize = 24;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_one_sqlite_connection_all_finish() {
    let dir = std::env::temp_dir().join(format!("wxpay-write-turn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("turn.sqlite").display());
    let store = Store::connect(&DatabaseSettings {
        url: SecretString::from(url),
        max_connections: 1,
        sqlite_synchronous: "FULL".into(),
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let now = wxpay_server::base::clock::now_ms();
    let user = store
        .upsert_user("o-turn", None, "c2Vzc2lvbmtleXR1cm4hIQ==", None, now)
        .await
        .unwrap();
    let item = [OrderItem {
        sku: "latte".into(),
        name: "Latte".into(),
        unit_price_fen: 2800,
        quantity: 1,
    }];

    let started = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (store, item) = (store.clone(), item.clone());
            tokio::spawn(async move {
                // Everyone races for one idempotency key (the loser's path reads the
                // first order back while holding the turn) and records a prepay_id.
                let order_no = format!("turn{i:028}");
                let outcome = store
                    .insert_order(&NewOrder {
                        order_no: &order_no,
                        user_id: user,
                        openid: "o-turn",
                        amount_fen: 2800,
                        description: "turn",
                        sign_type: "MD5",
                        appid: "wxd930ea5d5a258f4f",
                        mch_id: "10000100",
                        now,
                        expires_at: now + 3_600_000,
                        prepay_request: "{}",
                        next_check_at: now + 3_600_000,
                        items: &item,
                        idempotency: Some(("one-key", "same-request")),
                        key_scope: KeyScope::User,
                        reference: None,
                        attach: None,
                    })
                    .await
                    .unwrap();
                let winner = match outcome {
                    InsertOutcome::Inserted => order_no,
                    InsertOutcome::KeyUsed { order_no, .. } => order_no,
                    InsertOutcome::ReferenceUsed { .. } => panic!("no reference was sent"),
                };
                store
                    .set_prepay(&winner, &format!("wx{i}"), now + 60_000, now)
                    .await
                    .unwrap();
                winner
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        winners.push(task.await.unwrap());
    }
    // Well under the pool's 5 s acquire timeout: nobody waited for a second connection.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    winners.dedup();
    assert_eq!(winners.len(), 1, "one order for one idempotency key");
    let order = store.order(&winners[0]).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::AwaitingPayment);
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
