//! `POST /v1/me/phone {code}`: the user's phone number from the getPhoneNumber button's
//! code (protocol.md §1.5), through the shared access_token. A token WeChat calls invalid
//! (another system fetched a new one with `force_refresh`) is refreshed once.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use wxpay_client::MpError;

use crate::access_token::{from_mp, token};
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PhoneRequest {
    code: String,
}

pub(super) async fn phone(
    _user: CurrentUser,
    state: web::Data<AppState>,
    body: web::Json<PhoneRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = body.code.trim();
    if code.is_empty() || code.len() > 128 {
        return Err(ApiError::bad_request(
            "INVALID_CODE",
            "code must be the getPhoneNumber button's code (e.detail.code), not wx.login's",
        ));
    }
    let mut current = token(&state, None).await?;
    let mut refreshed = false;
    loop {
        match state.login.phone_number(&current, code).await {
            Ok(phone) => {
                return Ok(HttpResponse::Ok().json(json!({
                    "phone_number": phone.phone_number,
                    "pure_phone_number": phone.pure_phone_number,
                    "country_code": phone.country_code,
                })));
            }
            Err(MpError::InvalidToken(_)) if !refreshed => {
                use secrecy::ExposeSecret as _;
                refreshed = true;
                current = token(&state, Some(current.expose_secret())).await?;
            }
            Err(error) => return Err(from_mp(&error)),
        }
    }
}
