//! Virtual users: each plays `wx.login` at the simulator and logs in to wxpay.

use serde_json::{Value, json};

pub(crate) struct User {
    pub openid: String,
    pub token: String,
}

fn text(value: &Value, field: &str) -> anyhow::Result<String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no {field} in {value}"))
}

pub(crate) async fn login(
    http: &reqwest::Client,
    sim_url: &str,
    api: &str,
    appid: &str,
) -> anyhow::Result<User> {
    let wx: Value = http
        .post(format!("{sim_url}/sim/login"))
        .json(&json!({ "appid": appid }))
        .send()
        .await?
        .json()
        .await?;
    let login: Value = http
        .post(format!("{api}/v1/login"))
        .json(&json!({ "code": text(&wx, "code")? }))
        .send()
        .await?
        .json()
        .await?;
    Ok(User {
        openid: text(&wx, "openid")?,
        token: text(&login, "token")?,
    })
}
