//! Who is making a request: resolved once per request by [`identify`] and stored in the
//! request's extensions for handlers, server functions and the CSRF check.
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use garrison_services::{Caller, Principal, SessionKey, Via};

use crate::{AppState, cookies};

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
        self.principal.clone().map(|principal| Caller {
            principal,
            client_ip: self.client_ip.clone(),
            via,
        })
    }
}

fn client_ip(request: &Request, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for {
        if let Some(forwarded) = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        {
            if let Some(first) = forwarded
                .split(',')
                .next()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                return Some(first.to_owned());
            }
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

/// Paths that never need to know who is asking: no store lookup for them.
fn anonymous_path(path: &str) -> bool {
    path.starts_with("/static/") || path.starts_with("/pkg/") || path.starts_with("/-/health/")
}

pub async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if anonymous_path(request.uri().path()) {
        return next.run(request).await;
    }
    let client_ip = client_ip(&request, state.settings.trust_forwarded_for);
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
            Err(error) => tracing::error!(%error, "token authentication failed"),
        }
    } else if let Some(value) = cookies::read(request.headers(), cookies::SESSION) {
        let key = SessionKey(value);
        match state.services.authenticate_session(&key).await {
            Ok(Some(principal)) => {
                identity.principal = Some(principal);
                identity.credential = Credential::Session(key);
            }
            Ok(None) => {}
            Err(error) => tracing::error!(%error, "session authentication failed"),
        }
    }
    request.extensions_mut().insert(identity);
    next.run(request).await
}
