//! `wxpay doctor`'s key checks: which secret is which (the app secret, the v2 API key and
//! the APIv3 key are three different 32-character values), and whose certificate or public
//! key each v3 file holds (the merchant's `apiclient_cert.pem` carries CN = mch_id;
//! WeChat's platform certificates and public key do not).

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use wxpay_core::v3::keys::{check_public_key_id, public_key_from_pem};
use wxpay_core::v3::{Certificate, RsaPrivateKey};

use super::report::{Report, Status};
use crate::config::Settings;

/// The three secrets: their shapes, and none equal to another.
pub(crate) fn check_secrets(settings: &Settings, report: &mut Report) {
    let w = &settings.wechat;
    let present = |s: &Option<SecretString>| s.clone().filter(|s| !s.expose_secret().is_empty());
    let app_secret = present(&w.app_secret);
    let api_key = present(&w.api_key);
    let apiv3_key = present(&w.v3.apiv3_key);
    if let Some(secret) = &app_secret {
        let text = secret.expose_secret();
        if text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            report.push("app_secret", Status::Ok, shape(secret), "");
        } else {
            report.push(
                "app_secret",
                Status::Warn,
                format!(
                    "{}: a Mini Program's AppSecret is 32 hex characters",
                    shape(secret)
                ),
                "copy it from mp.weixin.qq.com -> 开发管理 -> 开发设置 (AppSecret)",
            );
        }
    }
    if let Some(key) = &api_key {
        let text = key.expose_secret();
        if text.len() == 32 && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            report.push("api_key", Status::Ok, shape(key), "");
        } else {
            report.push(
                "api_key",
                Status::Error,
                format!("{}: the v2 API key is 32 letters and digits", shape(key)),
                "set it at pay.weixin.qq.com -> 账户中心 -> API安全 -> API密钥",
            );
        }
    }
    let same = |a: &Option<SecretString>, b: &Option<SecretString>| match (a, b) {
        (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
        _ => false,
    };
    if same(&app_secret, &api_key) {
        report.push(
            "secrets_distinct",
            Status::Error,
            "wechat.app_secret and wechat.api_key are the same value",
            "the AppSecret (Mini Program, code2session) and the API key (merchant platform, signing) are different secrets",
        );
    } else if looks_swapped(app_secret.as_ref(), api_key.as_ref()) {
        report.push(
            "secrets_distinct",
            Status::Warn,
            "wechat.app_secret is not hex but wechat.api_key is: they may be swapped",
            "the AppSecret is 32 hex characters; the API key is whatever the merchant set",
        );
    }
    if same(&apiv3_key, &api_key) {
        report.push(
            "secrets_distinct",
            Status::Error,
            "wechat.v3.apiv3_key is the v2 API key",
            "the APIv3 key is set separately at pay.weixin.qq.com -> API安全 -> APIv3密钥",
        );
    }
    if same(&apiv3_key, &app_secret) {
        report.push(
            "secrets_distinct",
            Status::Error,
            "wechat.v3.apiv3_key is the AppSecret",
            "the APIv3 key comes from the merchant platform, not from the Mini Program",
        );
    }
    if report.status_of("secrets_distinct").is_none() && app_secret.is_some() {
        report.push("secrets_distinct", Status::Ok, "no secret reused", "");
    }
}

fn looks_swapped(app_secret: Option<&SecretString>, api_key: Option<&SecretString>) -> bool {
    let hex = |s: &SecretString| s.expose_secret().bytes().all(|b| b.is_ascii_hexdigit());
    matches!((app_secret, api_key), (Some(secret), Some(key)) if !hex(secret) && hex(key))
}

