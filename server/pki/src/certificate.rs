//! Uploaded certificates and the facts the API shows about them.
//!
//! The facts follow authentik's `CertificateKeyPair` serializer so that its clients read them
//! unchanged: fingerprints are lowercase hex pairs joined by ':' (Python's
//! `hexlify(digest, ":")`), the subject is the RFC 4514 string (`rfc4514_string()`: last RDN
//! first, comma-separated, escaped), and the key type uses authentik's `KeyType` values.
//!
//! `certificate_data` is stored in clear, so it must hold certificates and nothing else: a
//! private key pasted into it is refused rather than skipped.
use chrono::{DateTime, Utc};
use ring::digest;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::time::ASN1Time;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use crate::pem::{self, Block};
use crate::{KeyType, PemField, PkiError};

const FIELD: PemField = PemField::CertificateData;
const LABEL: &str = "CERTIFICATE";

/// What the API shows about a certificate (authentik's `fingerprint_sha256`,
/// `fingerprint_sha1`, `cert_expiry`, `cert_subject`, and the keypair's key type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateFacts {
    /// SHA-256 of the DER certificate: 32 lowercase hex pairs joined by ':'.
    pub fingerprint_sha256: String,
    /// SHA-1 of the DER certificate: 20 lowercase hex pairs joined by ':'. Shown because
    /// authentik shows it; it identifies, it does not secure.
    pub fingerprint_sha1: String,
    pub not_before: DateTime<Utc>,
    /// authentik's `cert_expiry`.
    pub not_after: DateTime<Utc>,
    /// RFC 4514, e.g. `OU=Self-signed,O=Garrison,CN=outpost.example`.
    pub subject: String,
    /// The type of the certificate's public key; `None` for algorithms authentik has no name
    /// for either.
    pub key_type: Option<KeyType>,
    /// The subjectAltName extension's DNS names, in order.
    pub dns_names: Vec<String>,
}

/// Reads `certificate_pem`, a certificate optionally followed by the rest of its chain, and
/// returns the facts of the first certificate. Every block must be a certificate and every
/// certificate must parse, so that a damaged chain is refused at upload rather than found by
/// an outpost.
pub fn inspect_certificate(certificate_pem: &str) -> Result<CertificateFacts, PkiError> {
    let certificates = certificate_ders(certificate_pem)?;
    let Some(first) = certificates.first() else {
        return Err(no_certificate());
    };
    let certificate = parse(first, 1)?;
    for (position, der) in certificates.iter().enumerate().skip(1) {
        parse(der, position + 1)?;
    }
    Ok(CertificateFacts {
        fingerprint_sha256: fingerprint(&digest::SHA256, first),
        fingerprint_sha1: fingerprint(&digest::SHA1_FOR_LEGACY_USE_ONLY, first),
        not_before: timestamp(&certificate.validity().not_before, "notBefore")?,
        not_after: timestamp(&certificate.validity().not_after, "notAfter")?,
        subject: rfc4514(certificate.subject()),
        key_type: key_type(&certificate),
        dns_names: dns_names(&certificate),
    })
}

/// The DER of every block of `text`, which must all be certificates; at least one.
pub(crate) fn certificate_ders(text: &str) -> Result<Vec<Vec<u8>>, PkiError> {
    let blocks = pem::read_blocks(text, FIELD)?;
    if blocks.is_empty() {
        return Err(no_certificate());
    }
    blocks
        .into_iter()
        .map(|Block { label, der, .. }| {
            if label == LABEL {
                Ok(der)
            } else {
                Err(PkiError::UnexpectedBlock {
                    field: FIELD,
                    expected: LABEL,
                    found: pem::shorten(&label),
                })
            }
        })
        .collect()
}

pub(crate) fn no_certificate() -> PkiError {
    PkiError::NotPem {
        field: FIELD,
        expected: LABEL,
    }
}

