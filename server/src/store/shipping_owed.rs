//! The work list of `shipping.auto_virtual`: paid orders with nothing uploaded and no
//! refusal recorded, claimed in batches (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so
//! each order is with one instance at a time, leased: a crashed instance's claims, and
//! tries WeChat did not answer, come back when the lease ends).

use sqlx::Row;

use super::{Backend, Store, StoreError};

/// The owed condition, the same text as the partial index `orders_shipping_owed`.
const OWED: &str = "status = 'paid' AND shipping_status IS NULL AND shipping_error IS NULL";

impl Store {
    /// Claims up to `limit` orders owed an automatic upload at `now`, leased until
    /// `lease_until`, oldest payment first.
    pub async fn claim_owed_shipping(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE orders SET shipping_auto_until = $1 WHERE order_no IN ( \
               SELECT order_no FROM orders WHERE {OWED} \
                 AND (shipping_auto_until IS NULL OR shipping_auto_until <= $2) \
               ORDER BY paid_at LIMIT $3 {lock}) \
             RETURNING order_no"
        );
        let rows = sqlx::query(&sql)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *self.write_conn().await?)
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>(0)?))
            .collect()
    }

    /// Records why WeChat refused an order's automatic upload: it is not tried again.
    pub async fn record_shipping_error(
        &self,
        order_no: &str,
        error: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "UPDATE orders SET shipping_error = $1, updated_at = $2 \
             WHERE order_no = $3 AND {OWED}"
        ))
        .bind(error)
        .bind(now)
        .bind(order_no)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }
}
