//! `checkPaymentParams`: why would `wx.requestPayment` refuse these params? Every classic
//! mistake has its own problem code and a message that says how to fix it. With the key
//! (debug or sandbox keys only), a wrong paySign is also diagnosed by re-signing the
//! params the ways servers commonly get it wrong and seeing which one matches.

use wxpay_core::ApiKey;
use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::{Params, RequestPayment};

use serde::Serialize;

use crate::errors::{self, WxError};
use crate::packed::items;

/// The five params, in the order the WeChat client reports them.
const FIELDS: [&str; 5] = ["timeStamp", "nonceStr", "package", "signType", "paySign"];
/// How far from `now` a timeStamp may be before it is reported.
const MAX_SKEW_SECS: i64 = 10 * 60;

/// One param as JavaScript had it: its type matters (a number timeStamp is a classic bug).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given {
    Str(String),
    /// A number, as JavaScript's `String(n)` writes it.
    Num(String),
    Null,
    /// Another type, by its JavaScript name (boolean, object, array).
    Other(&'static str),
}

/// The params by name; an absent key is a missing param. A handful at most (the five
/// of `wx.requestPayment`): a list searched in order is all that needs, and is smaller
/// in the wasm than a hash map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(Vec<(String, Given)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&Given> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, given)| given)
    }

    /// Sets `name`, replacing what it had.
    pub fn insert(&mut self, name: String, given: Given) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = given,
            None => self.0.push((name, given)),
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Given> {
        let at = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(at).1)
    }
}

impl FromIterator<(String, Given)> for Fields {
    fn from_iter<I: IntoIterator<Item = (String, Given)>>(iter: I) -> Self {
        let mut fields = Fields::default();
        for (name, given) in iter {
            fields.insert(name, given);
        }
        fields
    }
}

#[derive(Debug, Default)]
pub struct CheckOptions {
    pub app_id: Option<String>,
    pub key: Option<String>,
    /// Unix seconds (the JS wrapper converts a Date or milliseconds).
    pub now: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub ok: bool,
    pub problems: Vec<Problem>,
    /// The canonical string the paySign must be computed over (needs appId).
    pub canonical: Option<String>,
    /// The correct paySign (needs appId and key).
    pub expected_pay_sign: Option<String>,
}

impl Report {
    pub(crate) fn add(
        &mut self,
        field: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            field,
            code,
            message: message.into(),
        });
    }

    /// The report as JavaScript gets it: v2 calls the signed text `canonical`, v3
    /// `signedMessage`; absent or empty values are left out.
    #[cfg(any(feature = "v2", feature = "v3"))]
    pub(crate) fn view(&self, api: Api) -> ReportView<'_> {
        let canonical = self.canonical.as_deref().filter(|c| !c.is_empty());
        ReportView {
            ok: self.ok,
            problems: &self.problems,
            canonical: canonical.filter(|_| api == Api::V2),
            signed_message: canonical.filter(|_| api == Api::V3),
            expected_pay_sign: self
                .expected_pay_sign
                .as_deref()
                .filter(|s| !s.is_empty() && api == Api::V2),
        }
    }
}

/// Which explainer a report comes from (its JavaScript field names differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    V2,
    V3,
}

/// A report crossing to JavaScript through serde-wasm-bindgen (a plain object; the
/// explainer is no hot path, so no hand packing).
#[cfg(any(feature = "v2", feature = "v3"))]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportView<'a> {
    ok: bool,
    problems: &'a [Problem],
    #[serde(skip_serializing_if = "Option::is_none")]
    canonical: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_pay_sign: Option<&'a str>,
}

/// The JS wrapper sends (name, type, text) per field: type `s` string, `d` number,
/// `n` null, `b` boolean, `o` object, `a` array (undefined fields are not sent).
pub(crate) fn unpack_fields(packed: &str) -> Result<Fields, WxError> {
    let items = items(packed)?;
    let mut fields = Fields::default();
    for triple in items.chunks(3) {
        let [name, kind, text] = triple else {
            return Err(WxError::new("INVALID_PARAMS", "params could not be read"));
        };
        let given = match *kind {
            "s" => Given::Str((*text).to_owned()),
            "d" => Given::Num((*text).to_owned()),
            "n" => Given::Null,
            "b" => Given::Other("boolean"),
            "a" => Given::Other("array"),
            _ => Given::Other("object"),
        };
        fields.insert((*name).to_owned(), given);
    }
    Ok(fields)
}

