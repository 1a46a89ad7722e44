//! `wxpay doctor`: one configuration per classic mistake, each named by its check as an
//! error (or a warning where it is a suspicion); correct v2 and v3 configurations (both key
//! modes) pass. Keys come from the simulator, derived from a seed, as a merchant would
//! download them.

// Test code: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use base64::Engine as _;
use secrecy::SecretString;
use wxpay_server::config::Settings;
use wxpay_server::ops::doctor::{Report, Status, check_settings};
use wxpay_sim::config::KeyMode;
use wxpay_sim::v3::SandboxKeys;
use wxpay_sim::{MerchantConfig, SimConfig};

const MCH_ID: &str = "1900000109";
const APP_SECRET: &str = "3a1f0e7b9c2d4e6f8a0b1c2d3e4f5a6b";
const API_KEY: &str = "Kq8mZ2xW4vN6pR0tY3uB5cE7gH9jL1aS";
const APIV3_KEY: &str = "9fR2kL5pQ8wE1tY4uI7oP0aS3dF6gH9j";

fn v2() -> Settings {
    let mut s = Settings::load(None).unwrap();
    s.server.public_base_url = Some("https://pay.example.com".into());
    s.wechat.appid = Some("wx1111111111111111".into());
    s.wechat.mch_id = Some(MCH_ID.into());
    s.wechat.app_secret = Some(SecretString::from(APP_SECRET));
    s.wechat.api_key = Some(SecretString::from(API_KEY));
    s
}

fn keys(mode: KeyMode, seed: u64) -> SandboxKeys {
    keys_of(MCH_ID, mode, seed)
}

fn keys_of(mch_id: &str, mode: KeyMode, seed: u64) -> SandboxKeys {
    let mut merchant = MerchantConfig::documentation();
    merchant.mch_id = mch_id.into();
    merchant.key_mode = mode;
    let config = SimConfig {
        seed,
        ..SimConfig::for_merchant(merchant)
    };
    SandboxKeys::derive(&config, mch_id).unwrap().unwrap()
}

fn v3(mode: KeyMode) -> (Settings, SandboxKeys) {
    let keys = keys(mode, 7);
    let mut s = v2();
    wxpay_server::ops::sandbox::apply_v3_keys(&mut s, &keys);
    s.wechat.v3.apiv3_key = Some(SecretString::from(APIV3_KEY));
    (s, keys)
}

fn file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("wxpay-doctor-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn errors(report: &Report) -> Vec<(&'static str, String)> {
    report
        .lines
        .iter()
        .filter(|l| l.status == Status::Error)
        .map(|l| (l.check, l.found.clone()))
        .collect()
}

#[test]
fn correct_configurations_pass() {
    let report = check_settings(&v2());
    assert!(!report.has_errors(), "{:?}", errors(&report));
    assert_eq!(report.status_of("credentials"), Some(Status::Ok));
    assert_eq!(report.status_of("secrets_distinct"), Some(Status::Ok));
    for mode in [
        KeyMode::PublicKey,
        KeyMode::PlatformCertificate,
        KeyMode::Migrating,
    ] {
        let (mut settings, keys) = v3(mode);
        // Platform certificates known up front, as a merchant may configure them.
        settings.wechat.v3.platform_certificate_files = keys
            .platform_certificates
            .iter()
            .map(|c| file(&format!("platform-{}.pem", c.serial_no), &c.pem))
            .collect();
        let report = check_settings(&settings);
        assert!(!report.has_errors(), "{mode:?}: {:?}", errors(&report));
        assert_eq!(
            report.status_of("merchant_certificate"),
            Some(Status::Ok),
            "{mode:?}"
        );
    }
    // Nothing secret in what it prints.
    let shown = wxpay_server::ops::doctor::render(&check_settings(&v2()));
    assert!(
        !shown.contains(APP_SECRET) && !shown.contains(API_KEY),
        "{shown}"
    );
}

type Spoil = Box<dyn Fn(&mut Settings, &SandboxKeys)>;

