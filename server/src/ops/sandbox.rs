//! `wxpay serve --sandbox`: the server against an embedded WeChat simulator, with
//! WeChat's documentation credentials and a demo catalog. Payments are simulated.
//! `--api v3` runs the whole flow on API v3 with the simulator's keys for the merchant
//! (a WeChat Pay public key by default; `--key-mode` for certificates or the migration
//! week). v2 refunds use the simulator's merchant certificate on its mutual-TLS listener.
//!
//! The sandbox only ever writes to a database it created (its own SQLite file, marked in
//! `wxpay_meta`) unless `--database-url` is given on the command line: an inherited
//! `WXPAY_DATABASE__URL` or a config file's URL might point at a real database.

use std::path::Path;

use anyhow::Context as _;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{Connection, Row};
use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID, KeyMode};
use wxpay_sim::secapi::{SandboxTls, sandbox_tls};
use wxpay_sim::v3::SandboxKeys;
use wxpay_sim::{MerchantConfig, SimConfig, Simulator};

use crate::config::tls::RefundTlsSettings;
use crate::config::{SANDBOX_ADMIN_TOKEN, SANDBOX_PUSH_AES_KEY, SANDBOX_PUSH_TOKEN, Settings};
use crate::store::Store;

pub const DEFAULT_SIM_BIND: &str = "127.0.0.1:8081";
pub const DEFAULT_DATABASE: &str = "sqlite://wxpay-sandbox.sqlite";

/// The `wxpay_meta` entry that says the sandbox created a database.
const CREATED_BY: (&str, &str) = ("created_by", "wxpay serve --sandbox");

/// The embedded simulator and the seed it runs with.
#[derive(Debug)]
pub struct SandboxSim {
    pub simulator: Simulator,
    pub seed: u64,
    /// `Some(mode)` when the sandbox runs on API v3.
    pub v3: Option<KeyMode>,
    /// The admin API takes [`SANDBOX_ADMIN_TOKEN`] (no `admin.token` was configured).
    pub default_admin: bool,
    /// How many merchants (`--merchants`): the documentation one and made-up ones.
    pub merchants: usize,
}

/// Binds the simulator and points `settings` at it. Without `seed`, a fresh one: the
/// simulator keeps no state across restarts, and with the same seed it would hand out
/// the transaction ids already recorded in the sandbox's database again.
/// With `v3`, the merchant's keys are the simulator's (derived from the seed; ~1 s to
/// make the first time).
pub fn prepare(
    settings: &mut Settings,
    sim_bind: &str,
    seed: Option<u64>,
    database_given: bool,
    v3: Option<KeyMode>,
    merchants: usize,
) -> anyhow::Result<SandboxSim> {
    let seed = seed.unwrap_or_else(rand::random);
    let mut merchant = MerchantConfig::documentation();
    if let Some(mode) = v3 {
        merchant.key_mode = mode;
    }
    let extras = super::sandbox_merchants::extras(merchants)?;
    let mut config = SimConfig {
        seed,
        ..SimConfig::for_merchant(merchant.clone())
    };
    config
        .merchants
        .extend(extras.iter().map(|(_, extra)| extra.clone()));
    if v3.is_some() {
        let keys = SandboxKeys::derive(&config, DOC_MCH_ID)?
            .context("the simulator has no keys for its merchant")?;
        apply_v3_keys(settings, &keys);
    }
    let simulator = Simulator::bind(&config, sim_bind)?;
    apply_refund_tls(
        settings,
        &sandbox_tls(seed, &merchant, &simulator.secapi_url())?,
    );
    super::sandbox_merchants::configure(settings, &extras, seed, &simulator.secapi_url())?;
    let base = simulator.base_url();
    let wechat = &mut settings.wechat;
    wechat.appid = Some(DOC_APPID.to_owned());
    wechat.mch_id = Some(DOC_MCH_ID.to_owned());
    wechat.app_secret = Some(SecretString::from(DOC_APP_SECRET));
    wechat.api_key = Some(SecretString::from(DOC_API_KEY));
    wechat.mp_base_url = base.clone();
    wechat.pay_base_url = base;
    // The debug page of the wxpay-sign package in this repository (built or not: /debug
    // says how to build it).
    settings.server.debug_page_dir.get_or_insert_with(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("wasm-pkg")
    });
    // The sandbox's Mini Program is in WeChat's shipping service, its pushes secure JSON
    // to this server (`push_to_server` points the simulator here once it is bound).
    settings.shipping.enabled = true;
    settings
        .shipping
        .push_token
        .get_or_insert_with(|| SecretString::from(SANDBOX_PUSH_TOKEN));
    settings
        .shipping
        .push_aes_key
        .get_or_insert_with(|| SecretString::from(SANDBOX_PUSH_AES_KEY));
    // The simulator's bills exist at once: today can be reconciled.
    settings.reconciliation.unfinished_days = true;
    // Webhook retries on a minute's scale instead of an hour's: the first ones come
    // within seconds, so a receiver being written sees them.
    let schedule = &mut settings.webhooks.retry_schedule_ms;
    for pause in schedule.iter_mut() {
        *pause = (*pause / SANDBOX_RETRY_SPEED_UP).max(100);
    }
    let admin_token = settings
        .admin
        .token
        .get_or_insert_with(|| SecretString::from(SANDBOX_ADMIN_TOKEN));
    let default_admin = admin_token.expose_secret() == SANDBOX_ADMIN_TOKEN;
    if !database_given {
        if std::env::var_os("WXPAY_DATABASE__URL").is_some() {
            tracing::warn!(
                "WXPAY_DATABASE__URL is ignored in sandbox mode (it may be a real database); \
                 the sandbox uses {DEFAULT_DATABASE}; pass --database-url to choose one"
            );
        }
        settings.database.url = SecretString::from(DEFAULT_DATABASE);
    }
    Ok(SandboxSim {
        simulator,
        seed,
        v3,
        default_admin,
        merchants,
    })
}

