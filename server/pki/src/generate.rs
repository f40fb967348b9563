//! Self-signed certificate-key pairs, as authentik's "Generate" button makes them.
//!
//! The request is validated whole before any key is made (key generation, RSA's above all, is
//! the expensive part). The result follows authentik's builder: subject
//! `CN=<common name>, O=Garrison, OU=Self-signed`, valid from a day ago (so that an outpost
//! whose clock runs a little behind accepts it at once) for `validity_days` days, with the
//! names given as subjectAltName entries. The key is PKCS#8 PEM, which every outpost reads.
use std::fmt;
use std::net::IpAddr;

use crate::{KeyAlgorithm, PkiError};

/// X.520's upper bound for a common name, in characters.
pub const MAX_COMMON_NAME_CHARS: usize = 64;
/// A hundred years: beyond this a "validity" is a typo.
pub const MAX_VALIDITY_DAYS: u32 = 36_500;
/// More names than this is not a certificate for an outpost.
pub const MAX_SUBJECT_ALT_NAMES: usize = 100;
/// The size of generated RSA keys. authentik makes 4096-bit keys; 2048 bits is the size every
/// client accepts and is generated in a fraction of the time.
pub const RSA_KEY_BITS: usize = 2048;

const SECONDS_PER_DAY: i64 = 86_400;

/// What to generate (authentik's `CertificateGenerationSerializer`; its comma-separated
/// `subject_alt_name` is split by the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateRequest {
    /// Trimmed; 1 to [`MAX_COMMON_NAME_CHARS`] characters, no control characters.
    pub common_name: String,
    /// DNS names (a leading `*.` wildcard allowed) or IP addresses. Entries are trimmed and
    /// blank ones skipped, as authentik does; duplicates are dropped.
    pub subject_alt_names: Vec<String>,
    /// 1 to [`MAX_VALIDITY_DAYS`].
    pub validity_days: u32,
    pub algorithm: KeyAlgorithm,
}

/// A generated certificate and its private key, both PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedPair {
    pub certificate_pem: String,
    /// PKCS#8 (`-----BEGIN PRIVATE KEY-----`). To be sealed before it is stored.
    pub private_key_pem: String,
}

/// The key stays out of logs and panic messages.
impl fmt::Debug for GeneratedPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedPair")
            .field("certificate_pem", &self.certificate_pem)
            .field("private_key_pem", &"<redacted>")
            .finish()
    }
}

/// Makes a self-signed certificate and its key after validating `request`; a refusal names
/// the field at fault (`common_name`, `subject_alt_name` or `validity_days`).
pub fn generate(request: &GenerateRequest) -> Result<GeneratedPair, PkiError> {
    let common_name = common_name(&request.common_name)?;
    let subject_alt_names = subject_alt_names(&request.subject_alt_names)?;
    let (not_before, not_after) = validity(request.validity_days)?;

    let key_pair = key_pair(request.algorithm)?;
    // Strings that parse as IP addresses become iPAddress entries, the rest dNSName entries.
    let mut params = rcgen::CertificateParams::new(subject_alt_names).map_err(failed)?;
    let mut subject = rcgen::DistinguishedName::new();
    subject.push(rcgen::DnType::CommonName, common_name);
    subject.push(rcgen::DnType::OrganizationName, "Garrison");
    subject.push(rcgen::DnType::OrganizationalUnitName, "Self-signed");
    params.distinguished_name = subject;
    params.not_before = not_before;
    params.not_after = not_after;
    let certificate = params.self_signed(&key_pair).map_err(failed)?;
    Ok(GeneratedPair {
        certificate_pem: certificate.pem(),
        private_key_pem: key_pair.serialize_pem(),
    })
}

fn common_name(raw: &str) -> Result<String, PkiError> {
    let name = raw.trim();
    let refuse = |reason| Err(PkiError::InvalidCommonName { reason });
    if name.is_empty() {
        return refuse("must not be empty");
    }
    if name.chars().count() > MAX_COMMON_NAME_CHARS {
        return refuse("must be at most 64 characters");
    }
    if name.chars().any(char::is_control) {
        return refuse("must not contain control characters");
    }
    Ok(name.to_owned())
}

fn subject_alt_names(raw: &[String]) -> Result<Vec<String>, PkiError> {
    let mut names: Vec<String> = Vec::new();
    for entry in raw {
        let name = entry.trim();
        if name.is_empty() {
            continue;
        }
        if name.parse::<IpAddr>().is_err() && !is_dns_name(name) {
            return Err(PkiError::InvalidSubjectAltName {
                name: name.chars().take(80).collect(),
            });
        }
        if !names.iter().any(|known| known.eq_ignore_ascii_case(name)) {
            names.push(name.to_owned());
        }
    }
    if names.len() > MAX_SUBJECT_ALT_NAMES {
        return Err(PkiError::TooManySubjectAltNames { count: names.len() });
    }
    Ok(names)
}

/// A host name of letters, digits and inner hyphens (RFC 1123), labels of at most 63 and the
/// whole at most 253 characters, optionally under a `*.` wildcard.
fn is_dns_name(name: &str) -> bool {
    let host = name.strip_prefix("*.").unwrap_or(name);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// From a day ago to `days` days from now, to the second.
fn validity(days: u32) -> Result<(time::OffsetDateTime, time::OffsetDateTime), PkiError> {
    if days == 0 || days > MAX_VALIDITY_DAYS {
        return Err(PkiError::InvalidValidity { days });
    }
    let now = chrono::Utc::now().timestamp();
    let at = |seconds: i64| time::OffsetDateTime::from_unix_timestamp(seconds).map_err(failed);
    Ok((
        at(now - SECONDS_PER_DAY)?,
        at(now + i64::from(days) * SECONDS_PER_DAY)?,
    ))
}

fn key_pair(algorithm: KeyAlgorithm) -> Result<rcgen::KeyPair, PkiError> {
    match algorithm {
        KeyAlgorithm::Ecdsa => {
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(failed)
        }
        KeyAlgorithm::Rsa => {
            // ring, which rcgen signs with, cannot generate RSA keys: the rsa crate makes the
            // key and ring takes it from there (and checks it on the way in).
            use rsa::pkcs8::EncodePrivateKey as _;
            let key =
                rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_KEY_BITS).map_err(failed)?;
            let pkcs8 = key.to_pkcs8_der().map_err(failed)?;
            rcgen::KeyPair::try_from(pkcs8.as_bytes()).map_err(failed)
        }
    }
}

