//! Pricing a cart from the catalog: 1 to 20 lines, each sku once, quantities 1 to 99,
//! the total within WeChat Pay's limit. The client sends no price.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use wxpay_core::Fen;

use crate::base::error::ApiError;
use crate::state::AppState;
use crate::store::OrderItem;

/// The most lines an order has, priced here or by the merchant.
pub(crate) const MAX_LINES: usize = 20;
const MAX_QUANTITY: u32 = 99;

/// One line of a cart: a product and how many.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CartLine {
    pub sku: String,
    pub quantity: u32,
}

/// Checks the lines and prices them from the catalog. The client sends no price.
pub(crate) async fn price(
    state: &AppState,
    lines: &[CartLine],
) -> Result<(Vec<OrderItem>, Fen), ApiError> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(ApiError::unprocessable(
            "INVALID_ITEMS",
            format!("items must have 1 to {MAX_LINES} lines"),
        ));
    }
    let mut seen = HashSet::new();
    for line in lines {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(ApiError::unprocessable(
                "INVALID_ITEMS",
                format!("quantity of {} must be 1 to {MAX_QUANTITY}", line.sku),
            ));
        }
        if !seen.insert(line.sku.as_str()) {
            return Err(ApiError::unprocessable(
                "INVALID_ITEMS",
                format!(
                    "sku {} appears twice; use one line with a quantity",
                    line.sku
                ),
            ));
        }
    }
    let skus: Vec<&str> = lines.iter().map(|l| l.sku.as_str()).collect();
    let products = state.store.products_by_sku(&skus).await?;
    let mut items = Vec::with_capacity(lines.len());
    let mut total = Fen::ZERO;
    for line in lines {
        let product = products.iter().find(|p| p.sku == line.sku).ok_or_else(|| {
            ApiError::unprocessable(
                "UNKNOWN_SKU",
                format!(
                    "no product with sku {:?}",
                    line.sku.chars().take(64).collect::<String>()
                ),
            )
        })?;
        total = add_line(total, product.price_fen, line.quantity).ok_or_else(|| {
            ApiError::unprocessable(
                "INVALID_ITEMS",
                format!(
                    "order total exceeds WeChat Pay's limit of {} fen",
                    Fen::WECHAT_MAX.get()
                ),
            )
        })?;
        items.push(OrderItem {
            sku: product.sku.clone(),
            name: product.name.clone(),
            unit_price_fen: product.price_fen,
            quantity: i64::from(line.quantity),
        });
    }
    Ok((items, total))
}

/// `total` plus a line of `quantity` at `unit_fen`, if that stays within WeChat Pay's
/// limit (and does not overflow).
pub(crate) fn add_line(total: Fen, unit_fen: i64, quantity: u32) -> Option<Fen> {
    Fen::new(unit_fen)
        .checked_mul(quantity)
        .and_then(|line| total.checked_add(line))
        .filter(|sum| *sum <= Fen::WECHAT_MAX)
}
