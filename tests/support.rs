//! Running the real `wxpay` binary for black-box tests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `wxpay` binary built by the same `cargo test` run (target/<profile>/wxpay).
pub fn wxpay_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/<profile>/deps/blackbox-<hash> -> target/<profile>/wxpay
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or("unexpected test binary location")?;
    let binary = profile_dir.join("wxpay");
    if binary.exists() {
        Ok(binary)
    } else {
        Err(format!(
            "{} is missing: run the whole suite (./scripts/test.sh or cargo test --workspace), \
             which builds it",
            binary.display()
        ))
    }
}

/// A `wxpay serve --sandbox` process, killed on drop.
#[derive(Debug)]
pub struct Sandbox {
    child: Child,
    pub api: String,
    pub sim: String,
    pub dir: PathBuf,
}

impl Sandbox {
    /// Starts the sandbox on free ports with its own SQLite file and waits for its banner.
    pub fn start(name: &str) -> Result<Sandbox, String> {
        let dir =
            std::env::temp_dir().join(format!("wxpay-blackbox-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let database = format!("sqlite://{}", dir.join("sandbox.sqlite").display());
        let mut child = Command::new(wxpay_binary()?)
            .args([
                "serve",
                "--sandbox",
                "--bind",
                "127.0.0.1:0",
                "--sim-bind",
                "127.0.0.1:0",
            ])
            .args(["--database-url", &database])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start wxpay: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let (mut api, mut sim) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while (api.is_none() || sim.is_none()) && Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            let url = |prefix: &str| {
                line.trim()
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_owned)
            };
            api = api.or_else(|| url("API:"));
            sim = sim.or_else(|| url("WeChat simulator:"));
        }
        let mut sandbox = Sandbox {
            child,
            api: api.unwrap_or_default(),
            sim: sim.unwrap_or_default(),
            dir,
        };
        if sandbox.api.is_empty() || sandbox.sim.is_empty() {
            let _ = sandbox.child.kill();
            return Err("wxpay serve --sandbox did not print its banner".into());
        }
        Ok(sandbox)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An HTTP client for tests (rustls with ring, no proxies).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}
