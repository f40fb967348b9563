//! Uploaded private keys: read them, and prove they belong to the certificate.
//!
//! Keys are parsed by ring, the library that will sign with them, so a key accepted here is a
//! key that works; ring also checks each key's own consistency (the public half matches the
//! private half). The match with the certificate is then a comparison of public keys: the
//! certificate's subjectPublicKey bits against the public key ring derives, which for each
//! supported type is the same encoding (RSAPublicKey DER, an uncompressed EC point, the 32
//! Ed25519 bytes).
//!
//! Accepted forms are those OpenSSL and authentik produce: PKCS#8 (`PRIVATE KEY`), PKCS#1
//! (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`, optionally after an `EC PARAMETERS` block).
use ring::error::KeyRejected;
use ring::rand::SystemRandom;
use ring::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _, RsaKeyPair,
};

use crate::der::{self, oid};
use crate::pem::{self, Block};
use crate::{KeyType, PemField, PkiError, certificate};

const FIELD: PemField = PemField::KeyData;

/// The labels of the private key forms read here.
const PKCS8: &str = "PRIVATE KEY";
const PKCS1_RSA: &str = "RSA PRIVATE KEY";
const SEC1_EC: &str = "EC PRIVATE KEY";

/// Checks that `key_pem` holds one unencrypted private key (PKCS#8, or the PKCS#1 RSA or SEC1
/// EC forms) that ring can sign with, and that it is the key of the first certificate in
/// `certificate_pem`. Returns the key's type.
///
/// Supported: RSA of 2048 to 4096 bits, ECDSA on P-256 or P-384, Ed25519; other keys are
/// refused naming their kind, since Garrison could not sign with them.
///
/// `key_data` is optional in the API; an empty one means "no key" and is the caller's to skip
/// (here it is refused as empty).
pub fn check_key(certificate_pem: &str, key_pem: &str) -> Result<KeyType, PkiError> {
    let certificates = certificate::certificate_ders(certificate_pem)?;
    let Some(first) = certificates.first() else {
        return Err(certificate::no_certificate());
    };
    let parsed = certificate::parse(first, 1)?;
    let key = read_private_key(key_pem)?;

    let certified: &[u8] = &parsed.public_key().subject_public_key.data;
    if certificate::key_type(&parsed) != Some(key.key_type)
        || certified != key.public_key.as_slice()
    {
        return Err(PkiError::KeyMismatch);
    }
    Ok(key.key_type)
}

/// A private key ring accepted, reduced to what the certificate is compared against.
struct PrivateKey {
    key_type: KeyType,
    /// As a certificate's subjectPublicKey bits encode it.
    public_key: Vec<u8>,
}

fn read_private_key(text: &str) -> Result<PrivateKey, PkiError> {
    let block = single_key_block(pem::read_blocks(text, FIELD)?)?;
    match block.label.as_str() {
        PKCS1_RSA => rsa(RsaKeyPair::from_der(&block.der)),
        SEC1_EC => sec1(&block.der),
        _ => pkcs8(&block.der),
    }
}

/// The one private key block among `blocks`, refusing encrypted keys, other kinds of block
/// (a certificate pasted as the key) and several keys.
fn single_key_block(blocks: Vec<Block>) -> Result<Block, PkiError> {
    let mut found: Option<Block> = None;
    for block in blocks {
        match block.label.as_str() {
            // `openssl ecparam -genkey` writes the curve in its own block before the key; the
            // key names its curve again, so this block adds nothing.
            "EC PARAMETERS" => continue,
            "ENCRYPTED PRIVATE KEY" => return Err(PkiError::EncryptedKey),
            PKCS8 | PKCS1_RSA | SEC1_EC => {}
            other => {
                return Err(PkiError::UnexpectedBlock {
                    field: FIELD,
                    expected: PKCS8,
                    found: pem::shorten(other),
                });
            }
        }
        // Legacy OpenSSL encryption: `Proc-Type: 4,ENCRYPTED` headers inside the block.
        if block.has_headers {
            return Err(PkiError::EncryptedKey);
        }
        if found.replace(block).is_some() {
            return Err(PkiError::MultipleKeys);
        }
    }
    found.ok_or(PkiError::NotPem {
        field: FIELD,
        expected: PKCS8,
    })
}

