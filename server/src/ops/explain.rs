//! `wxpay explain`: why would WeChat refuse these payment params, or why does this notify
//! or message push not verify? The npm package's explainer (`wxpay-sign`'s checkPaymentParams and
//! checkV3PaymentParams: the crate `wxpay-wasm`, linked natively here, so both give the
//! same codes), plus the notify checks, printed as JSON: every problem with its code, the
//! canonical string or signed message, and the expected signature beside the given one.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value, json};
use wxpay_core::ApiKey;
use wxpay_core::v2::notify::verify_pay_notify;
use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::xml;
use wxpay_core::v3::notify::verify_notify;
use wxpay_core::v3::verify::SignatureHeaders;
use wxpay_wasm::explain::{CheckOptions, Fields, Given, Problem, Report};

use super::io::{print, read_input};

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// Environment variable holding a v2 (sandbox or debug) API key: checks paySign / a v2
    /// notify's sign. Never given on the command line.
    #[arg(long, default_value = "WXPAY_API_KEY")]
    key_env: String,
    /// v3 params: the merchant certificate (apiclient_cert.pem) or its public key.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// v3 notify: WeChat's key as SERIAL=FILE (platform certificate or public key PEM).
    #[arg(long = "wechat-key")]
    wechat_keys: Vec<String>,
    /// Message push: environment variable holding the push Token.
    #[arg(long, default_value = "WXPAY_SHIPPING__PUSH_TOKEN")]
    push_token_env: String,
    /// Message push: environment variable holding the EncodingAESKey.
    #[arg(long, default_value = "WXPAY_SHIPPING__PUSH_AES_KEY")]
    push_key_env: String,
    /// Message push: the mini program's appid (default: WXPAY_WECHAT__APPID).
    #[arg(long)]
    appid: Option<String>,
    /// Message push: how far its timestamp may be from now.
    #[arg(long, default_value_t = 600)]
    max_age_secs: i64,
    /// Unix seconds to check timestamps at (default: now), for old captures.
    #[arg(long)]
    now: Option<i64>,
    /// A JSON object of wx.requestPayment params with `appId`, a v2 notify (XML), a v3
    /// notify as `{"headers": {...}, "body": "..."}`, or a message push as
    /// `{"query": {...} or "URL", "body": "..."}`; stdin when absent.
    file: Option<PathBuf>,
}

pub(crate) fn explain_command(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let input = String::from_utf8(read_input(args.file.as_ref())?)
        .map_err(|_| anyhow::anyhow!("the input is not UTF-8 text"))?;
    let now = args
        .now
        .unwrap_or_else(|| crate::base::clock::now_ms() / 1000);
    let key = std::env::var(&args.key_env).ok().filter(|k| !k.is_empty());
    let text = input.trim();
    let explained = if text.starts_with('<') {
        v2_notify(text, key.as_deref())?
    } else {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("the input is neither XML nor a JSON object: {e}"))?;
        let object = value
            .as_object()
            .ok_or_else(|| anyhow::anyhow!("the input must be a JSON object"))?;
        if object.contains_key("headers") && object.contains_key("body") {
            v3_notify(object, &args.wechat_keys, now)?
        } else if object.contains_key("query") {
            let settings = super::explain_push::PushSettings {
                token_env: &args.push_token_env,
                key_env: &args.push_key_env,
                appid: args.appid.as_deref(),
                max_age_secs: args.max_age_secs,
            };
            super::explain_push::push(object, &settings, now)?
        } else {
            params(object, key, args.cert.as_ref(), now)?
        }
    };
    let ok = explained
        .get("problems")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty);
    print(&explained);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn problems(list: &[Problem]) -> Value {
    list.iter()
        .map(|p| json!({ "field": p.field, "code": p.code, "message": p.message }))
        .collect()
}

