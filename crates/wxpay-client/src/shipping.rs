//! The order-shipping service (小程序发货信息管理服务, `docs/protocol-shipping.md`):
//! `POST /wxa/sec/order/*` on the access_token. A payment of a Mini Program enrolled in
//! it ("trade managed") settles only after its shipping is uploaded and the payer
//! confirmed receipt. [`ShippingInfo::check`] holds the upload rules WeChat documents,
//! so a caller refuses bad input with a clear reason before WeChat sees it; WeChat's own
//! refusals keep their errcode ([`MpError::Other`]).

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::mp::MpError;

/// The most parcels one payment's shipping may list (WeChat's documentation; an older
/// copy and the issue that asked for this said 10).
pub const MAX_PARCELS: usize = 15;
/// `item_desc`: at most 120 characters.
pub const MAX_ITEM_DESC_CHARS: usize = 120;
/// `tracking_no`, `express_company`: 1 to 128 bytes.
pub const MAX_CODE_BYTES: usize = 128;
/// A masked contact: at most 1024 bytes.
pub const MAX_CONTACT_BYTES: usize = 1024;
/// `express_company` of SF Express, whose shipping needs a (masked) contact.
pub const SF_EXPRESS: &str = "SF";

/// Which payment: the merchant's number (`order_number_type` 1) or WeChat's (2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderKey {
    Merchant { mchid: String, out_trade_no: String },
    Transaction { transaction_id: String },
}

impl OrderKey {
    /// `order_key` of the uploads.
    fn upload_key(&self) -> Value {
        match self {
            OrderKey::Merchant {
                mchid,
                out_trade_no,
            } => json!({ "order_number_type": 1, "mchid": mchid, "out_trade_no": out_trade_no }),
            OrderKey::Transaction { transaction_id } => {
                json!({ "order_number_type": 2, "transaction_id": transaction_id })
            }
        }
    }

    /// `get_order` and `notify_confirm_receive` name the same fields differently.
    fn query_fields(&self) -> serde_json::Map<String, Value> {
        let fields = match self {
            OrderKey::Merchant {
                mchid,
                out_trade_no,
            } => json!({ "merchant_id": mchid, "merchant_trade_no": out_trade_no }),
            OrderKey::Transaction { transaction_id } => json!({ "transaction_id": transaction_id }),
        };
        match fields {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }
}

/// `logistics_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogisticsType {
    /// 1: an express company (tracking number required).
    Express,
    /// 2: same-city delivery.
    SameCity,
    /// 3: virtual goods (top-ups, cards): nothing travels.
    Virtual,
    /// 4: the payer picks it up.
    SelfPickup,
}

impl LogisticsType {
    pub fn wire(self) -> u8 {
        match self {
            LogisticsType::Express => 1,
            LogisticsType::SameCity => 2,
            LogisticsType::Virtual => 3,
            LogisticsType::SelfPickup => 4,
        }
    }

    pub fn from_wire(value: i64) -> Option<LogisticsType> {
        Some(match value {
            1 => LogisticsType::Express,
            2 => LogisticsType::SameCity,
            3 => LogisticsType::Virtual,
            4 => LogisticsType::SelfPickup,
            _ => return None,
        })
    }
}

/// `delivery_mode`: one parcel, or split into several (express only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryMode {
    Unified,
    Split { all_delivered: bool },
}

/// The masked phone numbers of a parcel (last 4 digits in clear: `189****1234`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consignor_contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_contact: Option<String>,
}

/// One entry of `shipping_list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parcel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_no: Option<String>,
    /// A `delivery_id` of `get_delivery_list` (`SF`, `YTO`, `ZTO`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub express_company: Option<String>,
    pub item_desc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
}

/// An `upload_shipping_info` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingInfo {
    pub order_key: OrderKey,
    pub logistics_type: LogisticsType,
    pub delivery_mode: DeliveryMode,
    pub shipping_list: Vec<Parcel>,
    /// [`upload_time`]: each upload for a payment must be later than the one before.
    pub upload_time: String,
    pub payer_openid: String,
}

