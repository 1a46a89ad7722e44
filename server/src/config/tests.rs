use std::path::Path;

use secrecy::SecretString;
use wxpay_core::v2::SignType;

use super::*;

#[test]
fn defaults_load_and_secrets_are_required() {
    let settings = Settings::load(None).unwrap();
    assert_eq!(settings.server.bind, "127.0.0.1:8080");
    let err = settings.credentials().unwrap_err().to_string();
    assert!(
        err.contains("wechat.appid") && err.contains("WXPAY_WECHAT__APPID"),
        "{err}"
    );
}

#[test]
fn a_file_sets_the_credentials_and_a_bad_key_is_named() {
    let dir = std::env::temp_dir().join(format!("wxpay-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wxpay.toml");
    std::fs::write(
        &path,
        r#"
        [server]
        public_base_url = "https://pay.example.com/"
        [wechat]
        appid = "wx1111111111111111"
        mch_id = "1900000109"
        app_secret = "abcdefabcdefabcdefabcdefabcdefab"
        api_key = "too-short"
        "#,
    )
    .unwrap();
    let settings = Settings::load(Some(&path)).unwrap();
    assert_eq!(
        settings.notify_url().unwrap(),
        "https://pay.example.com/wechat/pay/notify"
    );
    let err = settings.credentials().unwrap_err().to_string();
    assert!(err.contains("wechat.api_key"), "{err}");
    let mut with_query = settings.clone();
    with_query.server.public_base_url = Some("https://pay.example.com/?shop=1".into());
    let err = with_query.notify_url().unwrap_err().to_string();
    assert!(
        err.contains("server.public_base_url") && err.contains("query"),
        "{err}"
    );
    assert!(!err.contains("too-short"));
    let shown = format!("{settings:?}");
    assert!(
        !shown.contains("abcdefabcdefabcdefabcdefabcdefab"),
        "secrets never print"
    );
}

#[test]
fn the_example_file_documents_valid_settings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("wxpay.example.toml");
    let mut settings = Settings::load(Some(&path)).unwrap();
    settings.wechat.app_secret = Some(SecretString::from("abcdefabcdefabcdefabcdefabcdefab"));
    settings.wechat.api_key = Some(SecretString::from("192006250b4c09247ec02edce69f6a2d"));
    let credentials = settings.credentials().unwrap();
    assert_eq!(credentials.v2.unwrap().1, SignType::HmacSha256);
    assert_eq!(credentials.api_version, ApiVersion::V2);
    assert_eq!(settings.orders.ttl_secs, 1800);
    assert!(
        settings
            .notify_url()
            .unwrap()
            .ends_with("/wechat/pay/notify")
    );
}

fn production() -> Settings {
    let mut s = Settings::load(None).unwrap();
    s.admin.token = Some(SecretString::from("3f1c0c6a9e5b4d7f8a2e6c1b9d0f4a7e"));
    s.server.public_base_url = Some("https://pay.example.com".into());
    s.wechat.appid = Some("wx1111111111111111".into());
    s.wechat.mch_id = Some("1900000109".into());
    s.wechat.app_secret = Some(SecretString::from("abcdefabcdefabcdefabcdefabcdefab"));
    s.wechat.api_key = Some(SecretString::from("qazwsxedcrfvtgbyhnujmikolp111111"));
    s
}

