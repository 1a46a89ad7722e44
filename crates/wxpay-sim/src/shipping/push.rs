//! The message push (消息推送) as WeChat sends it: to the app's push URL, in its mode
//! (plain, compatible, secure) and format (XML, JSON), with `signature` (and in the
//! encrypted modes `msg_signature` and `Encrypt`, by `wxpay_core::push`). A push that
//! gets no 2xx within 5 seconds is sent again, three times at most (the rule WeChat
//! documents for its message pushes); every attempt is logged (`GET /sim/pushes`) with
//! the exact URL and body, so a test can replay or spoil one.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use wxpay_core::push::{self as crypto, PushKey};

use super::{SETTLEMENT_AFTER_SECS, original_id};
use crate::state::{Sim, Trade};

/// How long WeChat waits for the reply (scaled, never under 250 real ms).
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Sends after the first.
const RETRIES: u32 = 3;
/// The system account a trade-management push comes from.
const SYSTEM_OPENID: &str = "o-trade-management-system";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushMode {
    /// 明文: the message as is, `signature` only.
    Plain,
    /// 兼容: the plain fields and `Encrypt` together.
    Compatible,
    /// 安全: `Encrypt` only (WeChat's recommendation).
    #[default]
    Secure,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushFormat {
    Xml,
    #[default]
    Json,
}

/// An app's message push settings, as its admin console holds them.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    pub url: String,
    pub token: String,
    pub encoding_aes_key: String,
    #[serde(default)]
    pub mode: PushMode,
    #[serde(default)]
    pub format: PushFormat,
}

impl std::fmt::Debug for PushConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConfig")
            .field("url", &self.url)
            .field("mode", &self.mode)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// A push's own fields (the common ones, `ToUserName` to `Event`, are added when sent).
#[derive(Debug, Clone)]
pub struct Message {
    pub event: String,
    pub fields: Vec<(String, Value)>,
}

/// The fields every trade-management push about a trade carries.
fn trade_fields(trade: &Trade) -> Vec<(String, Value)> {
    let paid = trade.paid_at.map_or(0, |t| t.unix_timestamp());
    vec![
        (
            "transaction_id".into(),
            json!(trade.transaction_id.clone().unwrap_or_default()),
        ),
        ("merchant_id".into(), json!(trade.mch_id)),
        ("sub_merchant_id".into(), json!("")),
        ("merchant_trade_no".into(), json!(trade.out_trade_no)),
        ("pay_time".into(), json!(paid)),
    ]
}

/// `trade_manage_order_settlement`: sent when the shipping completes (with
/// `estimated_settlement_time`) and when the funds settle (`settled`: how receipt was
/// confirmed, 1 automatically or 2 by the payer, and when).
pub fn settlement_phase(trade: &Trade, shipped_at: i64, settled: Option<(i64, i64)>) -> Message {
    let mut fields = trade_fields(trade);
    fields.push(("shipped_time".into(), json!(shipped_at)));
    match settled {
        None => fields.push((
            "estimated_settlement_time".into(),
            json!(shipped_at + SETTLEMENT_AFTER_SECS),
        )),
        Some((method, confirmed_at)) => {
            let now = crate::clock::now().unix_timestamp();
            fields.push(("confirm_receive_method".into(), json!(method)));
            fields.push(("confirm_receive_time".into(), json!(confirmed_at)));
            fields.push(("settlement_time".into(), json!(now)));
        }
    }
    Message {
        event: "trade_manage_order_settlement".into(),
        fields,
    }
}

/// `trade_manage_remind_shipping`: a paid trade still waits for its shipping.
pub fn remind_shipping(trade: &Trade) -> Message {
    let mut fields = trade_fields(trade);
    fields.push((
        "msg".into(),
        json!("你的小程序有订单超过48小时未发货，请尽快上传发货信息"),
    ));
    Message {
        event: "trade_manage_remind_shipping".into(),
        fields,
    }
}

/// One attempt, as `GET /sim/pushes` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PushAttempt {
    pub appid: String,
    pub event: String,
    pub transaction_id: Option<String>,
    /// 1 for the first send, up to 4.
    pub attempt: u32,
    pub mode: PushMode,
    pub format: PushFormat,
    /// With its query (`signature`, `timestamp`, `nonce`, ...): resend it to replay.
    pub url: String,
    pub body: String,
    /// The message before any encryption.
    pub plaintext: String,
    pub http_status: Option<u16>,
    pub reply: Option<String>,
    pub error: Option<String>,
    pub acknowledged: bool,
}

/// Sends `message` to the app's push URL in the background (nothing when it has none).
pub fn spawn(sim: Arc<Sim>, appid: &str, message: Message) {
    let config = sim
        .state()
        .shipping
        .apps
        .get(appid)
        .and_then(|a| a.push.clone());
    if let Some(config) = config {
        tokio::spawn(deliver(sim, appid.to_owned(), config, message));
    }
}

