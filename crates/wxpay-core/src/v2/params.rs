//! An ordered parameter map and the v2 canonical string (protocol.md §2.3).
//!
//! Entries are kept sorted by key in ASCII byte order, which is exactly the order the
//! canonical string needs, so signing never sorts or allocates a key list. Keys and values
//! are `Cow` so a parsed notify borrows from the request body instead of copying it.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

/// The field that never takes part in the canonical string.
pub const SIGN_FIELD: &str = "sign";

/// A set of WeChat parameters (request fields, or fields received in a reply or notify),
/// unknown ones included: they are signed like known ones.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params<'a> {
    entries: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// A key that appeared twice where each key may appear once (e.g. two `<total_fee>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field <{0}> appears more than once")]
pub struct DuplicateField(pub String);

impl<'a> Params<'a> {
    pub fn new() -> Self {
        Params {
            entries: Vec::new(),
        }
    }

    pub fn with_capacity(capacity: usize) -> Self {
        Params {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// The map of `entries` given in any order; of a repeated key the last value wins, as
    /// with [`insert`](Self::insert). The entries are put in order by an insertion sort
    /// in place: for a request's dozen or two fields cheaper than a search and a shift
    /// per entry, and far smaller in wasm than the standard library's sort. (Quadratic,
    /// as inserting one by one is in the bytes it shifts.)
    pub fn from_unordered(mut entries: Vec<(Cow<'a, str>, Cow<'a, str>)>) -> Self {
        for end in 1..entries.len() {
            let mut at = end;
            while let (Some(before), Some(here)) =
                (entries.get(at.wrapping_sub(1)), entries.get(at))
                && key_cmp(&before.0, &here.0) == Ordering::Greater
            {
                entries.swap(at - 1, at);
                at -= 1;
            }
        }
        // Equal keys are adjacent and in their original order: keep the last one's value.
        entries.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        Params { entries }
    }

    /// Where `key` is (`Ok`) or would go (`Err`). Fields usually arrive in ascending
    /// order (WeChat sorts its XML), so appending is checked before searching.
    fn position(&self, key: &str) -> Result<usize, usize> {
        match self.entries.last() {
            Some((last, _)) if key_cmp(last, key) == Ordering::Less => Err(self.entries.len()),
            None => Err(0),
            _ => self.entries.binary_search_by(|(k, _)| key_cmp(k, key)),
        }
    }

    /// Sets `key` to `value`, returning the previous value if there was one.
    pub fn insert(
        &mut self,
        key: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Option<Cow<'a, str>> {
        let key = key.into();
        let value = value.into();
        match self.position(&key) {
            Ok(at) => self
                .entries
                .get_mut(at)
                .map(|slot| std::mem::replace(&mut slot.1, value)),
            Err(at) => {
                self.entries.insert(at, (key, value));
                None
            }
        }
    }

    /// Adds a field that must not be present yet (parsers use this: a repeated field is
    /// an injection attempt, not something to resolve by "last one wins").
    pub fn insert_new(
        &mut self,
        key: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Result<(), DuplicateField> {
        let key = key.into();
        match self.position(&key) {
            Ok(_) => Err(DuplicateField(key.into_owned())),
            Err(at) if at == self.entries.len() => {
                self.entries.push((key, value.into()));
                Ok(())
            }
            Err(at) => {
                self.entries.insert(at, (key, value.into()));
                Ok(())
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        let at = self.position(key).ok()?;
        self.entries.get(at).map(|(_, v)| v.as_ref())
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    pub fn remove(&mut self, key: &str) -> Option<Cow<'a, str>> {
        let at = self.position(key).ok()?;
        Some(self.entries.remove(at).1)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Fields in ASCII key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    /// Detaches the map from whatever buffer it borrowed from.
    pub fn into_owned(self) -> Params<'static> {
        Params {
            entries: self
                .entries
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
        }
    }

    /// The fields that take part in the signature: every field except `sign` and those
    /// whose value is empty, in ASCII key order.
    pub fn signed_fields(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.iter()
            .filter(|(k, v)| *k != SIGN_FIELD && !v.is_empty())
    }

    /// `stringA` of protocol.md §2.3: `k1=v1&k2=v2...` with raw (not URL-encoded) values.
    pub fn canonical_string(&self) -> String {
        let mut out = Vec::with_capacity(self.canonical_len());
        self.write_canonical(&mut out);
        // Only whole `&str`s and ASCII separators were written.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Exact byte length of the canonical string, so the signing buffer is allocated once.
    pub(crate) fn canonical_len(&self) -> usize {
        self.signed_fields()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum::<usize>()
            .saturating_sub(1)
    }

    pub(crate) fn write_canonical(&self, out: &mut Vec<u8>) {
        let mut first = true;
        for (k, v) in self.signed_fields() {
            if !first {
                out.push(b'&');
            }
            first = false;
            out.extend_from_slice(k.as_bytes());
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
        }
    }
}

/// The same order as `str::cmp` (bytes, then length). Field names are short and usually
/// differ in their first bytes: `str::cmp` calls `memcmp`, whose call costs more than the
/// comparison (~90 instructions a key on a notify, against ~15 for this loop).
fn key_cmp(a: &str, b: &str) -> Ordering {
    for (x, y) in a.bytes().zip(b.bytes()) {
        if x != y {
            return x.cmp(&y);
        }
    }
    a.len().cmp(&b.len())
}

/// Lists keys only: values may be personal data (openid) and `sign` is not for logs.
impl fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Params")
            .field("keys", &self.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<'a, K, V> FromIterator<(K, V)> for Params<'a>
where
    K: Into<Cow<'a, str>>,
    V: Into<Cow<'a, str>>,
{
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut params = Params::new();
        params.extend(iter);
        params
    }
}

impl<'a, K, V> Extend<(K, V)> for Params<'a>
where
    K: Into<Cow<'a, str>>,
    V: Into<Cow<'a, str>>,
{
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl serde::Serialize for Params<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_string_of_the_official_example() {
        let params: Params = [
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("device_info", "1000"),
            ("body", "test"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ]
        .into_iter()
        .collect();
        let canonical = params.canonical_string();
        assert_eq!(
            canonical,
            "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA"
        );
        assert_eq!(params.canonical_len(), canonical.len());
    }

    #[test]
    fn skips_sign_and_empty_values_and_sorts_by_ascii() {
        let params: Params = [
            ("timeStamp", "1"),
            ("sign", "X"),
            ("appId", "a"),
            ("attach", ""),
            ("Zeta", "z"),
            ("nonceStr", "n"),
        ]
        .into_iter()
        .collect();
        // Upper case sorts before lower case; `appId` before `nonceStr` before `timeStamp`.
        assert_eq!(
            params.canonical_string(),
            "Zeta=z&appId=a&nonceStr=n&timeStamp=1"
        );
    }

    #[test]
    fn empty_map_has_empty_canonical_string() {
        let params = Params::new();
        assert_eq!(params.canonical_string(), "");
        assert_eq!(params.canonical_len(), 0);
    }

    #[test]
    fn insert_replaces_and_insert_new_refuses_duplicates() {
        let mut params = Params::new();
        assert_eq!(params.insert("a", "1"), None);
        assert_eq!(params.insert("a", "2").as_deref(), Some("1"));
        assert_eq!(params.get("a"), Some("2"));
        assert_eq!(params.insert_new("a", "3"), Err(DuplicateField("a".into())));
        assert_eq!(params.remove("a").as_deref(), Some("2"));
        assert!(params.is_empty());
    }

    #[test]
    fn key_order_is_str_order() {
        let keys = [
            "",
            "a",
            "ab",
            "b",
            "B",
            "a_",
            "a0",
            "coupon_fee",
            "coupon_fee_0",
            "é",
            "中",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(key_cmp(a, b), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn debug_shows_keys_not_values() {
        let params: Params = [("openid", "o-secret-ish")].into_iter().collect();
        let shown = format!("{params:?}");
        assert!(shown.contains("openid"));
        assert!(!shown.contains("o-secret-ish"));
    }

    proptest::proptest! {
        /// Sorting the whole gives the map that inserting one by one gives, repeated
        /// keys (last value wins) included.
        #[test]
        fn from_unordered_is_inserting_each(
            entries in proptest::collection::vec(("[a-d_é]{0,3}", "[a-z]{0,2}"), 0..40)
        ) {
            let inserted: Params = entries.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let sorted = Params::from_unordered(
                entries.iter().map(|(k, v)| (k.as_str().into(), v.as_str().into())).collect(),
            );
            proptest::prop_assert_eq!(sorted, inserted);
        }
    }
}
