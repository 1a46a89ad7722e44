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
    /// In a `[[merchants]]` entry (its keys named as in that entry).
    #[error("[[merchants]] id = {id:?}: {reason}")]
    Merchant { id: String, reason: String },
    #[error("refusing to start in production: {key} {reason}")]
    Unsafe { key: &'static str, reason: String },
}