/// The message in the app's format: XML with strings in CDATA, or a JSON object.
fn render(format: PushFormat, fields: &[(String, Value)]) -> String {
    match format {
        PushFormat::Json => {
            let map: Map<String, Value> = fields.iter().cloned().collect();
            Value::Object(map).to_string()
        }
        PushFormat::Xml => {
            let mut xml = String::from("<xml>");
            for (name, value) in fields {
                match value {
                    Value::String(text) => {
                        xml.push_str(&format!("<{name}><![CDATA[{text}]]></{name}>"));
                    }
                    other => xml.push_str(&format!("<{name}>{other}</{name}>")),
                }
            }
            xml.push_str("</xml>");
            xml
        }
    }
}

/// What one push sends, the same on every attempt (WeChat resends the message).
struct Wire {
    url: String,
    body: String,
    plaintext: String,
}

fn wire(sim: &Sim, appid: &str, config: &PushConfig, message: &Message) -> Option<Wire> {
    let created = crate::clock::now().unix_timestamp();
    let mut fields: Vec<(String, Value)> = vec![
        ("ToUserName".into(), json!(original_id(appid))),
        ("FromUserName".into(), json!(SYSTEM_OPENID)),
        ("CreateTime".into(), json!(created)),
        ("MsgType".into(), json!("event")),
        ("Event".into(), json!(message.event)),
    ];
    fields.extend(message.fields.iter().cloned());
    let plaintext = render(config.format, &fields);
    let (nonce, random) = {
        let mut state = sim.state();
        let nonce: u32 = state.rng.random_range(100_000_000..1_000_000_000);
        let random: [u8; 16] = state.rng.random();
        (nonce.to_string(), random)
    };
    let timestamp = created.to_string();
    let signature = crypto::url_signature(&config.token, &timestamp, &nonce);
    let base = format!(
        "{}{}",
        config.url,
        if config.url.contains('?') { '&' } else { '?' }
    );
    if config.mode == PushMode::Plain {
        return Some(Wire {
            url: format!("{base}signature={signature}&timestamp={timestamp}&nonce={nonce}"),
            body: plaintext.clone(),
            plaintext,
        });
    }
    let key = PushKey::from_encoding_aes_key(&config.encoding_aes_key).ok()?;
    let encrypt = crypto::encrypt(&key, &plaintext, appid, &random);
    let msg_signature = crypto::msg_signature(&config.token, &timestamp, &nonce, &encrypt);
    let mut sent: Vec<(String, Value)> = if config.mode == PushMode::Compatible {
        fields
    } else {
        vec![("ToUserName".into(), json!(original_id(appid)))]
    };
    sent.push(("Encrypt".into(), json!(encrypt)));
    Some(Wire {
        url: format!(
            "{base}signature={signature}&timestamp={timestamp}&nonce={nonce}\
             &openid={SYSTEM_OPENID}&encrypt_type=aes&msg_signature={msg_signature}"
        ),
        body: render(config.format, &sent),
        plaintext,
    })
}

async fn deliver(sim: Arc<Sim>, appid: String, config: PushConfig, message: Message) {
    let Some(wire) = wire(&sim, &appid, &config, &message) else {
        return;
    };
    let transaction_id = message
        .fields
        .iter()
        .find(|(name, _)| name == "transaction_id")
        .and_then(|(_, v)| v.as_str().map(str::to_owned));
    let timeout = sim
        .scale
        .real(REPLY_TIMEOUT)
        .max(Duration::from_millis(250));
    let content_type = match config.format {
        PushFormat::Json => "application/json",
        PushFormat::Xml => "text/xml",
    };
    for attempt in 1..=1 + RETRIES {
        let sent = sim
            .http
            .post(&wire.url)
            .header("content-type", content_type)
            .body(wire.body.clone())
            .timeout(timeout)
            .send()
            .await;
        let (http_status, reply, error) = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                (Some(status), Some(text.chars().take(512).collect()), None)
            }
            Err(e) => (None, None, Some(e.without_url().to_string())),
        };
        let acknowledged = http_status.is_some_and(|s| (200..300).contains(&s));
        sim.state().shipping.pushes.push(PushAttempt {
            appid: appid.clone(),
            event: message.event.clone(),
            transaction_id: transaction_id.clone(),
            attempt,
            mode: config.mode,
            format: config.format,
            url: wire.url.clone(),
            body: wire.body.clone(),
            plaintext: wire.plaintext.clone(),
            http_status,
            reply,
            error,
            acknowledged,
        });
        if acknowledged {
            return;
        }
        tokio::time::sleep(timeout).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_formats() {
        let fields = vec![
            ("Event".to_owned(), json!("trade_manage_remind_shipping")),
            ("pay_time".to_owned(), json!(1_700_000_000)),
        ];
        assert_eq!(
            render(PushFormat::Xml, &fields),
            "<xml><Event><![CDATA[trade_manage_remind_shipping]]></Event>\
             <pay_time>1700000000</pay_time></xml>"
        );
        let json: Value = serde_json::from_str(&render(PushFormat::Json, &fields)).unwrap();
        assert_eq!(json["pay_time"], 1_700_000_000);
    }
}