/// Parses one DER certificate; `position` (from 1) is for the message.
pub(crate) fn parse(der: &[u8], position: usize) -> Result<X509Certificate<'_>, PkiError> {
    match x509_parser::parse_x509_certificate(der) {
        Ok((rest, certificate)) if rest.is_empty() => Ok(certificate),
        Ok(_) => Err(PkiError::InvalidCertificate {
            index: position,
            reason: "unexpected data after the certificate".into(),
        }),
        Err(error) => Err(PkiError::InvalidCertificate {
            index: position,
            reason: error.to_string(),
        }),
    }
}

/// The type of the certificate's public key, by its algorithm identifier.
pub(crate) fn key_type(certificate: &X509Certificate<'_>) -> Option<KeyType> {
    match certificate
        .public_key()
        .algorithm
        .algorithm
        .to_id_string()
        .as_str()
    {
        // rsaEncryption, and RSASSA-PSS keys (still RSA keys).
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => Some(KeyType::Rsa),
        "1.2.840.10045.2.1" => Some(KeyType::Ec),
        "1.2.840.10040.4.1" => Some(KeyType::Dsa),
        "1.3.101.112" => Some(KeyType::Ed25519),
        "1.3.101.113" => Some(KeyType::Ed448),
        _ => None,
    }
}

/// Lowercase hex pairs joined by ':', as authentik formats fingerprints.
fn fingerprint(algorithm: &'static digest::Algorithm, der: &[u8]) -> String {
    digest::digest(algorithm, der)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn timestamp(time: &ASN1Time, which: &str) -> Result<DateTime<Utc>, PkiError> {
    DateTime::from_timestamp(time.timestamp(), 0).ok_or_else(|| PkiError::InvalidCertificate {
        index: 1,
        reason: format!("{which} is out of range"),
    })
}

fn dns_names(certificate: &X509Certificate<'_>) -> Vec<String> {
    certificate
        .extensions()
        .iter()
        .filter_map(|extension| match extension.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(names) => Some(names),
            _ => None,
        })
        .flat_map(|names| names.general_names.iter())
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(dns.to_string()),
            _ => None,
        })
        .collect()
}

/// The RFC 4514 string of `name`: RDNs last to first, joined by ','; the attributes of a
/// multi-valued RDN joined by '+'; the short names of RFC 4514's table, dotted OIDs otherwise.
fn rfc4514(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| rdn.iter().map(attribute).collect::<Vec<_>>().join("+"))
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn attribute(attr: &AttributeTypeAndValue<'_>) -> String {
    let oid = attr.attr_type().to_id_string();
    let key = match oid.as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        other => other,
    };
    let value = match attr.as_str() {
        Ok(text) => escape(text),
        // Not a string type x509-parser decodes (BMPString, say): RFC 4514's '#' and hex.
        Err(_) => {
            let raw: &[u8] = attr.attr_value().data;
            let hex: String = raw.iter().map(|byte| format!("{byte:02x}")).collect();
            format!("#{hex}")
        }
    };
    format!("{key}={value}")
}

