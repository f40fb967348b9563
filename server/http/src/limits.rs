//! How much a request may carry, for every edge (REST, browser forms, uploads).

/// Any request body; larger ones are refused before a handler runs.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// A URL-encoded form, buffered to find its CSRF field.
pub const MAX_FORM_BYTES: usize = 1024 * 1024;
/// A multipart upload (a plugin component and its manifest).
pub const MAX_UPLOAD_BYTES: usize = MAX_BODY_BYTES;
