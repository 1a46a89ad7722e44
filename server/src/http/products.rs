//! `GET /v1/products`: the catalog, with server-side prices.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::base::error::ApiError;
use crate::state::AppState;

pub(super) async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let products = state.store.active_products().await?;
    Ok(HttpResponse::Ok().json(json!({ "products": products })))
}