fn failed(error: impl fmt::Display) -> PkiError {
    PkiError::Generation {
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;
    use crate::{KeyType, check_key, inspect_certificate};

    fn request(algorithm: KeyAlgorithm) -> GenerateRequest {
        GenerateRequest {
            common_name: "outpost.example".into(),
            subject_alt_names: vec![
                "outpost.example".into(),
                " *.apps.example ".into(),
                "".into(),
                "192.0.2.7".into(),
                "OUTPOST.example".into(),
            ],
            validity_days: 90,
            algorithm,
        }
    }

    fn assert_round_trip(algorithm: KeyAlgorithm, key_type: KeyType) {
        let before = Utc::now();
        let pair = generate(&request(algorithm)).unwrap();
        assert!(
            pair.certificate_pem
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(
            pair.private_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );

        let facts = inspect_certificate(&pair.certificate_pem).unwrap();
        assert!(
            facts.subject.contains("CN=outpost.example"),
            "{}",
            facts.subject
        );
        assert_eq!(
            facts.subject,
            "OU=Self-signed,O=Garrison,CN=outpost.example"
        );
        assert_eq!(facts.dns_names, ["outpost.example", "*.apps.example"]);
        assert_eq!(facts.key_type, Some(key_type));
        let expected_end = before + Duration::days(90);
        assert!(
            (facts.not_after - expected_end).num_seconds().abs() <= 60,
            "{} vs {expected_end}",
            facts.not_after
        );
        let expected_start = before - Duration::days(1);
        assert!((facts.not_before - expected_start).num_seconds().abs() <= 60);

        assert_eq!(
            check_key(&pair.certificate_pem, &pair.private_key_pem),
            Ok(key_type)
        );
    }

    #[test]
    fn generates_an_ecdsa_pair() {
        assert_round_trip(KeyAlgorithm::Ecdsa, KeyType::Ec);
    }

    #[test]
    fn generates_an_rsa_pair() {
        assert_round_trip(KeyAlgorithm::Rsa, KeyType::Rsa);
    }

    #[test]
    fn refuses_bad_requests_naming_the_field() {
        let good = request(KeyAlgorithm::Ecdsa);
        let cases = [
            (
                GenerateRequest {
                    common_name: String::new(),
                    ..good.clone()
                },
                "common_name",
            ),
            (
                GenerateRequest {
                    common_name: "   ".into(),
                    ..good.clone()
                },
                "common_name",
            ),
            (
                GenerateRequest {
                    common_name: "x".repeat(65),
                    ..good.clone()
                },
                "common_name",
            ),
            (
                GenerateRequest {
                    common_name: "bell\u{7}".into(),
                    ..good.clone()
                },
                "common_name",
            ),
            (
                GenerateRequest {
                    validity_days: 0,
                    ..good.clone()
                },
                "validity_days",
            ),
            (
                GenerateRequest {
                    validity_days: 100_000,
                    ..good.clone()
                },
                "validity_days",
            ),
            (
                GenerateRequest {
                    subject_alt_names: vec!["bad name.example".into()],
                    ..good.clone()
                },
                "subject_alt_name",
            ),
            (
                GenerateRequest {
                    subject_alt_names: (0..=MAX_SUBJECT_ALT_NAMES)
                        .map(|i| format!("host{i}.example"))
                        .collect(),
                    ..good.clone()
                },
                "subject_alt_name",
            ),
        ];
        for (bad, field) in cases {
            let error = generate(&bad).unwrap_err();
            assert_eq!(error.field(), field, "{error}");
            assert!(
                error.to_string().starts_with(&format!("{field}: ")),
                "{error}"
            );
        }
        // The limits themselves are accepted.
        assert!(
            generate(&GenerateRequest {
                common_name: "x".repeat(64),
                validity_days: MAX_VALIDITY_DAYS,
                ..good.clone()
            })
            .is_ok()
        );
    }

    #[test]
    fn recognises_dns_names() {
        for good in [
            "localhost",
            "a.example",
            "*.example.org",
            "xn--bcher-kva.example",
            "a-b.c1",
        ] {
            assert!(is_dns_name(good), "{good}");
        }
        for bad in [
            "",
            "*",
            "*.",
            "a..b",
            ".a",
            "a.",
            "-a.example",
            "a-.example",
            "a b.example",
            "a_b.example",
            "*.*.example",
            "a.*.example",
            "bücher.example",
        ] {
            assert!(!is_dns_name(bad), "{bad}");
        }
        assert!(is_dns_name(&"a".repeat(63)));
        assert!(!is_dns_name(&"a".repeat(64)), "a label over 63 characters");
        let long = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(62),
        ]
        .join(".");
        assert_eq!(long.len(), 254);
        assert!(!is_dns_name(&long), "a name over 253 characters");
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let pair = GeneratedPair {
            certificate_pem: "cert".into(),
            private_key_pem: "secret".into(),
        };
        assert!(!format!("{pair:?}").contains("secret"));
    }
}