/// Why an upload would be refused: WeChat's documented rules, each with the errcode
/// WeChat answers when it sees it (so a simulator and a caller agree on the rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShippingProblem {
    #[error("shipping_list must hold 1 to {MAX_PARCELS} parcels, not {0}")]
    ParcelCount(usize),
    #[error("unified delivery ships exactly one parcel, not {0}; split delivery for more")]
    UnifiedNeedsOne(usize),
    #[error("only express shipping may be split into several parcels")]
    SplitNeedsExpress,
    #[error("parcel {0}: item_desc (what is in it) is required")]
    ItemDescMissing(usize),
    #[error("parcel {0}: item_desc is longer than {MAX_ITEM_DESC_CHARS} characters")]
    ItemDescTooLong(usize),
    #[error("parcel {0}: express shipping needs its tracking_no")]
    TrackingNoMissing(usize),
    #[error("parcel {0}: express shipping needs its express_company (a get_delivery_list id)")]
    ExpressCompanyMissing(usize),
    #[error("parcel {0}: tracking_no is longer than {MAX_CODE_BYTES} bytes")]
    TrackingNoTooLong(usize),
    #[error("parcel {0}: express_company is longer than {MAX_CODE_BYTES} bytes")]
    ExpressCompanyTooLong(usize),
    #[error(
        "parcel {0}: SF Express needs a contact (the receiver's or the consignor's phone, masked but for its last 4 digits)"
    )]
    ContactRequired(usize),
    #[error(
        "parcel {0}: a contact must be masked but for its last 4 digits (189****1234), at most {MAX_CONTACT_BYTES} bytes"
    )]
    ContactMalformed(usize),
    #[error("the payer's openid is required (1 to 128 bytes)")]
    PayerMissing,
    #[error("the order key is incomplete: it needs mchid and out_trade_no, or transaction_id")]
    OrderKeyIncomplete,
}

impl ShippingProblem {
    /// What WeChat answers for it.
    pub fn errcode(&self) -> i64 {
        match self {
            ShippingProblem::ParcelCount(0) => 10060014,
            ShippingProblem::ParcelCount(_) => 10060024,
            ShippingProblem::UnifiedNeedsOne(_) => 268485228,
            ShippingProblem::SplitNeedsExpress => 10060006,
            ShippingProblem::ItemDescMissing(_) => 10060008,
            ShippingProblem::ItemDescTooLong(_) => 10060009,
            ShippingProblem::TrackingNoMissing(_) => 268485226,
            ShippingProblem::ExpressCompanyMissing(_) => 268485227,
            ShippingProblem::TrackingNoTooLong(_) => 10060026,
            ShippingProblem::ExpressCompanyTooLong(_) => 10060025,
            ShippingProblem::ContactRequired(_)
            | ShippingProblem::ContactMalformed(_)
            | ShippingProblem::PayerMissing => 10060014,
            ShippingProblem::OrderKeyIncomplete => 268485197,
        }
    }
}

/// Masked but for the last 4 characters, which are digits (`189****1234`, `****1234`,
/// `021-****1234`, `+86-177****1234`).
fn masked_contact(contact: &str) -> bool {
    let tail: Vec<char> = contact.chars().rev().take(4).collect();
    contact.len() <= MAX_CONTACT_BYTES
        && contact.contains('*')
        && tail.len() == 4
        && tail.iter().all(char::is_ascii_digit)
}