/// Points the simulator's message push for the sandbox's Mini Program at `api` (secure
/// mode, JSON), with the Token and EncodingAESKey the server checks with.
pub fn push_to_server(control: &wxpay_sim::ShippingControl, settings: &Settings, api: &str) {
    let secret = |s: &Option<SecretString>| {
        s.as_ref()
            .map(|s| s.expose_secret().to_owned())
            .unwrap_or_default()
    };
    control.set_app(
        DOC_APPID,
        settings.shipping.enabled,
        Some(wxpay_sim::shipping::PushConfig {
            url: format!("{api}/wechat/mp/events"),
            token: secret(&settings.shipping.push_token),
            encoding_aes_key: secret(&settings.shipping.push_aes_key),
            mode: wxpay_sim::shipping::PushMode::Secure,
            format: wxpay_sim::shipping::PushFormat::Json,
        }),
    );
}

/// How much faster the sandbox retries webhooks than production.
const SANDBOX_RETRY_SPEED_UP: u64 = 60;

/// Points `[wechat.refund_tls]` at the simulator's `/secapi` listener with the merchant
/// certificate it issued (v2 refunds then work out of the box).
pub fn apply_refund_tls(settings: &mut Settings, tls: &SandboxTls) {
    settings.wechat.refund_tls = refund_tls_settings(tls);
}

/// The refund certificate settings of a simulated merchant.
pub fn refund_tls_settings(tls: &SandboxTls) -> RefundTlsSettings {
    RefundTlsSettings {
        base_url: Some(tls.secapi_base_url.clone()),
        certificate_pem: Some(tls.client_cert_pem.clone()),
        key_pem: tls.client_key_pem.as_deref().map(SecretString::from),
        root_ca_pem: Some(tls.ca_pem.clone()),
        ..RefundTlsSettings::default()
    }
}

