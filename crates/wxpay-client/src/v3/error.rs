//! Why a v3 call failed, keeping WeChat's `code`, `message` and `detail`.

use serde_json::Value;
use wxpay_core::v3::VerifyError;

/// A v3 call's failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum V3PayError {
    #[error("timed out waiting for WeChat Pay")]
    Timeout,
    #[error("could not reach WeChat Pay: {0}")]
    Transport(String),
    /// WeChat answered with an error (`{code, message, detail}`), or a gateway in front of
    /// it answered a bare HTTP error (`code` empty).
    #[error("WeChat Pay answered HTTP {status} {code}: {message}{}", if *.verified { "" } else { " (unsigned: it proves nothing)" })]
    Api {
        status: u16,
        code: String,
        message: String,
        detail: Option<Value>,
        /// Whether the reply was signed and verified. WeChat signs its business errors; a
        /// proxy's, a gateway's or a forger's are not, so only a verified one may say
        /// what happened to an order ([`V3PayError::verified_code`]).
        verified: bool,
    },
    /// The reply's signature did not verify, so nothing in it counts. For a call that
    /// creates or changes something (prepay, close) this does **not** mean it failed: it
    /// may have taken effect; query before retrying.
    #[error("WeChat Pay's reply did not verify ({reason}){}", if *.may_have_taken_effect { "; the call may have taken effect: query before retrying" } else { "" })]
    Unverified {
        reason: VerifyError,
        may_have_taken_effect: bool,
    },
    #[error("unexpected reply from WeChat Pay: {0}")]
    Malformed(String),
    /// `/v3/certificates` is not called for a merchant on a WeChat Pay public key (WeChat
    /// answers 404 there; SDKs that call it at start-up fail).
    #[error(
        "this merchant verifies with a WeChat Pay public key: it has no platform certificates to download"
    )]
    NoCertificates,
    #[error("the request cannot be signed: {0}")]
    Sign(String),
    /// A bill inflating past `ClientOptions::max_bill_bytes`: refused before it is held.
    #[error(
        "the bill inflates past {limit} bytes (the max_bill_bytes bound): raise the bound if this merchant's day is that large"
    )]
    BillTooLarge { limit: u64 },
}

impl V3PayError {
    /// Whether sending the identical request again is safe and may succeed. An
    /// unverified reply to a write is not: query first.
    pub fn is_retryable(&self) -> bool {
        match self {
            V3PayError::Timeout | V3PayError::Transport(_) => true,
            V3PayError::Api { status, code, .. } => {
                *status >= 500 || code == "SYSTEM_ERROR" || code == "FREQUENCY_LIMITED"
            }
            V3PayError::Unverified {
                may_have_taken_effect,
                ..
            } => !may_have_taken_effect,
            V3PayError::Malformed(_)
            | V3PayError::NoCertificates
            | V3PayError::Sign(_)
            | V3PayError::BillTooLarge { .. } => false,
        }
    }

    /// WeChat's `code`, for its error replies.
    pub fn code(&self) -> Option<&str> {
        match self {
            V3PayError::Api { code, .. } if !code.is_empty() => Some(code),
            _ => None,
        }
    }

    /// WeChat's `code` of an error reply that verified: the only kind that may decide an
    /// order's state (ORDER_NOT_EXIST, ORDER_CLOSED, ORDER_PAID).
    pub fn verified_code(&self) -> Option<&str> {
        match self {
            V3PayError::Api { verified: true, .. } => self.code(),
            _ => None,
        }
    }

    /// An error reply without a verified signature: it proves nothing either way.
    pub fn is_unverified_answer(&self) -> bool {
        matches!(
            self,
            V3PayError::Api {
                verified: false,
                ..
            }
        )
    }

    /// Whether WeChat may have acted although the call did not succeed cleanly: a
    /// timeout, a lost connection, or an unverified reply to a write.
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            V3PayError::Timeout | V3PayError::Transport(_) => true,
            V3PayError::Unverified {
                may_have_taken_effect,
                ..
            } => *may_have_taken_effect,
            V3PayError::Api { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