/// A checker (v2's or v3's) over the wrapper's packed fields and arguments.
pub fn run_packed(
    checker: fn(&Fields, &CheckOptions) -> Result<Report, WxError>,
    packed: &str,
    app_id: &str,
    key: &str,
    now_secs: f64,
) -> Result<Report, WxError> {
    let fields = unpack_fields(packed)?;
    checker(&fields, &CheckOptions::from_js(app_id, key, now_secs))
}

/// The report as a JavaScript object.
#[cfg(any(feature = "v2", feature = "v3"))]
pub(crate) fn to_js(report: &Report, api: Api) -> Result<wasm_bindgen::JsValue, WxError> {
    to_object(&report.view(api))
}

/// Any report as a plain JavaScript object.
pub(crate) fn to_object(report: &impl Serialize) -> Result<wasm_bindgen::JsValue, WxError> {
    serde_wasm_bindgen::to_value(report).map_err(|e| {
        WxError::new(
            "INTERNAL",
            format!("the report could not cross to JavaScript: {e}"),
        )
    })
}

impl CheckOptions {
    /// From the wrapper's arguments: empty strings are absent; `now` must be whole
    /// seconds, anything else means "no clock check".
    pub(crate) fn from_js(app_id: &str, key: &str, now_secs: f64) -> CheckOptions {
        CheckOptions {
            app_id: Some(app_id.to_owned()).filter(|a| !a.is_empty()),
            key: Some(key.to_owned()).filter(|k| !k.is_empty()),
            #[allow(clippy::cast_possible_truncation)]
            now: (now_secs.is_finite() && now_secs.fract() == 0.0 && now_secs.abs() < 1e15)
                .then_some(now_secs as i64),
        }
    }
}

/// The value as the client would see it as text (numbers included, for diagnosis).
pub(crate) fn text(params: &Fields, field: &str) -> Option<String> {
    match params.get(field)? {
        Given::Str(s) | Given::Num(s) => Some(s.clone()),
        Given::Null | Given::Other(_) => None,
    }
}

pub fn check(params: &Fields, options: &CheckOptions) -> Result<Report, WxError> {
    let mut report = Report::default();
    check_presence(params, &mut report);
    check_timestamp(params, options, &mut report);
    check_shapes(params, &mut report);
    if let Some(key) = &options.key {
        let key = errors::key(key)?;
        match &options.app_id {
            Some(app_id) if !app_id.is_empty() => check_pay_sign(params, app_id, &key, &mut report),
            _ => report.add(
                "appId",
                "APPID_REQUIRED",
                "pass options.appId (the Mini Program's appid) to check paySign: it is signed although not passed to wx.requestPayment",
            ),
        }
    } else if let Some(app_id) = &options.app_id {
        report.canonical = Some(signed_set(params, app_id).canonical_string());
    }
    report.ok = report.problems.is_empty();
    Ok(report)
}

/// Each of the five params is there and a string (v2 and v3 alike).
pub(crate) fn check_presence(params: &Fields, report: &mut Report) {
    for field in FIELDS {
        match params.get(field) {
            None | Some(Given::Null) => report.add(
                field,
                "MISSING_FIELD",
                format!("{field} is missing; wx.requestPayment needs timeStamp, nonceStr, package, signType and paySign"),
            ),
            Some(Given::Str(s)) if s.is_empty() => {
                report.add(field, "MISSING_FIELD", format!("{field} is empty"));
            }
            Some(Given::Str(_)) => {}
            Some(Given::Num(_)) if field == "timeStamp" => report.add(
                field,
                "TIMESTAMP_NOT_STRING",
                "timeStamp is a number; it must be a string of seconds, e.g. \"1490840662\" (the client fails with \"timeStamp should be String\")",
            ),
            Some(Given::Num(_)) => report.add(
                field,
                "FIELD_NOT_STRING",
                format!("{field} must be a string, not a number"),
            ),
            Some(Given::Other(kind)) => report.add(
                field,
                "FIELD_NOT_STRING",
                format!("{field} must be a string, not a {kind}"),
            ),
        }
    }
}