/// Points `[wechat]` at API v3 with a simulated merchant's keys (inline PEMs). Platform
/// certificates are not configured: the server downloads them, as a real one would.
pub fn apply_v3_keys(settings: &mut Settings, keys: &SandboxKeys) {
    let wechat = &mut settings.wechat;
    wechat.api_version = "v3".into();
    let v3 = &mut wechat.v3;
    v3.private_key_pem = keys
        .merchant_private_key_pem
        .as_deref()
        .map(SecretString::from);
    v3.private_key_file = None;
    v3.certificate_pem = Some(keys.merchant_certificate_pem.clone());
    v3.certificate_file = None;
    v3.apiv3_key = Some(SecretString::from(keys.apiv3_key.as_str()));
    v3.key_mode = keys.key_mode.as_str().to_owned();
    v3.public_key_id = keys.public_key_id.clone();
    v3.public_key_pem = keys.public_key_pem.clone();
    v3.public_key_file = None;
}

/// The sandbox's own database may be used only if it does not exist yet or the sandbox
/// created it.
pub async fn check_database(settings: &Settings) -> anyhow::Result<()> {
    let url = settings.database.url.expose_secret();
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    if !std::path::Path::new(path).exists() {
        return Ok(());
    }
    let marked = async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}?mode=ro")).await?;
        let row = sqlx::query("SELECT value FROM wxpay_meta WHERE key = $1")
            .bind(CREATED_BY.0)
            .fetch_optional(&mut conn)
            .await?;
        let value: Option<String> = row.map(|r| r.try_get(0)).transpose()?;
        Ok::<_, sqlx::Error>(value.as_deref() == Some(CREATED_BY.1))
    }
    .await
    .unwrap_or(false);
    if !marked {
        anyhow::bail!(
            "{path} exists but was not created by `wxpay serve --sandbox`; the sandbox \
             never writes to another database. Delete or move it, or pass --database-url \
             to use a database on purpose"
        );
    }
    Ok(())
}

/// Marks the sandbox's database as its own.
pub async fn mark_database(store: &Store) -> anyhow::Result<()> {
    store
        .set_meta(CREATED_BY.0, CREATED_BY.1)
        .await
        .context("cannot mark the sandbox database")
}

/// What the banner shows (the simulator itself runs by then).
#[derive(Debug, Clone)]
pub struct Banner {
    sim_url: String,
    seed: u64,
    v3: Option<KeyMode>,
    default_admin: bool,
    merchants: usize,
}

impl Banner {
    pub fn of(sim: &SandboxSim) -> Banner {
        Banner {
            sim_url: sim.simulator.base_url(),
            seed: sim.seed,
            v3: sim.v3,
            default_admin: sim.default_admin,
            merchants: sim.merchants,
        }
    }
}

#[allow(clippy::print_stdout)] // The banner is the command's output.
pub fn banner(api: &str, sim: &Banner) {
    let url = &sim.sim_url;
    println!("wxpay sandbox: payments are SIMULATED, no real money moves.");
    println!("  API:              {api}");
    println!("  WeChat simulator: {url}  (control API under {url}/sim/)");
    println!(
        "  credentials:      WeChat's documentation ones (appid {DOC_APPID}, mch_id {DOC_MCH_ID})"
    );
    match sim.v3 {
        None => println!("  WeChat Pay API:   v2 (XML; --api v3 for API v3)"),
        Some(mode) => {
            println!(
                "  WeChat Pay API:   v3 ({}); the merchant's keys: {url}/sim/merchants/{DOC_MCH_ID}/v3-keys",
                mode.as_str()
            );
        }
    }
    println!(
        "  simulator seed:   {}  (repeat a run with --sim-seed {})",
        sim.seed, sim.seed
    );
    if sim.default_admin {
        println!(
            "  admin API:        {api}/v1/admin/  (Authorization: Bearer {SANDBOX_ADMIN_TOKEN}; refunds)"
        );
    } else {
        println!("  admin API:        {api}/v1/admin/  (Bearer admin.token)");
    }
    for n in 2..=sim.merchants {
        let (id, extra) = super::sandbox_merchants::extra(n);
        println!(
            "  merchant {id}:   appid {} (log in with the header Wxpay-Appid), mch_id {}, v2; admin token {}",
            extra.appid,
            extra.mch_id,
            super::sandbox_merchants::admin_token(n)
        );
    }
    println!("  debug page:       {api}/debug  (why a paySign or notify is wrong, in the browser)");
    println!("  try:              curl {api}/v1/products");
}
