//! Who is making a request: resolved once per request by [`identify`] and stored in the
//! request's extensions for handlers, server functions and the CSRF check.
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use garrison_services::{Caller, Principal, SessionKey, Via};

use crate::{ApiError, AppState, cookies};

/// How the request authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    None,
    Bearer,
    Session(SessionKey),
}

#[derive(Clone, Debug)]
pub struct RequestIdentity {
    pub principal: Option<Principal>,
    pub credential: Credential,
    pub client_ip: Option<String>,
}

impl RequestIdentity {
    /// The caller for a service call, or `None` when nobody is logged in.
    pub fn caller(&self, via: Via) -> Option<Caller> {
        let session = match &self.credential {
            Credential::Session(key) => Some(key.clone()),
            _ => None,
        };
        self.principal
            .clone()
            .map(|principal| Caller::new(principal, self.client_ip.clone(), via, session))
    }
}

/// The address `trusted_proxies` hops back in an `X-Forwarded-For` list: each trusted proxy
/// appended the address it received the request from, so the entry written by the outermost
/// trusted proxy is the client's. `None` if the list is shorter or that entry is not an IP.
fn forwarded_client(header: &str, trusted_proxies: usize) -> Option<String> {
    let hops: Vec<&str> = header.split(',').map(str::trim).collect();
    let index = hops.len().checked_sub(trusted_proxies)?;
    let entry = hops.get(index)?;
    entry
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

fn client_ip(request: &Request, trusted_proxies: usize) -> Option<String> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    if trusted_proxies == 0 {
        return peer;
    }
    request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|header| forwarded_client(header, trusted_proxies))
        .or(peer)
}

/// Paths that never need to know who is asking: no store lookup for them.
fn anonymous_path(path: &str) -> bool {
    path.starts_with("/static/") || path.starts_with("/pkg/") || path.starts_with("/-/health/")
}

pub async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if anonymous_path(request.uri().path()) {
        return next.run(request).await;
    }
    let client_ip = client_ip(&request, state.settings.trusted_proxies);
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|v| v.trim().to_owned());
    let mut identity = RequestIdentity {
        principal: None,
        credential: Credential::None,
        client_ip,
    };
    if let Some(key) = bearer {
        match state.services.authenticate_token(&key).await {
            Ok(Some(principal)) => {
                identity.principal = Some(principal);
                identity.credential = Credential::Bearer;
            }
            // An unknown or expired key: the request stays anonymous and gets 401 where needed.
            Ok(None) => {}
            // Not a 401: the key may well be valid, and a client told it is not may throw
            // it away (an outpost would stop reconnecting). The store failed; say so.
            Err(error) => return ApiError::from(error).into_response(),
        }
    } else if let Some(value) = cookies::read(
        request.headers(),
        cookies::session(state.settings.secure_cookies),
    ) {
        let key = SessionKey(value);
        match state.services.authenticate_session(&key).await {
            Ok(Some(principal)) => {
                identity.principal = Some(principal);
                identity.credential = Credential::Session(key);
            }
            Ok(None) => {}
            // As for a token: a store failure is not a signed-out browser.
            Err(error) => return ApiError::from(error).into_response(),
        }
    }
    request.extensions_mut().insert(identity);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::forwarded_client;

    #[test]
    fn the_client_is_counted_from_the_right_past_the_trusted_proxies() {
        // The client forged the first entry; the one proxy in front appended the real peer.
        let header = "203.0.113.9, 198.51.100.7";
        assert_eq!(forwarded_client(header, 1).as_deref(), Some("198.51.100.7"));
        // Two proxies: the outer one appended the client, the inner one the outer proxy.
        let header = "1.2.3.4, 198.51.100.7, 10.0.0.2";
        assert_eq!(forwarded_client(header, 2).as_deref(), Some("198.51.100.7"));
        assert_eq!(forwarded_client("198.51.100.7", 2), None, "too few hops");
        assert_eq!(forwarded_client("not-an-ip", 1), None);
    }
}