/// timeStamp: Unix seconds as digits, not milliseconds, near `now` (v2 and v3 alike).
pub(crate) fn check_timestamp(params: &Fields, options: &CheckOptions, report: &mut Report) {
    let Some(stamp) = text(params, "timeStamp").filter(|s| !s.is_empty()) else {
        return;
    };
    if !stamp.bytes().all(|b| b.is_ascii_digit()) {
        report.add(
            "timeStamp",
            "TIMESTAMP_INVALID",
            "timeStamp must be Unix seconds as digits",
        );
        return;
    }
    if stamp.len() >= 13 {
        report.add(
            "timeStamp",
            "TIMESTAMP_MILLISECONDS",
            "timeStamp looks like milliseconds (Date.now()); use seconds: String(Math.floor(Date.now() / 1000))",
        );
        return;
    }
    if let (Some(now), Ok(seconds)) = (options.now, stamp.parse::<i64>())
        && (seconds - now).abs() > MAX_SKEW_SECS
    {
        report.add(
            "timeStamp",
            "TIMESTAMP_SKEW",
            format!(
                "timeStamp is {} s away from now; use the current time in seconds (is the server clock right?)",
                (seconds - now).abs()
            ),
        );
    }
}

fn check_shapes(params: &Fields, report: &mut Report) {
    check_nonce_and_package(params, report);
    check_v2_shapes(params, report);
}

/// nonceStr at most 32 characters, package `prepay_id=...` (v2 and v3 alike).
pub(crate) fn check_nonce_and_package(params: &Fields, report: &mut Report) {
    if let Some(nonce) = text(params, "nonceStr")
        && nonce.chars().count() > 32
    {
        report.add(
            "nonceStr",
            "NONCE_TOO_LONG",
            "nonceStr must be at most 32 characters",
        );
    }
    if let Some(package) = text(params, "package").filter(|p| !p.is_empty())
        && !package.starts_with("prepay_id=")
    {
        report.add(
            "package",
            "PACKAGE_FORMAT",
            "package must be \"prepay_id=\" followed by the prepay_id from unifiedorder, e.g. prepay_id=wx2017033010242291fcfe0db70013231072",
        );
    }
}

fn check_v2_shapes(params: &Fields, report: &mut Report) {
    let sign_type = text(params, "signType").filter(|t| !t.is_empty());
    let parsed = sign_type.as_deref().map(str::parse::<SignType>);
    if let Some(Err(_)) = parsed {
        report.add(
            "signType",
            "SIGN_TYPE_INVALID",
            "signType must be \"MD5\" or \"HMAC-SHA256\" for API v2 (\"RSA\" is API v3 only), the same type unifiedorder used",
        );
    }
    let Some(pay_sign) = text(params, "paySign").filter(|s| !s.is_empty()) else {
        return;
    };
    if !pay_sign.bytes().all(|b| b.is_ascii_hexdigit())
        || SignType::from_sign_len(pay_sign.len()).is_none()
    {
        report.add(
            "paySign",
            "PAYSIGN_FORMAT",
            "paySign must be 32 (MD5) or 64 (HMAC-SHA256) hex characters",
        );
        return;
    }
    if pay_sign.bytes().any(|b| b.is_ascii_lowercase()) {
        report.add(
            "paySign",
            "PAYSIGN_LOWERCASE",
            "paySign is lower case; WeChat signs are upper-case hex (toUpperCase() the digest)",
        );
    }
    if let Some(Ok(t)) = parsed
        && Some(t) != SignType::from_sign_len(pay_sign.len())
    {
        report.add(
            "signType",
            "SIGN_TYPE_LENGTH_MISMATCH",
            format!(
                "signType is {t} but paySign has {} characters ({} expects {}): the sign was made with the other type",
                pay_sign.len(),
                t,
                t.hex_len()
            ),
        );
    }
}

/// The five signed fields with their values as text: the set `RequestPayment` signs. An
/// absent field is empty, which signing skips, as it would skip the field itself.
fn signed_set(params: &Fields, app_id: &str) -> Params<'static> {
    let field = |name| text(params, name).unwrap_or_default();
    let payment = RequestPayment {
        time_stamp: field("timeStamp"),
        nonce_str: field("nonceStr"),
        package: field("package"),
        sign_type: field("signType"),
        pay_sign: String::new(),
    };
    payment.signed_params(app_id).into_owned()
}

