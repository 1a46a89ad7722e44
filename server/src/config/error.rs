//! What a setting can be: missing, invalid, or unsafe for production; each names its key.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("missing {key}: set it in the config file or in the environment as {env}")]
    Missing {
        key: &'static str,
        env: &'static str,
    },
    #[error("invalid {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("refusing to start in production: {key} {reason}")]
    Unsafe { key: &'static str, reason: String },
}