/// Escapes an attribute value as RFC 4514 section 2.4 requires.
fn escape(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(value.len());
    for (position, c) in value.chars().enumerate() {
        match c {
            '\\' | '"' | '+' | ',' | ';' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '\0' => out.push_str("\\00"),
            '#' | ' ' if position == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if position == last => out.push_str("\\ "),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GenerateRequest, GeneratedPair, KeyAlgorithm, generate};

    fn pair(common_name: &str, subject_alt_names: &[&str], days: u32) -> GeneratedPair {
        generate(&GenerateRequest {
            common_name: common_name.into(),
            subject_alt_names: subject_alt_names.iter().map(|s| s.to_string()).collect(),
            validity_days: days,
            algorithm: KeyAlgorithm::Ecdsa,
        })
        .unwrap()
    }

    fn assert_fingerprint(value: &str, bytes: usize) {
        assert_eq!(value.len(), bytes * 3 - 1, "{value}");
        for (position, c) in value.chars().enumerate() {
            if position % 3 == 2 {
                assert_eq!(c, ':', "{value}");
            } else {
                assert!(matches!(c, '0'..='9' | 'a'..='f'), "{value}");
            }
        }
    }

    #[test]
    fn fingerprints_are_authentiks_format_and_differ() {
        let one = inspect_certificate(&pair("one.example", &[], 30).certificate_pem).unwrap();
        let two = inspect_certificate(&pair("two.example", &[], 30).certificate_pem).unwrap();
        assert_fingerprint(&one.fingerprint_sha256, 32);
        assert_fingerprint(&one.fingerprint_sha1, 20);
        assert_ne!(one.fingerprint_sha256, two.fingerprint_sha256);
        assert_ne!(one.fingerprint_sha1, two.fingerprint_sha1);
    }

    #[test]
    fn a_chain_gives_the_facts_of_its_first_certificate() {
        let leaf = pair("leaf.example", &["leaf.example"], 30).certificate_pem;
        let next = pair("next.example", &[], 30).certificate_pem;
        let alone = inspect_certificate(&leaf).unwrap();
        let chained = inspect_certificate(&format!("{leaf}\n{next}")).unwrap();
        assert_eq!(alone, chained);

        // A damaged second certificate spoils the upload, naming its position.
        let damaged =
            format!("{leaf}\n-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n");
        assert!(matches!(
            inspect_certificate(&damaged),
            Err(PkiError::InvalidCertificate { index: 2, .. })
        ));
    }

    #[test]
    fn refuses_what_is_not_a_certificate() {
        let generated = pair("refusals.example", &[], 30);
        let bad_base64 = "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n";
        let cases: Vec<(String, PkiError)> = vec![
            (String::new(), PkiError::Empty { field: FIELD }),
            ("\n \n".into(), PkiError::Empty { field: FIELD }),
            ("garbage".into(), no_certificate()),
            (
                "x".repeat(crate::MAX_PEM_BYTES + 1),
                PkiError::TooLarge {
                    field: FIELD,
                    size: crate::MAX_PEM_BYTES + 1,
                },
            ),
            (
                generated.private_key_pem.clone(),
                PkiError::UnexpectedBlock {
                    field: FIELD,
                    expected: LABEL,
                    found: "PRIVATE KEY".into(),
                },
            ),
            (
                // The key after the certificate: still refused, the field is stored in clear.
                format!(
                    "{}\n{}",
                    generated.certificate_pem, generated.private_key_pem
                ),
                PkiError::UnexpectedBlock {
                    field: FIELD,
                    expected: LABEL,
                    found: "PRIVATE KEY".into(),
                },
            ),
            (
                bad_base64.into(),
                PkiError::BadBase64 {
                    field: FIELD,
                    label: LABEL.into(),
                },
            ),
        ];
        for (input, expected) in cases {
            let error = inspect_certificate(&input).unwrap_err();
            assert_eq!(error, expected, "{input:.80}");
            assert_eq!(error.field(), "certificate_data");
        }

        // Framed and base64, but not a certificate.
        for body in ["MAA=", "AAAA", "MIIBCgKCAQEA", "/////w=="] {
            let input = format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n");
            let error = inspect_certificate(&input).unwrap_err();
            assert!(
                matches!(error, PkiError::InvalidCertificate { index: 1, .. }),
                "{body}: {error:?}"
            );
            assert!(
                error.to_string().starts_with("certificate_data: "),
                "{error}"
            );
        }
    }

    #[test]
    fn escapes_rfc4514_values() {
        assert_eq!(escape("plain value"), "plain value");
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape("#x"), "\\#x");
        assert_eq!(escape(" padded "), "\\ padded\\ ");
        assert_eq!(escape("q\"<>;\\"), "q\\\"\\<\\>\\;\\\\");
        assert_eq!(escape(""), "");
    }
}
