//! `wxpay explain` for a mini program's message push: the npm package's `explainPush`
//! (the crate `wxpay-wasm`, linked natively, so both give the same codes) over a captured
//! push `{"query": {...} | "the URL or query string", "body": "the raw body"}`, with the
//! Token and the EncodingAESKey read from the environment (never the command line), as
//! the server reads them.

use serde_json::{Map, Value};
use wxpay_wasm::push::PushQuery;
use wxpay_wasm::push::explain::{Input, explain};

/// The push settings' sources, from `wxpay explain`'s options.
pub(crate) struct PushSettings<'a> {
    pub token_env: &'a str,
    pub key_env: &'a str,
    pub appid: Option<&'a str>,
    pub max_age_secs: i64,
}

pub(crate) fn push(
    object: &Map<String, Value>,
    settings: &PushSettings<'_>,
    now: i64,
) -> anyhow::Result<Value> {
    let query = query(
        object
            .get("query")
            .ok_or_else(|| anyhow::anyhow!("a push needs its query"))?,
    )?;
    let body = match object.get("body") {
        None | Some(Value::Null) => "",
        Some(Value::String(body)) => body.as_str(),
        Some(_) => anyhow::bail!("body must be the raw body as a string, exactly as received"),
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (token, key) = (env(settings.token_env), env(settings.key_env));
    let appid = settings
        .appid
        .map(str::to_owned)
        .or_else(|| env("WXPAY_WECHAT__APPID"));
    let report = explain(&Input {
        token: token.as_deref(),
        encoding_aes_key: key.as_deref(),
        appid: appid.as_deref(),
        query,
        body,
        now: Some(now),
        max_age: settings.max_age_secs,
    });
    Ok(serde_json::to_value(&report)?)
}

/// The query as an object of names to text (or numbers), or as the URL / query string.
fn query(value: &Value) -> anyhow::Result<PushQuery> {
    match value {
        Value::String(url) => {
            let text = url.split_once('?').map_or(url.as_str(), |(_, q)| q);
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
                .into_owned()
                .collect();
            Ok(PushQuery::from_pairs(
                pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            ))
        }
        Value::Object(map) => {
            let pairs: Vec<(&str, String)> = map
                .iter()
                .filter_map(|(name, value)| match value {
                    Value::String(text) => Some((name.as_str(), text.clone())),
                    Value::Number(n) => Some((name.as_str(), n.to_string())),
                    _ => None,
                })
                .collect();
            Ok(PushQuery::from_pairs(
                pairs.iter().map(|(n, v)| (*n, v.as_str())),
            ))
        }
        _ => anyhow::bail!("query must be an object of the push URL's parameters, or the URL"),
    }
}
