use garrison_model::FieldErrors;
use garrison_store::StoreError;

/// What can go wrong in a service call, in terms a caller can act on. The HTTP layer maps each
/// variant to a status code; the UI shows the message.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input: {0}")]
    Validation(FieldErrors),
    #[error("{model} {key} not found")]
    NotFound { model: &'static str, key: String },
    #[error("authentication required")]
    Unauthenticated,
    #[error("you do not have permission to perform this action ({permission})")]
    Forbidden { permission: String },
    /// The call would give someone (the caller included) a right the caller does not hold, or
    /// act on an account that holds more than the caller.
    #[error("{reason}")]
    Escalation { reason: String },
    #[error("too many failed attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    #[error("cache failure: {0}")]
    Bus(#[from] garrison_bus::BusError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn not_found(model: &'static str, key: impl ToString) -> Self {
        Self::NotFound {
            model,
            key: key.to_string(),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(FieldErrors::single(field, message))
    }

    pub fn escalation(reason: impl Into<String>) -> Self {
        Self::Escalation {
            reason: reason.into(),
        }
    }

    pub fn forbidden(permission: impl Into<String>) -> Self {
        Self::Forbidden {
            permission: permission.into(),
        }
    }
}

impl From<FieldErrors> for ServiceError {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
