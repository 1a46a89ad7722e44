//! `wxpay doctor --online`: what only WeChat can say. A signed, harmless query for an order
//! that does not exist (accepted credentials answer "no such order"); on v3 WeChat's
//! `SIGN_ERROR` decoded into which part was wrong (the serial, the clock, the key, or the
//! message WeChat rebuilt); whether the merchant has platform certificates at all (a
//! merchant on a WeChat Pay public key gets 404 there); the clock against WeChat's `Date`.

use std::time::Duration;

use serde_json::Value;
use wxpay_client::v3::{V3PayClient, V3PayError};
use wxpay_client::{PayClient, PayError};

use super::report::{Report, Status};
use crate::config::Settings;
use crate::config::v3::KeyMode;

/// An out_trade_no no order has (`wxpay-doctor-` + the time): the query changes nothing.
fn probe_order_no() -> String {
    format!("wxpaydoctor{}", crate::base::clock::now_ms())
}

/// How far this machine's clock may be from WeChat's before it matters (v3 refuses
/// requests 300 s off; v2 time_expire and notifies suffer well before).
const MAX_SKEW_SECS: i64 = 60;

pub(crate) async fn check(settings: &Settings, report: &mut Report) {
    let Ok(credentials) = settings.credentials() else {
        report.push(
            "online",
            Status::Warn,
            "skipped: the credentials do not load",
            "fix the errors above first",
        );
        return;
    };
    let options = settings.wechat.client_options();
    let base = &settings.wechat.pay_base_url;
    check_clock(base, report).await;
    trade_managed(settings, &credentials, &options, report).await;
    if let Some((key, sign_type)) = &credentials.v2 {
        match PayClient::new(
            base,
            &credentials.appid,
            &credentials.mch_id,
            key.clone(),
            &options,
        ) {
            Ok(pay) => v2_query(&pay, *sign_type, report).await,
            Err(error) => report.push("v2_online", Status::Error, error.to_string(), ""),
        }
    }
    if let Some(v3) = &credentials.v3 {
        match V3PayClient::new(base, v3.clone(), &options) {
            Ok(client) => {
                let mode = settings.wechat.v3.key_mode().unwrap_or(KeyMode::PublicKey);
                v3_query(&client, report).await;
                v3_key_mode(&client, mode, report).await;
            }
            Err(error) => report.push("v3_online", Status::Error, error.to_string(), ""),
        }
    }
}

async fn v2_query(pay: &PayClient, sign_type: wxpay_core::v2::sign::SignType, report: &mut Report) {
    match pay.order_query(&probe_order_no(), sign_type).await {
        Err(PayError::Business { err_code, .. }) if err_code == "ORDERNOTEXIST" => report.push(
            "v2_online",
            Status::Ok,
            format!("WeChat accepted a signed orderquery ({sign_type}; ORDERNOTEXIST for a made-up order)"),
            "",
        ),
        Err(PayError::Return { return_msg }) if return_msg.contains("签名错误") || return_msg.to_ascii_lowercase().contains("sign") => {
            report.push(
                "v2_online",
                Status::Error,
                format!("WeChat: {return_msg}: the API key is not this merchant's (or {sign_type} is not how it signs)"),
                "copy the API key again from pay.weixin.qq.com -> API安全 (it is not the AppSecret nor the APIv3 key)",
            );
        }
        Err(PayError::Return { return_msg }) => report.push(
            "v2_online",
            Status::Error,
            format!("WeChat refused the request: {return_msg}"),
            "appid and mch_id must be bound to each other (商户号关联 AppID)",
        ),
        Err(PayError::BadSignature) => report.push(
            "v2_online",
            Status::Error,
            "WeChat's reply did not verify with the API key",
            "the API key is not this merchant's",
        ),
        Ok(_) => report.push("v2_online", Status::Ok, "WeChat accepted a signed orderquery", ""),
        Err(error) => report.push(
            "v2_online",
            Status::Error,
            format!("no usable answer: {error}"),
            "check wechat.pay_base_url and the network",
        ),
    }
}

async fn v3_query(client: &V3PayClient, report: &mut Report) {
    let out_trade_no = probe_order_no();
    match client.query_by_out_trade_no(&out_trade_no).await {
        Err(V3PayError::Api { code, .. }) if code == "ORDER_NOT_EXIST" || code == "RESOURCE_NOT_EXISTS" => report.push(
            "v3_online",
            Status::Ok,
            "WeChat accepted a signed query and its reply verified (no such order, as expected)",
            "",
        ),
        Ok(_) => report.push("v3_online", Status::Ok, "WeChat accepted a signed query", ""),
        Err(V3PayError::Api { code, message, detail, .. }) if code == "SIGN_ERROR" => {
            let (found, fix) = sign_error(&message, detail.as_ref(), &out_trade_no);
            report.push("v3_online", Status::Error, found, fix);
        }
        Err(V3PayError::Unverified { reason, .. }) => report.push(
            "v3_online",
            Status::Error,
            format!("WeChat's reply did not verify: {reason}"),
            "wechat.v3: WeChat's public key (or platform certificates) and key_mode must be this merchant's",
        ),
        Err(error) => report.push(
            "v3_online",
            Status::Error,
            format!("no usable answer: {error}"),
            "check wechat.pay_base_url and the network",
        ),
    }
}