#[test]
fn production_refuses_unsafe_settings_and_names_the_key() {
    use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID};
    assert!(production().check_production(false).is_ok());
    type Spoil = fn(&mut Settings);
    let cases: [(&str, Spoil); 15] = [
        ("admin.token", |s| {
            s.admin.token = Some(SecretString::from("short-admin-token"))
        }),
        ("admin.token", |s| {
            s.admin.token = Some(SecretString::from(SANDBOX_ADMIN_TOKEN))
        }),
        ("wechat.refund_tls.base_url", |s| {
            s.wechat.refund_tls.base_url = Some("http://api.mch.weixin.qq.com".into())
        }),
        ("wechat.appid", |s| s.wechat.appid = Some(DOC_APPID.into())),
        ("wechat.mch_id", |s| {
            s.wechat.mch_id = Some(DOC_MCH_ID.into())
        }),
        ("wechat.api_key", |s| {
            s.wechat.api_key = Some(SecretString::from(DOC_API_KEY))
        }),
        ("wechat.app_secret", |s| {
            s.wechat.app_secret = Some(SecretString::from(DOC_APP_SECRET))
        }),
        ("server.public_base_url", |s| {
            s.server.public_base_url = Some("http://pay.example.com".into())
        }),
        ("wechat.pay_base_url", |s| {
            s.wechat.pay_base_url = "HTTP://api.mch.weixin.qq.com".into()
        }),
        ("wechat.mp_base_url", |s| {
            s.wechat.mp_base_url = "http://api.weixin.qq.com".into()
        }),
        // Issue #23, finding 4: the parser drops the space, the old prefix check did not.
        ("wechat.pay_base_url", |s| {
            s.wechat.pay_base_url = " http://api.mch.weixin.qq.com".into()
        }),
        ("wechat.mp_base_url", |s| {
            s.wechat.mp_base_url = "\thttp://api.weixin.qq.com".into()
        }),
        ("wechat.refund_tls.base_url", |s| {
            s.wechat.refund_tls.base_url = Some(" http://api.mch.weixin.qq.com".into())
        }),
        ("server.public_base_url", |s| {
            s.server.public_base_url = Some(" http://pay.example.com".into())
        }),
        ("orders.ttl_secs", |s| s.orders.ttl_secs = 299),
    ];
    for (key, spoil) in cases {
        let mut settings = production();
        spoil(&mut settings);
        let err = settings.check_production(false).unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
        assert!(!err.contains(DOC_API_KEY) && !err.contains(DOC_APP_SECRET));
    }
    // In every mode, a URL setting with whitespace around it is no URL at all.
    let mut spaced = production();
    spaced.wechat.pay_base_url = " https://api.mch.weixin.qq.com".into();
    let err = spaced.validate().unwrap_err().to_string();
    assert!(err.contains("wechat.pay_base_url"), "{err}");
    // A local TLS proxy: plain http allowed on purpose, nothing else.
    let mut proxied = production();
    proxied.server.public_base_url = Some("http://127.0.0.1:8443".into());
    assert!(proxied.check_production(true).is_ok());
    proxied.orders.ttl_secs = 60;
    assert!(proxied.check_production(true).is_err());
}

#[test]
fn the_description_must_fit_wechats_body_in_bytes() {
    let mut settings = Settings::load(None).unwrap();
    assert!(settings.validate().is_ok());
    settings.orders.description = "a".repeat(101);
    assert!(settings.validate().is_ok(), "101 + 27 = 128 bytes");
    settings.orders.description = "a".repeat(102);
    let err = settings.validate().unwrap_err().to_string();
    assert!(err.contains("orders.description"), "{err}");
    // 34 Chinese characters are 102 bytes, not 34.
    settings.orders.description = "咖".repeat(34);
    assert!(settings.validate().is_err());
    settings.orders.description = "咖".repeat(33);
    assert!(settings.validate().is_ok());
    // Commas are fine (the bill parser splits on ",`"), line breaks are not.
    settings.orders.description = "Cafe, Shanghai".into();
    assert!(settings.validate().is_ok());
    settings.orders.description = "Cafe\nShanghai".into();
    let err = settings.validate().unwrap_err().to_string();
    assert!(err.contains("line breaks"), "{err}");
    settings.orders.description = "咖".repeat(33);
    assert!(settings.validate().is_ok());
}

