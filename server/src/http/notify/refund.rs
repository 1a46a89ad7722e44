//! Refund notifies. v2 (`POST /wechat/refund/notify`): the outer XML is not signed; its
//! `req_info` decrypting under MD5(API key) is the proof (protocol §2.12). v3
//! (`REFUND.*`, on either v3 route): verified like every v3 notify, then decrypted (AAD
//! `refund`). Either way the result must be about a refund we made (its order and
//! amount), and moves it exactly once; duplicates and older news are acknowledged.

use actix_web::http::StatusCode;
use wxpay_client::v3::V3PayClient;
use wxpay_core::v2::refund::decrypt_refund_info;
use wxpay_core::v2::xml::XmlParser;
use wxpay_core::v3::VerifiedNotify;
use wxpay_core::v3::notify::NotifyError;
use wxpay_core::{Fen, RefundStatus};

use super::verdict::{Verdict, refused};
use crate::refunds;
use crate::state::AppState;
use crate::store::{RefundChange, RefundState};
use crate::wechat::RefundAnswer;

/// A verified refund result, as either API says it.
struct Reported<'a> {
    out_refund_no: &'a str,
    out_trade_no: &'a str,
    refund_id: &'a str,
    amount: Fen,
    status: RefundStatus,
    fields: String,
    /// The merchant whose key proved the notify: the refund's order must be its.
    mch_id: &'a str,
}

pub(super) async fn handle_v2(state: &AppState, body: &[u8]) -> Verdict {
    let outer = match XmlParser::new()
        .max_bytes(state.settings.server.notify_max_body_bytes)
        .parse(body)
    {
        Ok(outer) => outer,
        Err(_) => return refused("malformed", "malformed refund notify").for_refund(),
    };
    if outer.get("return_code") != Some("SUCCESS") {
        return Verdict::acknowledged("return_fail", "return_code is not SUCCESS").for_refund();
    }
    // Opened with the key of the merchant it names; the refund must then be that
    // merchant's (checked when it is recorded).
    let claimed = outer.get("mch_id").unwrap_or_default();
    let Some(merchant) = state.merchants.by_mch_id(claimed) else {
        return refused(
            "unknown_merchant",
            "mch_id is not a merchant of this server",
        )
        .for_refund();
    };
    let Some(v2) = merchant.gateways.v2() else {
        return Verdict::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "error",
            "API v2 is not configured",
        )
        .for_refund();
    };
    let Some(req_info) = outer.get("req_info") else {
        return refused("malformed", "req_info missing").for_refund();
    };
    // The only proof a v2 refund notify has: it opens under this merchant's key.
    let info = match decrypt_refund_info(req_info, v2.key()) {
        Ok(info) => info,
        Err(_) => return refused("decrypt_failed", "req_info does not decrypt").for_refund(),
    };
    let Some(status) = RefundStatus::from_v2(info.refund_status()) else {
        return refused("malformed", "unknown refund_status").for_refund();
    };
    let fields = serde_json::to_string(info.params()).unwrap_or_default();
    record(
        state,
        &Reported {
            out_refund_no: info.out_refund_no(),
            out_trade_no: info.out_trade_no(),
            refund_id: info.refund_id(),
            amount: info.refund_fee(),
            status,
            fields,
            mch_id: &merchant.credentials.mch_id,
        },
    )
    .await
}

pub(super) async fn handle_v3(
    state: &AppState,
    notify: &VerifiedNotify<'_>,
    client: &V3PayClient,
) -> Verdict {
    let decrypted = match notify.decrypt(&client.credentials().apiv3_key) {
        Ok(decrypted) => decrypted,
        Err(NotifyError::Decrypt(_)) => {
            return refused("decrypt_failed", "the resource does not decrypt").for_refund();
        }
        Err(_) => return refused("malformed", "the resource cannot be read").for_refund(),
    };
    let refund = match decrypted.refund() {
        Ok(refund) => refund,
        Err(_) => return refused("malformed", "the refund cannot be read").for_refund(),
    };
    if refund.mchid != client.mchid() {
        return refused("mismatch", "the refund is another merchant's").for_refund();
    }
    let Some(status) = RefundStatus::from_v3(&refund.refund_status) else {
        return refused("malformed", "unknown refund_status").for_refund();
    };
    record(
        state,
        &Reported {
            out_refund_no: &refund.out_refund_no,
            out_trade_no: &refund.out_trade_no,
            refund_id: &refund.refund_id,
            amount: Fen::new(refund.amount.refund),
            status,
            fields: decrypted.plaintext.clone(),
            mch_id: &refund.mchid,
        },
    )
    .await
}

async fn record(state: &AppState, reported: &Reported<'_>) -> Verdict {
    let refund = match state.store.refund(reported.out_refund_no).await {
        Ok(Some(refund)) => refund,
        Ok(None) => {
            return Verdict::refused(StatusCode::NOT_FOUND, "unknown_refund", "no such refund")
                .for_refund();
        }
        Err(error) => {
            tracing::error!(%error, "refund notify: cannot read the refund");
            return Verdict::refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error",
                "temporary failure",
            )
            .for_refund();
        }
    };
    if !refunds::matches_notify(&refund, reported.out_trade_no, reported.amount) {
        tracing::error!(out_refund_no = %refund.out_refund_no, "refund notify does not match the refund: nothing changed");
        return refused("mismatch", "the refund's order or amount differs").for_refund();
    }
    match state.store.order(&refund.order_no).await {
        Ok(Some(order)) if order.mch_id == reported.mch_id => {}
        Ok(_) => {
            tracing::error!(out_refund_no = %refund.out_refund_no, "refund notify proved by another merchant's key: nothing changed");
            return refused("mismatch", "the refund is another merchant's").for_refund();
        }
        Err(error) => {
            tracing::error!(%error, "refund notify: cannot read the order");
            return Verdict::refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error",
                "temporary failure",
            )
            .for_refund();
        }
    }
    let answer = RefundAnswer {
        refund_id: Some(reported.refund_id.to_owned()),
        status: reported.status,
        amount: Some(reported.amount),
        fields: reported.fields.clone(),
    };
    match refunds::apply(state, &refund, &answer, "notify").await {
        Ok(RefundChange::Moved(RefundState::Succeeded) | RefundChange::SucceededAfterClose) => {
            Verdict::accepted("succeeded").for_refund()
        }
        Ok(RefundChange::Moved(RefundState::Closed)) => Verdict::accepted("closed").for_refund(),
        Ok(RefundChange::Moved(RefundState::Abnormal)) => {
            Verdict::accepted("abnormal").for_refund()
        }
        Ok(RefundChange::Moved(_)) => Verdict::accepted("processing").for_refund(),
        Ok(RefundChange::Unchanged) => Verdict::accepted("duplicate").for_refund(),
        Err(error) if error.status == StatusCode::BAD_GATEWAY => {
            refused("mismatch", "the refund's amount differs").for_refund()
        }
        Err(_) => Verdict::refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "error",
            "temporary failure",
        )
        .for_refund(),
    }
}
