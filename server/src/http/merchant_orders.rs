//! `POST /v1/admin/orders`: an order the merchant's own backend priced, for a payer it
//! names by openid (server to server, with the admin token). Checked here, before
//! WeChat is called, by WeChat's own limits; created like a catalog order.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wxpay_core::Fen;

use super::error_response::ErrorBody;
use super::openapi::{AdminAuth, JsonBody, Storage, Unprocessable, WeChatFailed};
use super::orders::OrderView;
use crate::base::clock::now_ms;
use crate::base::error::ApiError;
use crate::base::ids;
use crate::config::{ApiVersion, MAX_BODY_BYTES};
use crate::http::admin::Admin;
use crate::http::orders::{view, view_with_items};
use crate::orders::create::{OrderAsk, Payer, create_order};
use crate::orders::pricing::{MAX_LINES, add_line};
use crate::state::AppState;
use crate::store::{KeyScope, OrderItem};

/// v3 `description`: string(127), in characters.
const MAX_V3_DESCRIPTION_CHARS: usize = 127;
/// v2 `attach` String(127) (v3 allows 128): the stricter of both, in bytes.
const MAX_ATTACH_BYTES: usize = 127;
const MAX_REFERENCE_CHARS: usize = 64;
/// WeChat's `openid` String(128).
const MAX_OPENID_CHARS: usize = 128;
/// WeChat's `time_expire` must be at least 5 minutes away; a week is plenty for a
/// payment the payer is about to make.
const EXPIRY_SECS: std::ops::RangeInclusive<u64> = 300..=7 * 24 * 3600;

/// An order the merchant's backend priced.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MerchantOrder {
    /// The payer's openid for this app (a user who logged in through wxpay is found by it).
    #[schema(min_length = 1, max_length = 128, pattern = "^[!-~]+$")]
    openid: String,
    /// 1 fen to WeChat Pay's limit.
    #[schema(minimum = 1, maximum = 2_147_483_647)]
    amount_fen: i64,
    /// What the payer sees: at most 128 bytes on v2, 127 characters on v3.
    #[schema(min_length = 1, max_length = 128)]
    description: String,
    /// The merchant's own order id: unique per merchant, shown everywhere the order is.
    #[schema(min_length = 1, max_length = 64)]
    reference: Option<String>,
    /// Passed to WeChat and back in webhooks (at most 127 bytes).
    #[schema(min_length = 1, max_length = 127)]
    attach: Option<String>,
    /// 300 s to 7 days (default: orders.ttl_secs).
    #[schema(minimum = 300, maximum = 604_800)]
    expires_in_secs: Option<u64>,
    /// 1 to 20 lines adding up to amount_fen (or left out).
    items: Option<Vec<MerchantLine>>,
}

/// A line as the merchant priced it (shown back; its total must be the order's).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MerchantLine {
    #[schema(min_length = 1)]
    sku: String,
    #[schema(min_length = 1)]
    name: String,
    #[schema(minimum = 1)]
    unit_price_fen: i64,
    #[schema(minimum = 1, maximum = 9999)]
    quantity: i64,
}

fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable(code, message)
}

/// Text WeChat takes in a field: not blank, no control characters (the daily bill is
/// one trade a line).
fn plain_text(text: &str) -> bool {
    !text.trim().is_empty() && !text.chars().any(char::is_control)
}

fn check_amount(amount_fen: i64) -> Result<Fen, ApiError> {
    if !(1..=Fen::WECHAT_MAX.get()).contains(&amount_fen) {
        return Err(invalid(
            "INVALID_AMOUNT",
            format!(
                "amount_fen must be 1 to {} (WeChat Pay's limit)",
                Fen::WECHAT_MAX.get()
            ),
        ));
    }
    Ok(Fen::new(amount_fen))
}

fn check_description(description: &str, api: ApiVersion) -> Result<(), ApiError> {
    if !plain_text(description) {
        return Err(invalid(
            "INVALID_DESCRIPTION",
            "description must not be blank or hold control characters (WeChat shows it)",
        ));
    }
    match api {
        ApiVersion::V2 if description.len() > MAX_BODY_BYTES => Err(invalid(
            "INVALID_DESCRIPTION",
            format!(
                "description is {} bytes; v2's body takes at most {MAX_BODY_BYTES} (a Chinese \
                 character is 3)",
                description.len()
            ),
        )),
        ApiVersion::V3 if description.chars().count() > MAX_V3_DESCRIPTION_CHARS => Err(invalid(
            "INVALID_DESCRIPTION",
            format!("description must be at most {MAX_V3_DESCRIPTION_CHARS} characters"),
        )),
        _ => Ok(()),
    }
}