#[test]
fn failed_checks_pause_longer_each_time_then_stop() {
    let mut orders = Settings::load(None).unwrap().orders;
    orders.reconcile_after_secs = 60;
    orders.reconcile_max_backoff_secs = 3600;
    orders.reconcile_max_failures = 30;
    let pause = |failures| orders.retry_at(0, failures).map(|at| at / 1000);
    assert_eq!(pause(1), Some(60));
    assert_eq!(pause(2), Some(120));
    assert_eq!(pause(6), Some(1920));
    assert_eq!(pause(7), Some(3600), "capped");
    assert_eq!(pause(29), Some(3600));
    assert_eq!(pause(30), None, "given up");
    // The next check after an answer: at the expiry when that comes first.
    assert_eq!(orders.next_check_at(1_000, 30_000), 30_000);
    assert_eq!(orders.next_check_at(1_000, 10_000_000), 61_000);
    assert_eq!(orders.next_check_at(50_000, 10_000), 50_000);
}

#[test]
fn unknown_keys_in_a_section_are_refused() {
    let dir = std::env::temp_dir().join(format!("wxpay-config-typo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wxpay.toml");
    std::fs::write(&path, "[wechat]\napi_kee = \"x\"\n").unwrap();
    let err = Settings::load(Some(&path)).unwrap_err().to_string();
    assert!(err.contains("api_kee"), "{err}");
}

/// A production instance with a webhook endpoint and a strong secret.
fn with_webhooks() -> Settings {
    let mut s = production();
    s.webhooks.url = Some("https://shop.example.com/hooks/wxpay".into());
    // 32 random bytes.
    s.webhooks.secret = Some(SecretString::from(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7Tm8Sm2tfS0=",
    ));
    s
}

#[test]
fn webhooks_need_a_standard_secret_and_production_https() {
    assert!(with_webhooks().validate().is_ok());
    assert!(with_webhooks().check_production(false).is_ok());
    type Spoil = fn(&mut Settings);
    // Refused in every mode.
    let invalid: [(&str, Spoil); 5] = [
        ("webhooks.secret", |s| s.webhooks.secret = None),
        ("webhooks.secret", |s| {
            s.webhooks.secret = Some(SecretString::from("MfKQ9r8GKYqrTwjUPD8ILPZIo2La"))
        }),
        ("webhooks.secret_previous", |s| {
            s.webhooks.secret_previous = Some(SecretString::from("whsec_not base64!"))
        }),
        ("events.record", |s| s.events.record = false),
        ("webhooks.url", |s| {
            s.webhooks.url = Some("ftp://shop.example.com".into())
        }),
    ];
    for (key, spoil) in invalid {
        let mut settings = with_webhooks();
        spoil(&mut settings);
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
        assert!(
            !err.contains("MfKQ9r8GKYqrTwjUPD8"),
            "the secret never shows: {err}"
        );
    }
    // Refused in production only.
    let unsafe_cases: [(&str, Spoil); 3] = [
        ("webhooks.url", |s| {
            s.webhooks.url = Some("http://shop.example.com/hooks".into())
        }),
        // 16 bytes: too few.
        ("webhooks.secret", |s| {
            s.webhooks.secret = Some(SecretString::from("whsec_AAECAwQFBgcICQoLDA0ODw=="))
        }),
        ("webhooks.secret_previous", |s| {
            s.webhooks.secret_previous = Some(SecretString::from("whsec_AAECAwQFBgcICQoLDA0ODw=="))
        }),
    ];
    for (key, spoil) in unsafe_cases {
        let mut settings = with_webhooks();
        spoil(&mut settings);
        assert!(settings.validate().is_ok(), "{key}: fine for the sandbox");
        let err = settings.check_production(false).unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
    // Without an endpoint, events are still recorded, delivered to no one.
    let mut quiet = production();
    quiet.webhooks.secret = None;
    assert!(quiet.validate().is_ok());
    assert!(quiet.events.record && !quiet.webhooks.enabled());
}

#[test]
fn virtual_goods_uploads_need_the_shipping_service() {
    let mut settings = Settings::load(None).unwrap();
    settings.shipping.auto_virtual = true;
    let err = settings.validate().unwrap_err().to_string();
    assert!(
        err.contains("shipping.auto_virtual") && err.contains("shipping.enabled"),
        "{err}"
    );
    settings.shipping.enabled = true;
    assert!(settings.validate().is_ok());
}

#[test]
fn more_merchants_load_from_the_file_and_each_mistake_is_named() {
    let dir = std::env::temp_dir().join(format!("wxpay-merchants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wxpay.toml");
    let entry = |id: &str, appid: &str, mch_id: &str, key: &str| {
        format!(
            "[[merchants]]\nid = \"{id}\"\nappid = \"{appid}\"\nmch_id = \"{mch_id}\"\n\
             app_secret = \"abcdefabcdefabcdefabcdefabcdef00\"\napi_key = \"{key}\"\n"
        )
    };
    let wechat = "[wechat]\nappid = \"wx1111111111111111\"\nmch_id = \"1900000109\"\n\
        app_secret = \"abcdefabcdefabcdefabcdefabcdefab\"\n\
        api_key = \"192006250b4c09247ec02edce69f6a2d\"\n";
    let load = |entries: &str| {
        std::fs::write(&path, format!("{wechat}{entries}")).unwrap();
        Settings::load(Some(&path)).unwrap().all_credentials()
    };
    let good = entry("tea", "wx2222222222222222", "1900000222", &"7".repeat(32));
    let all = load(&good).unwrap();
    let ids: Vec<(&str, &str)> = all
        .iter()
        .map(|(id, c)| (id.as_str(), c.mch_id.as_str()))
        .collect();
    assert_eq!(ids, [("default", "1900000109"), ("tea", "1900000222")]);
    assert_eq!(all[1].1.api_version, ApiVersion::V2);

    for (entries, named) in [
        (
            entry("tea", "wx2222222222222222", "1900000222", "short"),
            "api_key",
        ),
        (
            entry(
                "default",
                "wx2222222222222222",
                "1900000222",
                &"7".repeat(32),
            ),
            "[wechat]'s own",
        ),
        (
            entry(
                "tea shop",
                "wx2222222222222222",
                "1900000222",
                &"7".repeat(32),
            ),
            "letters, digits",
        ),
        (
            entry("tea", "wx1111111111111111", "1900000222", &"7".repeat(32)),
            "shares its id, appid or mch_id",
        ),
        (
            format!(
                "{good}{}",
                entry("tea", "wx3333333333333333", "1900000333", &"7".repeat(32))
            ),
            "shares",
        ),
    ] {
        let error = load(&entries).unwrap_err().to_string();
        assert!(
            error.contains(named) && error.contains("[[merchants]]"),
            "{error}"
        );
        assert!(!error.contains(&"7".repeat(32)), "no secret in {error}");
    }
    let v3_without_keys = format!(
        "{}api_version = \"v3\"\n",
        entry("tea", "wx2222222222222222", "1900000222", &"7".repeat(32))
    );
    let error = load(&v3_without_keys).unwrap_err().to_string();
    assert!(error.contains("tea") && error.contains("v3"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn production_refuses_a_merchant_with_sandbox_credentials() {
    use super::merchants::MerchantSettings;
    let merchant = |appid: &str, token: &str| MerchantSettings {
        id: "tea".into(),
        appid: appid.into(),
        app_secret: SecretString::from("abcdefabcdefabcdefabcdefabcdef00"),
        mch_id: "1900000222".into(),
        api_version: "v2".into(),
        api_key: Some(SecretString::from("7".repeat(32))),
        sign_type: "HMAC-SHA256".into(),
        v3: None,
        refund_tls: RefundTlsSettings::default(),
        admin_token: Some(SecretString::from(token)),
        push_token: None,
        push_aes_key: None,
    };
    let mut s = production();
    s.merchants
        .push(merchant("wx2222222222222222", &"t".repeat(40)));
    s.check_production(false).unwrap();
    for (appid, token, named) in [
        (
            wxpay_sim::config::DOC_APPID,
            "t".repeat(40),
            "documentation",
        ),
        (
            "wx2222222222222222",
            format!("{SANDBOX_ADMIN_TOKEN}-shop2-0123456789abcdef"),
            "sandbox token",
        ),
    ] {
        let mut s = production();
        s.merchants.push(merchant(appid, &token));
        let error = s.check_production(false).unwrap_err().to_string();
        assert!(error.contains("tea") && error.contains(named), "{error}");
    }
}
