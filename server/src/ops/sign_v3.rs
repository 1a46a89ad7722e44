//! `wxpay sign --v3` and `wxpay verify-notify --v3`: API v3 support helpers. Keys come
//! from files and environment variables and are never printed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value, json};
use wxpay_core::v3::request::authorize;
use wxpay_core::v3::verify::SignatureHeaders;
use wxpay_core::v3::{
    ApiV3Key, KeySet, RequestToSign, RsaPrivateKey, VerifiedNotify, VerifyError, verify_notify,
};

use super::io::{print, read_input};

/// `sign --v3`: the request's Authorization header.
#[derive(Debug, Args)]
pub(crate) struct SignV3Args {
    /// HTTP method (upper case).
    #[arg(long, default_value = "POST", requires = "v3")]
    pub method: String,
    /// The path and raw query exactly as sent, e.g. /v3/pay/transactions/jsapi.
    #[arg(long, requires = "v3")]
    pub url: Option<String>,
    #[arg(long, requires = "v3")]
    pub mchid: Option<String>,
    /// The merchant API certificate's serial.
    #[arg(long, requires = "v3")]
    pub serial: Option<String>,
    /// apiclient_key.pem (read, never printed).
    #[arg(long, requires = "v3")]
    pub private_key: Option<PathBuf>,
    /// Unix seconds (default: now).
    #[arg(long, requires = "v3")]
    pub timestamp: Option<i64>,
    /// Default: random, 32 characters.
    #[arg(long, requires = "v3")]
    pub nonce: Option<String>,
}

/// `verify-notify --v3`: a captured notify, its headers and body.
#[derive(Debug, Args)]
pub(crate) struct VerifyV3Args {
    /// The notify's headers: `Name: value` lines (as captured) or a JSON object.
    #[arg(long, requires = "v3")]
    pub headers: Option<PathBuf>,
    /// WeChat's keys as SERIAL=FILE (a platform certificate or the public key PEM), one
    /// per flag: `--key PUB_KEY_ID_...=pub_key.pem`.
    #[arg(long = "key", requires = "v3")]
    pub keys: Vec<String>,
    /// Environment variable holding the APIv3 key, to decrypt the resource (optional).
    #[arg(long, default_value = "WXPAY_APIV3_KEY", requires = "v3")]
    pub apiv3_key_env: String,
    /// Check the time window at this Unix time (default: now). A capture older than
    /// 300 s fails the window: pass its Wechatpay-Timestamp to check the signature alone.
    #[arg(long, requires = "v3")]
    pub now: Option<i64>,
}

fn required<'a, T>(value: &'a Option<T>, flag: &str) -> anyhow::Result<&'a T> {
    value
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("--v3 needs {flag}"))
}

fn unix_now() -> i64 {
    crate::base::clock::now_ms() / 1000
}

pub(crate) fn sign(args: &SignV3Args, body_file: Option<&PathBuf>) -> anyhow::Result<ExitCode> {
    let path = required(&args.private_key, "--private-key FILE")?;
    let pem = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let key = RsaPrivateKey::from_pem(&pem)
        .map_err(|e| anyhow::anyhow!("--private-key {}: {e}", path.display()))?;
    let body = match args.method.as_str() {
        "GET" | "DELETE" => Vec::new(),
        _ => read_input(body_file)?,
    };
    let nonce = args.nonce.clone().unwrap_or_else(crate::base::ids::nonce);
    let request = RequestToSign {
        method: &args.method,
        url: required(&args.url, "--url PATH")?,
        timestamp: args.timestamp.unwrap_or_else(unix_now),
        nonce: &nonce,
        body: &body,
    };
    let authorization = authorize(
        &key,
        required(&args.mchid, "--mchid")?,
        required(&args.serial, "--serial")?,
        &request,
    )?;
    print(&json!({
        "message": String::from_utf8_lossy(&request.message()?),
        "authorization": authorization.header_value(),
    }));
    Ok(ExitCode::SUCCESS)
}

/// `Name: value` lines or a JSON object, as (lower-case name, value).
fn parse_headers(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    if text.trim_start().starts_with('{') {
        let object: serde_json::Map<String, Value> = serde_json::from_str(text)?;
        return object
            .into_iter()
            .map(|(name, value)| match value {
                Value::String(v) => Ok((name.to_ascii_lowercase(), v)),
                Value::Number(n) => Ok((name.to_ascii_lowercase(), n.to_string())),
                _ => anyhow::bail!("header {name}: a string"),
            })
            .collect();
    }
    Ok(text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect())
}

pub(crate) fn key_set(specs: &[String]) -> anyhow::Result<KeySet> {
    let mut keys = KeySet::new();
    for spec in specs {
        let (serial, file) = spec
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--key takes SERIAL=FILE, not {spec:?}"))?;
        let pem = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("--key {serial}: cannot read {file}: {e}"))?;
        keys.add_pem(serial, &pem)
            .map_err(|e| anyhow::anyhow!("--key {serial}={file}: {e}"))?;
    }
    if keys.is_empty() {
        anyhow::bail!("--v3 needs WeChat's key: --key SERIAL=FILE (its certificate or public key)");
    }
    Ok(keys)
}

pub(crate) fn verify_notify_command(
    args: &VerifyV3Args,
    body_file: Option<&PathBuf>,
) -> anyhow::Result<ExitCode> {
    let path = required(&args.headers, "--headers FILE")?;
    let headers =
        parse_headers(&std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("cannot read the headers file {}: {e}", path.display())
        })?)?;
    let keys = key_set(&args.keys)?;
    let body = read_input(body_file)?;
    let lookup = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let outcome = SignatureHeaders::from_lookup(lookup)
        .map_err(wxpay_core::v3::notify::NotifyError::from)
        .and_then(|signature| {
            verify_notify(&keys, &signature, &body, args.now.unwrap_or_else(unix_now))
        });
    let notify = match outcome {
        Ok(notify) => notify,
        Err(error) => {
            let hint = matches!(
                error,
                wxpay_core::v3::notify::NotifyError::Verify(VerifyError::OutsideWindow { .. })
            )
            .then_some("a capture older than 300 s: pass --now <its Wechatpay-Timestamp> to check the signature alone");
            print(&json!({ "valid": false, "error": error.to_string(), "hint": hint }));
            return Ok(ExitCode::FAILURE);
        }
    };
    print(&describe(&notify, std::env::var(&args.apiv3_key_env).ok()));
    Ok(ExitCode::SUCCESS)
}

/// What a verified notify says; its resource decrypted when the APIv3 key is given.
fn describe(notify: &VerifiedNotify<'_>, apiv3_key: Option<String>) -> Value {
    let resource = match apiv3_key {
        None => json!("(not decrypted: set the APIv3 key in the environment)"),
        Some(key) => match ApiV3Key::new(key.trim_end_matches(['\n', '\r']))
            .map_err(|e| e.to_string())
            .and_then(|key| notify.decrypt(&key).map_err(|e| e.to_string()))
        {
            Ok(decrypted) => serde_json::from_str(&decrypted.plaintext).unwrap_or(Value::Null),
            Err(error) => json!({ "error": error }),
        },
    };
    json!({
        "valid": true,
        "serial": notify.serial(),
        "event_type": notify.event_type(),
        "id": notify.envelope().id,
        "resource": resource,
    })
}
