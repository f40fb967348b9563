//! Certificate-key pairs for outposts (authentik's `CertificateKeyPair`).
//!
//! Operators upload a PEM certificate, optionally with its PEM private key, or ask Garrison to
//! generate a self-signed pair. The rest of Garrison stores the certificate in clear (it is
//! public) and the key sealed, and shows facts about them in the API. This crate is where
//! those inputs are judged and those facts come from:
//!
//! - [`inspect_certificate`] reads an uploaded certificate (the first of a chain) and returns
//!   its [`CertificateFacts`]: fingerprints, validity, subject, key type, DNS names.
//! - [`check_key`] reads an uploaded private key and proves it belongs to the certificate.
//! - [`generate`] makes a self-signed certificate and key after validating the request.
//!
//! Every refusal is a [`PkiError`] that names the API field at fault ([`PkiError::field`]), so
//! the edges can report it like any other field error. No input panics: sizes are bounded
//! before parsing ([`MAX_PEM_BYTES`]), and parsing is done by ring and x509-parser, which are
//! built for hostile input, or by the small bounds-checked readers in this crate.
//!
//! No I/O: callers pass text in and get text and facts out.
#![deny(unsafe_code)]

mod certificate;
mod der;
mod error;
mod generate;
mod key;
mod pem;

use std::fmt;
use std::str::FromStr;

pub use certificate::{CertificateFacts, inspect_certificate};
pub use error::{PemField, PkiError};
pub use generate::{
    GenerateRequest, GeneratedPair, MAX_COMMON_NAME_CHARS, MAX_SUBJECT_ALT_NAMES,
    MAX_VALIDITY_DAYS, RSA_KEY_BITS, generate,
};
pub use key::check_key;

/// The largest certificate or key PEM accepted, in bytes. A certificate chain of a handful of
/// certificates or a 4096-bit RSA key is a few KiB; anything near this is not what the field
/// is for, and is refused before any parsing work is spent on it.
pub const MAX_PEM_BYTES: usize = 64 * 1024;

/// What kind of key a certificate or private key holds. The values are authentik's `KeyType`
/// (`authentik.crypto.models.KeyType`), which its API reports for a keypair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    Rsa,
    /// Elliptic curve (ECDSA) keys, whatever the curve.
    Ec,
    Dsa,
    Ed25519,
    Ed448,
}

impl KeyType {
    /// authentik's value: `"rsa"`, `"ec"`, `"dsa"`, `"ed25519"` or `"ed448"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsa => "rsa",
            Self::Ec => "ec",
            Self::Dsa => "dsa",
            Self::Ed25519 => "ed25519",
            Self::Ed448 => "ed448",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of key [`generate`] makes. The values are authentik's `PrivateKeyAlg`, the `alg`
/// field of its generate endpoint, whose default is RSA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// An RSA key of [`RSA_KEY_BITS`] bits, signed with SHA-256 (PKCS#1 v1.5).
    #[default]
    Rsa,
    /// An ECDSA key on P-256, signed with SHA-256.
    Ecdsa,
}

impl KeyAlgorithm {
    /// authentik's value: `"rsa"` or `"ecdsa"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsa => "rsa",
            Self::Ecdsa => "ecdsa",
        }
    }

    /// The type of the keys this algorithm makes.
    pub fn key_type(self) -> KeyType {
        match self {
            Self::Rsa => KeyType::Rsa,
            Self::Ecdsa => KeyType::Ec,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = PkiError;

    /// Parses the API's `alg` value; anything else is refused naming the field.
    fn from_str(value: &str) -> Result<Self, PkiError> {
        match value {
            "rsa" => Ok(Self::Rsa),
            "ecdsa" => Ok(Self::Ecdsa),
            _ => Err(PkiError::UnknownAlgorithm {
                given: value.chars().take(32).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_algorithm_parses_authentik_values_only() {
        assert_eq!("rsa".parse::<KeyAlgorithm>(), Ok(KeyAlgorithm::Rsa));
        assert_eq!("ecdsa".parse::<KeyAlgorithm>(), Ok(KeyAlgorithm::Ecdsa));
        assert_eq!(KeyAlgorithm::default(), KeyAlgorithm::Rsa);
        for bad in ["", "RSA", "ec", "dsa", "ed25519"] {
            let error = bad.parse::<KeyAlgorithm>().unwrap_err();
            assert_eq!(error.field(), "alg", "{bad:?}");
            assert!(error.to_string().starts_with("alg: "), "{error}");
        }
    }

    #[test]
    fn key_type_values_are_authentiks() {
        let all = [
            KeyType::Rsa,
            KeyType::Ec,
            KeyType::Dsa,
            KeyType::Ed25519,
            KeyType::Ed448,
        ];
        let names: Vec<&str> = all.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, ["rsa", "ec", "dsa", "ed25519", "ed448"]);
        assert_eq!(KeyAlgorithm::Ecdsa.key_type(), KeyType::Ec);
    }
}