impl ShippingInfo {
    /// The first documented rule this upload breaks (parcels numbered from 1).
    pub fn check(&self) -> Result<(), ShippingProblem> {
        let complete = match &self.order_key {
            OrderKey::Merchant {
                mchid,
                out_trade_no,
            } => !mchid.is_empty() && !out_trade_no.is_empty(),
            OrderKey::Transaction { transaction_id } => !transaction_id.is_empty(),
        };
        if !complete {
            return Err(ShippingProblem::OrderKeyIncomplete);
        }
        if self.payer_openid.is_empty() || self.payer_openid.len() > 128 {
            return Err(ShippingProblem::PayerMissing);
        }
        let count = self.shipping_list.len();
        if count == 0 || count > MAX_PARCELS {
            return Err(ShippingProblem::ParcelCount(count));
        }
        match self.delivery_mode {
            DeliveryMode::Unified if count != 1 => {
                return Err(ShippingProblem::UnifiedNeedsOne(count));
            }
            DeliveryMode::Split { .. } if self.logistics_type != LogisticsType::Express => {
                return Err(ShippingProblem::SplitNeedsExpress);
            }
            _ => {}
        }
        for (at, parcel) in self.shipping_list.iter().enumerate() {
            self.check_parcel(at + 1, parcel)?;
        }
        Ok(())
    }

    fn check_parcel(&self, n: usize, parcel: &Parcel) -> Result<(), ShippingProblem> {
        let desc = parcel.item_desc.trim();
        if desc.is_empty() {
            return Err(ShippingProblem::ItemDescMissing(n));
        }
        if desc.chars().count() > MAX_ITEM_DESC_CHARS {
            return Err(ShippingProblem::ItemDescTooLong(n));
        }
        let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if self.logistics_type == LogisticsType::Express {
            if !present(&parcel.tracking_no) {
                return Err(ShippingProblem::TrackingNoMissing(n));
            }
            if !present(&parcel.express_company) {
                return Err(ShippingProblem::ExpressCompanyMissing(n));
            }
        }
        if parcel.tracking_no.as_deref().unwrap_or_default().len() > MAX_CODE_BYTES {
            return Err(ShippingProblem::TrackingNoTooLong(n));
        }
        let company = parcel.express_company.as_deref().unwrap_or_default();
        if company.len() > MAX_CODE_BYTES {
            return Err(ShippingProblem::ExpressCompanyTooLong(n));
        }
        let contacts: Vec<&str> = parcel
            .contact
            .iter()
            .flat_map(|c| [&c.consignor_contact, &c.receiver_contact])
            .filter_map(|c| c.as_deref())
            .collect();
        if contacts.iter().any(|c| !masked_contact(c)) {
            return Err(ShippingProblem::ContactMalformed(n));
        }
        if self.logistics_type == LogisticsType::Express
            && company.trim() == SF_EXPRESS
            && contacts.is_empty()
        {
            return Err(ShippingProblem::ContactRequired(n));
        }
        Ok(())
    }

    /// The request body, as WeChat documents it.
    pub fn body(&self) -> Value {
        let (mode, all_delivered) = match self.delivery_mode {
            DeliveryMode::Unified => (1, None),
            DeliveryMode::Split { all_delivered } => (2, Some(all_delivered)),
        };
        let mut body = json!({
            "order_key": self.order_key.upload_key(),
            "logistics_type": self.logistics_type.wire(),
            "delivery_mode": mode,
            "shipping_list": self.shipping_list,
            "upload_time": self.upload_time,
            "payer": { "openid": self.payer_openid },
        });
        if let (Some(all), Some(map)) = (all_delivered, body.as_object_mut()) {
            map.insert("is_all_delivered".into(), json!(all));
        }
        body
    }
}

/// `upload_time`: RFC 3339 in Beijing time with milliseconds, as WeChat's example
/// (`2022-12-15T13:29:35.120+08:00`); `+0800` without the colon is refused (47001).
pub fn upload_time(unix_ms: i64) -> String {
    use time::macros::{format_description, offset};
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset!(+8))
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+08:00"
        ))
        .unwrap_or_default()
}

/// `order_state` of `get_order`. WeChat has been seen sending states it does not
/// document; they are kept, not refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeChatOrderState {
    /// 1 待发货
    AwaitingShipment,
    /// 2 已发货
    Shipped,
    /// 3 确认收货
    ReceiptConfirmed,
    /// 4 交易完成 (settled)
    Completed,
    /// 5 已退款
    Refunded,
    /// 6 资金待结算
    AwaitingSettlement,
    Other(i64),
}

