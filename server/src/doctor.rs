//! `wxpay doctor`: the classic configuration mistakes, each a line with its check, a
//! status, what was found and how to fix it. It reads the same configuration as `serve`,
//! and keeps going after a failure (serve stops at the first). Offline unless `--online`
//! (`doctor_online`). Nothing secret is printed: keys are described by their shape.

use secrecy::ExposeSecret;
use serde::Serialize;
use wxpay_core::v3::Certificate;
use wxpay_core::v3::keys::{check_public_key_id, public_key_from_pem};

use crate::config::Settings;
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Error,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub check: &'static str,
    pub status: Status,
    pub found: String,
    /// How to fix it (empty when fine).
    pub fix: String,
}

/// The findings so far.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<Line>,
}

impl Report {
    pub(crate) fn ok(&mut self, check: &'static str, found: impl Into<String>) {
        self.push(check, Status::Ok, found, "");
    }

    pub(crate) fn push(
        &mut self,
        check: &'static str,
        status: Status,
        found: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.lines.push(Line {
            check,
            status,
            found: found.into(),
            fix: fix.into(),
        });
    }

    /// The worst finding of `check` (tests and callers ask "what did it say about X").
    pub fn status_of(&self, check: &str) -> Option<Status> {
        let of = self.lines.iter().filter(|l| l.check == check);
        of.map(|l| l.status).max_by_key(|s| *s as u8)
    }

    pub fn has_errors(&self) -> bool {
        self.lines.iter().any(|l| l.status == Status::Error)
    }
}

/// Every offline check of `settings` except the database's.
pub fn check_settings(settings: &Settings) -> Report {
    let mut report = Report::default();
    crate::doctor_keys::check_secrets(settings, &mut report);
    check_credentials(settings, &mut report);
    crate::doctor_keys::check_v3_files(settings, &mut report);
    check_public_url(settings, &mut report);
    report
}

/// What WeChat says about the configuration (`--online`).
pub async fn check_online(settings: &Settings, report: &mut Report) {
    crate::doctor_online::check(settings, report).await;
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

/// A certificate's common name, for telling the merchant's (CN = mch_id) from WeChat's.
pub(crate) fn common_name(certificate: &Certificate) -> &str {
    certificate.common_name().unwrap_or_default()
}

/// The public key id and the key's parse, as one finding.
pub(crate) fn check_public_key(id: &str, pem: &str) -> Result<(), String> {
    check_public_key_id(id).map_err(|e| format!("public_key_id {id:?}: {e}"))?;
    public_key_from_pem(pem, "the WeChat Pay public key")
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The report as text lines: `status  check  found` and an indented fix.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for line in &report.lines {
        let status = match line.status {
            Status::Ok => "ok   ",
            Status::Warn => "warn ",
            Status::Error => "ERROR",
        };
        out.push_str(&format!("{status} {:<18} {}\n", line.check, line.found));
        if !line.fix.is_empty() {
            out.push_str(&format!("      {:<18} fix: {}\n", "", line.fix));
        }
    }
    out
}

/// `secret` described without showing it: its length and character classes.
pub(crate) fn shape(secret: &secrecy::SecretString) -> String {
    let text = secret.expose_secret();
    let hex = !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit());
    let alnum = text.bytes().all(|b| b.is_ascii_alphanumeric());
    format!(
        "{} characters, {}",
        text.chars().count(),
        if hex {
            "hex"
        } else if alnum {
            "letters and digits"
        } else {
            "other characters too"
        }
    )
}
