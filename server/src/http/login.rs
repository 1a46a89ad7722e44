//! `POST /v1/login {code}`: code2session, then our own token. The session_key stays here.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use wxpay_client::LoginError;

use utoipa::ToSchema;

use super::error_response::ErrorBody;
use super::openapi::{JsonBody, RateLimited, Storage, UserAuth, WeChatFailed};
use crate::base::clock::{now_ms, rfc3339};
use crate::base::error::ApiError;
use crate::base::ids;
use crate::http::auth::CurrentUser;
use crate::state::AppState;
use crate::wechat::merchants::Merchant;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginRequest {
    /// The code from `wx.login` (once only, 5 minutes).
    #[schema(min_length = 1, max_length = 128)]
    code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    /// RFC 3339.
    expires_at: String,
}

/// `wx.login`'s code -> WeChat's code2session -> our own token (the session_key stays on
/// the server).
#[utoipa::path(post, path = "/v1/login", tag = "session", operation_id = "login",
    params(("Wxpay-Appid" = Option<String>, Header,
        description = "The mini program (appid) the code is from, when the server has several; default: `wechat.appid`")),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 403, description = "WeChat blocks this user's login", body = ErrorBody),
        JsonBody, RateLimited, WeChatFailed, Storage,
    ))]
pub(super) async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    request: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    state.limits.login(state.limits.client(&req))?;
    let code = request.code.trim();
    if code.is_empty() || code.len() > 128 {
        return Err(ApiError::bad_request(
            "INVALID_CODE",
            "code must be the non-empty code from wx.login",
        ));
    }
    let (merchant, appid) = app(&state, &req)?;
    let session = merchant.login.code2session(code).await.map_err(|e| {
        state.metrics.wechat_failure("code2session");
        login_error(&e)
    })?;
    let now = now_ms();
    let user_id = state
        .store
        .upsert_user(
            &session.openid,
            session.unionid.as_deref(),
            session.session_key.expose_base64(),
            appid,
            now,
        )
        .await?;
    let token = ids::token();
    let token_hash = ids::token_hash(&token);
    let ttl_ms =
        i64::try_from(state.settings.auth.token_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let expires_at = now.saturating_add(ttl_ms);
    state
        .store
        .create_session(&token_hash, user_id, now, expires_at)
        .await?;
    let ended = if state.settings.auth.single_session {
        state
            .store
            .delete_other_sessions(user_id, &token_hash)
            .await?
    } else {
        0
    };
    tracing::info!(user_id, other_sessions_ended = ended, "logged in");
    Ok(HttpResponse::Ok().json(LoginResponse {
        token,
        expires_at: rfc3339(expires_at),
    }))
}

/// The header naming the mini program a login is for (absent: `[wechat]`'s).
pub(super) const APPID_HEADER: &str = "Wxpay-Appid";

/// The merchant whose mini program the login is for, and the appid to keep with the user
/// (None for `[wechat]`'s own app).
fn app<'s>(
    state: &'s AppState,
    req: &HttpRequest,
) -> Result<(&'s Merchant, Option<&'s str>), ApiError> {
    let Some(value) = req.headers().get(APPID_HEADER) else {
        return Ok((state.merchant(), None));
    };
    let merchant = value
        .to_str()
        .ok()
        .and_then(|appid| state.merchants.by_appid(appid.trim()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "UNKNOWN_APP",
                "Wxpay-Appid names no mini program of this server",
            )
        })?;
    Ok((merchant, state.merchants.user_appid(merchant)))
}

/// `POST /v1/logout`: the caller's token stops working (other sessions are kept).
#[utoipa::path(post, path = "/v1/logout", tag = "session", operation_id = "logout",
    security(("user_token" = [])),
    responses((status = 204, description = "Signed out"), UserAuth, Storage))]
pub(super) async fn logout(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    state.store.delete_session(&user.0.token_hash).await?;
    tracing::info!(user_id = user.0.user_id, "logged out");
    Ok(HttpResponse::NoContent().finish())
}

fn login_error(error: &LoginError) -> ApiError {
    match error {
        LoginError::InvalidCode | LoginError::CodeUsed => {
            ApiError::bad_request("INVALID_CODE", format!("{error}; send the new code"))
        }
        LoginError::RateLimited => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            error.to_string(),
        ),
        LoginError::Blocked => {
            ApiError::new(StatusCode::FORBIDDEN, "LOGIN_BLOCKED", error.to_string())
        }
        LoginError::Credentials(_) | LoginError::Other { .. } | LoginError::Malformed(_) => {
            tracing::error!(%error, "code2session failed");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "WECHAT_REJECTED",
                "WeChat refused the login; it has been logged",
            )
        }
        LoginError::Busy | LoginError::Timeout | LoginError::Transport(_) | LoginError::Http(_) => {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "WECHAT_UNAVAILABLE",
                format!("{error}; retry with a new wx.login code"),
            )
        }
    }
}