/// Routes a PKCS#8 key by its algorithm identifier, so that a refusal names the algorithm.
fn pkcs8(bytes: &[u8]) -> Result<PrivateKey, PkiError> {
    let Some(algorithm) = der::pkcs8_algorithm(bytes) else {
        return Err(invalid(
            "the PRIVATE KEY block does not hold a PKCS#8 private key",
        ));
    };
    match algorithm.oid {
        oid::RSA_ENCRYPTION => rsa(RsaKeyPair::from_pkcs8(bytes)),
        oid::EC_PUBLIC_KEY => ecdsa(algorithm.curve, bytes),
        oid::ED25519 => {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(bytes)
                .map_err(|e| rejected("Ed25519", e))?;
            Ok(PrivateKey {
                key_type: KeyType::Ed25519,
                public_key: pair.public_key().as_ref().to_vec(),
            })
        }
        oid::RSASSA_PSS => Err(PkiError::UnsupportedKey { kind: "RSA-PSS" }),
        oid::DSA => Err(PkiError::UnsupportedKey { kind: "DSA" }),
        oid::ED448 => Err(PkiError::UnsupportedKey { kind: "Ed448" }),
        oid::X25519 | oid::X448 => Err(PkiError::UnsupportedKey {
            kind: "key-agreement (X25519/X448)",
        }),
        _ => Err(PkiError::UnsupportedKey {
            kind: "this algorithm's",
        }),
    }
}

fn rsa(parsed: Result<RsaKeyPair, KeyRejected>) -> Result<PrivateKey, PkiError> {
    let pair = parsed.map_err(|e| {
        invalid(format!(
            "the RSA key was rejected ({e}); keys of two primes and 2048 to 4096 bits are supported"
        ))
    })?;
    Ok(PrivateKey {
        key_type: KeyType::Rsa,
        public_key: pair.public_key().as_ref().to_vec(),
    })
}

/// A PKCS#8 EC key on `curve` (the algorithm identifier's parameter).
fn ecdsa(curve: Option<&[u8]>, pkcs8: &[u8]) -> Result<PrivateKey, PkiError> {
    let algorithm: &'static EcdsaSigningAlgorithm = match curve {
        Some(oid::P256) => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        Some(oid::P384) => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        Some(oid::P521) => {
            return Err(PkiError::UnsupportedKey {
                kind: "ECDSA P-521",
            });
        }
        _ => {
            return Err(PkiError::UnsupportedKey {
                kind: "EC (on a curve other than P-256 or P-384)",
            });
        }
    };
    let pair = EcdsaKeyPair::from_pkcs8(algorithm, pkcs8, &SystemRandom::new())
        .map_err(|e| rejected("EC", e))?;
    Ok(PrivateKey {
        key_type: KeyType::Ec,
        public_key: pair.public_key().as_ref().to_vec(),
    })
}

/// A SEC1 key ("EC PRIVATE KEY"), read by wrapping it in the PKCS#8 envelope ring reads.
fn sec1(bytes: &[u8]) -> Result<PrivateKey, PkiError> {
    let Some(curve) = der::sec1_curve(bytes) else {
        return Err(invalid(
            "the EC PRIVATE KEY block does not hold an EC private key on P-256 or P-384",
        ));
    };
    ecdsa(Some(curve), &der::sec1_to_pkcs8(curve, bytes))
}

fn rejected(kind: &str, error: KeyRejected) -> PkiError {
    invalid(format!("the {kind} key was rejected ({error})"))
}