/// The v3 files: the merchant's certificate is the merchant's and current; WeChat's are
/// WeChat's (not the merchant's own) and current; the public key is WeChat's.
pub(crate) fn check_v3_files(settings: &Settings, report: &mut Report) {
    let v3 = &settings.wechat.v3;
    let mch_id = settings.wechat.mch_id.as_deref().unwrap_or_default();
    let now = crate::base::clock::now_ms() / 1000;
    if let Some(pem) = text(
        v3.certificate_file.as_deref(),
        v3.certificate_pem.as_deref(),
    ) {
        match Certificate::from_pem(&pem) {
            Err(error) => report.push(
                "merchant_certificate",
                Status::Error,
                format!("wechat.v3.certificate_file: {error}"),
                "apiclient_cert.pem from the merchant platform's certificate tool",
            ),
            Ok(cert) if common_name(&cert) != mch_id => report.push(
                "merchant_certificate",
                Status::Error,
                format!(
                    "its CN is {:?}, not the mch_id {mch_id}: this is not your apiclient_cert.pem (WeChat's platform certificate?)",
                    common_name(&cert)
                ),
                "wechat.v3.certificate_file is your apiclient_cert.pem; WeChat's certificates go in platform_certificate_files",
            ),
            Ok(cert) => current(report, "merchant_certificate", &cert, now, "yours"),
        }
    }
    for path in &v3.platform_certificate_files {
        match text(Some(path), None).map(|pem| Certificate::from_pem(&pem)) {
            Some(Ok(cert)) if common_name(&cert) == mch_id => report.push(
                "platform_certificate",
                Status::Error,
                format!("{}: CN {mch_id} is your own apiclient_cert.pem, not WeChat's", path.display()),
                "WeChat's platform certificates come from /v3/certificates (or leave the list empty: the server downloads them)",
            ),
            Some(Ok(cert)) => current(report, "platform_certificate", &cert, now, "WeChat's"),
            Some(Err(error)) => report.push(
                "platform_certificate",
                Status::Error,
                format!("{}: {error}", path.display()),
                "a WeChat Pay platform certificate (PEM)",
            ),
            None => report.push(
                "platform_certificate",
                Status::Error,
                format!("{} cannot be read", path.display()),
                "check the path",
            ),
        }
    }
    check_public_key_file(settings, report);
}

fn check_public_key_file(settings: &Settings, report: &mut Report) {
    let v3 = &settings.wechat.v3;
    let Some(pem) = text(v3.public_key_file.as_deref(), v3.public_key_pem.as_deref()) else {
        return;
    };
    let id = v3.public_key_id.as_deref().unwrap_or_default();
    if let Err(error) = check_public_key(id, &pem) {
        report.push(
            "wechat_public_key",
            Status::Error,
            error,
            "pub_key.pem and its id (PUB_KEY_ID_ and digits) from the merchant platform -> API安全 -> 微信支付公钥",
        );
        return;
    }
    let merchant = text(
        v3.private_key_file.as_deref(),
        v3.private_key_pem.as_ref().map(|k| k.expose_secret()),
    )
    .and_then(|pem| RsaPrivateKey::from_pem(&pem).ok());
    let key = wxpay_core::v3::keys::public_key_from_pem(&pem, "the WeChat Pay public key").ok();
    if let (Some(merchant), Some(key)) = (merchant, key)
        && merchant.public_key().pkcs1_der() == key.pkcs1_der()
    {
        report.push(
            "wechat_public_key",
            Status::Error,
            "wechat.v3.public_key_file is your own public key (it matches your private key)",
            "download WeChat Pay's public key (pub_key.pem) from the merchant platform",
        );
        return;
    }
    report.push(
        "wechat_public_key",
        Status::Ok,
        format!("{id}: WeChat's"),
        "",
    );
}

fn current(report: &mut Report, check: &'static str, cert: &Certificate, now: i64, whose: &str) {
    if cert.is_valid_at(now) {
        report.push(
            check,
            Status::Ok,
            format!(
                "{whose}, serial {}, valid until {}",
                cert.serial_no(),
                date(cert.not_after())
            ),
            "",
        );
    } else {
        report.push(
            check,
            Status::Error,
            format!(
                "serial {} is valid {} to {}: not now",
                cert.serial_no(),
                date(cert.not_before()),
                date(cert.not_after())
            ),
            "renew it on the merchant platform (or, for WeChat's, download the current one)",
        );
    }
}

fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| unix.to_string())
}

fn text(file: Option<&Path>, inline: Option<&str>) -> Option<String> {
    match (file, inline) {
        (Some(path), _) => std::fs::read_to_string(path).ok(),
        (None, Some(pem)) => Some(pem.to_owned()),
        (None, None) => None,
    }
}

/// A certificate's common name, for telling the merchant's (CN = mch_id) from WeChat's.
fn common_name(certificate: &Certificate) -> &str {
    certificate.common_name().unwrap_or_default()
}

/// The public key id and the key's parse, as one finding.
fn check_public_key(id: &str, pem: &str) -> Result<(), String> {
    check_public_key_id(id).map_err(|e| format!("public_key_id {id:?}: {e}"))?;
    public_key_from_pem(pem, "the WeChat Pay public key")
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// `secret` described without showing it: its length and character classes.
fn shape(secret: &SecretString) -> String {
    let text = secret.expose_secret();
    let hex = !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit());
    let alnum = text.bytes().all(|b| b.is_ascii_alphanumeric());
    format!(
        "{} characters, {}",
        text.chars().count(),
        if hex {
            "hex"
        } else if alnum {
            "letters and digits"
        } else {
            "other characters too"
        }
    )
}