impl WeChatOrderState {
    pub fn from_wire(value: i64) -> WeChatOrderState {
        match value {
            1 => WeChatOrderState::AwaitingShipment,
            2 => WeChatOrderState::Shipped,
            3 => WeChatOrderState::ReceiptConfirmed,
            4 => WeChatOrderState::Completed,
            5 => WeChatOrderState::Refunded,
            6 => WeChatOrderState::AwaitingSettlement,
            other => WeChatOrderState::Other(other),
        }
    }
}

/// A payment as the shipping service knows it (`get_order`'s `order`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingOrder {
    pub transaction_id: String,
    pub merchant_id: String,
    pub merchant_trade_no: String,
    pub openid: String,
    pub paid_amount: i64,
    pub state: WeChatOrderState,
    pub in_complaint: bool,
    /// Whether the shipping was uploaded as complete.
    pub finish_shipping: bool,
    /// 0 not yet, 1 shipped, 2 shipped again (the one correction used).
    pub finish_shipping_count: i64,
}

#[derive(Deserialize)]
struct OrderReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    order: Option<WireOrder>,
}

#[derive(Deserialize)]
struct WireOrder {
    #[serde(default)]
    transaction_id: String,
    #[serde(default)]
    merchant_id: String,
    #[serde(default)]
    merchant_trade_no: String,
    #[serde(default)]
    openid: String,
    #[serde(default)]
    paid_amount: i64,
    order_state: i64,
    #[serde(default)]
    in_complaint: bool,
    #[serde(default)]
    shipping: Option<WireShipping>,
}

#[derive(Deserialize, Default)]
struct WireShipping {
    #[serde(default)]
    finish_shipping: bool,
    #[serde(default)]
    finish_shipping_count: i64,
}

/// An express company of `get_delivery_list`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct DeliveryCompany {
    pub delivery_id: String,
    pub delivery_name: String,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

impl crate::LoginClient {
    /// `POST /wxa/sec/order/upload_shipping_info`. Checked first: a broken rule is
    /// refused here with its errcode and reason, and WeChat is not called.
    pub async fn upload_shipping_info(
        &self,
        token: &SecretString,
        info: &ShippingInfo,
    ) -> Result<(), MpError> {
        info.check().map_err(|problem| MpError::Other {
            errcode: problem.errcode(),
            errmsg: problem.to_string(),
        })?;
        self.sec_order(token, "upload_shipping_info", &info.body())
            .await
            .map(drop)
    }

    /// `POST /wxa/sec/order/get_order`.
    pub async fn shipping_order(
        &self,
        token: &SecretString,
        key: &OrderKey,
    ) -> Result<ShippingOrder, MpError> {
        let path = with_token("/wxa/sec/order/get_order", token);
        let reply: OrderReply = self
            .post_json(&path, &Value::Object(key.query_fields()))
            .await?;
        if reply.errcode != 0 {
            return Err(MpError::from_errcode(reply.errcode, &reply.errmsg));
        }
        let order = reply
            .order
            .ok_or_else(|| MpError::Malformed("get_order without order".into()))?;
        let shipping = order.shipping.unwrap_or_default();
        Ok(ShippingOrder {
            transaction_id: order.transaction_id,
            merchant_id: order.merchant_id,
            merchant_trade_no: order.merchant_trade_no,
            openid: order.openid,
            paid_amount: order.paid_amount,
            state: WeChatOrderState::from_wire(order.order_state),
            in_complaint: order.in_complaint,
            finish_shipping: shipping.finish_shipping,
            finish_shipping_count: shipping.finish_shipping_count,
        })
    }

    /// `POST /wxa/sec/order/notify_confirm_receive`: reminds the payer to confirm
    /// receipt (once per payment, express only, `received_time` after the shipping).
    pub async fn notify_confirm_receive(
        &self,
        token: &SecretString,
        key: &OrderKey,
        received_time: i64,
    ) -> Result<(), MpError> {
        let mut body = key.query_fields();
        body.insert("received_time".into(), json!(received_time));
        self.sec_order(token, "notify_confirm_receive", &Value::Object(body))
            .await
            .map(drop)
    }

