//! Each Mini Program's access_token (per merchant's app), one for every instance: stored
//! in the database under its appid and
//! refreshed (through `stable_token`) by whichever instance takes the row's lease, a few
//! minutes before it expires. The others keep using the current token meanwhile, or wait
//! for the new one when there is none: an expiry costs one call to WeChat, never a
//! stampede. A token WeChat calls invalid is refreshed once, by one instance.

use std::time::Duration;

use actix_web::http::StatusCode;
use secrecy::SecretString;
use wxpay_client::MpError;

use crate::base::clock::now_ms;
use crate::base::error::ApiError;
use crate::state::AppState;
use crate::wechat::merchants::Merchant;

/// Refreshed this long before WeChat's expiry (its tokens last 7200 s).
const REFRESH_BEFORE_MS: i64 = 5 * 60 * 1000;
/// A refresh taking longer than this lets another instance try.
const LEASE_MS: i64 = 30 * 1000;
/// How long a caller waits for another instance's refresh when there is no usable token.
const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// The current token. `not_this` (a token WeChat just refused) is never returned: a new
/// one is fetched (by one instance) instead.
pub(crate) async fn token(
    state: &AppState,
    merchant: &Merchant,
    not_this: Option<&str>,
) -> Result<SecretString, ApiError> {
    let appid = &merchant.credentials.appid;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = now_ms();
        let stored = state.store.access_token(appid).await?;
        let usable = stored
            .as_ref()
            .filter(|t| t.expires_at > now && Some(t.token.as_str()) != not_this);
        if let Some(t) = usable.filter(|t| t.expires_at - now > REFRESH_BEFORE_MS) {
            return Ok(SecretString::from(t.token.clone()));
        }
        if state
            .store
            .take_token_lease(appid, now, now.saturating_add(LEASE_MS))
            .await?
        {
            return refresh(state, merchant, not_this.is_some()).await;
        }
        // Another instance is refreshing: the current token is still good meanwhile.
        if let Some(t) = usable {
            return Ok(SecretString::from(t.token.clone()));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(unavailable(
                "no access_token: another instance's refresh did not finish",
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Fetches a token (holding the lease) and stores it for every instance.
async fn refresh(
    state: &AppState,
    merchant: &Merchant,
    force: bool,
) -> Result<SecretString, ApiError> {
    let appid = &merchant.credentials.appid;
    match merchant.login.stable_token(force).await {
        Ok(fresh) => {
            let now = now_ms();
            let lifetime = i64::try_from(fresh.expires_in.as_millis()).unwrap_or(i64::MAX);
            use secrecy::ExposeSecret as _;
            state
                .store
                .store_access_token(
                    appid,
                    fresh.token.expose_secret(),
                    now.saturating_add(lifetime),
                    now,
                )
                .await?;
            tracing::info!(
                merchant = %merchant.id,
                expires_in_secs = fresh.expires_in.as_secs(),
                "access_token refreshed"
            );
            Ok(fresh.token)
        }
        Err(error) => {
            let _ = state.store.release_token_lease(appid).await;
            tracing::error!(merchant = %merchant.id, %error, "access_token refresh failed");
            Err(from_mp(&error))
        }
    }
}

fn unavailable(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "WECHAT_UNAVAILABLE",
        message.to_owned(),
    )
}

/// WeChat's refusal as the API says it.
pub(crate) fn from_mp(error: &MpError) -> ApiError {
    match error {
        MpError::InvalidCode => ApiError::bad_request(
            "INVALID_CODE",
            "the phone code is invalid, used or expired: ask the user to tap the button again",
        ),
        MpError::Credentials(_) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "WECHAT_REJECTED",
            "WeChat refused the Mini Program's credentials (appid / app secret)",
        ),
        other => unavailable(&format!("WeChat did not answer usefully: {other}")),
    }
}

/// `call` with the current token, and once more with a new one if WeChat calls it
/// invalid. The outer error: no token could be had; the inner: WeChat's answer.
pub(crate) async fn with_token<T, F, Fut>(
    state: &AppState,
    merchant: &Merchant,
    call: F,
) -> Result<Result<T, MpError>, ApiError>
where
    F: Fn(SecretString) -> Fut,
    Fut: std::future::Future<Output = Result<T, MpError>>,
{
    let current = token(state, merchant, None).await?;
    match call(current.clone()).await {
        Err(MpError::InvalidToken(_)) => {
            use secrecy::ExposeSecret as _;
            let fresh = token(state, merchant, Some(current.expose_secret())).await?;
            Ok(call(fresh).await)
        }
        answer => Ok(answer),
    }
}
