//! `outbound-http:SCHEME://HOST[:PORT]`: outbound HTTP for plugins, through wasi:http
//! (`wasi:http/outgoing-handler`, `wasi:http/types`), linked for every world.
//!
//! The host performs every request itself, and only to the `scheme://host:port` targets both
//! declared in the manifest and granted by the operator. Everything else is answered with
//! wasi:http's `HTTP-request-denied` before a connection is attempted, and logged with the
//! plugin's name.
use std::sync::Arc;

use wasmtime::component::Linker;
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use super::{Grantable, HostInterfaces, Offered, PluginKind};
use crate::state::HostState;

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

pub(crate) struct OutboundHttp;

impl HostInterfaces for OutboundHttp {
    const INTERFACES: &'static [&'static str] = &["wasi:http/outgoing-handler", "wasi:http/types"];

    fn add_to_linker(linker: &mut Linker<HostState>, _kind: PluginKind) -> wasmtime::Result<()> {
        // Every world may import wasi:http; its versions are wasmtime-wasi-http's, not
        // garrison:plugin's, so one registration serves them all. WASI's basics (streams it
        // builds on) are linked with the rest of the sandbox.
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
    }
}

impl Grantable for OutboundHttp {
    /// The origin as written in the grant (`https://api.example.com:8443`).
    type Grant = String;
    /// The granted origins, parsed.
    type Granted = Arc<[Target]>;

    const KEYWORD: &'static str = "outbound-http";
    const SYNTAX: &'static str = "outbound-http:SCHEME://HOST[:PORT]";
    const NEEDS: &'static str = "an outbound HTTP grant";

    fn parse(argument: Option<&str>) -> Result<String, String> {
        let target = argument.ok_or_else(|| {
            "an outbound HTTP grant names an origin: outbound-http:SCHEME://HOST[:PORT]".to_owned()
        })?;
        Target::parse(target)?;
        Ok(target.to_owned())
    }

    fn argument(target: &String) -> Option<&str> {
        Some(target.as_str())
    }

    fn describe(target: &String) -> String {
        format!("send HTTP requests to {target}")
    }

    fn validate(target: &String) -> Result<(), String> {
        Target::parse(target).map(|_| ())
    }

    /// Any origin grant lets wasi:http link: which origin a request may reach is decided per
    /// request, against the granted ones (`OutboundHooks`).
    fn satisfies(_target: &String, _interface: &str) -> bool {
        true
    }

    fn granted(targets: &[&String], _offered: &Offered<'_>) -> Arc<[Target]> {
        // Validated at load (`check`), so nothing is dropped here in practice.
        targets
            .iter()
            .filter_map(|target| Target::parse(target).ok())
            .collect()
    }
}

/// wasi:http's state for one call: its context, and hooks holding the plugin's allow-list.
pub(crate) struct OutboundCall {
    ctx: WasiHttpCtx,
    hooks: OutboundHooks,
}

impl OutboundCall {
    pub(crate) fn new(plugin: &str, allowed: &Arc<[Target]>) -> Self {
        Self {
            ctx: WasiHttpCtx::new(),
            hooks: OutboundHooks {
                plugin: plugin.to_owned(),
                allowed: allowed.clone(),
            },
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.outbound_http.ctx,
            table: &mut self.table,
            hooks: &mut self.outbound_http.hooks,
        }
    }
}

/// The wasi:http hooks of one call: the plugin's allow-list.
struct OutboundHooks {
    plugin: String,
    allowed: Arc<[Target]>,
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
    use crate::capabilities::{Capability, Needed, Requirement, requirement};

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

    #[test]
    fn an_outbound_grant_keeps_the_origin_as_written() {
        let text = "outbound-http:HTTPS://Api.Example.com";
        let capability: Capability = text.parse().unwrap();
        assert_eq!(
            capability,
            Capability::OutboundHttp("HTTPS://Api.Example.com".into())
        );
        assert_eq!(capability.to_string(), text);
        assert_eq!(
            capability.describe(),
            "send HTTP requests to HTTPS://Api.Example.com"
        );
        for bad in [
            "outbound-http",
            "outbound-http:",
            "outbound-http:api.example.com",
            "outbound-http:https://api.example.com/v1",
        ] {
            assert!(bad.parse::<Capability>().is_err(), "{bad}");
        }
    }

    #[test]
    fn wasi_http_needs_an_outbound_grant() {
        for interface in ["wasi:http/outgoing-handler@0.2.6", "wasi:http/types@0.2.6"] {
            assert_eq!(
                requirement(interface),
                Requirement::Grant(Needed::OutboundHttp),
                "{interface}"
            );
        }
        assert_eq!(Needed::OutboundHttp.describe(), "an outbound HTTP grant");
        let origin = Capability::OutboundHttp("https://a.example".into());
        assert!(Needed::OutboundHttp.is_met_by("wasi:http/outgoing-handler", &origin));
        assert!(!Needed::OutboundHttp.is_met_by("wasi:http/types", &Capability::Docker(None)));
    }

    #[test]
    fn granted_origins_are_parsed_once_at_load() {
        let (a, b) = (
            "https://a.example".to_string(),
            "http://b.example:8080".to_string(),
        );
        let offered = Default::default();
        let granted = OutboundHttp::granted(&[&a, &b], &Offered { secrets: &offered });
        assert_eq!(
            granted.iter().map(Target::to_string).collect::<Vec<_>>(),
            ["https://a.example:443", "http://b.example:8080"]
        );
    }
}
