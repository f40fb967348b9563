//! This server's origin as a client reached it, for addresses handed back to that client.
use axum::http::uri::Authority;
use axum::http::{HeaderMap, Uri, header};

/// `scheme://host`: `https` when a proxy says so in `X-Forwarded-Proto` (its first entry),
/// else `http`; the host from `Host`, or from the request line under HTTP/2. `None` when
/// neither names a valid host (one carrying credentials, `user@host`, is not a host).
pub fn origin(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<Authority>().ok())
        .or_else(|| uri.authority().cloned())
        .filter(|authority| !authority.as_str().contains('@'))?;
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let scheme = if https { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}
