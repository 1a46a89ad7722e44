//! Running the real `wxpay` binary for black-box tests.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
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
    /// Whether drop removes `dir` (not when the caller owns it, e.g. for a restart).
    remove_dir: bool,
}

/// A fresh, empty directory for one test.
pub fn test_dir(name: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("wxpay-blackbox-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

impl Sandbox {
    /// Starts the sandbox on free ports with its own SQLite file and waits for its banner.
    pub fn start(name: &str) -> Result<Sandbox, String> {
        Self::start_with(name, &[])
    }

    /// [`Self::start`] with extra arguments (`--api v3`, ...).
    pub fn start_with(name: &str, args: &[&str]) -> Result<Sandbox, String> {
        let dir = test_dir(name)?;
        let database = format!("sqlite://{}", dir.join("sandbox.sqlite").display());
        let mut all = vec!["--database-url", database.as_str()];
        all.extend_from_slice(args);
        let mut sandbox = Self::start_in(&dir, &all, &[])?;
        sandbox.remove_dir = true;
        Ok(sandbox)
    }

    /// Starts the sandbox with `dir` as its working directory (where its default
    /// database lives), extra arguments and environment; `dir` is kept on drop. Its log
    /// goes to `dir/sandbox.log`; a start that fails returns that log.
    pub fn start_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Sandbox, String> {
        let log_path = dir.join("sandbox.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let mut child = Command::new(wxpay_binary()?)
            .current_dir(dir)
            .args([
                "serve",
                "--sandbox",
                "--bind",
                "127.0.0.1:0",
                "--sim-bind",
                "127.0.0.1:0",
            ])
            .args(args)
            // Quiet by default; a test's own RUST_LOG wins.
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start wxpay: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        // Everything on stdout (the banner, and the log lines: tracing writes there) goes
        // to the log too, read to the end: a closed pipe would fail the sandbox's writes.
        let mut copy = std::fs::OpenOptions::new()
            .append(true)
            .open(&log_path)
            .map_err(|e| e.to_string())?;
        let (mut api, mut sim) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while (api.is_none() || sim.is_none()) && Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            let _ = writeln!(copy, "{line}");
            let url = |prefix: &str| {
                line.trim()
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_owned)
            };
            api = api.or_else(|| url("API:"));
            sim = sim.or_else(|| url("WeChat simulator:"));
        }
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = writeln!(copy, "{line}");
            }
        });
        let mut sandbox = Sandbox {
            child,
            api: api.unwrap_or_default(),
            sim: sim.unwrap_or_default(),
            dir: dir.to_owned(),
            remove_dir: false,
        };
        if sandbox.api.is_empty() || sandbox.sim.is_empty() {
            let _ = sandbox.child.kill();
            let _ = sandbox.child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!(
                "wxpay serve --sandbox did not print its banner: {log}"
            ));
        }
        Ok(sandbox)
    }

    /// Sends SIGTERM (what systemd, Docker and Kubernetes send) and waits up to 20 s for
    /// the process to exit: whether it exited with success, and its log.
    pub fn terminate(mut self) -> (bool, String) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (status.success(), self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (false, self.log())
    }

    /// What the sandbox logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sandbox.log")).unwrap_or_default()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
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

/// The merchant `wxpay serve` runs as in production mode against the simulator
/// (production refuses WeChat's documentation credentials): the simulator's test merchant.
pub mod merchant {
    pub use wxpay_sim::config::{
        TEST_API_KEY as API_KEY, TEST_APP_SECRET as APP_SECRET, TEST_APPID as APPID,
        TEST_MCH_ID as MCH_ID,
    };
    use wxpay_sim::{MerchantConfig, SimConfig};

    /// The simulator, playing WeChat for this merchant only (time scaled by `time_scale`).
    pub fn sim_config(time_scale: f64) -> SimConfig {
        SimConfig {
            time_scale,
            ..SimConfig::for_merchant(MerchantConfig::test_merchant())
        }
    }
}
