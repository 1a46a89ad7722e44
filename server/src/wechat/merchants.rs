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
        for (i, a) in all.iter().enumerate() {
            for b in all.iter().skip(i + 1) {
                let c = (&a.credentials, &b.credentials);
                anyhow::ensure!(
                    a.id != b.id && c.0.appid != c.1.appid && c.0.mch_id != c.1.mch_id,
                    "merchants {} and {} share an id, an appid or an mch_id",
                    a.id,
                    b.id
                );
            }
        }
        let index = |key: fn(&Merchant) -> &str| -> HashMap<String, usize> {
            all.iter()
                .enumerate()
                .map(|(i, m)| (key(m).to_owned(), i))
                .collect()
        };
        let (by_mch_id, by_appid) = (
            index(|m| &m.credentials.mch_id),
            index(|m| &m.credentials.appid),
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
