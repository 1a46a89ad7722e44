//! Finding 5 of the security review (issue #23): PostgreSQL backends terminated under load
//! (`pg_terminate_backend`, as an administrator or a failover does) cost no request later
//! than the kill itself, on the hot connections and on the pool. On 0aea084 a connection
//! that had said FATAL 57P01 went back to the hot set and failed requests until an I/O
//! error finally closed it.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, PgConnection, Row};
use tokio::time::Instant;

use crate::helpers::{ADMIN_TOKEN, Db, TestApp};

/// How long after a kill's backends are gone a request may still meet one of them (a
/// request that began just before, still reading the reply of the dead socket).
const GRACE: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Outcome {
    started: Instant,
    status: u16,
    hot: bool,
}

/// Terminates every backend of `database` but the caller's and waits until they are gone:
/// (how many, when they were all gone).
async fn kill_backends(admin: &mut PgConnection, database: &str) -> (usize, Instant) {
    // Chosen first, killed second: in one WHERE the planner may call
    // pg_terminate_backend before it has filtered the rows.
    let killed: Vec<i32> = sqlx::query(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(database)
    .fetch_all(&mut *admin)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid")
        .bind(&killed)
        .execute(&mut *admin)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: i64 = sqlx::query("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)")
            .bind(&killed)
            .fetch_one(&mut *admin)
            .await
            .unwrap()
            .get(0);
        if left == 0 || Instant::now() > deadline {
            return (killed.len(), Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Requests until `stop`: the hot set (a session and an order read) or the pool (the
/// admin's order list).
async fn load(
    app: Arc<TestApp>,
    token: String,
    order_no: String,
    hot: bool,
    stop: Instant,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    while Instant::now() < stop {
        let started = Instant::now();
        let request = if hot {
            app.http
                .get(app.url(&format!("/v1/orders/{order_no}")))
                .bearer_auth(&token)
        } else {
            app.http
                .get(app.url("/v1/admin/orders?status=paid"))
                .bearer_auth(ADMIN_TOKEN)
        };
        let status = request.send().await.unwrap().status().as_u16();
        outcomes.push(Outcome {
            started,
            status,
            hot,
        });
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_backends_fail_no_later_request() {
    let Some(db) = Db::postgres() else { return };
    let Db::Postgres(admin_url) = &db else {
        unreachable!()
    };
    let mut admin = PgConnection::connect(admin_url).await.unwrap();
    let app = TestApp::spawn_with(db.clone(), |s| s.database.max_connections = 12).await;
    let database = app.db_url.rsplit('/').next().unwrap().to_owned();
    let (token, order_no, _) = app.paid_order().await;
    let app = Arc::new(app);

    let stop = Instant::now() + Duration::from_millis(2600);
    let mut loads = Vec::new();
    for i in 0..10 {
        // Eight readers on the hot set, two on the pool.
        let hot = i < 8;
        loads.push(tokio::spawn(load(
            Arc::clone(&app),
            token.clone(),
            order_no.clone(),
            hot,
            stop,
        )));
    }
    let mut kills = Vec::new();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = Instant::now();
        let (killed, gone) = kill_backends(&mut admin, &database).await;
        assert!(killed > 0, "nothing to kill: is the load running?");
        kills.push((started, gone, killed));
    }
    let mut outcomes = Vec::new();
    for load in loads {
        outcomes.extend(load.await.unwrap());
    }

    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.status != 200).collect();
    // A hot read that met a lost connection ran again on a new one: none failed at all.
    let hot_failed = failed.iter().filter(|o| o.hot).count();
    assert_eq!(
        hot_failed, 0,
        "hot reads failed: {failed:?} (kills {kills:?})"
    );
    // A pool request may fail only if it began before a kill's backends were gone.
    let late: Vec<&&Outcome> = failed
        .iter()
        .filter(|o| {
            !kills.iter().any(|(started, gone, _)| {
                o.started <= *gone + GRACE && o.started + GRACE >= *started
            })
        })
        .collect();
    assert!(
        late.is_empty(),
        "failed after the kill: {late:?} (kills {kills:?})"
    );
    let after_last = outcomes
        .iter()
        .filter(|o| o.started > kills.last().unwrap().1 + GRACE)
        .count();
    assert!(
        after_last > 50,
        "only {after_last} requests after the last kill"
    );
    assert!(app.state.store.hot_connections() > 0);
    Arc::into_inner(app).unwrap().cleanup().await;
}