#[test]
fn each_classic_mistake_is_named() {
    let other = keys(KeyMode::PlatformCertificate, 8);
    let platform = keys(KeyMode::PlatformCertificate, 7).platform_certificates[0]
        .pem
        .clone();
    let cases: Vec<(&str, Status, Spoil)> = vec![
        (
            "secrets_distinct",
            Status::Error,
            Box::new(|s, _| {
                s.wechat.app_secret = Some(SecretString::from(API_KEY));
            }),
        ),
        (
            "secrets_distinct",
            Status::Warn,
            Box::new(|s, _| {
                // An AppSecret that is not hex beside a hex API key: swapped.
                s.wechat.app_secret = Some(SecretString::from(API_KEY));
                s.wechat.api_key = Some(SecretString::from(APP_SECRET));
            }),
        ),
        (
            "secrets_distinct",
            Status::Error,
            Box::new(|s, _| {
                s.wechat.v3.apiv3_key = Some(SecretString::from(API_KEY));
            }),
        ),
        (
            "api_key",
            Status::Error,
            Box::new(|s, _| {
                s.wechat.api_key = Some(SecretString::from("Kq8mZ2xW4vN6pR0tY3uB5cE7gH9jL1a"));
            }),
        ),
        (
            "app_secret",
            Status::Warn,
            Box::new(|s, _| {
                s.wechat.app_secret = Some(SecretString::from("not-an-app-secret"));
            }),
        ),
        (
            "merchant_certificate",
            Status::Error,
            Box::new(move |s, _| {
                // WeChat's platform certificate where apiclient_cert.pem belongs.
                s.wechat.v3.certificate_pem = Some(platform.clone());
            }),
        ),
        (
            "platform_certificate",
            Status::Error,
            Box::new(|s, keys| {
                // The merchant's own certificate given as WeChat's.
                s.wechat.v3.key_mode = "migrating".into();
                s.wechat.v3.platform_certificate_files =
                    vec![file("own.pem", &keys.merchant_certificate_pem)];
            }),
        ),
        (
            "wechat_public_key",
            Status::Error,
            Box::new(|s, _| {
                s.wechat.v3.public_key_id = Some("PUB_KEY_ID_abc".into());
            }),
        ),
        (
            "wechat_public_key",
            Status::Error,
            Box::new(|s, keys| {
                // The merchant's own public key as WeChat's.
                let key = wxpay_core::v3::RsaPrivateKey::from_pem(
                    keys.merchant_private_key_pem.as_deref().unwrap(),
                )
                .unwrap();
                s.wechat.v3.public_key_pem = Some(key.public_key().pkcs1_pem());
            }),
        ),
        (
            "credentials",
            Status::Error,
            Box::new(move |s, _| {
                // A private key that is not the certificate's.
                s.wechat.v3.private_key_pem = other
                    .merchant_private_key_pem
                    .as_deref()
                    .map(SecretString::from);
            }),
        ),
        (
            "credentials",
            Status::Error,
            Box::new(|s, _| {
                // A key_mode that does not exist.
                s.wechat.v3.key_mode = "nonsense".into();
            }),
        ),
        (
            "public_base_url",
            Status::Error,
            Box::new(|s, _| {
                s.server.public_base_url = Some("https://pay.example.com/?shop=1".into());
            }),
        ),
        (
            "public_base_url",
            Status::Warn,
            Box::new(|s, _| {
                s.server.public_base_url = Some("http://pay.example.com".into());
            }),
        ),
        (
            "credentials",
            Status::Error,
            Box::new(|s, _| {
                // The .p12 with a wrong password.
                let tls = wxpay_sim::secapi::sandbox_tls(
                    7,
                    &MerchantConfig::documentation(),
                    "https://127.0.0.1:1",
                )
                .unwrap();
                let p12 = base64::engine::general_purpose::STANDARD
                    .decode(tls.client_p12_base64.unwrap())
                    .unwrap();
                let path = std::env::temp_dir()
                    .join(format!("wxpay-doctor-{}-wrong.p12", std::process::id()));
                std::fs::write(&path, p12).unwrap();
                s.wechat.refund_tls.p12_file = Some(path);
                s.wechat.refund_tls.p12_password = Some(SecretString::from("not-the-password"));
            }),
        ),
    ];
    for (check, status, spoil) in cases {
        let (mut settings, keys) = v3(KeyMode::PublicKey);
        spoil(&mut settings, &keys);
        let report = check_settings(&settings);
        assert_eq!(
            report.status_of(check),
            Some(status),
            "{check}: {}",
            wxpay_server::ops::doctor::render(&report)
        );
        if status == Status::Error {
            assert!(report.has_errors());
        }
        let shown = wxpay_server::ops::doctor::render(&report);
        for secret in [APP_SECRET, API_KEY, APIV3_KEY, "not-the-password"] {
            assert!(
                !shown.contains(secret),
                "{check}: a secret printed: {shown}"
            );
        }
    }
}

