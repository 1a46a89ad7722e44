//! `wxpay sign` and `wxpay verify-notify` for API v2 (with `--v3`, handed to
//! `sign_v3`): a parameter set signed with the API key, a captured notify verified.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value, json};
use wxpay_core::ApiKey;
use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::{Params, verify_pay_notify, xml};

use super::io::{print, read_input};
use super::sign_v3::{SignV3Args, VerifyV3Args};

#[derive(Debug, Args)]
struct KeyArgs {
    /// Environment variable holding the 32-character v2 API key.
    #[arg(long, default_value = "WXPAY_API_KEY")]
    key_env: String,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// MD5 or HMAC-SHA256.
    #[arg(long, default_value = "MD5")]
    sign_type: String,
    /// Print the signed XML request instead of JSON.
    #[arg(long)]
    xml: bool,
    /// API v3: sign a request (--method, --url, --mchid, --serial, --private-key).
    #[arg(long)]
    v3: bool,
    #[command(flatten)]
    v3_args: SignV3Args,
    /// JSON object of parameters (strings or integers), or with --v3 the request body;
    /// stdin when absent.
    file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// The order's sign type (binding); by default the notify's own or its sign length.
    #[arg(long)]
    sign_type: Option<String>,
    /// API v3: verify (and with the APIv3 key, decrypt) a captured notify.
    #[arg(long)]
    v3: bool,
    #[command(flatten)]
    v3_args: VerifyV3Args,
    /// The notify XML (with --v3, its JSON body); stdin when absent.
    file: Option<PathBuf>,
}

fn api_key(args: &KeyArgs) -> anyhow::Result<ApiKey> {
    let value = std::env::var(&args.key_env).map_err(|_| {
        anyhow::anyhow!(
            "set the API key in the environment variable {}",
            args.key_env
        )
    })?;
    Ok(ApiKey::new(value.trim_end_matches(['\n', '\r']))?)
}

pub(crate) fn sign_command(args: SignArgs) -> anyhow::Result<ExitCode> {
    if args.v3 {
        return super::sign_v3::sign(&args.v3_args, args.file.as_ref());
    }
    let key = api_key(&args.key)?;
    let sign_type: SignType = args.sign_type.parse()?;
    let input: Value = serde_json::from_slice(&read_input(args.file.as_ref())?)
        .map_err(|e| anyhow::anyhow!("input must be a JSON object of parameters: {e}"))?;
    let object = input
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("input must be a JSON object of parameters"))?;
    let mut params = Params::new();
    for (name, value) in object {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            Value::Null => continue,
            _ => anyhow::bail!(
                "{name}: values must be strings or integers (amounts are integer fen)"
            ),
        };
        params.insert(name.clone(), text);
    }
    let signature = sign::sign(&params, &key, sign_type);
    if args.xml {
        params.insert("sign", signature.as_str().to_owned());
        #[allow(clippy::print_stdout)] // The command's output.
        {
            println!("{}", xml::to_xml(&params)?);
        }
    } else {
        print(&json!({
            "canonical_string": params.canonical_string(),
            "sign_type": sign_type.as_str(),
            "sign": signature.as_str(),
        }));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn verify_command(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    if args.v3 {
        return super::sign_v3::verify_notify_command(&args.v3_args, args.file.as_ref());
    }
    let key = api_key(&args.key)?;
    let expected = args
        .sign_type
        .as_deref()
        .map(str::parse::<SignType>)
        .transpose()?;
    let body = read_input(args.file.as_ref())?;
    match verify_pay_notify(&body, &key, expected) {
        Ok(notify) => {
            print(&json!({
                "valid": true,
                "sign_type": notify.sign_type().as_str(),
                "out_trade_no": notify.out_trade_no(),
                "transaction_id": notify.transaction_id(),
                "total_fee": notify.total_fee().get(),
                "appid": notify.appid(),
                "mch_id": notify.mch_id(),
                "time_end": notify.time_end(),
                // Every field of the notify, all covered by the verified sign.
                "fields": notify.params(),
            }));
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            print(&json!({ "valid": false, "error": error.to_string() }));
            Ok(ExitCode::FAILURE)
        }
    }
}
