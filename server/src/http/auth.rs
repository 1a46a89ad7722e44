//! `Authorization: Bearer <token>` -> the signed-in user.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};

use crate::base::clock::now_ms;
use crate::base::error::ApiError;
use crate::base::ids::token_hash;
use crate::state::AppState;
use crate::store::SessionUser;

/// The caller, authenticated by a token from `POST /v1/login`.
#[derive(Debug, Clone)]
pub(crate) struct CurrentUser(pub SessionUser);

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<CurrentUser, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(ApiError::internal)?;
            let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
                ApiError::unauthorized("send Authorization: Bearer <token> from POST /v1/login")
            })?;
            let user = state
                .store
                .session_user(&token_hash(&token), now_ms())
                .await?
                .ok_or_else(|| ApiError::unauthorized("token unknown or expired: log in again"))?;
            Ok(CurrentUser(user))
        })
    }
}
