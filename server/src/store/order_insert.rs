//! Inserting an order: the order, its lines and its Idempotency-Key together or not at
//! all. PostgreSQL does it in one statement (one round trip instead of BEGIN, an INSERT
//! per table and line, COMMIT: an order's most expensive part, BENCHMARKS.md); SQLite,
//! in-process, in one transaction.

use sqlx::{AnyConnection, Connection, Row};

use super::orders::{InsertOutcome, NewOrder};
use super::{AnyQuery, Backend, Store, StoreError};

impl Store {
    /// Inserts the order, its lines and the idempotency key atomically; if the key was
    /// already used, nothing is inserted and the key's order is returned.
    pub async fn insert_order(&self, order: &NewOrder<'_>) -> Result<InsertOutcome, StoreError> {
        let mut conn = self.hot_conn(true).await?;
        let outcome = match self.backend() {
            Backend::Postgres => in_one_statement(&mut conn, order).await,
            Backend::Sqlite => in_a_transaction(&mut conn, order).await,
        };
        Ok(conn.finish(outcome)?)
    }
}

/// The order's columns and their values as bound by [`bind_order`], the same in both ways
/// of inserting it.
const INSERT_ORDER: &str = "INSERT INTO orders (order_no, user_id, openid, amount_fen, \
    description, status, sign_type, appid, mch_id, created_at, updated_at, expires_at, \
    last_checked_at, prepay_request, next_check_at)";
const ORDER_VALUES: &str = "$1, $2, $3, $4, $5, 'created', $6, $7, $8, $9, $9, $10, $9, $11, $12";
const INSERT_ITEM: &str =
    "INSERT INTO order_items (order_no, line, sku, name, unit_price_fen, quantity)";

/// The statement for `lines` order lines, with or without an Idempotency-Key. Data-changing
/// CTEs all run, in one snapshot; the key's foreign key to the order is checked at the end
/// of the statement, when the order exists. Without a new key row, nothing is inserted.
fn one_statement_sql(lines: usize, with_key: bool) -> String {
    let values: Vec<String> = (0..lines)
        .map(|i| {
            let p = 13 + 5 * i;
            format!("(${p}, ${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4)
        })
        .collect();
    let key_param = 13 + 5 * lines;
    let (key_cte, only_with_key) = if with_key {
        (
            format!(
                "k AS (INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, \
                   order_no, created_at) VALUES ($2, ${key_param}, ${}, $1, $9) \
                 ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING order_no), ",
                key_param + 1
            ),
            " WHERE EXISTS (SELECT 1 FROM k)",
        )
    } else {
        (String::new(), "")
    };
    format!(
        "WITH {key_cte}o AS ({INSERT_ORDER} SELECT {ORDER_VALUES}{only_with_key} \
         RETURNING order_no), \
         i AS ({INSERT_ITEM} SELECT o.order_no, v.line, v.sku, v.name, v.price, v.quantity \
         FROM o CROSS JOIN (VALUES {}) AS v (line, sku, name, price, quantity)) \
         SELECT COUNT(*) FROM o",
        values.join(", ")
    )
}

/// The order's own columns as $1..$12, the same in both statements.
fn bind_order<'q>(query: AnyQuery<'q>, order: &NewOrder<'q>) -> AnyQuery<'q> {
    query
        .bind(order.order_no)
        .bind(order.user_id)
        .bind(order.openid)
        .bind(order.amount_fen)
        .bind(order.description)
        .bind(order.sign_type)
        .bind(order.appid)
        .bind(order.mch_id)
        .bind(order.now)
        .bind(order.expires_at)
        .bind(order.prepay_request)
        .bind(order.next_check_at)
}

async fn in_one_statement(
    conn: &mut AnyConnection,
    order: &NewOrder<'_>,
) -> Result<InsertOutcome, sqlx::Error> {
    let sql = one_statement_sql(order.items.len(), order.idempotency.is_some());
    let mut query = bind_order(sqlx::query(&sql), order);
    for (line, item) in (1i64..).zip(order.items) {
        query = query
            .bind(line)
            .bind(&item.sku)
            .bind(&item.name)
            .bind(item.unit_price_fen)
            .bind(item.quantity);
    }
    if let Some((key, request_hash)) = order.idempotency {
        query = query.bind(key).bind(request_hash);
    }
    let inserted: i64 = query.fetch_one(&mut *conn).await?.try_get(0)?;
    match (inserted, order.idempotency) {
        (1, _) => Ok(InsertOutcome::Inserted),
        (_, Some((key, _))) => key_owner(conn, order.user_id, key).await,
        (_, None) => Err(sqlx::Error::Protocol(format!(
            "order {} was not inserted",
            order.order_no
        ))),
    }
}

/// The order an Idempotency-Key already made, and the request it was made for.
async fn key_owner(
    conn: &mut AnyConnection,
    user_id: i64,
    key: &str,
) -> Result<InsertOutcome, sqlx::Error> {
    let row = sqlx::query(
        "SELECT request_hash, order_no FROM idempotency_keys \
         WHERE user_id = $1 AND idempotency_key = $2",
    )
    .bind(user_id)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    Ok(InsertOutcome::KeyUsed {
        request_hash: row.try_get(0)?,
        order_no: row.try_get(1)?,
    })
}

async fn in_a_transaction(
    conn: &mut AnyConnection,
    order: &NewOrder<'_>,
) -> Result<InsertOutcome, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let insert_order = format!("{INSERT_ORDER} VALUES ({ORDER_VALUES})");
    bind_order(sqlx::query(&insert_order), order)
        .execute(&mut *tx)
        .await?;
    let insert_item = format!("{INSERT_ITEM} VALUES ($1, $2, $3, $4, $5, $6)");
    for (line, item) in (1i64..).zip(order.items) {
        sqlx::query(&insert_item)
            .bind(order.order_no)
            .bind(line)
            .bind(&item.sku)
            .bind(&item.name)
            .bind(item.unit_price_fen)
            .bind(item.quantity)
            .execute(&mut *tx)
            .await?;
    }
    if let Some((key, request_hash)) = order.idempotency {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, order_no, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, idempotency_key) DO NOTHING",
        )
        .bind(order.user_id)
        .bind(key)
        .bind(request_hash)
        .bind(order.order_no)
        .bind(order.now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            // On the same connection: waiting for another one while holding the
            // write turn could wait forever.
            return key_owner(conn, order.user_id, key).await;
        }
    }
    tx.commit().await?;
    Ok(InsertOutcome::Inserted)
}
