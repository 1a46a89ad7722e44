//! `checkV3PaymentParams`: why would `wx.requestPayment` refuse these API v3 params? The
//! shared checks (presence, types, timeStamp, nonceStr, package) and the v3 ones: signType
//! RSA, an RSA paySign in base64, and, given the merchant's certificate or public key
//! (public material), the paySign verified and a wrong one diagnosed by re-building the
//! message the ways servers commonly get it wrong.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use wxpay_core::v3::RsaPublicKey;
use wxpay_core::v3::keys::{Certificate, public_key_from_pem};
use wxpay_core::v3::payment::{PACKAGE_PREFIX, SIGN_TYPE, pay_sign_message};
use wxpay_core::v3::pem::{PemKind, kind_of};

use crate::errors::WxError;
use crate::explain::{
    CheckOptions, Fields, Report, check_nonce_and_package, check_presence, check_timestamp, text,
};

/// A paySign of RSA-2048: 256 bytes.
const SIGNATURE_LEN: usize = 256;

/// The merchant's public key from its certificate or public key PEM. A private key is
/// refused: it must never leave the server, let alone reach a front end.
pub fn merchant_key(pem: &str) -> Result<RsaPublicKey, WxError> {
    let kind = kind_of(pem).map_err(|e| WxError::new("INVALID_KEY", e.to_string()))?;
    if kind.is_private() {
        return Err(WxError::new(
            "INVALID_KEY",
            "that is a private key: pass the merchant certificate (apiclient_cert.pem) or its public key; a private key must never leave the server",
        ));
    }
    let key = if kind == PemKind::Certificate {
        Certificate::from_pem(pem).map(|c| c.public_key().clone())
    } else {
        public_key_from_pem(pem, "the merchant certificate or public key")
    };
    key.map_err(|e| WxError::new("INVALID_KEY", e.to_string()))
}

pub fn check(params: &Fields, options: &CheckOptions) -> Result<Report, WxError> {
    let mut report = Report::default();
    check_presence(params, &mut report);
    check_timestamp(params, options, &mut report);
    check_nonce_and_package(params, &mut report);
    check_sign_type(params, &mut report);
    let signature = check_pay_sign_shape(params, &mut report);
    if let Some(app_id) = &options.app_id {
        report.canonical = Some(message(params, app_id, &Shape::Correct));
    }
    if let Some(pem) = &options.key {
        let key = merchant_key(pem)?;
        match (&options.app_id, signature) {
            (None, _) => report.add(
                "appId",
                "APPID_REQUIRED",
                "pass options.appId (the Mini Program's appid) to check paySign: it is signed although not passed to wx.requestPayment",
            ),
            (Some(app_id), Some(signature)) => {
                check_pay_sign(params, app_id, &key, &signature, &mut report);
            }
            (Some(_), None) => {}
        }
    }
    report.ok = report.problems.is_empty();
    Ok(report)
}

fn check_sign_type(params: &Fields, report: &mut Report) {
    match text(params, "signType").as_deref() {
        None | Some("") | Some(SIGN_TYPE) => {}
        Some(v2 @ ("MD5" | "HMAC-SHA256")) => report.add(
            "signType",
            "SIGN_TYPE_NOT_RSA",
            format!("signType is {v2}, API v2's: a v3 prepay_id (from /v3/pay/transactions/jsapi) needs signType \"RSA\" and a paySign made with the merchant's private key"),
        ),
        Some(_) => report.add(
            "signType",
            "SIGN_TYPE_INVALID",
            "signType must be \"RSA\" for API v3 (\"MD5\" and \"HMAC-SHA256\" are API v2's)",
        ),
    }
}

/// The decoded paySign when it has the shape of an RSA-2048 signature.
fn check_pay_sign_shape(params: &Fields, report: &mut Report) -> Option<Vec<u8>> {
    let pay_sign = text(params, "paySign").filter(|s| !s.is_empty())?;
    if matches!(pay_sign.len(), 32 | 64) && pay_sign.bytes().all(|b| b.is_ascii_hexdigit()) {
        report.add(
            "paySign",
            "PAYSIGN_V2_FORMAT",
            "paySign is hex, an API v2 MD5 / HMAC-SHA256 sign: API v3 needs the RSA signature (base64, 344 characters) of appId, timeStamp, nonceStr and package",
        );
        return None;
    }
    match STANDARD.decode(pay_sign.as_bytes()) {
        Ok(bytes) if bytes.len() == SIGNATURE_LEN => Some(bytes),
        _ => {
            report.add(
                "paySign",
                "PAYSIGN_FORMAT",
                "paySign must be the base64 RSA-2048 signature (344 characters ending in =)",
            );
            None
        }
    }
}

/// How a server may have built the message it signed.
enum Shape {
    Correct,
    /// `\r\n` line ends.
    Crlf,
    /// No `\n` after the last line.
    NoFinalNewline,
    /// The APP payment's message: the bare prepay_id instead of `prepay_id=...`.
    BarePrepayId,
}

fn message(params: &Fields, app_id: &str, shape: &Shape) -> String {
    let field = |name| text(params, name).unwrap_or_default();
    let package = field("package");
    let package = match shape {
        Shape::BarePrepayId => package
            .strip_prefix(PACKAGE_PREFIX)
            .unwrap_or(&package)
            .to_owned(),
        _ => package,
    };
    let correct = pay_sign_message(app_id, &field("timeStamp"), &field("nonceStr"), &package);
    match shape {
        Shape::Crlf => correct.replace('\n', "\r\n"),
        Shape::NoFinalNewline => correct.strip_suffix('\n').unwrap_or(&correct).to_owned(),
        Shape::Correct | Shape::BarePrepayId => correct,
    }
}

const MISTAKES: [(Shape, &str, &str); 3] = [
    (
        Shape::BarePrepayId,
        "PACKAGE_PREFIX_NOT_SIGNED",
        "the server signed the bare prepay_id (the APP payment's message); a Mini Program signs package as passed: prepay_id=...",
    ),
    (
        Shape::Crlf,
        "CRLF_LINE_ENDS",
        "the server ended the lines with \\r\\n; the message is appId, timeStamp, nonceStr and package, each followed by \\n",
    ),
    (
        Shape::NoFinalNewline,
        "FINAL_NEWLINE_MISSING",
        "the server left out the \\n after package; every line of the message ends with \\n, the last one too",
    ),
];

fn check_pay_sign(
    params: &Fields,
    app_id: &str,
    key: &RsaPublicKey,
    signature: &[u8],
    report: &mut Report,
) {
    if key.verify_sha256(
        message(params, app_id, &Shape::Correct).as_bytes(),
        signature,
    ) {
        return;
    }
    report.add(
        "paySign",
        "PAYSIGN_MISMATCH",
        "paySign does not verify with this key over appId, timeStamp, nonceStr and package (the client shows 支付验证签名失败)",
    );
    let mut explained = false;
    for (shape, code, text) in &MISTAKES {
        if key.verify_sha256(message(params, app_id, shape).as_bytes(), signature) {
            report.add("paySign", code, *text);
            explained = true;
        }
    }
    if !explained {
        report.add(
            "paySign",
            "WRONG_KEY_LIKELY",
            "no classic mistake explains the paySign: the server signs with another private key than this certificate's (compare the serial), the appId differs, or options.key is WeChat's platform certificate or public key instead of the merchant's certificate",
        );
    }
}