    /// `POST /wxa/sec/order/is_trade_managed`: whether the Mini Program is enrolled.
    pub async fn is_trade_managed(&self, token: &SecretString) -> Result<bool, MpError> {
        let body = json!({ "appid": self.appid() });
        let reply = self.sec_order(token, "is_trade_managed", &body).await?;
        reply
            .get("is_trade_managed")
            .and_then(Value::as_bool)
            .ok_or_else(|| MpError::Malformed("no is_trade_managed".into()))
    }

    /// `POST /wxa/sec/order/set_msg_jump_path`: the page a shipping message opens.
    pub async fn set_msg_jump_path(&self, token: &SecretString, path: &str) -> Result<(), MpError> {
        self.sec_order(token, "set_msg_jump_path", &json!({ "path": path }))
            .await
            .map(drop)
    }

    /// `POST /cgi-bin/express/delivery/open_msg/get_delivery_list`: the express
    /// companies and the ids `express_company` takes.
    pub async fn delivery_companies(
        &self,
        token: &SecretString,
    ) -> Result<Vec<DeliveryCompany>, MpError> {
        let path = with_token(
            "/cgi-bin/express/delivery/open_msg/get_delivery_list",
            token,
        );
        let reply: Status = self.post_json(&path, &json!({})).await?;
        if reply.errcode != 0 {
            return Err(MpError::from_errcode(reply.errcode, &reply.errmsg));
        }
        let list = reply.rest.get("delivery_list").cloned().unwrap_or_default();
        serde_json::from_value(list)
            .map_err(|_| MpError::Malformed("delivery_list is not a list of companies".into()))
    }

    /// One `/wxa/sec/order/{name}` call: its reply's other fields, or WeChat's errcode.
    async fn sec_order(
        &self,
        token: &SecretString,
        name: &str,
        body: &Value,
    ) -> Result<serde_json::Map<String, Value>, MpError> {
        let path = with_token(&format!("/wxa/sec/order/{name}"), token);
        let reply: Status = self.post_json(&path, body).await?;
        if reply.errcode != 0 {
            return Err(MpError::from_errcode(reply.errcode, &reply.errmsg));
        }
        Ok(reply.rest)
    }
}

