//! What can go wrong in storage; to a client every one of them is an internal error,
//! logged here and never described.

use crate::base::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database URL must start with sqlite: or postgres:")]
    UnknownBackend,
    #[error("database.sqlite_synchronous must be FULL or NORMAL")]
    BadSynchronous,
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        tracing::error!(error = %error, "storage failure");
        ApiError::internal()
    }
}
