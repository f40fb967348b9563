//! Service errors in words for people (the REST API has its own, authentik-shaped bodies).
use garrison_services::ServiceError;

/// What to tell the person whose action failed. Internal failures say only that the details
/// are in the server's log: a browser never sees storage or plugin internals.
pub fn for_people(error: &ServiceError) -> String {
    match error {
        ServiceError::Validation(errors) => errors.to_string(),
        ServiceError::Forbidden { permission } => {
            format!("You do not have permission to do this ({permission}).")
        }
        ServiceError::Escalation { reason } => reason.clone(),
        ServiceError::NotFound { model, key } => format!("No {model} {key}."),
        ServiceError::Unauthenticated => "Log in first.".into(),
        ServiceError::RateLimited { retry_after_secs } => {
            format!("Too many attempts. Try again in {retry_after_secs} seconds.")
        }
        ServiceError::Store(_) | ServiceError::Bus(_) | ServiceError::Internal(_) => {
            tracing::error!(%error, "a browser request failed");
            "Something went wrong on the server; the details are in its log.".into()
        }
    }
}
