//! WeChat Pay v2 endpoints: the shared envelope (method, body, XML, merchant, signature,
//! faults, signed reply) around each API's business rules.

mod closeorder;
mod orderquery;
pub(crate) mod rules;
mod unifiedorder;

pub(crate) use unifiedorder::current_prepay_id;

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::xml::{self, XmlError};
use wxpay_core::v2::{Params, reply};

use crate::faults::{Endpoint, FaultKind};
use crate::ids;
use crate::state::{Sim, SimState};

/// A business failure: the reply is signed, `result_code` FAIL with this `err_code`.
#[derive(Debug)]
pub(crate) struct BizError {
    pub code: &'static str,
    pub description: String,
}

impl BizError {
    pub(crate) fn new(code: &'static str, description: impl Into<String>) -> Self {
        BizError {
            code,
            description: description.into(),
        }
    }
}

/// What an API adds to a successful reply.
pub(crate) type BizResult = Result<Vec<(&'static str, String)>, BizError>;

/// A verified request, handed to an API's business rules.
pub(crate) struct Request<'a> {
    pub params: Params<'a>,
    pub sign_type: SignType,
    /// The TLS client certificate's CN (`/secapi` only).
    pub client_certificate: Option<String>,
    /// The fault this call drew, for APIs whose outcome it shapes (refunds).
    pub fault: Option<FaultKind>,
}

impl Request<'_> {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).filter(|v| !v.is_empty())
    }

    pub(crate) fn require(&self, name: &'static str) -> Result<&str, BizError> {
        self.get(name)
            .ok_or_else(|| BizError::new("LACK_PARAMS", format!("缺少参数 {name}")))
    }
}