/// WeChat's `SIGN_ERROR`, decoded: which part of the request it objects to.
fn sign_error(message: &str, detail: Option<&Value>, out_trade_no: &str) -> (String, &'static str) {
    if message.contains("序列号") || message.to_ascii_lowercase().contains("serial") {
        return (
            format!("WeChat: {message}"),
            "the serial sent is not your API certificate's: use your current apiclient_cert.pem (or its serial)",
        );
    }
    if message.contains("时间戳") || message.contains("timestamp") {
        return (
            format!("WeChat: {message}"),
            "this machine's clock is off: synchronise it (NTP)",
        );
    }
    let info = detail.and_then(|d| d.get("sign_information"));
    let seen_url = info.and_then(|i| i["url"].as_str()).unwrap_or_default();
    let expected_url = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}");
    if info.is_some() && !seen_url.starts_with(&expected_url) {
        return (
            format!(
                "WeChat verified the signature over URL {seen_url:?}, the request signed {expected_url:?}..."
            ),
            "something between this server and WeChat rewrites the request (a proxy changing the path or query)",
        );
    }
    (
        format!(
            "WeChat rebuilt the same message ({}) but the signature does not verify",
            if info.is_some() {
                format!("GET {seen_url}")
            } else {
                "no detail".to_owned()
            }
        ),
        "the private key is not the one of the certificate WeChat has for this serial: wechat.v3.private_key_file must be the apiclient_key.pem of that apiclient_cert.pem",
    )
}

/// A merchant on a WeChat Pay public key has no platform certificates (404): configured
/// for certificates it can verify nothing.
async fn v3_key_mode(client: &V3PayClient, mode: KeyMode, report: &mut Report) {
    if mode == KeyMode::PublicKey {
        return;
    }
    match client.download_certificates().await {
        Ok(serials) => report.push(
            "v3_key_mode",
            Status::Ok,
            format!("WeChat has {} platform certificate(s) for this merchant", serials.len()),
            "",
        ),
        Err(V3PayError::Api { status: 404, .. }) => report.push(
            "v3_key_mode",
            Status::Error,
            format!("key_mode is {mode:?} but WeChat has no platform certificates for this merchant (404): it verifies with a WeChat Pay public key"),
            "key_mode = \"public_key\" with public_key_id and public_key_file from the merchant platform -> API安全 -> 微信支付公钥",
        ),
        Err(error) => report.push(
            "v3_key_mode",
            Status::Warn,
            format!("/v3/certificates: {error}"),
            "",
        ),
    }
}

/// The clock against WeChat's `Date` header.
async fn check_clock(base: &str, report: &mut Report) {
    let date = async {
        let options = wxpay_client::ClientOptions {
            request_timeout: Duration::from_secs(5),
            ..Default::default()
        };
        let response = wxpay_client::build_http_client(&options)
            .ok()?
            .get(base)
            .send()
            .await
            .ok()?;
        let text = response
            .headers()
            .get(reqwest::header::DATE)?
            .to_str()
            .ok()?
            .to_owned();
        let at = httpdate::parse_http_date(&text).ok()?;
        let secs = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        i64::try_from(secs).ok()
    }
    .await;
    let Some(theirs) = date else {
        report.push(
            "clock",
            Status::Warn,
            "WeChat sent no Date header to compare with",
            "",
        );
        return;
    };
    let skew = crate::base::clock::now_ms() / 1000 - theirs;
    if skew.abs() > MAX_SKEW_SECS {
        report.push(
            "clock",
            Status::Error,
            format!("this machine's clock is {skew} s from WeChat's"),
            "synchronise it (NTP): v3 refuses requests 300 s off, and expiries drift",
        );
    } else {
        report.push("clock", Status::Ok, format!("{skew} s from WeChat's"), "");
    }
}

/// Whether WeChat says the Mini Program is in the order-shipping service, against
/// `shipping.enabled`: enrolled but not enabled leaves every payment's money frozen.
async fn trade_managed(
    settings: &Settings,
    credentials: &crate::config::Credentials,
    options: &wxpay_client::ClientOptions,
    report: &mut Report,
) {
    let login = match wxpay_client::LoginClient::new(
        &settings.wechat.mp_base_url,
        &credentials.appid,
        credentials.app_secret.clone(),
        options,
    ) {
        Ok(login) => login,
        Err(error) => return report.push("trade_managed", Status::Error, error.to_string(), ""),
    };
    let managed = match login.stable_token(false).await {
        Ok(token) => login.is_trade_managed(&token.token).await,
        Err(error) => Err(error),
    };
    let enabled = settings.shipping.enabled;
    match managed {
        Ok(true) if enabled => report.ok(
            "trade_managed",
            "WeChat: the Mini Program is in the order-shipping service, and shipping.enabled is on",
        ),
        Ok(false) if !enabled => report.ok(
            "trade_managed",
            "WeChat: the Mini Program is not in the order-shipping service (shipping.enabled off)",
        ),
        Ok(true) => report.push(
            "trade_managed",
            Status::Error,
            "WeChat: the Mini Program is in the order-shipping service, but shipping.enabled is off",
            "its payments settle only after their shipping is uploaded: set shipping.enabled and upload (POST /v1/admin/orders/{no}/shipping)",
        ),
        Ok(false) => report.push(
            "trade_managed",
            Status::Warn,
            "WeChat: the Mini Program is not in the order-shipping service, but shipping.enabled is on",
            "paid orders show shipping_status pending for nothing: turn shipping.enabled off",
        ),
        Err(error) => report.push(
            "trade_managed",
            Status::Warn,
            format!("could not ask WeChat is_trade_managed: {error}"),
            "check appid and app secret (the access_token)",
        ),
    }
}
