//! Mini Program login: `GET /sns/jscode2session` (WeChat's endpoint) and the
//! `POST /sim/login` control call that plays `wx.login`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wxpay_core::SessionKey;

use crate::faults::{Endpoint, FaultKind};
use crate::ids;
use crate::state::{CODE_TTL, LOGINS_PER_MINUTE, LoginCode, Sim, SimState, User};

#[derive(Debug, Deserialize)]
pub(crate) struct Code2SessionQuery {
    appid: Option<String>,
    secret: Option<String>,
    js_code: Option<String>,
    grant_type: Option<String>,
}

/// WeChat's error reply: `{errcode, errmsg}` with a `rid` suffix, HTTP 200.
fn wechat_error(rng: &mut StdRng, errcode: i64, message: &str) -> HttpResponse {
    let rid = ids::rid(rng);
    HttpResponse::Ok().json(json!({
        "errcode": errcode,
        "errmsg": format!("{message} rid: {rid}"),
    }))
}

pub(crate) async fn code2session(
    sim: web::Data<Arc<Sim>>,
    query: web::Query<Code2SessionQuery>,
) -> HttpResponse {
    let (reply, fault) = {
        let mut state = sim.state();
        let fault = state.take_fault(Endpoint::Jscode2session);
        let reply = match fault.as_ref().map(|f| (f.kind, f.status)) {
            Some((FaultKind::Busy, _)) => wechat_error(&mut state.rng, -1, "system error"),
            Some((FaultKind::Http5xx, status)) => crate::http_status(status.unwrap_or(500)),
            _ => exchange(&sim, &mut state, &query)
                .unwrap_or_else(|(code, message)| wechat_error(&mut state.rng, code, message)),
        };
        (reply, fault)
    };
    if let Some(fault) = fault.filter(|f| matches!(f.kind, FaultKind::Delay | FaultKind::Timeout)) {
        tokio::time::sleep(fault.delay()).await;
    }
    reply
}

type WeChatError = (i64, &'static str);

const INVALID_CODE: WeChatError = (40029, "invalid code");

/// The exchange proper: the checks WeChat makes, in its order.
fn exchange(
    sim: &Sim,
    state: &mut SimState,
    query: &Code2SessionQuery,
) -> Result<HttpResponse, WeChatError> {
    let (Some(appid), Some(secret), Some(js_code)) = (&query.appid, &query.secret, &query.js_code)
    else {
        return Err((41008, "missing appid, secret or js_code"));
    };
    if query.grant_type.as_deref() != Some("authorization_code") {
        return Err((40002, "invalid grant_type"));
    }
    let merchant = state
        .merchant_by_appid(appid)
        .ok_or((40013, "invalid appid"))?;
    if merchant.config.app_secret != *secret {
        return Err((40125, "invalid appsecret"));
    }
    let unionid_enabled = merchant.config.unionid;
    let SimState {
        codes, users, rng, ..
    } = state;
    let code = codes.get_mut(js_code.as_str()).ok_or(INVALID_CODE)?;
    if code.appid != *appid || sim.elapsed(code.issued, CODE_TTL) {
        return Err(INVALID_CODE);
    }
    if code.used {
        return Err((40163, "code been used"));
    }
    let user = users
        .get_mut(&(appid.clone(), code.openid.clone()))
        .ok_or(INVALID_CODE)?;
    if user.blocked {
        return Err((40226, "code blocked"));
    }
    let now = Instant::now();
    let minute = sim.scale.real(Duration::from_secs(60));
    user.recent_logins
        .retain(|at| now.duration_since(*at) < minute);
    if user.recent_logins.len() >= LOGINS_PER_MINUTE {
        return Err((
            45011,
            "api minute-quota reach limit mustslower retry next minute",
        ));
    }
    user.recent_logins.push_back(now);
    code.used = true;
    // Each login issues a fresh session_key; the previous one stops working.
    user.session_key = SessionKey::from_bytes(ids::session_key_bytes(rng));
    let mut body = serde_json::Map::new();
    body.insert("openid".into(), json!(code.openid));
    body.insert(
        "session_key".into(),
        json!(user.session_key.expose_base64()),
    );
    if unionid_enabled {
        let unionid = user.unionid.get_or_insert_with(|| ids::openid(rng));
        body.insert("unionid".into(), json!(unionid));
    }
    // Successful replies carry no errcode, as developers report of the real service.
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SimLoginRequest {
    appid: String,
    #[serde(default)]
    openid: Option<String>,
    /// Make WeChat's risk control intercept this user's logins (errcode 40226).
    #[serde(default)]
    blocked: Option<bool>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SimLoginResponse {
    code: String,
    openid: String,
}

/// Plays `wx.login`: a fresh one-time code for a new user, or for `openid` if given.
pub(crate) async fn sim_login(
    sim: web::Data<Arc<Sim>>,
    request: web::Json<SimLoginRequest>,
) -> HttpResponse {
    let mut state = sim.state();
    if state.merchant_by_appid(&request.appid).is_none() {
        return crate::control::bad_request(format!("unknown appid {}", request.appid));
    }
    let openid = match &request.openid {
        Some(openid) if openid.is_empty() || openid.len() > 128 => {
            return crate::control::bad_request("openid must be 1 to 128 characters".into());
        }
        Some(openid) => openid.clone(),
        None => ids::openid(&mut state.rng),
    };
    let user_key = (request.appid.clone(), openid.clone());
    if !state.users.contains_key(&user_key) {
        let session_key = SessionKey::from_bytes(ids::session_key_bytes(&mut state.rng));
        state.users.insert(
            user_key.clone(),
            User {
                session_key,
                unionid: None,
                blocked: false,
                recent_logins: VecDeque::new(),
            },
        );
    }
    if let (Some(blocked), Some(user)) = (request.blocked, state.users.get_mut(&user_key)) {
        user.blocked = blocked;
    }
    let code = ids::login_code(&mut state.rng);
    state.codes.insert(
        code.clone(),
        LoginCode {
            appid: request.appid.clone(),
            openid: openid.clone(),
            issued: Instant::now(),
            used: false,
        },
    );
    HttpResponse::Ok().json(SimLoginResponse { code, openid })
}