fn check_fields(order: &MerchantOrder) -> Result<(), ApiError> {
    let openid = &order.openid;
    if openid.is_empty()
        || openid.chars().count() > MAX_OPENID_CHARS
        || !openid.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(invalid(
            "INVALID_OPENID",
            format!("openid must be 1 to {MAX_OPENID_CHARS} visible ASCII characters"),
        ));
    }
    if let Some(reference) = &order.reference
        && (reference.is_empty()
            || reference.chars().count() > MAX_REFERENCE_CHARS
            || !plain_text(reference))
    {
        return Err(invalid(
            "INVALID_REFERENCE",
            format!(
                "reference must be 1 to {MAX_REFERENCE_CHARS} characters without control \
                 characters"
            ),
        ));
    }
    if let Some(attach) = &order.attach
        && (attach.is_empty() || attach.len() > MAX_ATTACH_BYTES || !plain_text(attach))
    {
        return Err(invalid(
            "INVALID_ATTACH",
            format!("attach must be 1 to {MAX_ATTACH_BYTES} bytes without control characters"),
        ));
    }
    if let Some(secs) = order.expires_in_secs
        && !EXPIRY_SECS.contains(&secs)
    {
        return Err(invalid(
            "INVALID_EXPIRY",
            format!(
                "expires_in_secs must be {} to {} (WeChat wants at least 5 minutes)",
                EXPIRY_SECS.start(),
                EXPIRY_SECS.end()
            ),
        ));
    }
    Ok(())
}

/// The merchant's lines, checked: 1 to 20 of them, each priced and counted sensibly,
/// adding up to the order's amount exactly.
fn check_items(lines: Option<&[MerchantLine]>, total: Fen) -> Result<Vec<OrderItem>, ApiError> {
    let Some(lines) = lines else {
        return Ok(Vec::new());
    };
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(invalid(
            "INVALID_ITEMS",
            format!("items must have 1 to {MAX_LINES} lines (or be left out)"),
        ));
    }
    let mut sum = Fen::ZERO;
    for line in lines {
        if !plain_text(&line.sku) || !plain_text(&line.name) {
            return Err(invalid(
                "INVALID_ITEMS",
                "every line needs a sku and a name without control characters",
            ));
        }
        if line.unit_price_fen < 1 || !(1..=9_999).contains(&line.quantity) {
            return Err(invalid(
                "INVALID_ITEMS",
                "unit_price_fen must be positive and quantity 1 to 9999",
            ));
        }
        let quantity = u32::try_from(line.quantity).unwrap_or(u32::MAX);
        sum = add_line(sum, line.unit_price_fen, quantity)
            .ok_or_else(|| invalid("ITEMS_TOTAL_MISMATCH", "the lines add up to too much"))?;
    }
    if sum != total {
        return Err(invalid(
            "ITEMS_TOTAL_MISMATCH",
            format!(
                "the lines add up to {} fen, amount_fen is {}",
                sum.get(),
                total.get()
            ),
        ));
    }
    Ok(lines
        .iter()
        .map(|line| OrderItem {
            sku: line.sku.clone(),
            name: line.name.clone(),
            unit_price_fen: line.unit_price_fen,
            quantity: line.quantity,
        })
        .collect())
}

/// `POST /v1/admin/orders` (`Idempotency-Key` required: the merchant's backend retries).
#[utoipa::path(post, path = "/v1/admin/orders", tag = "merchant", operation_id = "create_merchant_order",
    security(("admin_token" = [])),
    params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,64}$",
        description = "Required, 1 to 64 visible ASCII characters: a retry returns the same order")),
    request_body = MerchantOrder,
    responses(
        (status = 201, description = "Created, with its payment params", body = OrderView),
        (status = 200, description = "The order this Idempotency-Key created before",
            body = OrderView, headers(("Idempotent-Replayed" = String))),
        (status = 409, description = "Another order has this reference (REFERENCE_EXISTS)",
            body = ErrorBody),
        JsonBody, AdminAuth, Unprocessable, WeChatFailed, Storage,
    ))]
pub(super) async fn create(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<MerchantOrder>,
) -> Result<HttpResponse, ApiError> {
    let key = super::idempotency_key(&req)?.ok_or_else(|| {
        ApiError::bad_request(
            "IDEMPOTENCY_KEY_REQUIRED",
            "send an Idempotency-Key: a retry must not create a second order",
        )
    })?;
    check_fields(&body)?;
    let total = check_amount(body.amount_fen)?;
    // A merchant's token orders for its own merchant; the platform's for `[wechat]`'s.
    let merchant = match &admin.mch_id {
        Some(mch_id) => state
            .merchants
            .by_mch_id(mch_id)
            .ok_or_else(|| ApiError::unauthorized("this admin token's merchant is gone"))?,
        None => state.merchant(),
    };
    let appid = state.merchants.user_appid(merchant);
    check_description(&body.description, merchant.credentials.api_version)?;
    let items = check_items(body.items.as_deref(), total)?;
    let fingerprint =
        ids::fingerprint(serde_json::to_string(&*body).unwrap_or_default().as_bytes());
    let user_id = state
        .store
        .user_by_openid(&body.openid, appid, now_ms())
        .await?;
    let ask = OrderAsk {
        payer: Payer {
            user_id,
            openid: &body.openid,
            appid,
        },
        items: &items,
        total,
        description: Some(body.description.trim()),
        ttl_ms: body
            .expires_in_secs
            .map(|secs| i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)),
        reference: body.reference.as_deref(),
        attach: body.attach.as_deref(),
        idempotency: Some((&key, &fingerprint)),
        key_scope: KeyScope::Merchant,
    };
    let created = create_order(&state, &ask).await?;
    if created.replayed {
        let view = view(&state, &created.order, created.payment).await?;
        return Ok(HttpResponse::Ok()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(view));
    }
    Ok(HttpResponse::Created().json(view_with_items(
        &state,
        &created.order,
        items,
        created.payment,
    )))
}
