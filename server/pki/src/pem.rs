//! A small, strict PEM reader (RFC 7468 framing, RFC 1421 headers recognised).
//!
//! Written here rather than borrowed because the API must say exactly what is wrong with an
//! upload (nothing that looks like PEM, a key pasted where the certificate goes, a damaged
//! body) and must recognise a passphrase-protected key as such rather than as garbage. It only
//! frames and decodes; what the bytes mean is for the certificate and key readers.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::{MAX_PEM_BYTES, PemField, PkiError};

/// One `-----BEGIN label-----` … `-----END label-----` block, decoded.
pub(crate) struct Block {
    pub label: String,
    pub der: Vec<u8>,
    /// The block had RFC 1421 header lines (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: …`), which
    /// only OpenSSL's legacy encrypted keys carry.
    pub has_headers: bool,
}

/// A block whose END line has not been reached yet.
struct Open {
    label: String,
    body: String,
    has_headers: bool,
}

impl Open {
    fn finish(self, field: PemField) -> Result<Block, PkiError> {
        let der = STANDARD
            .decode(self.body.as_bytes())
            .map_err(|_| PkiError::BadBase64 {
                field,
                label: shorten(&self.label),
            })?;
        Ok(Block {
            label: self.label,
            der,
            has_headers: self.has_headers,
        })
    }
}

/// Every block of `text`, in order, after the size and emptiness checks. Text outside blocks
/// is ignored, as RFC 7468 allows explanatory text around them; an empty list means there was
/// no block at all, which the caller reports as it sees fit.
pub(crate) fn read_blocks(text: &str, field: PemField) -> Result<Vec<Block>, PkiError> {
    if text.len() > MAX_PEM_BYTES {
        return Err(PkiError::TooLarge {
            field,
            size: text.len(),
        });
    }
    if text.trim().is_empty() {
        return Err(PkiError::Empty { field });
    }
    let mut blocks = Vec::new();
    let mut open: Option<Open> = None;
    for line in text.lines() {
        let line = line.trim();
        let Some(current) = open.as_mut() else {
            if let Some(label) = armour_label(line, "-----BEGIN ") {
                open = Some(Open {
                    label: label.to_owned(),
                    body: String::new(),
                    has_headers: false,
                });
            }
            continue;
        };
        if let Some(label) = armour_label(line, "-----END ") {
            if label != current.label {
                return Err(PkiError::MalformedPem {
                    field,
                    detail: format!(
                        "-----BEGIN {}----- ends with -----END {}-----",
                        shorten(&current.label),
                        shorten(label)
                    ),
                });
            }
            if let Some(done) = open.take() {
                blocks.push(done.finish(field)?);
            }
            continue;
        }
        if armour_label(line, "-----BEGIN ").is_some() {
            return Err(unterminated(field, &current.label));
        }
        // Base64 has no ':'; a line with one is an RFC 1421 header ("Proc-Type: …").
        if line.contains(':') {
            current.has_headers = true;
            continue;
        }
        current.body.push_str(line);
    }
    if let Some(current) = open {
        return Err(unterminated(field, &current.label));
    }
    Ok(blocks)
}

/// The label of an armour line such as `-----BEGIN CERTIFICATE-----` (for `prefix`
/// `"-----BEGIN "`), or `None` if the line is not one.
fn armour_label<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix)?.strip_suffix("-----")
}

fn unterminated(field: PemField, label: &str) -> PkiError {
    let label = shorten(label);
    PkiError::MalformedPem {
        field,
        detail: format!("the {label} block has no -----END {label}----- line"),
    }
}

/// Labels are echoed in messages; a pasted wall of text must not be.
pub(crate) fn shorten(label: &str) -> String {
    const MAX: usize = 40;
    if label.chars().count() <= MAX {
        label.to_owned()
    } else {
        let mut short: String = label.chars().take(MAX).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELD: PemField = PemField::CertificateData;

    #[test]
    fn reads_blocks_between_explanatory_text() {
        let text = "subject=CN=example\r\n-----BEGIN CERTIFICATE-----\r\nAAEC\r\nAw==\r\n-----END CERTIFICATE-----\r\ntrailer\n-----BEGIN X-----\nBA==\n-----END X-----\n";
        let blocks = read_blocks(text, FIELD).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "CERTIFICATE");
        assert_eq!(blocks[0].der, [0, 1, 2, 3]);
        assert!(!blocks[0].has_headers);
        assert_eq!(blocks[1].label, "X");
        assert_eq!(blocks[1].der, [4]);
    }

    #[test]
    fn no_block_is_an_empty_list() {
        assert!(read_blocks("just words", FIELD).unwrap().is_empty());
        // Armour-like lines that are not armour must not be mistaken for it (nor panic).
        assert!(
            read_blocks("-----BEGIN ----\n-----BEGIN\n-----", FIELD)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn refuses_empty_and_oversized_text() {
        assert_eq!(
            read_blocks(" \n\t", FIELD).err(),
            Some(PkiError::Empty { field: FIELD })
        );
        let big = "A".repeat(MAX_PEM_BYTES + 1);
        assert_eq!(
            read_blocks(&big, FIELD).err(),
            Some(PkiError::TooLarge {
                field: FIELD,
                size: MAX_PEM_BYTES + 1
            })
        );
    }

    #[test]
    fn refuses_broken_framing() {
        for text in [
            "-----BEGIN CERTIFICATE-----\nAAAA\n",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            assert!(
                matches!(
                    read_blocks(text, FIELD),
                    Err(PkiError::MalformedPem { field: FIELD, .. })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn refuses_bad_base64() {
        let text = "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n";
        assert_eq!(
            read_blocks(text, FIELD).err(),
            Some(PkiError::BadBase64 {
                field: FIELD,
                label: "CERTIFICATE".into()
            })
        );
    }

    #[test]
    fn notices_rfc1421_headers() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let blocks = read_blocks(text, PemField::KeyData).unwrap();
        assert!(blocks[0].has_headers);
    }
}
