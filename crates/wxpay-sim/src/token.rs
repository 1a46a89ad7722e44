//! Access tokens and the phone number: `POST /cgi-bin/stable_token` (the same token until
//! it expires, a new one with `force_refresh`; 7200 s), `POST
//! /wxa/business/getuserphonenumber?access_token=` (40001 for a token that is not current),
//! and the control calls `POST /sim/phone` (plays the getPhoneNumber button: a one-time,
//! 5-minute code), `GET /sim/access-tokens` (how many tokens were issued) and `POST
//! /sim/access-tokens/expire` (every token expires now: what two hours do).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::ids;
use crate::state::Sim;

const TOKEN_LIFETIME: Duration = Duration::from_secs(7200);
const PHONE_CODE_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
pub struct Tokens {
    /// appid -> its current token and when it expires.
    current: HashMap<String, (String, Instant)>,
    /// How many tokens `stable_token` issued (new ones, not repeats).
    issued: u64,
    phone_codes: HashMap<String, PhoneCode>,
}

#[derive(Debug)]
struct PhoneCode {
    appid: String,
    phone: String,
    /// What the reply's watermark says (normally `appid`, the app that asked).
    watermark: Watermark,
    issued: Instant,
    used: bool,
}

impl Tokens {
    /// The app whose current token this is (None: unknown or expired).
    pub(crate) fn appid_of(&self, token: &str, now: Instant) -> Option<String> {
        self.current
            .iter()
            .find(|(_, (current, expires))| current == token && *expires > now)
            .map(|(appid, _)| appid.clone())
    }
}

/// WeChat's answer to a token that is not current.
pub(crate) fn invalid_token() -> HttpResponse {
    error(
        40001,
        "invalid credential, access_token is invalid or not latest",
    )
}

pub(crate) fn error(errcode: i64, errmsg: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "errcode": errcode, "errmsg": errmsg }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct StableTokenRequest {
    grant_type: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
    #[serde(default)]
    force_refresh: bool,
}

pub(crate) async fn stable_token(
    sim: web::Data<Arc<Sim>>,
    request: web::Json<StableTokenRequest>,
) -> HttpResponse {
    if request.grant_type.as_deref() != Some("client_credential") {
        return error(40002, "invalid grant_type");
    }
    let mut state = sim.state();
    let appid = request.appid.clone().unwrap_or_default();
    let Some(merchant) = state.merchant_by_appid(&appid) else {
        return error(40013, "invalid appid");
    };
    if request.secret.as_deref() != Some(merchant.config.app_secret.as_str()) {
        return error(40125, "invalid appsecret");
    }
    let now = Instant::now();
    let reuse = state
        .tokens
        .current
        .get(&appid)
        .filter(|(_, expires)| !request.force_refresh && *expires > now)
        .cloned();
    let (token, expires) = match reuse {
        Some(current) => current,
        None => {
            let token = format!(
                "{}{}",
                ids::login_code(&mut state.rng),
                ids::login_code(&mut state.rng)
            );
            let expires = now + sim.scale.real(TOKEN_LIFETIME);
            state.tokens.current.insert(appid, (token.clone(), expires));
            state.tokens.issued += 1;
            (token, expires)
        }
    };
    let left = sim.scale.simulated(expires.saturating_duration_since(now));
    HttpResponse::Ok().json(json!({ "access_token": token, "expires_in": left.as_secs() }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    pub(crate) access_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PhoneRequest {
    code: Option<String>,
}

pub(crate) async fn phone_number(
    sim: web::Data<Arc<Sim>>,
    query: web::Query<TokenQuery>,
    request: web::Json<PhoneRequest>,
) -> HttpResponse {
    let mut state = sim.state();
    let now = Instant::now();
    let token = query.access_token.as_deref().unwrap_or_default();
    let Some(appid) = state.tokens.appid_of(token, now) else {
        return invalid_token();
    };
    let code = request.code.as_deref().unwrap_or_default();
    let entry = state
        .tokens
        .phone_codes
        .get_mut(code)
        .filter(|c| c.appid == appid && !c.used && c.issued.elapsed() < PHONE_CODE_LIFETIME);
    let Some(entry) = entry else {
        return error(40029, "invalid code");
    };
    entry.used = true;
    let phone = entry.phone.clone();
    let watermark_appid = entry.watermark.appid.clone().unwrap_or(appid);
    let timestamp = crate::clock::now().unix_timestamp() + entry.watermark.shift_secs.unwrap_or(0);
    HttpResponse::Ok().json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": phone,
            "purePhoneNumber": phone,
            // WeChat's example has the number, its reference a string.
            "countryCode": 86,
            "watermark": { "timestamp": timestamp, "appid": watermark_appid },
        }
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SimPhoneRequest {
    appid: String,
    phone: Option<String>,
    /// For tests of the merchant's checks: a watermark naming another app, or a time
    /// `shift_secs` away from now.
    #[serde(default)]
    watermark: Watermark,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Watermark {
    appid: Option<String>,
    shift_secs: Option<i64>,
}

/// Plays the getPhoneNumber button: a phone code for `phone` (default 13800138000), with
/// the reply's watermark as `watermark` says (default: this app, now).
pub(crate) async fn sim_phone(
    sim: web::Data<Arc<Sim>>,
    request: web::Json<SimPhoneRequest>,
) -> HttpResponse {
    let mut state = sim.state();
    if state.merchant_by_appid(&request.appid).is_none() {
        return crate::control::bad_request(format!("unknown appid {}", request.appid));
    }
    let code = format!(
        "{}{}",
        ids::login_code(&mut state.rng),
        ids::login_code(&mut state.rng)
    );
    let phone = request
        .phone
        .clone()
        .unwrap_or_else(|| "13800138000".to_owned());
    state.tokens.phone_codes.insert(
        code.clone(),
        PhoneCode {
            appid: request.appid.clone(),
            phone,
            watermark: request.watermark.clone(),
            issued: Instant::now(),
            used: false,
        },
    );
    HttpResponse::Ok().json(json!({ "code": code }))
}

/// `GET /sim/access-tokens`: how many tokens were issued.
pub(crate) async fn issued(sim: web::Data<Arc<Sim>>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "issued": sim.state().tokens.issued }))
}

/// `POST /sim/access-tokens/expire`: every current token expires now.
pub(crate) async fn expire(sim: web::Data<Arc<Sim>>) -> HttpResponse {
    let now = Instant::now();
    for (_, expires) in sim.state().tokens.current.values_mut() {
        *expires = now;
    }
    HttpResponse::Ok().json(json!({ "expired": true }))
}