fn invalid(reason: impl Into<String>) -> PkiError {
    PkiError::InvalidKey {
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;
    use crate::{GenerateRequest, GeneratedPair, KeyAlgorithm, generate};

    fn pair(algorithm: KeyAlgorithm, common_name: &str) -> GeneratedPair {
        generate(&GenerateRequest {
            common_name: common_name.into(),
            subject_alt_names: vec![common_name.into()],
            validity_days: 30,
            algorithm,
        })
        .unwrap()
    }

    /// RSA generation takes a while; the tests share one pair.
    fn rsa_pair() -> &'static GeneratedPair {
        static PAIR: OnceLock<GeneratedPair> = OnceLock::new();
        PAIR.get_or_init(|| pair(KeyAlgorithm::Rsa, "rsa.example"))
    }

    fn to_pem(label: &str, der: &[u8]) -> String {
        let body = STANDARD.encode(der);
        let mut pem = format!("-----BEGIN {label}-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap());
            pem.push('\n');
        }
        pem.push_str(&format!("-----END {label}-----\n"));
        pem
    }

    /// The DER of the only block in `pem`.
    fn der_of(pem: &str) -> Vec<u8> {
        pem::read_blocks(pem, FIELD).unwrap().remove(0).der
    }

    /// The `privateKey` OCTET STRING of a PKCS#8 key: PKCS#1 for RSA, SEC1 for EC.
    fn unwrap_pkcs8(pkcs8: &[u8]) -> Vec<u8> {
        let (_, info, _) = der::tlv(pkcs8).unwrap();
        let (_, _, rest) = der::tlv(info).unwrap(); // version
        let (_, _, rest) = der::tlv(rest).unwrap(); // algorithm
        let (tag, key, _) = der::tlv(rest).unwrap();
        assert_eq!(tag, 0x04);
        key.to_vec()
    }

    #[test]
    fn accepts_the_key_of_each_generated_pair() {
        let ec = pair(KeyAlgorithm::Ecdsa, "ec.example");
        assert_eq!(
            check_key(&ec.certificate_pem, &ec.private_key_pem),
            Ok(KeyType::Ec)
        );
        let rsa = rsa_pair();
        assert_eq!(
            check_key(&rsa.certificate_pem, &rsa.private_key_pem),
            Ok(KeyType::Rsa)
        );
    }

    #[test]
    fn refuses_the_key_of_another_pair() {
        let one = pair(KeyAlgorithm::Ecdsa, "one.example");
        let other = pair(KeyAlgorithm::Ecdsa, "other.example");
        let error = check_key(&one.certificate_pem, &other.private_key_pem).unwrap_err();
        assert_eq!(error, PkiError::KeyMismatch);
        assert_eq!(error.field(), "key_data");
        assert!(error.to_string().contains("does not match"), "{error}");
        // Of another type altogether.
        assert_eq!(
            check_key(&one.certificate_pem, &rsa_pair().private_key_pem),
            Err(PkiError::KeyMismatch)
        );
        assert_eq!(
            check_key(&rsa_pair().certificate_pem, &one.private_key_pem),
            Err(PkiError::KeyMismatch)
        );
    }

    #[test]
    fn reads_pkcs1_rsa_and_sec1_ec_keys() {
        let rsa = rsa_pair();
        let pkcs1 = to_pem(PKCS1_RSA, &unwrap_pkcs8(&der_of(&rsa.private_key_pem)));
        assert_eq!(check_key(&rsa.certificate_pem, &pkcs1), Ok(KeyType::Rsa));

        let ec = pair(KeyAlgorithm::Ecdsa, "sec1.example");
        // ring writes its SEC1 key without the curve parameter; the length says P-256.
        let sec1 = to_pem(SEC1_EC, &unwrap_pkcs8(&der_of(&ec.private_key_pem)));
        assert_eq!(check_key(&ec.certificate_pem, &sec1), Ok(KeyType::Ec));
        // As `openssl ecparam -genkey` writes it: the curve's block first.
        let with_parameters = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{sec1}"
        );
        assert_eq!(
            check_key(&ec.certificate_pem, &with_parameters),
            Ok(KeyType::Ec)
        );
    }

    #[test]
    fn refuses_what_is_not_one_usable_key() {
        let ec = pair(KeyAlgorithm::Ecdsa, "refusals.example");
        let cert = &ec.certificate_pem;
        let key = &ec.private_key_pem;
        let cases: Vec<(String, PkiError)> = vec![
            (String::new(), PkiError::Empty { field: FIELD }),
            (
                "hello".into(),
                PkiError::NotPem {
                    field: FIELD,
                    expected: PKCS8,
                },
            ),
            (
                "A".repeat(crate::MAX_PEM_BYTES + 1),
                PkiError::TooLarge {
                    field: FIELD,
                    size: crate::MAX_PEM_BYTES + 1,
                },
            ),
            (
                cert.clone(),
                PkiError::UnexpectedBlock {
                    field: FIELD,
                    expected: PKCS8,
                    found: "CERTIFICATE".into(),
                },
            ),
            (
                format!("{key}\n{key}"),
                PkiError::MultipleKeys,
            ),
            (
                to_pem("ENCRYPTED PRIVATE KEY", &[0x30, 0x00]),
                PkiError::EncryptedKey,
            ),
            (
                "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nMAA=\n-----END EC PRIVATE KEY-----\n".into(),
                PkiError::EncryptedKey,
            ),
            (
                "-----BEGIN PRIVATE KEY-----\n%%%%\n-----END PRIVATE KEY-----\n".into(),
                PkiError::BadBase64 {
                    field: FIELD,
                    label: PKCS8.into(),
                },
            ),
        ];
        for (input, expected) in cases {
            let error = check_key(cert, &input).unwrap_err();
            assert_eq!(error, expected, "{input:.80}");
            assert_eq!(error.field(), "key_data");
        }

        // Well-framed bodies that are not keys ring can use.
        for (label, der) in [
            (PKCS8, vec![0x30, 0x00]),
            (PKCS8, b"\x30\x03\x02\x01\x00".to_vec()),
            (PKCS1_RSA, vec![0x30, 0x03, 0x02, 0x01, 0x00]),
            (SEC1_EC, vec![0x30, 0x03, 0x02, 0x01, 0x01]),
            (PKCS8, vec![0xFF; 100]),
        ] {
            let error = check_key(cert, &to_pem(label, &der)).unwrap_err();
            assert!(
                matches!(error, PkiError::InvalidKey { .. }),
                "{label}: {error:?}"
            );
        }
    }

    #[test]
    fn names_unsupported_algorithms() {
        let ec = pair(KeyAlgorithm::Ecdsa, "dsa.example");
        // A PKCS#8 header for DSA; the key itself is never reached.
        let mut algorithm = Vec::new();
        der::write_tlv(&mut algorithm, 0x06, oid::DSA);
        let mut info = Vec::new();
        der::write_tlv(&mut info, 0x02, &[0]);
        der::write_tlv(&mut info, 0x30, &algorithm);
        der::write_tlv(&mut info, 0x04, &[0x02, 0x01, 0x01]);
        let mut pkcs8 = Vec::new();
        der::write_tlv(&mut pkcs8, 0x30, &info);
        assert_eq!(
            check_key(&ec.certificate_pem, &to_pem(PKCS8, &pkcs8)),
            Err(PkiError::UnsupportedKey { kind: "DSA" })
        );
    }

    #[test]
    fn the_certificate_is_checked_first() {
        let ec = pair(KeyAlgorithm::Ecdsa, "first.example");
        let error = check_key("garbage", &ec.private_key_pem).unwrap_err();
        assert_eq!(error.field(), "certificate_data");
    }
}
