//! CSRF protection for everything a browser's cookies could authorise.
//!
//! Double-submit, bound to the session: every browser gets a `garrison_csrf` cookie; a
//! state-changing request that is not authenticated by a bearer token must repeat that value
//! in the `X-CSRFToken` header or in a `csrf_token` form field. Another site can make a
//! browser send the cookie but cannot read it, so it cannot repeat it.
//!
//! A logged-in browser's token is derived from its session key. Someone who can plant a
//! cookie (a sibling subdomain without `__Host-`) cannot make a token that matches another
//! person's session, and a token stops working when the session it was issued for ends: the
//! next page gets a fresh one.
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use axum::extract::State;
use garrison_http::cookies;
use garrison_http::identity::{Credential, RequestIdentity};
use garrison_http::limits::{MAX_FORM_BYTES, MAX_UPLOAD_BYTES};
use sha2::{Digest, Sha256};

use crate::SERVER_FN_PREFIX;

pub const HEADER: &str = "x-csrftoken";
pub const FIELD: &str = "csrf_token";

/// The CSRF token of the current browser, for pages to embed in their forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

fn nonce() -> String {
    let bytes: [u8; 24] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A logged-in browser's token: derived from its session key, so every response of one
/// session carries the same token (pages and the requests they trigger run concurrently,
/// and random tokens would race each other into the cookie), and nobody without the session
/// key can compute it.
fn session_token(session: &str) -> String {
    let digest = Sha256::digest(format!("garrison-csrf\0{session}").as_bytes());
    let mac: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("s.{mac}")
}

/// A token for the browser's current session (`None`: not logged in, a random one).
fn new_token(session: Option<&str>) -> String {
    match session {
        Some(session) => session_token(session),
        None => nonce(),
    }
}

/// Whether a token from the cookie belongs to this browser's current session: a logged-in
/// browser's must be its session's; without a session only an unbound token is valid.
fn belongs_to(token: &str, session: Option<&str>) -> bool {
    match session {
        Some(session) => constant_time_eq(token.as_bytes(), session_token(session).as_bytes()),
        None => !token.is_empty() && !token.contains('.'),
    }
}

fn refuse(request_wants_html: bool, server_fn: bool, reason: &str) -> Response {
    if server_fn && !request_wants_html {
        // The hydrated client decodes `UiError` (`{"Message": "…"}`), not the API's `detail`.
        let body = json!({"Message": format!("{reason} Reload the page and try again.")});
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    if request_wants_html {
        let body = format!(
            "<!doctype html><title>Request refused</title><link rel=stylesheet href=/static/garrison.css>\
             <main class=refused><h1>Request refused</h1><p>{reason}</p><p>Reload the page and submit the form again.</p>\
             <p><a href=\"javascript:history.back()\">Back</a></p></main>"
        );
        (StatusCode::FORBIDDEN, Html(body)).into_response()
    } else {
        (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"detail": format!("CSRF Failed: {reason}")})),
        )
            .into_response()
    }
}

fn is_multipart(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
}

/// The CSRF field of a buffered multipart body (forms put it first, so parsing stops early).
async fn multipart_field(body: bytes::Bytes, boundary: String, name: &str) -> Option<String> {
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

fn is_form(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

pub async fn protect(
    State(settings): State<garrison_http::HttpSettings>,
    mut request: Request,
    next: Next,
) -> Response {
    // Paths served without identifying the caller (assets, health) know nothing of the
    // session: they neither need nor may touch its token (a full page load fetches them after
    // the page, and a fresh token set here would replace the session's).
    let identified = request.extensions().get::<RequestIdentity>().is_some();
    let credential = request
        .extensions()
        .get::<RequestIdentity>()
        .map(|i| i.credential.clone());
    let session = match &credential {
        Some(Credential::Session(key)) => Some(key.0.clone()),
        _ => None,
    };
    let cookie_name = cookies::csrf(settings.secure_cookies);
    // A cookie issued for another session (or before login) is not this session's token.
    let cookie = cookies::read(request.headers(), cookie_name)
        .filter(|token| belongs_to(token, session.as_deref()));
    let token = cookie
        .clone()
        .unwrap_or_else(|| new_token(session.as_deref()));
    request.extensions_mut().insert(CsrfToken(token.clone()));

    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let cookie_borne = session.is_some();
    // API calls without a session cookie carry no ambient authority: authentication decides.
    let api_without_session = request.uri().path().starts_with("/api/") && !cookie_borne;
    if unsafe_method && credential != Some(Credential::Bearer) && !api_without_session {
        let wants_html = crate::asks_for_html(request.headers());
        let server_fn = request.uri().path().starts_with(SERVER_FN_PREFIX);
        let Some(expected) = cookie.as_deref() else {
            return refuse(
                wants_html,
                server_fn,
                "CSRF cookie not set, or issued for another session.",
            );
        };
        let mut submitted = request
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if submitted.is_none() {
            // The token may be in the body: buffer it (bounded), read the field, put it back.
            let body_kind = if is_form(&request) {
                Some((MAX_FORM_BYTES, None))
            } else {
                is_multipart(&request).map(|boundary| (MAX_UPLOAD_BYTES, Some(boundary)))
            };
            if let Some((limit, boundary)) = body_kind {
                let (parts, body) = request.into_parts();
                let Ok(bytes) = to_bytes(body, limit).await else {
                    return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
                        .into_response();
                };
                submitted = match boundary {
                    None => url_form_field(&bytes, FIELD),
                    Some(boundary) => multipart_field(bytes.clone(), boundary, FIELD).await,
                };
                request = Request::from_parts(parts, Body::from(bytes));
            }
        }
        match submitted {
            None => return refuse(wants_html, server_fn, "CSRF token missing."),
            Some(value) if !constant_time_eq(value.as_bytes(), expected.as_bytes()) => {
                return refuse(wants_html, server_fn, "CSRF token incorrect.");
            }
            Some(_) => {}
        }
    }

    let mut response = next.run(request).await;
    if cookie.is_none() && identified {
        if let Ok(value) = HeaderValue::from_str(&cookies::set(
            cookie_name,
            &token,
            365 * 24 * 3600,
            settings.secure_cookies,
        )) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

fn url_form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded_pairs(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_in_a_form_body() {
        assert_eq!(
            url_form_field(b"name=x&csrf_token=abc%3D&z=1", FIELD).as_deref(),
            Some("abc=")
        );
        assert_eq!(url_form_field(b"name=x", FIELD), None);
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(None), new_token(None));
        assert_eq!(a.len(), 48);
        assert_ne!(a, b);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
    }

    #[test]
    fn a_token_belongs_only_to_the_session_it_was_issued_for() {
        let bound = new_token(Some("session-one"));
        assert!(belongs_to(&bound, Some("session-one")));
        assert!(!belongs_to(&bound, Some("session-two")), "another session");
        assert!(!belongs_to(&bound, None), "after logout");
        let unbound = new_token(None);
        assert!(belongs_to(&unbound, None));
        assert!(
            !belongs_to(&unbound, Some("session-one")),
            "a planted or pre-login token is not a session's token"
        );
        let forged = format!("s.{}", "0".repeat(32));
        assert!(!belongs_to(&forged, Some("session-one")));
        assert_eq!(
            new_token(Some("session-one")),
            bound,
            "one session, one token: concurrent responses agree"
        );
    }
}
