//! `GET /v1/products`: the catalog, with server-side prices.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::Storage;
use crate::base::error::ApiError;
use crate::state::AppState;
use crate::store::Product;

#[derive(Serialize, ToSchema)]
pub(super) struct Products {
    /// The active products, by sku.
    products: Vec<Product>,
}

/// The catalog, priced by the server (a client never sends a price).
#[utoipa::path(get, path = "/v1/products", tag = "orders", operation_id = "products",
    responses((status = 200, description = "The catalog", body = Products), Storage))]
pub(super) async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let products = state.store.active_products().await?;
    Ok(HttpResponse::Ok().json(Products { products }))
}
