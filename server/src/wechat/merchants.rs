//! The merchants this deployment takes payments for (`[wechat]`'s, id `default`, and
//! `[[merchants]]`), each with its credentials, its gateways (v2 and/or v3) and its mini
//! program's login client. An order finds its merchant by the mch_id it was made with
//! (stored on the order, as WeChat keeps it), never by what a caller claims.

use std::collections::HashMap;

use crate::base::error::ApiError;
use crate::config::Credentials;
use crate::store::{OrderRow, StoreError};
use wxpay_client::LoginClient;

use super::{Gateway, Gateways};

#[derive(Debug)]
pub struct Merchant {
    pub id: String,
    pub credentials: Credentials,
    pub gateways: Gateways,
    /// code2session, access_token and the mini-program APIs, as its app.
    pub login: LoginClient,
}

#[derive(Debug)]
pub struct Merchants {
    /// The one routes without a merchant of their own use (the first configured).
    primary: Merchant,
    others: Vec<Merchant>,
    /// Positions in `iter()` order by mch_id and by appid: a lookup on every notify and
    /// order costs the same however many merchants there are.
    by_mch_id: HashMap<String, usize>,
    by_appid: HashMap<String, usize>,
}

impl Merchants {
    /// Refused when empty, or when two share an id, an appid or an mch_id (an order or a
    /// login could then not say whose it is).
    pub fn new(all: Vec<Merchant>) -> anyhow::Result<Merchants> {
        // The indexes are the uniqueness check: a key already taken is a shared one.
        let index = |key: fn(&Merchant) -> &str| -> anyhow::Result<HashMap<String, usize>> {
            let mut map = HashMap::with_capacity(all.len());
            for (i, m) in all.iter().enumerate() {
                if let Some(other) = map.insert(key(m).to_owned(), i) {
                    anyhow::bail!(
                        "merchants {} and {} share an id, an appid or an mch_id",
                        all.get(other).map_or("?", |o| o.id.as_str()),
                        m.id
                    );
                }
            }
            Ok(map)
        };
        index(|m| &m.id)?;
        let (by_mch_id, by_appid) = (
            index(|m| &m.credentials.mch_id)?,
            index(|m| &m.credentials.appid)?,
        );
        let mut all = all.into_iter();
        let primary = all
            .next()
            .ok_or_else(|| anyhow::anyhow!("no merchant is configured"))?;
        Ok(Merchants {
            primary,
            others: all.collect(),
            by_mch_id,
            by_appid,
        })
    }

    pub fn primary(&self) -> &Merchant {
        &self.primary
    }

    pub fn by_mch_id(&self, mch_id: &str) -> Option<&Merchant> {
        self.by_mch_id.get(mch_id).and_then(|&i| self.at(i))
    }

    fn at(&self, i: usize) -> Option<&Merchant> {
        match i.checked_sub(1) {
            None => Some(&self.primary),
            Some(other) => self.others.get(other),
        }
    }

    pub fn by_appid(&self, appid: &str) -> Option<&Merchant> {
        self.by_appid.get(appid).and_then(|&i| self.at(i))
    }

    /// The appid kept with a user of `merchant`'s app: None for `[wechat]`'s own (as
    /// every user before many merchants), else its appid.
    pub(crate) fn user_appid<'m>(&self, merchant: &'m Merchant) -> Option<&'m str> {
        (!std::ptr::eq(merchant, &self.primary)).then_some(merchant.credentials.appid.as_str())
    }

    /// The merchant of a mini program user (None: `[wechat]`'s app).
    pub(crate) fn of_app(&self, appid: Option<&str>) -> Result<&Merchant, ApiError> {
        match appid {
            None => Ok(&self.primary),
            Some(appid) => self.by_appid(appid).ok_or_else(|| {
                ApiError::from(StoreError::Corrupt(format!(
                    "a user of appid {appid}, which is not configured here"
                )))
            }),
        }
    }

    /// The merchant `order` was made with.
    pub(crate) fn of_order(&self, order: &OrderRow) -> Result<&Merchant, ApiError> {
        self.by_mch_id(&order.mch_id).ok_or_else(|| {
            ApiError::from(StoreError::Corrupt(format!(
                "order {} is for mch_id {}, which is not configured here",
                order.order_no, order.mch_id
            )))
        })
    }

    /// The gateway of `order`: its merchant's, on the API it was created on.
    pub(crate) fn gateway_for(&self, order: &OrderRow) -> Result<Gateway<'_>, ApiError> {
        self.of_order(order)?.gateways.for_order(order)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Merchant> {
        std::iter::once(&self.primary).chain(&self.others)
    }
}
