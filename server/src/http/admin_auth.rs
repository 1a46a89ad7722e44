//! Who is calling the admin API: `Authorization: Bearer <token>`, compared in constant
//! time with `admin.token` (the platform: every merchant) and each `[[merchants]]`
//! `admin_token` (that merchant only). A mini-program user's token is never one.

use std::future::{Ready, ready};

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::base::error::ApiError;
use crate::state::AppState;
use crate::store::OrderRow;

/// An authenticated admin caller, and what it may see.
#[derive(Debug)]
pub(crate) struct Admin {
    /// None: the platform (`admin.token`); else the one merchant's mch_id.
    pub mch_id: Option<String>,
}

impl Admin {
    /// Whether `order` is the caller's to see and act on.
    pub(crate) fn sees(&self, order: &OrderRow) -> bool {
        self.mch_id.as_ref().is_none_or(|m| *m == order.mch_id)
    }

    /// `order` when the caller may see it; else as if it did not exist.
    pub(crate) fn order(&self, order: Option<OrderRow>) -> Result<OrderRow, ApiError> {
        order
            .filter(|o| self.sees(o))
            .ok_or_else(ApiError::order_not_found)
    }

    /// Refuses a merchant's token on the platform's own routes (events, bills).
    pub(crate) fn platform(&self) -> Result<(), ApiError> {
        match self.mch_id {
            None => Ok(()),
            Some(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "PLATFORM_ONLY",
                "a merchant's admin token cannot use this route: it covers every merchant (use admin.token)",
            )),
        }
    }
}

fn same(expected: &str, given: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

fn caller(state: &AppState, given: &str) -> Option<Admin> {
    let platform = state.settings.admin.token.as_ref()?;
    // Every token is compared, whichever matches, so the time taken does not say which.
    let mut found = same(platform.expose_secret(), given).then_some(Admin { mch_id: None });
    for merchant in &state.settings.merchants {
        let Some(token) = &merchant.admin_token else {
            continue;
        };
        if same(token.expose_secret(), given) && found.is_none() {
            found = Some(Admin {
                mch_id: Some(merchant.mch_id.clone()),
            });
        }
    }
    found
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Admin, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let state = req.app_data::<web::Data<AppState>>();
        ready(match (state, given) {
            (_, None) => Err(ApiError::unauthorized(
                "send Authorization: Bearer <admin.token>",
            )),
            (Some(state), Some(given)) => {
                caller(state, given).ok_or_else(|| ApiError::unauthorized("wrong admin token"))
            }
            (None, Some(_)) => Err(ApiError::unauthorized("wrong admin token")),
        })
    }
}
