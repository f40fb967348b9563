//! Garrison's browser edge: what a person's browser meets besides the pages themselves.
//!
//! The login gate in front of the pages ([`gate`]), CSRF protection bound to the session for
//! everything a cookie could authorise ([`csrf`]), the plugin upload form ([`upload`]), where a
//! browser may be sent after login ([`redirect`]) and how a service error reads to a person
//! ([`messages`]). The REST API and health endpoints (`garrison-http`) know none of this; the
//! two share only request identity and body limits, which `garrison-http` owns.
#![deny(unsafe_code)]

pub mod csrf;
pub mod gate;
pub mod messages;
pub mod redirect;
pub mod upload;

/// Where the UI's server functions are served. Leptos's `#[server(prefix = ...)]` takes a
/// literal, so `garrison-app` spells it in each attribute; a test in the integration suite
/// checks every registered server function against this one.
pub const SERVER_FN_PREFIX: &str = "/ui-fn/";

/// Whether a request asks for a page (`Accept` names HTML): a browser's plain form post does,
/// a hydrated page's fetch does not. The CSRF refusal and the server functions that hand a
/// secret over to the page both decide by it, as server_fn's own redirect does.
pub fn asks_for_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}
