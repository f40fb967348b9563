//! Validation helpers shared by the services. Messages follow authentik's (Django REST
//! framework's) wording where one exists, so API clients see familiar errors.
use garrison_model::{FieldErrors, ListQuery};
use garrison_store::sql::{OrderFields, Ordering};

use crate::{ServiceError, ServiceResult};

pub(crate) const REQUIRED: &str = "This field is required.";
pub(crate) const BLANK: &str = "This field may not be blank.";
pub(crate) const NOT_A_SLUG: &str =
    "Enter a valid \"slug\" consisting of letters, numbers, underscores or hyphens.";

pub(crate) fn ordering(
    query: &ListQuery,
    fields: &OrderFields,
    default: Ordering,
) -> ServiceResult<Ordering> {
    let Some(spec) = query
        .ordering
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Ok(default);
    };
    // authentik accepts a comma-separated list; the first field decides here.
    let first = spec.split(',').next().unwrap_or(spec).trim();
    Ordering::resolve(first, fields).ok_or_else(|| {
        let names: Vec<&str> = fields.iter().map(|(name, _, _)| *name).collect();
        ServiceError::invalid(
            "ordering",
            format!(
                "Unknown field \"{first}\"; choose from: {}.",
                names.join(", ")
            ),
        )
    })
}

/// Checks a text field that must be present (on create / full update) and non-blank, with a
/// maximum length. Returns the trimmed-of-nothing value when valid.
pub(crate) fn text<'a>(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&'a String>,
    required: bool,
    allow_blank: bool,
    max_len: usize,
) -> Option<&'a str> {
    match value {
        None => {
            if required {
                errors.add(field, REQUIRED);
            }
            None
        }
        Some(v) if v.trim().is_empty() && !allow_blank => {
            errors.add(field, BLANK);
            None
        }
        Some(v) if v.chars().count() > max_len => {
            errors.add(
                field,
                format!("Ensure this field has no more than {max_len} characters."),
            );
            None
        }
        Some(v) if v.chars().any(char::is_control) => {
            errors.add(field, "Control characters are not allowed.");
            None
        }
        Some(v) => Some(v.as_str()),
    }
}

pub(crate) fn is_slug(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(crate) fn does_not_exist<T: std::fmt::Display>(missing: &[T]) -> Option<String> {
    missing
        .first()
        .map(|pk| format!("Invalid pk \"{pk}\" - object does not exist."))
}
