//! `wxpay doctor`: the classic configuration mistakes, each a line with its check, a
//! status, what was found and how to fix it. It reads the same configuration as `serve`,
//! and keeps going after a failure (serve stops at the first). Offline unless `--online`
//! (`online`). Nothing secret is printed: keys are described by their shape.

mod keys;
mod online;
mod report;

pub use report::{Line, Report, Status, render};

use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::store::Store;

/// Every offline check of `settings` except the database's.
pub fn check_settings(settings: &Settings) -> Report {
    let mut report = Report::default();
    keys::check_secrets(settings, &mut report);
    check_credentials(settings, &mut report);
    keys::check_v3_files(settings, &mut report);
    check_public_url(settings, &mut report);
    report
}

/// What WeChat says about the configuration (`--online`).
pub async fn check_online(settings: &Settings, report: &mut Report) {
    online::check(settings, report).await;
}

/// Everything, the database included; with `online`, what WeChat says too.
pub async fn run(settings: &Settings, online: bool) -> Report {
    let mut report = check_settings(settings);
    check_database(settings, &mut report).await;
    if online {
        check_online(settings, &mut report).await;
    }
    report
}

/// What `serve` would say: every key loaded and cross-checked as at start-up.
fn check_credentials(settings: &Settings, report: &mut Report) {
    match settings.credentials() {
        Ok(credentials) => report.ok(
            "credentials",
            format!(
                "loaded as serve loads them (API {}{})",
                credentials.api_version.as_str(),
                if credentials.refund_tls.is_some() {
                    ", refund certificate"
                } else {
                    ""
                }
            ),
        ),
        Err(error) => report.push(
            "credentials",
            Status::Error,
            error.to_string(),
            "serve refuses to start with this; fix the setting it names",
        ),
    }
}

/// notify_url: https, no query, a path WeChat can POST to.
fn check_public_url(settings: &Settings, report: &mut Report) {
    let Some(url) = settings.server.public_base_url.as_deref() else {
        report.push(
            "public_base_url",
            Status::Error,
            "server.public_base_url is not set",
            "set it to where WeChat reaches this server, e.g. https://pay.example.com",
        );
        return;
    };
    if let Err(error) = settings.notify_url() {
        report.push(
            "public_base_url",
            Status::Error,
            error.to_string(),
            "an absolute https:// URL without query or fragment",
        );
    } else if !url.to_ascii_lowercase().starts_with("https://") {
        report.push(
            "public_base_url",
            Status::Warn,
            format!("{url} is not https://"),
            "WeChat needs https for notify_url on public domains; plain http only behind a local TLS proxy (serve --insecure-http)",
        );
    } else {
        report.ok(
            "public_base_url",
            format!("notifies go to {url}/wechat/pay/notify"),
        );
    }
}

async fn check_database(settings: &Settings, report: &mut Report) {
    // Connecting would create a missing SQLite file: the doctor changes nothing.
    let url = settings.database.url.expose_secret();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or_default();
        if !path.is_empty() && path != ":memory:" && !std::path::Path::new(path).exists() {
            report.push(
                "database",
                Status::Error,
                format!("{path} does not exist"),
                "run `wxpay migrate` (or serve, which creates and migrates it)",
            );
            return;
        }
    }
    let store = match Store::connect(&settings.database).await {
        Ok(store) => store,
        Err(error) => {
            report.push(
                "database",
                Status::Error,
                format!("cannot connect: {error}"),
                "check database.url (WXPAY_DATABASE__URL) and that the database runs",
            );
            return;
        }
    };
    match store.pending_migrations().await {
        Ok(0) => report.ok("database", "reachable, every migration applied"),
        Ok(pending) => report.push(
            "database",
            Status::Error,
            format!("reachable, {pending} migration(s) not applied"),
            "run `wxpay migrate` (serve applies them at start too)",
        ),
        Err(error) => report.push(
            "database",
            Status::Error,
            format!("reachable, but its migrations cannot be read: {error}"),
            "run `wxpay migrate`",
        ),
    }
    store.close().await;
}
