//! `POST /v1/me/phone {code}`: the user's phone number from the getPhoneNumber button's
//! code (protocol.md §1.5), through the shared access_token. A token WeChat calls invalid
//! (another system fetched a new one with `force_refresh`) is refreshed once. Rate limited
//! per user and address (the app's WeChat quota is shared by all its users); a number
//! whose watermark names another app, or a time far from now, is refused.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wxpay_client::PhoneNumber;

use super::openapi::{JsonBody, RateLimited, Storage, UserAuth, WeChatFailed};
use crate::base::clock::now_ms;
use crate::base::error::ApiError;
use crate::http::auth::CurrentUser;
use crate::mini_program::access_token::{from_mp, with_token};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PhoneRequest {
    /// The getPhoneNumber button's code (`e.detail.code`).
    #[schema(min_length = 1, max_length = 128)]
    code: String,
}

/// The user's number, as WeChat gave it.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Phone {
    /// With the country code for numbers outside mainland China.
    phone_number: String,
    pure_phone_number: String,
    country_code: String,
}

/// How far the watermark's time may be from ours: a phone code lives 5 minutes, and the
/// two clocks may differ by a little.
const WATERMARK_SKEW_SECS: i64 = 10 * 60;

/// Whether a number WeChat gave is for this app, now: the watermark is WeChat's own
/// statement of both, inside its signed-by-TLS reply.
fn check_watermark(phone: &PhoneNumber, appid: &str, now_secs: i64) -> Result<(), ApiError> {
    let refused = |why: String| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "PHONE_WATERMARK_MISMATCH",
            format!("WeChat's phone-number reply was refused: {why}"),
        )
    };
    if phone.appid != appid {
        return Err(refused(format!(
            "its watermark names appid {:?}, not this app's",
            phone.appid
        )));
    }
    if (phone.timestamp - now_secs).abs() > WATERMARK_SKEW_SECS {
        return Err(refused(format!(
            "its watermark time {} is more than {WATERMARK_SKEW_SECS} s from now ({now_secs})",
            phone.timestamp
        )));
    }
    Ok(())
}

/// The user's phone number, from the getPhoneNumber button's code.
#[utoipa::path(post, path = "/v1/me/phone", tag = "session", operation_id = "phone_number",
    security(("user_token" = [])),
    request_body = PhoneRequest,
    responses(
        (status = 200, description = "The number", body = Phone),
        JsonBody, UserAuth, RateLimited, WeChatFailed, Storage,
    ))]
pub(super) async fn phone(
    user: CurrentUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<PhoneRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .phone(user.0.user_id, state.limits.client(&req))?;
    let code = body.code.trim();
    if code.is_empty() || code.len() > 128 {
        return Err(ApiError::bad_request(
            "INVALID_CODE",
            "code must be the getPhoneNumber button's code (e.detail.code), not wx.login's",
        ));
    }
    // The user's own mini program asks, and its appid is the watermark's.
    let merchant = state.merchants.of_app(user.0.appid.as_deref())?;
    let phone = with_token(&state, merchant, |token| {
        let login = &merchant.login;
        async move { login.phone_number(&token, code).await }
    })
    .await?
    .map_err(|error| from_mp(&error))?;
    check_watermark(&phone, &merchant.credentials.appid, now_ms() / 1000)?;
    Ok(HttpResponse::Ok().json(Phone {
        phone_number: phone.phone_number,
        pure_phone_number: phone.pure_phone_number,
        country_code: phone.country_code,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(appid: &str, timestamp: i64) -> PhoneNumber {
        PhoneNumber {
            phone_number: "13800138000".into(),
            pure_phone_number: "13800138000".into(),
            country_code: "86".into(),
            appid: appid.into(),
            timestamp,
        }
    }

    #[test]
    fn the_watermark_must_name_this_app_and_now() {
        let now = 1_800_000_000;
        assert!(check_watermark(&number("wx1", now - 30), "wx1", now).is_ok());
        assert!(check_watermark(&number("wx1", now + 600), "wx1", now).is_ok());
        for (appid, at) in [("wx2", now), ("", now), ("wx1", now - 601), ("wx1", 0)] {
            let error = check_watermark(&number(appid, at), "wx1", now).unwrap_err();
            assert_eq!(error.code, "PHONE_WATERMARK_MISMATCH", "{appid} {at}");
        }
    }
}
