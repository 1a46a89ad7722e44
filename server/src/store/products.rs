//! The catalog: prices live here, never in a client's request.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub sku: String,
    pub name: String,
    pub price_fen: i64,
}

impl Store {
    /// Inserts or updates each product (and reactivates it).
    pub async fn upsert_products(&self, products: &[Product]) -> Result<(), StoreError> {
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        for p in products {
            sqlx::query(
                "INSERT INTO products (sku, name, price_fen, active) VALUES ($1, $2, $3, 1) \
                 ON CONFLICT (sku) DO UPDATE SET name = excluded.name, \
                   price_fen = excluded.price_fen, active = 1",
            )
            .bind(&p.sku)
            .bind(&p.name)
            .bind(p.price_fen)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Makes the catalog exactly `products`: each is inserted or updated (and
    /// reactivated); products that are no longer listed are deactivated (never deleted:
    /// order lines keep their sku) and no longer sold. Returns the deactivated skus.
    pub async fn replace_catalog(&self, products: &[Product]) -> Result<Vec<String>, StoreError> {
        self.upsert_products(products).await?;
        let rows = sqlx::query("SELECT sku FROM products WHERE active = 1")
            .fetch_all(self.pool())
            .await?;
        let mut gone = Vec::new();
        for row in &rows {
            let sku: String = row.try_get(0)?;
            if !products.iter().any(|p| p.sku == sku) {
                gone.push(sku);
            }
        }
        let mut conn = self.write_conn().await?;
        for sku in &gone {
            sqlx::query("UPDATE products SET active = 0 WHERE sku = $1")
                .bind(sku)
                .execute(&mut *conn)
                .await?;
        }
        Ok(gone)
    }

    pub async fn active_products(&self) -> Result<Vec<Product>, StoreError> {
        let rows =
            sqlx::query("SELECT sku, name, price_fen FROM products WHERE active = 1 ORDER BY sku")
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(product).collect()
    }

    pub async fn products_by_sku(&self, skus: &[&str]) -> Result<Vec<Product>, StoreError> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=skus.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT sku, name, price_fen FROM products WHERE active = 1 AND sku IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for sku in skus {
            query = query.bind(*sku);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(product).collect()
    }
}

fn product(row: &sqlx::any::AnyRow) -> Result<Product, StoreError> {
    Ok(Product {
        sku: row.try_get(0)?,
        name: row.try_get(1)?,
        price_fen: row.try_get(2)?,
    })
}
