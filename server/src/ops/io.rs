//! What every command shares: its settings (`--config`, `--database-url`), its input
//! (a file or stdin), its JSON output and its error line.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use secrecy::SecretString;
use serde_json::Value;

use crate::config::Settings;

#[derive(Debug, Args)]
pub(crate) struct DatabaseArgs {
    /// TOML configuration file (see wxpay.example.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// sqlite://FILE or postgres://... (overrides the configuration and
    /// WXPAY_DATABASE__URL; with --sandbox, the only way to choose the database).
    #[arg(long)]
    pub database_url: Option<String>,
}

pub(crate) fn settings(args: &DatabaseArgs) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(args.config.as_deref())?;
    if let Some(url) = &args.database_url {
        settings.database.url = SecretString::from(url.as_str());
    }
    Ok(settings)
}

#[allow(clippy::print_stderr)] // The command's error output.
pub(crate) fn fail(message: &str) -> ExitCode {
    eprintln!("wxpay: {message}");
    ExitCode::FAILURE
}

#[allow(clippy::print_stdout)] // The command's output, as it is.
pub(crate) fn print_text(text: &str) {
    print!("{text}");
}

#[allow(clippy::print_stdout)] // The command's output.
pub(crate) fn print(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

pub(crate) fn read_input(file: Option<&PathBuf>) -> anyhow::Result<Vec<u8>> {
    let mut input = Vec::new();
    match file {
        Some(path) => {
            input = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        }
        None => {
            std::io::stdin().read_to_end(&mut input)?;
        }
    }
    Ok(input)
}
