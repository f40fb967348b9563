//! Why an input was refused, said so that a person can fix it, and tied to the API field it
//! came from so that the edges report it like any other field error.
use std::fmt;

use crate::{MAX_PEM_BYTES, MAX_SUBJECT_ALT_NAMES, MAX_VALIDITY_DAYS};

/// The API fields that carry PEM: errors about reading PEM can be about either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PemField {
    CertificateData,
    KeyData,
}

impl PemField {
    /// The API field's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CertificateData => "certificate_data",
            Self::KeyData => "key_data",
        }
    }

    /// What the field should hold, for messages.
    fn noun(self) -> &'static str {
        match self {
            Self::CertificateData => "certificate",
            Self::KeyData => "private key",
        }
    }
}

impl fmt::Display for PemField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused input. Each message starts with the field it is about; [`PkiError::field`] gives
/// that field alone.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PkiError {
    #[error("{field}: {size} bytes is over the limit of {max} bytes", max = MAX_PEM_BYTES)]
    TooLarge { field: PemField, size: usize },

    #[error("{field}: empty")]
    Empty { field: PemField },

    #[error("{field}: not a PEM {} (expected -----BEGIN {expected}-----)", .field.noun())]
    NotPem {
        field: PemField,
        expected: &'static str,
    },

    /// Framing is broken: a block without its END line, or ending with another label's.
    #[error("{field}: malformed PEM: {detail}")]
    MalformedPem { field: PemField, detail: String },

    #[error("{field}: the body of the {label} block is not valid base64")]
    BadBase64 { field: PemField, label: String },

    /// A block of the wrong kind, e.g. a private key pasted where the certificate goes.
    #[error("{field}: expected a {expected} block, found {found}")]
    UnexpectedBlock {
        field: PemField,
        expected: &'static str,
        found: String,
    },

    /// `index` counts from 1 in the order of the blocks (2 and on are the chain).
    #[error("certificate_data: certificate {index} is not a valid X.509 certificate ({reason})")]
    InvalidCertificate { index: usize, reason: String },

    #[error("key_data: the private key is encrypted; upload it without a passphrase")]
    EncryptedKey,

    #[error("key_data: more than one private key; upload exactly one")]
    MultipleKeys,

    #[error(
        "key_data: {kind} private keys are not supported (use RSA, ECDSA on P-256 or P-384, or Ed25519)"
    )]
    UnsupportedKey { kind: &'static str },

    #[error("key_data: {reason}")]
    InvalidKey { reason: String },

    #[error("key_data: the private key does not match the certificate")]
    KeyMismatch,

    #[error("common_name: {reason}")]
    InvalidCommonName { reason: &'static str },

    #[error("subject_alt_name: {name:?} is neither a DNS name nor an IP address")]
    InvalidSubjectAltName { name: String },

    #[error("subject_alt_name: {count} names is over the limit of {max}", max = MAX_SUBJECT_ALT_NAMES)]
    TooManySubjectAltNames { count: usize },

    #[error("validity_days: must be between 1 and {max} days, got {days}", max = MAX_VALIDITY_DAYS)]
    InvalidValidity { days: u32 },

    #[error("alg: {given:?} is not a key algorithm (expected \"rsa\" or \"ecdsa\")")]
    UnknownAlgorithm { given: String },

    /// Generation failed for a reason that is not the request's (the system's random source,
    /// a library refusing its own output). Not a field error.
    #[error("could not generate the certificate: {reason}")]
    Generation { reason: String },
}

impl PkiError {
    /// The API field the error belongs to; `non_field_errors` (Django REST framework's name,
    /// which authentik's clients expect) for failures that are no field's fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::TooLarge { field, .. }
            | Self::Empty { field }
            | Self::NotPem { field, .. }
            | Self::MalformedPem { field, .. }
            | Self::BadBase64 { field, .. }
            | Self::UnexpectedBlock { field, .. } => field.as_str(),
            Self::InvalidCertificate { .. } => "certificate_data",
            Self::EncryptedKey
            | Self::MultipleKeys
            | Self::UnsupportedKey { .. }
            | Self::InvalidKey { .. }
            | Self::KeyMismatch => "key_data",
            Self::InvalidCommonName { .. } => "common_name",
            Self::InvalidSubjectAltName { .. } | Self::TooManySubjectAltNames { .. } => {
                "subject_alt_name"
            }
            Self::InvalidValidity { .. } => "validity_days",
            Self::UnknownAlgorithm { .. } => "alg",
            Self::Generation { .. } => "non_field_errors",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_start_with_their_field() {
        let errors = [
            PkiError::TooLarge {
                field: PemField::KeyData,
                size: 70_000,
            },
            PkiError::Empty {
                field: PemField::CertificateData,
            },
            PkiError::NotPem {
                field: PemField::CertificateData,
                expected: "CERTIFICATE",
            },
            PkiError::InvalidCertificate {
                index: 1,
                reason: "x".into(),
            },
            PkiError::KeyMismatch,
            PkiError::InvalidCommonName { reason: "x" },
            PkiError::InvalidSubjectAltName { name: "a b".into() },
            PkiError::InvalidValidity { days: 0 },
            PkiError::UnknownAlgorithm { given: "x".into() },
        ];
        for error in errors {
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("{}: ", error.field())),
                "{message}"
            );
        }
    }

    #[test]
    fn not_pem_says_what_was_expected() {
        let error = PkiError::NotPem {
            field: PemField::CertificateData,
            expected: "CERTIFICATE",
        };
        assert_eq!(
            error.to_string(),
            "certificate_data: not a PEM certificate (expected -----BEGIN CERTIFICATE-----)"
        );
    }
}
