//! The cookies Garrison sets. All are HttpOnly and SameSite=Lax (the session must survive a
//! top-level navigation from another site; writes are protected by the CSRF token besides).
//!
//! Behind TLS (`secure` cookies) their names carry the `__Host-` prefix: browsers then accept
//! them only from this exact host over HTTPS, with no `Domain`, so a sibling subdomain cannot
//! plant or overwrite them.
use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// The session cookie's name.
pub fn session(secure: bool) -> &'static str {
    if secure {
        "__Host-garrison_session"
    } else {
        "garrison_session"
    }
}

/// The CSRF cookie's name.
pub fn csrf(secure: bool) -> &'static str {
    if secure {
        "__Host-garrison_csrf"
    } else {
        "garrison_csrf"
    }
}

pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

pub fn set(name: &str, value: &str, max_age_secs: u64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear(name: &str, secure: bool) -> String {
    set(name, "", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn reads_one_cookie_among_many() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; garrison_session=abc; b=2"),
        );
        assert_eq!(read(&headers, session(false)).as_deref(), Some("abc"));
        assert_eq!(read(&headers, csrf(false)), None);
        assert_eq!(
            read(&headers, session(true)),
            None,
            "the __Host- name differs"
        );
    }

    #[test]
    fn cookies_are_http_only_and_same_site_and_host_bound_behind_tls() {
        let cookie = set(session(true), "v", 60, true);
        assert!(
            cookie.starts_with("__Host-")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && cookie.contains("Secure")
                && cookie.contains("Path=/")
                && !cookie.contains("Domain")
        );
    }
}
