//! The catalog: prices live here, never in a client's request.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Store, StoreError};

/// How stale the in-memory catalog may get when another instance sharing the database
/// changes it (this process's own changes apply at once).
const CATALOG_TTL: Duration = Duration::from_secs(5);

/// The active products by sku.
type Catalog = Arc<HashMap<String, Product>>;

/// The active products in memory, with when they were read, so pricing an order costs no
/// query (it was one round trip of an order's seven, BENCHMARKS.md).
#[derive(Debug, Default)]
pub(crate) struct CatalogCache(RwLock<Option<(Instant, Catalog)>>);

impl CatalogCache {
    fn fresh(&self) -> Option<Catalog> {
        let cached = self.0.read().unwrap_or_else(PoisonError::into_inner);
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < CATALOG_TTL)
            .map(|(_, products)| Arc::clone(products))
    }

    fn set(&self, products: Option<Catalog>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) =
            products.map(|p| (Instant::now(), p));
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
        self.catalog.set(None);
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
        self.catalog.set(None);
        Ok(gone)
    }

    pub async fn active_products(&self) -> Result<Vec<Product>, StoreError> {
        let rows =
            sqlx::query("SELECT sku, name, price_fen FROM products WHERE active = 1 ORDER BY sku")
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(product).collect()
    }

    /// The active products among `skus` (from the in-memory catalog).
    pub async fn products_by_sku(&self, skus: &[&str]) -> Result<Vec<Product>, StoreError> {
        let catalog = match self.catalog.fresh() {
            Some(catalog) => catalog,
            None => {
                let loaded: HashMap<String, Product> = self
                    .active_products()
                    .await?
                    .into_iter()
                    .map(|p| (p.sku.clone(), p))
                    .collect();
                let loaded = Arc::new(loaded);
                self.catalog.set(Some(Arc::clone(&loaded)));
                loaded
            }
        };
        Ok(skus
            .iter()
            .filter_map(|sku| catalog.get(*sku).cloned())
            .collect())
    }
}

fn product(row: &sqlx::any::AnyRow) -> Result<Product, StoreError> {
    Ok(Product {
        sku: row.try_get(0)?,
        name: row.try_get(1)?,
        price_fen: row.try_get(2)?,
    })
}
