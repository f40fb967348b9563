//! Pages need a logged-in user; anyone else is sent to the login page and brought back after.
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use garrison_http::RequestIdentity;

use crate::SERVER_FN_PREFIX;

/// Paths a browser may reach without logging in.
fn public(path: &str) -> bool {
    path == "/login" || path.starts_with("/setup/") || path.starts_with(SERVER_FN_PREFIX)
}

/// `path_and_query` as the value of a `next=` parameter: every byte but letters, digits and
/// `/-_.` percent-encoded, so the login page gets it back exactly.
pub fn encode_next(path_and_query: &str) -> String {
    path_and_query
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub async fn require_login(request: Request, next: Next) -> Response {
    let logged_in = request
        .extensions()
        .get::<RequestIdentity>()
        .is_some_and(|i| i.principal.is_some());
    if logged_in || public(request.uri().path()) {
        return next.run(request).await;
    }
    let next_url = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    Redirect::to(&format!("/login?next={}", encode_next(next_url))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_round_trips_through_the_login_page() {
        assert_eq!(encode_next("/users?page=2"), "/users%3Fpage%3D2");
        assert!(crate::redirect::is_local_path(&encode_next(
            "/users?page=2"
        )));
        assert!(public("/ui-fn/login") && public("/login") && !public("/users"));
    }
}
