//! Service connections named by Docker and Kubernetes grants: `docker:CONNECTION`,
//! `kubernetes:CONNECTION`, where CONNECTION is a service connection's name or UUID, and the
//! bare keyword means any connection of that kind.
//!
//! The host only checks the reference's shape: which connections exist is the server's
//! business, not the plugin host's.
use std::collections::BTreeSet;
use std::sync::Arc;

/// The longest reference a grant may carry, in characters.
const MAX_CHARS: usize = 255;

/// Reads what follows `keyword`: `None` (the bare keyword) is any connection.
pub(crate) fn parse(keyword: &str, argument: Option<&str>) -> Result<Option<String>, String> {
    let Some(connection) = argument else {
        return Ok(None);
    };
    check_reference(keyword, connection)?;
    Ok(Some(connection.to_owned()))
}

/// The same rule as [`parse`], for a grant built in code.
pub(crate) fn validate(keyword: &str, grant: &Option<String>) -> Result<(), String> {
    match grant {
        Some(connection) => check_reference(keyword, connection),
        None => Ok(()),
    }
}

/// A reference is one token: it is shown on the review screen and stored in the database as
/// part of the capability string, so whitespace or control characters could make two grants
/// look alike.
fn check_reference(keyword: &str, connection: &str) -> Result<(), String> {
    if connection.is_empty() {
        return Err(format!(
            "{keyword}:CONNECTION needs a service connection's name or UUID after the colon; \
             write {keyword} alone for any connection"
        ));
    }
    if connection.chars().count() > MAX_CHARS {
        return Err(format!(
            "{keyword}: a service connection reference is at most {MAX_CHARS} characters"
        ));
    }
    if connection
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "{keyword}:{connection:?}: a service connection reference cannot contain whitespace or control characters"
        ));
    }
    Ok(())
}

/// Which service connections one capability's grants reach, as a load keeps them for its calls.
/// The host routes each Docker or Kubernetes call to one of these once the operations are
/// implemented.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct GrantedConnections {
    /// A bare grant (`docker`): every connection of the kind.
    any: bool,
    /// Connections granted by name or UUID.
    named: Arc<BTreeSet<String>>,
}

impl GrantedConnections {
    /// From the grants both declared and granted; no grant at all reaches nothing.
    pub(crate) fn from_grants(grants: &[&Option<String>]) -> Self {
        Self {
            any: grants.iter().any(|grant| grant.is_none()),
            named: Arc::new(
                grants
                    .iter()
                    .filter_map(|grant| grant.as_deref())
                    .map(str::to_owned)
                    .collect(),
            ),
        }
    }

    /// Which connections the grants reach, for messages: "any connection" or the names.
    pub(crate) fn describe(&self) -> String {
        match (self.any, self.named.is_empty()) {
            (true, _) => "any connection".to_owned(),
            (false, true) => "no connection".to_owned(),
            (false, false) => {
                let names: Vec<&str> = self.named.iter().map(String::as_str).collect();
                format!("connections {}", names.join(", "))
            }
        }
    }

    /// Whether a call may reach `connection` (its name or UUID, as written in the grant).
    #[allow(
        dead_code,
        reason = "the Docker and Kubernetes operations route by it once they are implemented"
    )]
    pub(crate) fn allows(&self, connection: &str) -> bool {
        self.any || self.named.contains(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_a_name_or_uuid_of_bounded_length_without_spaces() {
        assert_eq!(parse("docker", None), Ok(None));
        assert_eq!(
            parse("docker", Some("prod-east")),
            Ok(Some("prod-east".into()))
        );
        assert_eq!(
            parse("docker", Some("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")),
            Ok(Some("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b".into()))
        );
        let longest = "c".repeat(MAX_CHARS);
        assert_eq!(
            parse("docker", Some(longest.as_str())),
            Ok(Some(longest.clone()))
        );
        let too_long = "c".repeat(MAX_CHARS + 1);
        for bad in [
            "",
            " ",
            "prod east",
            "prod\teast",
            "prod\u{7}",
            " prod",
            too_long.as_str(),
        ] {
            let error = parse("kubernetes", Some(bad)).unwrap_err();
            assert!(error.starts_with("kubernetes"), "{bad:?}: {error}");
            assert!(
                validate("kubernetes", &Some(bad.to_owned())).is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(validate("docker", &None), Ok(()));
    }

    #[test]
    fn a_bare_grant_reaches_every_connection_and_a_named_one_only_itself() {
        let prod = Some("prod".to_string());
        let named = GrantedConnections::from_grants(&[&prod]);
        assert!(named.allows("prod"));
        assert!(!named.allows("dev"));
        let any = GrantedConnections::from_grants(&[&prod, &None]);
        assert!(any.allows("dev"));
        let nothing = GrantedConnections::from_grants(&[]);
        assert!(!nothing.allows("prod"));
        assert_eq!(nothing.describe(), "no connection");
        assert_eq!(any.describe(), "any connection");
        assert_eq!(named.describe(), "connections prod");
        assert_eq!(nothing, GrantedConnections::default());
    }
}