pub(crate) type Api = fn(&Sim, &mut SimState, &Request<'_>) -> BizResult;

pub(crate) async fn unifiedorder(
    sim: web::Data<Arc<Sim>>,
    req: HttpRequest,
    body: Bytes,
) -> HttpResponse {
    handle(
        &sim,
        &req,
        &body,
        Endpoint::Unifiedorder,
        unifiedorder::apply,
        None,
    )
    .await
}

pub(crate) async fn orderquery(
    sim: web::Data<Arc<Sim>>,
    req: HttpRequest,
    body: Bytes,
) -> HttpResponse {
    handle(
        &sim,
        &req,
        &body,
        Endpoint::Orderquery,
        orderquery::apply,
        None,
    )
    .await
}

pub(crate) async fn closeorder(
    sim: web::Data<Arc<Sim>>,
    req: HttpRequest,
    body: Bytes,
) -> HttpResponse {
    handle(
        &sim,
        &req,
        &body,
        Endpoint::Closeorder,
        closeorder::apply,
        None,
    )
    .await
}

/// The steps every v2 API takes, in WeChat's order: transport checks and the signature
/// answer `return_code` FAIL (unsigned); business rules answer a signed reply.
pub(crate) async fn handle(
    sim: &Sim,
    req: &HttpRequest,
    body: &[u8],
    endpoint: Endpoint,
    api: Api,
    client_certificate: Option<String>,
) -> HttpResponse {
    if req.method() != Method::POST {
        return xml_response(reply::fail_reply("请使用post方法 (REQUIRE_POST_METHOD)"));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return xml_response(reply::fail_reply("post数据为空 (POST_DATA_EMPTY)"));
    }
    let params = match xml::parse(body) {
        Ok(params) => params,
        Err(XmlError::NotUtf8 | XmlError::NotUtf8Declared(_)) => {
            return xml_response(reply::fail_reply("编码格式错误 (NOT_UTF8)"));
        }
        Err(e) => {
            return xml_response(reply::fail_reply(&format!(
                "XML格式错误 (XML_FORMAT_ERROR): {e}"
            )));
        }
    };
    let (key, sign_type, fault) = {
        let mut state = sim.state();
        match check_signature(&state, &params) {
            Err(reply) => return reply,
            Ok((key, sign_type)) => (key, sign_type, state.take_fault(endpoint)),
        }
    };
    if let Some(fault) = &fault
        && fault.kind == FaultKind::SlowRequest
    {
        tokio::time::sleep(fault.delay()).await;
    }
    let outcome = {
        let mut state = sim.state();
        let request = Request {
            params,
            sign_type,
            client_certificate,
            fault: fault.as_ref().map(|f| f.kind),
        };
        let outcome = match fault.as_ref().map(|f| f.kind) {
            Some(FaultKind::Http5xx) => None,
            Some(FaultKind::SystemError) => Some(Err(BizError::new(
                "SYSTEMERROR",
                "系统超时，请用相同参数重新调用",
            ))),
            Some(FaultKind::NotEnough) => Some(Err(BizError::new(
                "NOTENOUGH",
                crate::refund::rules::Refusal::NotEnough.description(),
            ))),
            _ => Some(api(sim, &mut state, &request)),
        };
        outcome.map(|result| {
            signed_reply(
                &mut state,
                &request,
                &key,
                result,
                fault_is(&fault, FaultKind::BadSign),
            )
        })
    };
    if let Some(fault) = &fault
        && matches!(fault.kind, FaultKind::Delay | FaultKind::Timeout)
    {
        tokio::time::sleep(fault.delay()).await;
    }
    match outcome {
        Some(xml) => xml_response(xml),
        None => crate::http_status(fault.and_then(|f| f.status).unwrap_or(500)),
    }
}

fn fault_is(fault: &Option<crate::faults::FaultSpec>, kind: FaultKind) -> bool {
    fault.as_ref().is_some_and(|f| f.kind == kind)
}

/// The merchant's key and the request's sign type, or the FAIL reply WeChat gives.
pub(crate) fn check_signature(
    state: &SimState,
    params: &Params<'_>,
) -> Result<(wxpay_core::ApiKey, SignType), HttpResponse> {
    let fail = |msg: &str| Err(xml_response(reply::fail_reply(msg)));
    let Some(mch_id) = params.get("mch_id").filter(|m| !m.is_empty()) else {
        return fail("缺少参数 mch_id (LACK_PARAMS)");
    };
    let Some(merchant) = state.merchant_by_mch_id(mch_id) else {
        return fail("商户号不存在 (MCHID_NOT_EXIST)");
    };
    let sign_type = match params.get(sign::SIGN_TYPE_FIELD) {
        None | Some("") => SignType::Md5,
        Some(name) => match name.parse::<SignType>() {
            Ok(t) => t,
            Err(_) => return fail("sign_type参数格式错误"),
        },
    };
    match sign::verify(params, &merchant.key, Some(sign_type)) {
        Ok(_) => Ok((merchant.key.clone(), sign_type)),
        Err(_) => fail("签名错误 (SIGNERROR)"),
    }
}

/// WeChat's two-layer reply, signed with the request's sign type.
fn signed_reply(
    state: &mut SimState,
    request: &Request<'_>,
    key: &wxpay_core::ApiKey,
    result: BizResult,
    corrupt_sign: bool,
) -> String {
    let mut params: Params<'static> = Params::new();
    params.insert("return_code", "SUCCESS");
    params.insert("return_msg", "OK");
    for field in ["appid", "mch_id", "device_info"] {
        if let Some(value) = request.get(field) {
            params.insert(field, value.to_owned());
        }
    }
    params.insert("nonce_str", ids::nonce(&mut state.rng));
    match result {
        Ok(fields) => {
            params.insert("result_code", "SUCCESS");
            for (name, value) in fields {
                params.insert(name, value);
            }
        }
        Err(error) => {
            params.insert("result_code", "FAIL");
            params.insert("err_code", error.code);
            params.insert("err_code_des", error.description);
        }
    }
    let signature = sign::sign(&params, key, request.sign_type);
    let mut sign = signature.as_str().to_owned();
    if corrupt_sign {
        // A believable but wrong signature: same length and alphabet.
        sign = sign.chars().rev().collect();
        if sign == signature.as_str() {
            sign.replace_range(0..1, if sign.starts_with('0') { "1" } else { "0" });
        }
    }
    params.insert("sign", sign);
    xml::to_xml(&params).unwrap_or_else(|_| reply::fail_reply("系统错误"))
}

fn xml_response(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(body)
}