/// A way servers commonly get paySign wrong, and how to put it right.
struct Mistake {
    code: &'static str,
    message: &'static str,
    /// Rewrites the correct signed set into the mistaken one; None when not applicable.
    apply: fn(&Params<'static>) -> Option<Params<'static>>,
    /// The algorithm the mistaken server used, relative to the declared one.
    other_algorithm: bool,
}

fn rename(set: &Params<'static>, from: &str, to: &str) -> Option<Params<'static>> {
    let value = set.get(from)?.to_owned();
    let mut out = set.clone();
    out.remove(from);
    out.insert(to.to_owned(), value);
    Some(out)
}

fn without(set: &Params<'static>, field: &str) -> Option<Params<'static>> {
    let mut out = set.clone();
    out.remove(field)?;
    Some(out)
}

fn map_values(set: &Params<'static>, f: fn(&str) -> String) -> Option<Params<'static>> {
    let out: Params<'static> = set.iter().map(|(k, v)| (k.to_owned(), f(v))).collect();
    (out != *set).then_some(out)
}

/// `encodeURIComponent`, as a server that URL-encoded values would have done.
fn url_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const MISTAKES: [Mistake; 6] = [
    Mistake {
        code: "KEY_CASE_APPID",
        message: "the server signed \"appid\" (lower-case i); the paySign key must be \"appId\"",
        apply: |s| rename(s, "appId", "appid"),
        other_algorithm: false,
    },
    Mistake {
        code: "APPID_NOT_SIGNED",
        message: "the server left appId out of the signed set; sign appId, nonceStr, package, signType and timeStamp",
        apply: |s| without(s, "appId"),
        other_algorithm: false,
    },
    Mistake {
        code: "SIGN_TYPE_NOT_SIGNED",
        message: "the server left signType out of the signed set; it is one of the five signed keys",
        apply: |s| without(s, "signType"),
        other_algorithm: false,
    },
    Mistake {
        code: "OTHER_SIGN_TYPE",
        message: "the paySign was computed with the other algorithm than signType says; use the same type as unifiedorder for both",
        apply: |s| Some(s.clone()),
        other_algorithm: true,
    },
    Mistake {
        code: "VALUES_URL_ENCODED",
        message: "the server URL-encoded the values before signing (package=prepay_id%3D...); sign the raw values",
        apply: |s| map_values(s, url_encode),
        other_algorithm: false,
    },
    Mistake {
        code: "VALUES_TRIMMED",
        message: "the server signed trimmed values but the params carry spaces (or the reverse); sign exactly the values you return",
        apply: |s| map_values(s, |v| v.trim().to_owned()),
        other_algorithm: false,
    },
];

fn check_pay_sign(params: &Fields, app_id: &str, key: &ApiKey, report: &mut Report) {
    let set = signed_set(params, app_id);
    report.canonical = Some(set.canonical_string());
    let declared = text(params, "signType")
        .and_then(|t| t.parse::<SignType>().ok())
        .unwrap_or_default();
    let expected = sign::sign(&set, key, declared);
    report.expected_pay_sign = Some(expected.as_str().to_owned());
    let Some(given) = text(params, "paySign").filter(|s| !s.is_empty()) else {
        return;
    };
    let given = given.to_ascii_uppercase();
    if given == expected.as_str() {
        return;
    }
    report.add(
        "paySign",
        "PAYSIGN_MISMATCH",
        "paySign does not match these params (the client shows 支付验证签名失败)",
    );
    let other = match declared {
        SignType::Md5 => SignType::HmacSha256,
        SignType::HmacSha256 => SignType::Md5,
    };
    let mut explained = false;
    for mistake in &MISTAKES {
        let Some(mistaken) = (mistake.apply)(&set) else {
            continue;
        };
        let algorithm = if mistake.other_algorithm {
            other
        } else {
            declared
        };
        if sign::sign(&mistaken, key, algorithm).as_str() == given {
            report.add("paySign", mistake.code, mistake.message);
            explained = true;
        }
    }
    if !explained {
        report.add(
            "paySign",
            "WRONG_KEY_LIKELY",
            "no classic mistake explains the paySign: the server most likely signs with another API key (a sandbox key, or an old key after a reset)",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packed::push;

    const KEY: &str = "qazwsxedcrfvtgbyhnujmikolp111111";
    const APP_ID: &str = "wxd678efh567hg6787";

    fn s(text: &str) -> Given {
        Given::Str(text.to_owned())
    }

    fn official() -> Fields {
        [
            ("timeStamp", s("1490840662")),
            ("nonceStr", s("5K8264ILTKCH16CQ2502SI8ZNMTM67VS")),
            (
                "package",
                s("prepay_id=wx2017033010242291fcfe0db70013231072"),
            ),
            ("signType", s("MD5")),
            ("paySign", s("22D9B4E54AB1950F51E0649E8810ACD6")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    fn with(field: &str, value: Given) -> Fields {
        let mut p = official();
        p.insert(field.to_owned(), value);
        p
    }

    fn with_key() -> CheckOptions {
        CheckOptions {
            app_id: Some(APP_ID.into()),
            key: Some(KEY.into()),
            now: Some(1_490_840_700),
        }
    }

    fn codes(params: &Fields, options: &CheckOptions) -> Vec<&'static str> {
        check(params, options)
            .unwrap()
            .problems
            .iter()
            .map(|p| p.code)
            .collect()
    }

    /// The official params signed the way a mistaken server would.
    fn signed_wrongly(rewrite: fn(&mut Params<'static>), algorithm: SignType) -> Fields {
        let params = official();
        let mut set = signed_set(&params, APP_ID);
        rewrite(&mut set);
        let key = ApiKey::new(KEY).unwrap();
        with("paySign", s(sign::sign(&set, &key, algorithm).as_str()))
    }

    #[test]
    fn correct_params_pass() {
        let report = check(&official(), &with_key()).unwrap();
        assert!(report.ok, "{:?}", report.problems);
        assert_eq!(
            report.expected_pay_sign.as_deref(),
            Some("22D9B4E54AB1950F51E0649E8810ACD6")
        );
        assert!(
            report
                .canonical
                .unwrap()
                .starts_with("appId=wxd678efh567hg6787&nonceStr=")
        );
    }

    #[test]
    fn shape_problems_without_a_key() {
        let none = CheckOptions::default();
        let mut p = official();
        p.remove("nonceStr");
        assert_eq!(codes(&p, &none), ["MISSING_FIELD"]);
        assert_eq!(
            codes(&with("timeStamp", Given::Num("1490840662".into())), &none),
            ["TIMESTAMP_NOT_STRING"]
        );
        assert_eq!(
            codes(&with("timeStamp", s("1490840662000")), &none),
            ["TIMESTAMP_MILLISECONDS"]
        );
        assert_eq!(
            codes(&with("timeStamp", s("1500000000")), &with_key()),
            ["TIMESTAMP_SKEW", "PAYSIGN_MISMATCH", "WRONG_KEY_LIKELY"]
        );
        assert_eq!(
            codes(
                &with("package", s("wx2017033010242291fcfe0db70013231072")),
                &none
            ),
            ["PACKAGE_FORMAT"]
        );
        assert_eq!(
            codes(&with("signType", s("RSA")), &none),
            ["SIGN_TYPE_INVALID"]
        );
        assert_eq!(
            codes(&with("signType", s("HMAC-SHA256")), &none),
            ["SIGN_TYPE_LENGTH_MISMATCH"]
        );
        assert_eq!(
            codes(
                &with("paySign", s("22d9b4e54ab1950f51e0649e8810acd6")),
                &none
            ),
            ["PAYSIGN_LOWERCASE"]
        );
        assert_eq!(
            codes(&with("nonceStr", Given::Other("boolean")), &none),
            ["FIELD_NOT_STRING"]
        );
        assert!(codes(&with("nonceStr", s(&"x".repeat(33))), &none).contains(&"NONCE_TOO_LONG"));
        let key_only = CheckOptions {
            key: Some(KEY.into()),
            ..Default::default()
        };
        assert_eq!(codes(&official(), &key_only), ["APPID_REQUIRED"]);
    }

    #[test]
    fn each_classic_paysign_mistake_is_named() {
        type Rewrite = fn(&mut Params<'static>);
        let cases: [(Rewrite, SignType, &str); 5] = [
            (
                |s| {
                    let v = s.remove("appId").unwrap();
                    s.insert("appid", v);
                },
                SignType::Md5,
                "KEY_CASE_APPID",
            ),
            (
                |s| {
                    s.remove("appId");
                },
                SignType::Md5,
                "APPID_NOT_SIGNED",
            ),
            (
                |s| {
                    s.remove("signType");
                },
                SignType::Md5,
                "SIGN_TYPE_NOT_SIGNED",
            ),
            (|_| {}, SignType::HmacSha256, "OTHER_SIGN_TYPE"),
            (
                |s| {
                    let encoded: Params<'static> = s
                        .iter()
                        .map(|(k, v)| (k.to_owned(), url_encode(v)))
                        .collect();
                    *s = encoded;
                },
                SignType::Md5,
                "VALUES_URL_ENCODED",
            ),
        ];
        for (rewrite, algorithm, code) in cases {
            let found = codes(&signed_wrongly(rewrite, algorithm), &with_key());
            assert!(
                found.contains(&"PAYSIGN_MISMATCH") && found.contains(&code),
                "{code}: {found:?}"
            );
        }
    }

    #[test]
    fn trimmed_values_and_unexplained_mismatches() {
        let padded = with(
            "package",
            s("prepay_id=wx2017033010242291fcfe0db70013231072 "),
        );
        assert_eq!(
            codes(&padded, &with_key()),
            ["PAYSIGN_MISMATCH", "VALUES_TRIMMED"]
        );
        let zeros = with("paySign", s("00000000000000000000000000000000"));
        assert_eq!(
            codes(&zeros, &with_key()),
            ["PAYSIGN_MISMATCH", "WRONG_KEY_LIKELY"]
        );
    }

    #[test]
    fn reports_cross_with_javascripts_names() {
        let mut report = Report {
            canonical: Some("appId=wx&nonceStr=n".into()),
            expected_pay_sign: Some("ABC".into()),
            ..Report::default()
        };
        report.add("paySign", "PAYSIGN_MISMATCH", "paySign does not match");
        let v2 = serde_json::to_value(report.view(Api::V2)).unwrap();
        assert_eq!(
            v2,
            serde_json::json!({
                "ok": false,
                "problems": [{"field": "paySign", "code": "PAYSIGN_MISMATCH", "message": "paySign does not match"}],
                "canonical": "appId=wx&nonceStr=n",
                "expectedPaySign": "ABC",
            })
        );
        let v3 = serde_json::to_value(report.view(Api::V3)).unwrap();
        assert_eq!(v3["signedMessage"], "appId=wx&nonceStr=n");
        assert!(v3.get("canonical").is_none() && v3.get("expectedPaySign").is_none());
        report.canonical = Some(String::new());
        report.ok = true;
        let empty = serde_json::to_value(report.view(Api::V2)).unwrap();
        assert!(empty.get("canonical").is_none());
        assert_eq!(empty["ok"], true);
    }

    #[test]
    fn packed_round_trip_and_bad_arguments() {
        let mut packed = String::new();
        for (name, kind, text) in [("timeStamp", "d", "1490840662"), ("nonceStr", "b", "")] {
            push(&mut packed, name);
            push(&mut packed, kind);
            push(&mut packed, text);
        }
        let fields = unpack_fields(&packed).unwrap();
        assert_eq!(
            fields.get("timeStamp"),
            Some(&Given::Num("1490840662".into()))
        );
        assert_eq!(fields.get("nonceStr"), Some(&Given::Other("boolean")));
        let report = run_packed(check, &packed, "", "", f64::NAN).unwrap();
        assert!(!report.ok);
        assert_eq!(
            run_packed(check, "1:x", "", "", 0.0).unwrap_err().code,
            "INVALID_PARAMS"
        );
        assert_eq!(
            run_packed(check, "", APP_ID, "short", 0.0)
                .unwrap_err()
                .code,
            "INVALID_KEY"
        );
    }
}