/// Payment params: v3 when signType is RSA or paySign is base64 longer than v2's hex.
fn params(
    object: &serde_json::Map<String, Value>,
    key: Option<String>,
    cert: Option<&PathBuf>,
    now: i64,
) -> anyhow::Result<Value> {
    let fields: Fields = object
        .iter()
        .filter(|(name, _)| name.as_str() != "appId")
        .map(|(name, value)| (name.clone(), given(value)))
        .collect();
    let app_id = object
        .get("appId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let pay_sign = object
        .get("paySign")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let v3 = object.get("signType").and_then(Value::as_str) == Some("RSA") || pay_sign.len() > 64;
    let report: Report = if v3 {
        let pem = cert
            .map(|path| {
                std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
            })
            .transpose()?;
        let options = CheckOptions {
            app_id,
            key: pem,
            now: Some(now),
        };
        wxpay_wasm::v3::explain::check(&fields, &options)
    } else {
        let options = CheckOptions {
            app_id,
            key,
            now: Some(now),
        };
        wxpay_wasm::explain::check(&fields, &options)
    }
    .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
    Ok(json!({
        "kind": if v3 { "v3 payment params" } else { "v2 payment params" },
        "problems": problems(&report.problems),
        "canonical": report.canonical,
        "expected": report.expected_pay_sign,
        "given": pay_sign,
    }))
}

fn given(value: &Value) -> Given {
    match value {
        Value::String(s) => Given::Str(s.clone()),
        Value::Number(n) => Given::Num(n.to_string()),
        Value::Null => Given::Null,
        Value::Bool(_) => Given::Other("boolean"),
        Value::Array(_) => Given::Other("array"),
        Value::Object(_) => Given::Other("object"),
    }
}

fn v2_notify(text: &str, key: Option<&str>) -> anyhow::Result<Value> {
    let params = xml::parse(text.as_bytes()).map_err(|e| anyhow::anyhow!("not WeChat XML: {e}"))?;
    let given = params.get("sign").unwrap_or_default().to_owned();
    let sign_type = match params.get("sign_type") {
        Some(named) => named.parse().unwrap_or_default(),
        None => SignType::from_sign_len(given.len()).unwrap_or_default(),
    };
    let mut found = Vec::new();
    let mut expected = None;
    match key.map(ApiKey::new) {
        None => found.push(json!({
            "field": "key", "code": "KEY_REQUIRED",
            "message": "a v2 notify is checked with the API key: put a sandbox or debug key in the key variable",
        })),
        Some(Err(e)) => anyhow::bail!("the API key: {e}"),
        Some(Ok(key)) => {
            expected = Some(sign::sign(&params, &key, sign_type).as_str().to_owned());
            if let Err(error) = verify_pay_notify(text.as_bytes(), &key, None) {
                found.push(json!({ "field": "sign", "code": notify_code(&error), "message": error.to_string() }));
            }
        }
    }
    Ok(json!({
        "kind": "v2 notify",
        "sign_type": sign_type.as_str(),
        "problems": found,
        "canonical": params.canonical_string(),
        "expected": expected,
        "given": given,
    }))
}

fn notify_code(error: &wxpay_core::v2::notify::NotifyError) -> &'static str {
    use wxpay_core::v2::notify::NotifyError;
    match error {
        NotifyError::Xml(_) => "INVALID_XML",
        NotifyError::ReturnFail { .. } => "RETURN_FAIL",
        NotifyError::Signature(_) => "BAD_SIGNATURE",
        NotifyError::ResultFail { .. } => "RESULT_FAIL",
        NotifyError::MissingField(_) | NotifyError::InvalidField { .. } => "INVALID_NOTIFY",
    }
}

fn v3_notify(
    object: &serde_json::Map<String, Value>,
    wechat_keys: &[String],
    now: i64,
) -> anyhow::Result<Value> {
    let headers = object
        .get("headers")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow::anyhow!("headers must be an object of header names to values"))?;
    let body = object
        .get("body")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("body must be the raw body as a string"))?;
    let lookup = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    };
    let canonical = format!(
        "{}\n{}\n{body}\n",
        lookup("Wechatpay-Timestamp").unwrap_or_default(),
        lookup("Wechatpay-Nonce").unwrap_or_default()
    );
    let mut found = Vec::new();
    if wechat_keys.is_empty() {
        found.push(json!({
            "field": "key", "code": "KEY_REQUIRED",
            "message": "give WeChat's key: --wechat-key SERIAL=FILE (the one Wechatpay-Serial names)",
        }));
    } else {
        let keys = super::sign_v3::key_set(wechat_keys)?;
        let outcome = SignatureHeaders::from_lookup(lookup)
            .map_err(wxpay_core::v3::notify::NotifyError::from)
            .and_then(|signature| verify_notify(&keys, &signature, body.as_bytes(), now));
        if let Err(error) = outcome {
            let (code, message) = match &error {
                wxpay_core::v3::notify::NotifyError::Verify(v) => {
                    let e = wxpay_wasm::v3::verify_error(v, body.as_bytes());
                    (e.code, e.message)
                }
                other => ("INVALID_NOTIFY", other.to_string()),
            };
            found.push(json!({ "field": "signature", "code": code, "message": message }));
        }
    }
    Ok(json!({
        "kind": "v3 notify",
        "problems": found,
        "canonical": canonical,
        "given": lookup("Wechatpay-Signature"),
    }))
}