/// `--online` against the simulator: accepted credentials, a wrong API key, a key that is
/// not the registered certificate's, a public-key merchant configured for certificates.
#[tokio::test]
async fn online_checks_name_what_only_wechat_can_tell() {
    use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID};
    let mut merchant = MerchantConfig::documentation();
    merchant.key_mode = KeyMode::PublicKey;
    let config = SimConfig {
        merchants: vec![merchant.clone()],
        seed: 7,
        time_scale: 1.0,
    };
    let sim = wxpay_sim::spawn(&config).await.unwrap();
    let sim_keys = SandboxKeys::derive(&config, DOC_MCH_ID).unwrap().unwrap();
    let base = |s: &mut Settings| {
        s.wechat.appid = Some(DOC_APPID.into());
        s.wechat.mch_id = Some(DOC_MCH_ID.into());
        s.wechat.app_secret = Some(SecretString::from(DOC_APP_SECRET));
        s.wechat.api_key = Some(SecretString::from(DOC_API_KEY));
        s.wechat.pay_base_url = sim.base_url.clone();
        s.wechat.mp_base_url = sim.base_url.clone();
    };
    let online = |settings: Settings| async move {
        let mut report = Report::default();
        wxpay_server::ops::doctor::check_online(&settings, &mut report).await;
        report
    };

    let mut good = Settings::load(None).unwrap();
    base(&mut good);
    let report = online(good.clone()).await;
    assert_eq!(
        report.status_of("v2_online"),
        Some(Status::Ok),
        "{}",
        wxpay_server::ops::doctor::render(&report)
    );
    assert_eq!(report.status_of("clock"), Some(Status::Ok));

    let mut wrong_key = good.clone();
    wrong_key.wechat.api_key = Some(SecretString::from(API_KEY));
    let report = online(wrong_key).await;
    assert_eq!(report.status_of("v2_online"), Some(Status::Error));
    assert!(wxpay_server::ops::doctor::render(&report).contains("API key"));

    let mut v3 = good.clone();
    wxpay_server::ops::sandbox::apply_v3_keys(&mut v3, &sim_keys);
    let report = online(v3.clone()).await;
    assert_eq!(
        report.status_of("v3_online"),
        Some(Status::Ok),
        "{}",
        wxpay_server::ops::doctor::render(&report)
    );

    // The registered serial, signed with another key: WeChat rebuilds the same message.
    let other = keys_of(DOC_MCH_ID, KeyMode::PublicKey, 9);
    let mut other_key = v3.clone();
    other_key.wechat.v3.certificate_pem = None;
    other_key.wechat.v3.certificate_serial = Some(sim_keys.merchant_serial_no.clone());
    other_key.wechat.v3.private_key_pem = other
        .merchant_private_key_pem
        .as_deref()
        .map(SecretString::from);
    let report = online(other_key).await;
    let shown = wxpay_server::ops::doctor::render(&report);
    assert_eq!(
        report.status_of("v3_online"),
        Some(Status::Error),
        "{shown}"
    );
    assert!(
        wxpay_server::ops::doctor::render(&report).contains("private key is not the one"),
        "{}",
        wxpay_server::ops::doctor::render(&report)
    );

    // Another certificate (its own key with it): the serial is not the registered one.
    let mut other_cert = v3.clone();
    other_cert.wechat.v3.certificate_pem = Some(other.merchant_certificate_pem.clone());
    other_cert.wechat.v3.private_key_pem = other
        .merchant_private_key_pem
        .as_deref()
        .map(SecretString::from);
    let report = online(other_cert).await;
    assert!(
        wxpay_server::ops::doctor::render(&report).contains("serial sent is not"),
        "{}",
        wxpay_server::ops::doctor::render(&report)
    );

    // A public-key merchant configured for platform certificates.
    let mut certificates = v3.clone();
    certificates.wechat.v3.key_mode = "platform_certificate".into();
    certificates.wechat.v3.public_key_id = None;
    certificates.wechat.v3.public_key_pem = None;
    let report = online(certificates).await;
    assert_eq!(
        report.status_of("v3_key_mode"),
        Some(Status::Error),
        "{}",
        wxpay_server::ops::doctor::render(&report)
    );
    sim.stop().await;
}

/// Issue #23, finding 3: the release binary's `doctor --online` panicked (exit 101, "No
/// rustls crypto provider is configured") building its clock check's client. Runs the
/// built binary, not the library, against a simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_doctor_online() {
    use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID};
    let sim = wxpay_sim::spawn(&SimConfig::default()).await.unwrap();
    let dir = std::env::temp_dir().join(format!("wxpay-doctor-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}", dir.join("wxpay.sqlite").display());
    let base = sim.base_url.clone();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_wxpay"))
        .args(["doctor", "--online", "--json", "--database-url", &database])
        .env("WXPAY_WECHAT__APPID", DOC_APPID)
        .env("WXPAY_WECHAT__MCH_ID", DOC_MCH_ID)
        .env("WXPAY_WECHAT__API_KEY", DOC_API_KEY)
        .env("WXPAY_WECHAT__APP_SECRET", DOC_APP_SECRET)
        .env("WXPAY_WECHAT__PAY_BASE_URL", &base)
        .env("WXPAY_WECHAT__MP_BASE_URL", &base)
        .env("WXPAY_SERVER__PUBLIC_BASE_URL", "https://pay.example.com")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), output)
        .await
        .expect("doctor --online finishes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code();
    assert!(matches!(code, Some(0 | 1)), "exit {code:?}: {stderr}");
    let lines: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let online = lines
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["check"] == "v2_online")
        .unwrap_or_else(|| panic!("no v2_online line: {stdout}"));
    assert_eq!(online["status"], "ok", "{online}");
    let _ = std::fs::remove_dir_all(&dir);
}
