//! Where a browser may be sent after login (`?next=`): only somewhere on this site.

/// Characters a `next` path may contain, unencoded: letters, digits and the URL punctuation
/// a local path and query use. No spaces, controls, backslashes or anything non-ASCII, so the
/// value is always a valid `Location` header and no browser normalises it elsewhere.
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/-._~%?=&+:@,;!*'()$".contains(c)
}

/// Decodes `%XX` escapes (invalid ones stay as they are).
fn percent_decode(value: &str) -> Vec<u8> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// True when `next` is a path on this site: it starts with one `/`, uses only [`allowed`]
/// characters, and neither it nor its percent-decoded form (repeatedly decoded, as some
/// servers and browsers do) starts with `//` or `/\`, or contains control characters or
/// backslashes — `/%09/evil.example` becomes `//evil.example` once a browser drops the tab.
pub fn is_local_path(next: &str) -> bool {
    if next.len() > 2048 || !next.starts_with('/') || !next.chars().all(allowed) {
        return false;
    }
    let mut current = next.as_bytes().to_vec();
    for _ in 0..3 {
        // Decoded spaces and UTF-8 are fine (`?search=caf%C3%A9`); what browsers strip or
        // turn into slashes is not.
        let suspicious = current.iter().any(|b| b.is_ascii_control() || *b == b'\\');
        if suspicious || current.starts_with(b"//") || current.starts_with(b"/\\") {
            return false;
        }
        let Ok(text) = std::str::from_utf8(&current) else {
            return false;
        };
        let decoded = percent_decode(text);
        if decoded == current {
            return true;
        }
        current = decoded;
    }
    // Still changing after three rounds of decoding: nobody needs that.
    false
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn local_paths_are_followed() {
        for ok in [
            "/",
            "/users",
            "/users?page=2&search=a%20b",
            "/groups/3f2a-1",
        ] {
            assert!(is_local_path(ok), "{ok}");
        }
    }

    #[test]
    fn other_sites_and_tricks_are_not() {
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "/%252F%252Fevil.example",
            "https://evil.example",
            "evil.example",
            "/\tx",
            "/a\r\nSet-Cookie: x=1",
            "/caf\u{e9}",
            "",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }
}
