//! Outbound HTTP for plugins (wasi:http): the host performs every request itself, and only to
//! the `scheme://host:port` targets both declared in the manifest and granted by the operator.
//! Everything else is answered with wasi:http's `HTTP-request-denied` before a connection is
//! attempted, and logged with the plugin's name.
use std::sync::Arc;

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// One allowed destination: scheme, host and port, compared exactly (ports defaulted).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    scheme: String,
    host: String,
    port: u16,
}

impl Target {
    /// Parses `scheme://host[:port]`; paths, credentials and queries are refused because a
    /// grant is for a whole origin.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("{text:?} is not scheme://host[:port]"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            other => return Err(format!("{text:?}: scheme {other:?} is not http or https")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!(
                "{text:?} must be an origin only (scheme://host[:port]), without path, query or credentials"
            ));
        }
        let (host, port) = split_host_port(authority, default_port)
            .ok_or_else(|| format!("{text:?} has an invalid port"))?;
        Ok(Self { scheme, host, port })
    }

    fn of_request(uri: &http::Uri) -> Option<Self> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let host = uri.host()?.to_ascii_lowercase();
        Some(Self {
            scheme,
            host,
            port: uri.port_u16().unwrap_or(default_port),
        })
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    // Bracketed IPv6 literals keep their colons.
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        (format!("[{inside}]"), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        }
    };
    let port = match port {
        Some(port) => port.parse().ok().filter(|p| *p != 0)?,
        None => default_port,
    };
    (!host.is_empty()).then(|| (host.to_ascii_lowercase(), port))
}

/// The wasi:http hooks of one call: the plugin's allow-list.
pub(crate) struct OutboundHooks {
    pub plugin: String,
    pub allowed: Arc<[Target]>,
}

type Sent = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Sent {
        let target = Target::of_request(request.uri());
        let allowed = target.as_ref().is_some_and(|t| self.allowed.contains(t));
        if !allowed {
            let shown = target.map_or_else(|| request.uri().to_string(), |t| t.to_string());
            tracing::warn!(plugin = %self.plugin, target = %shown, "outbound request refused: not granted to this plugin");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        tracing::debug!(plugin = %self.plugin, method = %request.method(), target = ?target, "outbound request");
        // The default hook sends the request (TLS via rustls); only the decision is ours.
        wasmtime_wasi_http::default_hooks().send_request(request, options, fut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_to_origins_with_default_ports() {
        assert_eq!(
            Target::parse("https://OpenFGA.example.com")
                .unwrap()
                .to_string(),
            "https://openfga.example.com:443"
        );
        assert_eq!(
            Target::parse("http://127.0.0.1:8080/").unwrap().to_string(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            Target::parse("https://[::1]:8443").unwrap().to_string(),
            "https://[::1]:8443"
        );
        for bad in [
            "openfga.example.com",
            "ftp://host",
            "https://host/path",
            "https://user@host",
            "https://host:0",
            "https://host:http",
            "https://",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn a_request_matches_only_its_exact_origin() {
        let granted = Target::parse("http://127.0.0.1:8080").unwrap();
        let of = |uri: &str| Target::of_request(&uri.parse::<http::Uri>().unwrap());
        assert_eq!(of("http://127.0.0.1:8080/check?x=1"), Some(granted.clone()));
        assert_ne!(of("http://127.0.0.1:8081/"), Some(granted.clone()));
        assert_ne!(of("https://127.0.0.1:8080/"), Some(granted.clone()));
        assert_ne!(of("http://localhost:8080/"), Some(granted));
    }
}
