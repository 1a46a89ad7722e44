//! The shared HTTP client: rustls (ring), explicit timeouts, no proxies from the
//! environment and no redirects (payment traffic should not silently take a detour).

use std::time::Duration;

/// WeChat's production hosts.
pub const PRODUCTION_MP_BASE: &str = "https://api.weixin.qq.com";
pub const PRODUCTION_PAY_BASE: &str = "https://api.mch.weixin.qq.com";

/// Timeouts and retries for calls to WeChat.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// Whole request, connect to last byte.
    pub request_timeout: Duration,
    pub retry: crate::RetryPolicy,
    /// The largest a bill may inflate to (bytes of text); a larger one is refused
    /// (`BillTooLarge`) before it is held.
    pub max_bill_bytes: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            retry: crate::RetryPolicy::default(),
            max_bill_bytes: DEFAULT_MAX_BILL_BYTES,
        }
    }
}

/// The default bound on a bill's inflated text ([`ClientOptions::max_bill_bytes`]). A
/// simulator bill of 200,000 trades, each with the longest product name and attach
/// WeChat takes, is 99 MB (`wxpay_sim::sized_bill`: 99,000,585 bytes, measured by the test
/// `crates/wxpay-client/tests/bill_bound.rs`); twice that, rounded up to a power of two.
///
/// [`ClientOptions::max_bill_bytes`]: ClientOptions::max_bill_bytes
pub const DEFAULT_MAX_BILL_BYTES: u64 = 256 << 20;

/// Longest reply body read from WeChat.
pub(crate) const MAX_REPLY_BYTES: usize = 256 * 1024;

/// Installs ring as rustls' process-wide crypto provider. reqwest is built without a
/// bundled one, so any `reqwest::Client` built before this panics ("No rustls crypto
/// provider is configured"): a program calls it once at start (the `wxpay` binary does,
/// for every command), and every client built here calls it too. A second install is
/// refused harmlessly.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The client every call to WeChat uses (provider installed, timeouts, no proxies, no
/// redirects), for a caller that makes its own request to a WeChat host (the doctor's
/// clock check).
pub fn build(options: &ClientOptions) -> reqwest::Result<reqwest::Client> {
    build_with(options, None, None)
}

/// [`build`] with a TLS client identity (mutual TLS) and an extra root to trust.
pub(crate) fn build_with(
    options: &ClientOptions,
    identity: Option<reqwest::Identity>,
    extra_root: Option<reqwest::Certificate>,
) -> reqwest::Result<reqwest::Client> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .timeout(options.request_timeout)
        .no_proxy()
        // Never follow a redirect: a 307 from a hijacked or misconfigured host would
        // replay the body (stable_token's app secret) and the access_token to wherever it
        // points. A WeChat API never redirects; a 3xx is an error like any other status.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("wxpay/", env!("CARGO_PKG_VERSION")));
    if let Some(identity) = identity {
        builder = builder.identity(identity);
    }
    if let Some(root) = extra_root {
        builder = builder.add_root_certificate(root);
    }
    builder.build()
}

/// Joins a configured base URL and an API path, tolerating a trailing slash.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// Reads a reply body up to the limit (a longer one is cut, and then fails to parse).
pub(crate) async fn read_body(response: reqwest::Response) -> reqwest::Result<Vec<u8>> {
    read_body_up_to(response, MAX_REPLY_BYTES).await
}

/// Reads a body up to `limit` bytes (a longer one is cut at `limit`).
pub(crate) async fn read_body_up_to(
    response: reqwest::Response,
    limit: usize,
) -> reqwest::Result<Vec<u8>> {
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(chunk.get(..chunk.len().min(room)).unwrap_or_default());
        if room <= chunk.len() {
            break;
        }
    }
    Ok(body)
}

/// 32 random letters and digits (`nonce_str`, v3's `nonce_str` in `Authorization`).
pub(crate) fn nonce() -> String {
    use rand::Rng;
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..32)
        .map(|_| {
            char::from(
                ALNUM
                    .get(rng.random_range(0..ALNUM.len()))
                    .copied()
                    .unwrap_or(b'0'),
            )
        })
        .collect()
}
