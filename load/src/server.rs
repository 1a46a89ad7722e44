//! The server under test: a real `wxpay serve` process (release build), configured through
//! the environment, measured through /proc.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::merchant::{APP_SECRET, APPID, MCH_ID};
use crate::proc::{CpuTime, Memory};

pub(crate) struct Server {
    child: Child,
    pub api: String,
}

impl Server {
    pub(crate) fn start(
        binary: &str,
        database_url: &str,
        sim_url: &str,
        catalog: &str,
        log_filter: &str,
        wechat_api: crate::Api,
        merchants: usize,
    ) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let api = format!("http://127.0.0.1:{port}");
        let config = more_merchants(merchants)?;
        let child = Command::new(binary)
            // The simulator speaks plain HTTP on this machine.
            .args(["serve", "--insecure-http"])
            .args(
                config
                    .iter()
                    .flat_map(|path| ["--config".as_ref(), path.as_os_str()]),
            )
            .env("WXPAY_SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("WXPAY_SERVER__PUBLIC_BASE_URL", &api)
            .env("WXPAY_DATABASE__URL", database_url)
            .env("WXPAY_WECHAT__APPID", APPID)
            .env("WXPAY_WECHAT__MCH_ID", MCH_ID)
            .env("WXPAY_WECHAT__APP_SECRET", APP_SECRET)
            .envs(crate::merchant::credentials(wechat_api)?)
            .env("WXPAY_WECHAT__MP_BASE_URL", sim_url)
            .env("WXPAY_WECHAT__PAY_BASE_URL", sim_url)
            .env("WXPAY_ORDERS__CATALOG", catalog)
            // No background querying during a measurement: every order is fresh.
            .env("WXPAY_ORDERS__RECONCILE_AFTER_SECS", "86400")
            .env("WXPAY_ORDERS__QUERY_STALE_AFTER_SECS", "86400")
            .env("WXPAY_LIMITS__LOGIN_PER_IP_PER_MINUTE", "0")
            .env("WXPAY_LIMITS__ORDERS_PER_USER_PER_MINUTE", "0")
            .env("WXPAY_LIMITS__ORDERS_PER_IP_PER_MINUTE", "0")
            // Logged as in production (one line per request, more per payment), to
            // /dev/null: the formatting and the write are counted, a disk is not.
            .env("RUST_LOG", log_filter)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        Ok(Server { child, api })
    }

    pub(crate) async fn wait_ready(&self, http: &reqwest::Client) -> anyhow::Result<()> {
        for _ in 0..600 {
            if let Ok(r) = http.get(format!("{}/readyz", self.api)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("wxpay did not become ready")
    }

    pub(crate) fn cpu(&self) -> CpuTime {
        CpuTime::of(&self.child.id().to_string())
    }

    pub(crate) fn memory(&self) -> Memory {
        Memory::of(&self.child.id().to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A settings file with merchants 2..=`count` (none when `count` is 1).
fn more_merchants(count: usize) -> anyhow::Result<Option<std::path::PathBuf>> {
    use std::fmt::Write as _;
    anyhow::ensure!((1..=9).contains(&count), "--merchants must be 1 to 9");
    if count == 1 {
        return Ok(None);
    }
    let mut toml = String::new();
    for n in 2..=count {
        let (id, m) = wxpay_server::ops::sandbox_merchants::extra(n);
        writeln!(
            toml,
            "[[merchants]]\nid = {id:?}\nappid = {:?}\napp_secret = {:?}\nmch_id = {:?}\napi_key = {:?}\n",
            m.appid, m.app_secret, m.mch_id, m.api_key
        )?;
    }
    let path =
        std::env::temp_dir().join(format!("wxpay-load-merchants-{}.toml", std::process::id()));
    std::fs::write(&path, toml)?;
    Ok(Some(path))
}
