//! A refund's state, in either API's words (protocol §2.9, §3.7): one enum for both.

/// Where a refund stands. Only `Success` and `Closed` are final: `Abnormal` (v2 `CHANGE`)
/// means the money could not reach the user and needs the merchant platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    Processing,
    Success,
    Closed,
    Abnormal,
}

impl RefundStatus {
    /// v2 `refund_status`: `PROCESSING`, `SUCCESS`, `REFUNDCLOSE`, `CHANGE`.
    pub fn from_v2(value: &str) -> Option<RefundStatus> {
        match value {
            "PROCESSING" => Some(RefundStatus::Processing),
            "SUCCESS" => Some(RefundStatus::Success),
            "REFUNDCLOSE" => Some(RefundStatus::Closed),
            "CHANGE" => Some(RefundStatus::Abnormal),
            _ => None,
        }
    }

    /// v3 `status` / `refund_status`: `PROCESSING`, `SUCCESS`, `CLOSED`, `ABNORMAL`.
    pub fn from_v3(value: &str) -> Option<RefundStatus> {
        match value {
            "PROCESSING" => Some(RefundStatus::Processing),
            "SUCCESS" => Some(RefundStatus::Success),
            "CLOSED" => Some(RefundStatus::Closed),
            "ABNORMAL" => Some(RefundStatus::Abnormal),
            _ => None,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, RefundStatus::Success | RefundStatus::Closed)
    }

    /// Lower-case, as wxpay stores and shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Processing => "processing",
            RefundStatus::Success => "succeeded",
            RefundStatus::Closed => "closed",
            RefundStatus::Abnormal => "abnormal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_apis_words_map_to_one_state() {
        assert_eq!(
            RefundStatus::from_v2("CHANGE"),
            Some(RefundStatus::Abnormal)
        );
        assert_eq!(
            RefundStatus::from_v2("REFUNDCLOSE"),
            Some(RefundStatus::Closed)
        );
        assert_eq!(
            RefundStatus::from_v3("ABNORMAL"),
            Some(RefundStatus::Abnormal)
        );
        assert_eq!(RefundStatus::from_v3("CLOSED"), Some(RefundStatus::Closed));
        assert_eq!(RefundStatus::from_v3("REFUNDCLOSE"), None);
        assert!(!RefundStatus::Abnormal.is_final());
        assert!(RefundStatus::Closed.is_final());
    }
}
