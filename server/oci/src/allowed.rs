//! Which addresses a pull may reach, checked before every request.

use std::net::IpAddr;

/// Which registries a pull may reach. Public addresses are allowed; loopback, link-local
/// (cloud metadata services live there), unspecified, multicast and broadcast addresses are
/// refused unless their `host[:port]` is listed (`GARRISON_OCI_REGISTRIES`), so that a pull
/// cannot be pointed at the server's own internal services. Every URL the client fetches is
/// checked: the registry's, the token realm it names and every redirect target.
///
/// A listed entry is `host[:port]`, or `http://host[:port]`: the latter is also reached over
/// plain HTTP by blueprint pulls (which otherwise always use HTTPS, as authentik does).
#[derive(Clone, Debug, Default)]
pub struct Allowed {
    /// Listed authorities (`host[:port]`, lowercase), allowed though internal.
    listed: Vec<String>,
    /// Those listed with `http://`.
    plain_http: Vec<String>,
}

fn internal_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_address(IpAddr::V4(v4)),
            None => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    // fe80::/10, link-local
                    || (v6.segments()[0] & 0xffc0) == 0xfe80
            }
        },
    }
}

/// An entry as written, split into its authority and whether it asks for plain HTTP.
fn split_entry(entry: &str) -> (String, bool) {
    let entry = entry.trim().to_lowercase();
    let (authority, plain_http) = match entry.split_once("://") {
        Some(("http", authority)) => (authority, true),
        Some((_, authority)) => (authority, false),
        None => (entry.as_str(), false),
    };
    (authority.trim_end_matches('/').to_owned(), plain_http)
}

impl Allowed {
    /// The listed entries (`host[:port]` or `http://host[:port]`, any case). Entries are not
    /// checked here (see [`Allowed::check_entry`]); one that is not well formed matches nothing.
    pub fn new(listed: &[String]) -> Self {
        let mut allowed = Self::default();
        for entry in listed {
            let (authority, plain_http) = split_entry(entry);
            if authority.is_empty() {
                continue;
            }
            if plain_http {
                allowed.plain_http.push(authority.clone());
            }
            allowed.listed.push(authority);
        }
        allowed
    }

    /// Whether `entry` is a listing this type understands: `host[:port]`, `http://host[:port]`
    /// or `https://host[:port]`, with a bracketed IPv6 address as the host if need be. The
    /// reason otherwise, for the configuration's error message.
    pub fn check_entry(entry: &str) -> Result<(), String> {
        let trimmed = entry.trim().to_lowercase();
        if let Some((scheme, _)) = trimmed.split_once("://") {
            if scheme != "http" && scheme != "https" {
                return Err(format!(
                    "{entry:?}: only http:// may be written before a registry (or https://, the default)"
                ));
            }
        }
        let (authority, _) = split_entry(entry);
        let bad = authority.is_empty()
            || authority
                .chars()
                .any(|c| c.is_whitespace() || "/@?#".contains(c));
        let port_ok = match authority.rsplit_once(':') {
            // `[::1]` has colons but no port; `[::1]:5000` has one after the bracket.
            Some((host, port)) if !host.contains(':') || host.ends_with(']') => {
                port.parse::<u16>().is_ok()
            }
            _ => true,
        };
        if bad || !port_ok {
            return Err(format!(
                "{entry:?}: a registry is listed as host[:port] or http://host[:port]"
            ));
        }
        Ok(())
    }

    /// Whether the registry at `authority` (`host[:port]`) is listed with `http://`, and so is
    /// reached over plain HTTP by blueprint pulls.
    pub fn plain_http(&self, authority: &str) -> bool {
        let authority = authority.to_lowercase();
        self.plain_http.iter().any(|listed| *listed == authority)
    }

    /// Checks the authority (`host[:port]`) of a URL about to be fetched: listed, or resolving
    /// to no internal address. (DNS is trusted at check time.)
    pub fn check(&self, url: &str) -> Result<(), String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?} is not an absolute URL"))?;
        let default_port = match scheme.to_ascii_lowercase().as_str() {
            "http" => 80,
            "https" => 443,
            other => return Err(format!("scheme {other:?} is not allowed")),
        };
        let authority = rest
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_lowercase();
        if authority.contains('@') {
            return Err("credentials in URLs are not allowed".to_owned());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
                match port.parse::<u16>() {
                    Ok(port) if !host.contains(':') || host.starts_with('[') => (host, port),
                    _ => (authority.as_str(), default_port),
                }
            }
            _ => (authority.as_str(), default_port),
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if self
            .listed
            .iter()
            .any(|l| *l == authority || *l == host || *l == bare)
        {
            return Ok(());
        }
        let addresses = std::net::ToSocketAddrs::to_socket_addrs(&(bare, port))
            .map_err(|e| format!("cannot resolve {bare}: {e}"))?;
        for address in addresses {
            if internal_address(address.ip()) {
                return Err(format!(
                    "{authority} resolves to {}, an internal address; list it in GARRISON_OCI_REGISTRIES to allow pulls from it",
                    address.ip()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_registries_are_refused_unless_listed() {
        let none = Allowed::default();
        for url in [
            "http://127.0.0.1:5000/v2/x/manifests/y",
            "http://localhost:5000/v2/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:5000/v2/",
            "http://0.0.0.0/v2/",
            "https://[::ffff:127.0.0.1]/v2/",
        ] {
            let error = none.check(url).unwrap_err();
            assert!(error.contains("GARRISON_OCI_REGISTRIES"), "{url}: {error}");
        }
        let listed = Allowed::new(&["127.0.0.1:5000".to_owned()]);
        assert!(listed.check("http://127.0.0.1:5000/v2/x").is_ok());
        assert!(
            listed.check("http://127.0.0.1:6000/v2/x").is_err(),
            "another port of a listed host is not listed"
        );
        assert!(none.check("http://user:pw@example.com/").is_err());
        assert!(none.check("ftp://example.com/").is_err());
    }

    #[test]
    fn an_http_listing_allows_the_registry_and_asks_for_plain_http() {
        let allowed = Allowed::new(&[
            "HTTP://127.0.0.1:5000/".to_owned(),
            "registry.internal:443".to_owned(),
        ]);
        assert!(allowed.check("http://127.0.0.1:5000/v2/x").is_ok());
        assert!(allowed.check("https://127.0.0.1:5000/v2/x").is_ok());
        assert!(allowed.plain_http("127.0.0.1:5000"));
        assert!(!allowed.plain_http("127.0.0.1:6000"));
        assert!(
            !allowed.plain_http("registry.internal:443"),
            "a listing without http:// keeps HTTPS"
        );
        assert!(allowed.check("http://127.0.0.1:6000/v2/x").is_err());
    }

    #[test]
    fn listings_are_checked_for_the_configuration() {
        for good in [
            "127.0.0.1:5000",
            "http://127.0.0.1:5000",
            "https://registry.example",
            "[::1]:5000",
            "http://[::1]",
            "registry.example/",
        ] {
            assert!(Allowed::check_entry(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://registry.example",
            "registry.example/path",
            "user@registry.example",
            "registry.example:port",
            "",
            "http://",
        ] {
            assert!(Allowed::check_entry(bad).is_err(), "{bad:?}");
        }
    }
}
