//! The product catalog file: TOML `[[products]]` with `sku`, `name`, `price_fen`.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use crate::store::Product;

/// The sandbox's demo catalog.
pub const DEMO: &str = include_str!("../../catalog/demo.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    products: Vec<Product>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read catalog {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("catalog is not valid TOML [[products]]: {0}")]
    Parse(String),
    #[error("catalog product {sku:?}: {reason}")]
    Invalid { sku: String, reason: &'static str },
}

pub fn load(path: &Path) -> Result<Vec<Product>, CatalogError> {
    let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text)
}

pub fn parse(text: &str) -> Result<Vec<Product>, CatalogError> {
    let file: CatalogFile = toml::from_str(text).map_err(|e| CatalogError::Parse(e.to_string()))?;
    let mut seen = HashSet::new();
    for p in &file.products {
        let invalid = |reason| CatalogError::Invalid {
            sku: p.sku.clone(),
            reason,
        };
        let sku_ok = !p.sku.is_empty()
            && p.sku.len() <= 64
            && p.sku
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !sku_ok {
            return Err(invalid("sku must be 1-64 letters, digits, - _ ."));
        }
        if p.name.trim().is_empty() {
            return Err(invalid("name must not be empty"));
        }
        if p.price_fen < 1 {
            return Err(invalid(
                "price_fen must be a positive integer number of fen",
            ));
        }
        if p.price_fen > wxpay_core::Fen::WECHAT_MAX.get() {
            return Err(invalid(
                "price_fen is above WeChat Pay's limit of 2147483647 fen",
            ));
        }
        if !seen.insert(p.sku.as_str()) {
            return Err(invalid("sku appears twice"));
        }
    }
    Ok(file.products)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_catalog_is_valid() {
        let products = parse(DEMO).unwrap();
        assert_eq!(products.len(), 4);
        assert!(products.iter().all(|p| p.price_fen > 0));
    }

    #[test]
    fn refuses_bad_products() {
        assert!(parse("[[products]]\nsku = \"a\"\nname = \"A\"\nprice_fen = 0\n").is_err());
        assert!(parse("[[products]]\nsku = \"a b\"\nname = \"A\"\nprice_fen = 1\n").is_err());
        assert!(parse("[[products]]\nsku = \"a\"\nname = \"A\"\nprice_fen = 1.5\n").is_err());
        assert!(
            parse("[[products]]\nsku = \"a\"\nname = \"A\"\nprice_fen = 2147483648\n").is_err()
        );
        assert!(parse("[[products]]\nsku = \"a\"\nname = \"A\"\nprice_fen = 2147483647\n").is_ok());
        let twice = "[[products]]\nsku = \"a\"\nname = \"A\"\nprice_fen = 1\n\
                     [[products]]\nsku = \"a\"\nname = \"B\"\nprice_fen = 2\n";
        assert!(parse(twice).is_err());
    }
}