fn with_token(path: &str, token: &SecretString) -> String {
    format!("{path}?access_token={}", token.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn express(parcels: Vec<Parcel>, mode: DeliveryMode) -> ShippingInfo {
        ShippingInfo {
            order_key: OrderKey::Merchant {
                mchid: "1900000109".into(),
                out_trade_no: "o1".into(),
            },
            logistics_type: LogisticsType::Express,
            delivery_mode: mode,
            shipping_list: parcels,
            upload_time: upload_time(0),
            payer_openid: "o-payer".into(),
        }
    }

    fn parcel(company: &str) -> Parcel {
        Parcel {
            tracking_no: Some("JT1234567890".into()),
            express_company: Some(company.into()),
            item_desc: "微信气泡狗集线器*1".into(),
            contact: None,
        }
    }

    #[test]
    fn upload_time_is_beijing_rfc3339_with_milliseconds() {
        // 2022-12-15T05:29:35.120Z, WeChat's example instant.
        assert_eq!(
            upload_time(1_671_082_175_120),
            "2022-12-15T13:29:35.120+08:00"
        );
        assert_eq!(upload_time(0), "1970-01-01T08:00:00.000+08:00");
    }

    #[test]
    fn the_body_is_wechats_documented_shape() {
        let mut info = express(vec![parcel("STO")], DeliveryMode::Unified);
        info.order_key = OrderKey::Transaction {
            transaction_id: "4200001".into(),
        };
        info.shipping_list[0].contact = Some(Contact {
            consignor_contact: Some("+86-177****1234".into()),
            receiver_contact: None,
        });
        assert_eq!(
            info.body(),
            json!({
                "order_key": {"order_number_type": 2, "transaction_id": "4200001"},
                "logistics_type": 1, "delivery_mode": 1,
                "shipping_list": [{"tracking_no": "JT1234567890", "express_company": "STO",
                    "item_desc": "微信气泡狗集线器*1",
                    "contact": {"consignor_contact": "+86-177****1234"}}],
                "upload_time": "1970-01-01T08:00:00.000+08:00",
                "payer": {"openid": "o-payer"},
            })
        );
        let split = express(
            vec![parcel("STO"), parcel("YTO")],
            DeliveryMode::Split {
                all_delivered: false,
            },
        );
        let body = split.body();
        assert_eq!(body["delivery_mode"], 2);
        assert_eq!(body["is_all_delivered"], false);
        assert_eq!(
            body["order_key"],
            json!({"order_number_type": 1, "mchid": "1900000109", "out_trade_no": "o1"})
        );
        assert!(split.check().is_ok());
    }

    #[test]
    fn every_documented_rule_is_checked_with_its_errcode() {
        let unified = DeliveryMode::Unified;
        let split = DeliveryMode::Split {
            all_delivered: true,
        };
        let mut cases: Vec<(ShippingInfo, i64)> = Vec::new();
        cases.push((express(vec![], unified), 10060014));
        cases.push((express(vec![parcel("YTO"); 16], split), 10060024));
        cases.push((express(vec![parcel("YTO"); 2], unified), 268485228));
        let mut virtual_split = express(vec![parcel("YTO"); 2], split);
        virtual_split.logistics_type = LogisticsType::Virtual;
        cases.push((virtual_split, 10060006));
        let mut no_desc = express(vec![parcel("YTO")], unified);
        no_desc.shipping_list[0].item_desc = "  ".into();
        cases.push((no_desc, 10060008));
        let mut long_desc = express(vec![parcel("YTO")], unified);
        long_desc.shipping_list[0].item_desc = "货".repeat(121);
        cases.push((long_desc, 10060009));
        let mut no_tracking = express(vec![parcel("YTO")], unified);
        no_tracking.shipping_list[0].tracking_no = None;
        cases.push((no_tracking, 268485226));
        let mut no_company = express(vec![parcel("YTO")], unified);
        no_company.shipping_list[0].express_company = Some(String::new());
        cases.push((no_company, 268485227));
        let mut long_tracking = express(vec![parcel("YTO")], unified);
        long_tracking.shipping_list[0].tracking_no = Some("9".repeat(129));
        cases.push((long_tracking, 10060026));
        cases.push((express(vec![parcel(SF_EXPRESS)], unified), 10060014));
        let mut unmasked = express(vec![parcel("YTO")], unified);
        unmasked.shipping_list[0].contact = Some(Contact {
            receiver_contact: Some("13800138000".into()),
            consignor_contact: None,
        });
        cases.push((unmasked, 10060014));
        let mut no_payer = express(vec![parcel("YTO")], unified);
        no_payer.payer_openid.clear();
        cases.push((no_payer, 10060014));
        for (info, errcode) in cases {
            let problem = info.check().expect_err(&format!("{info:?}"));
            assert_eq!(problem.errcode(), errcode, "{problem}");
        }

        // Exactly at the limits is fine; virtual goods need no tracking.
        let mut at_limits = express(vec![parcel("YTO"); 15], split);
        at_limits.shipping_list[0].item_desc = "货".repeat(120);
        assert_eq!(at_limits.check(), Ok(()));
        let mut sf = express(vec![parcel(SF_EXPRESS)], unified);
        sf.shipping_list[0].contact = Some(Contact {
            receiver_contact: Some("189****1234".into()),
            consignor_contact: None,
        });
        assert_eq!(sf.check(), Ok(()));
        let mut virtual_goods = express(vec![Parcel::default()], unified);
        virtual_goods.logistics_type = LogisticsType::Virtual;
        virtual_goods.shipping_list[0].item_desc = "话费充值 50 元".into();
        assert_eq!(virtual_goods.check(), Ok(()));
    }
}
