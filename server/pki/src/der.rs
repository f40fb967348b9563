//! Just enough DER to route a private key to the right parser and to put an OpenSSL "EC
//! PRIVATE KEY" (SEC1) into the PKCS#8 envelope ring reads.
//!
//! ring validates keys thoroughly but only says *that* it rejected one. Reading the PKCS#8
//! algorithm identifier first lets the API say "DSA keys are not supported" or "the RSA key
//! was rejected" instead of "not a key". Every read here is bounds-checked and returns `None`
//! on anything unexpected; nothing indexes or panics.

/// Universal tags used below.
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OBJECT_IDENTIFIER: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
/// `[0]` constructed: the curve parameters of an `ECPrivateKey`.
const CONTEXT_0: u8 = 0xA0;

/// Object identifiers, as the contents octets of their DER encoding.
pub(crate) mod oid {
    /// 1.2.840.113549.1.1.1
    pub const RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
    /// 1.2.840.113549.1.1.10
    pub const RSASSA_PSS: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A];
    /// 1.2.840.10045.2.1
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
    /// 1.2.840.10040.4.1
    pub const DSA: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x01];
    /// 1.3.101.112
    pub const ED25519: &[u8] = &[0x2B, 0x65, 0x70];
    /// 1.3.101.113
    pub const ED448: &[u8] = &[0x2B, 0x65, 0x71];
    /// 1.3.101.110 and 1.3.101.111: key-agreement keys, never signing keys.
    pub const X25519: &[u8] = &[0x2B, 0x65, 0x6E];
    pub const X448: &[u8] = &[0x2B, 0x65, 0x6F];
    /// 1.2.840.10045.3.1.7 (prime256v1)
    pub const P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    /// 1.3.132.0.34 (secp384r1)
    pub const P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
    /// 1.3.132.0.35 (secp521r1)
    pub const P521: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x23];
}

/// Splits the first TLV off `input`: `(tag, contents, rest)`. Only single-byte tags and
/// definite lengths of up to four length octets, which is all a key can need.
pub(crate) fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (octets, after) = rest.split_at(count);
        rest = after;
        octets
            .iter()
            .fold(0usize, |len, &octet| (len << 8) | usize::from(octet))
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// The contents of the TLV at the front of `input` if its tag is `tag`, with what follows.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = tlv(input)?;
    (found == tag).then_some((contents, rest))
}

/// The algorithm of a PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey`.
pub(crate) struct Pkcs8Algorithm<'a> {
    pub oid: &'a [u8],
    /// The parameters when they are an OID: the named curve of an EC key.
    pub curve: Option<&'a [u8]>,
}

/// Reads `SEQUENCE { version INTEGER, algorithm AlgorithmIdentifier, … }`.
pub(crate) fn pkcs8_algorithm(der: &[u8]) -> Option<Pkcs8Algorithm<'_>> {
    let (info, _) = expect(der, SEQUENCE)?;
    let (_version, rest) = expect(info, INTEGER)?;
    let (algorithm, _) = expect(rest, SEQUENCE)?;
    let (oid, parameters) = expect(algorithm, OBJECT_IDENTIFIER)?;
    let curve = expect(parameters, OBJECT_IDENTIFIER).map(|(curve, _)| curve);
    Some(Pkcs8Algorithm { oid, curve })
}

/// The curve of a SEC1 `ECPrivateKey`: its `[0]` parameters when present, else inferred from
/// the length of the private scalar (32 bytes for P-256, 48 for P-384), which is how OpenSSL
/// itself reads keys written without parameters.
pub(crate) fn sec1_curve(der: &[u8]) -> Option<&'static [u8]> {
    let (key, _) = expect(der, SEQUENCE)?;
    let (_version, rest) = expect(key, INTEGER)?;
    let (scalar, mut rest) = expect(rest, OCTET_STRING)?;
    while let Some((tag, contents, next)) = tlv(rest) {
        if tag == CONTEXT_0 {
            let (named, _) = expect(contents, OBJECT_IDENTIFIER)?;
            return [oid::P256, oid::P384, oid::P521]
                .into_iter()
                .find(|known| *known == named);
        }
        rest = next;
    }
    match scalar.len() {
        32 => Some(oid::P256),
        48 => Some(oid::P384),
        _ => None,
    }
}

/// Wraps a SEC1 `ECPrivateKey` into the PKCS#8 v1 envelope for `curve`, which is the only
/// form ring parses: `SEQUENCE { 0, { id-ecPublicKey, curve }, OCTET STRING { sec1 } }`.
pub(crate) fn sec1_to_pkcs8(curve: &[u8], sec1: &[u8]) -> Vec<u8> {
    let mut algorithm = Vec::new();
    write_tlv(&mut algorithm, OBJECT_IDENTIFIER, oid::EC_PUBLIC_KEY);
    write_tlv(&mut algorithm, OBJECT_IDENTIFIER, curve);
    let mut info = Vec::new();
    write_tlv(&mut info, INTEGER, &[0]);
    write_tlv(&mut info, SEQUENCE, &algorithm);
    write_tlv(&mut info, OCTET_STRING, sec1);
    let mut out = Vec::new();
    write_tlv(&mut out, SEQUENCE, &info);
    out
}

/// Appends one DER TLV with a definite, minimal length.
pub(crate) fn write_tlv(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    let len = contents.len();
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            let octets = len.to_be_bytes();
            let significant: Vec<u8> = octets.iter().copied().skip_while(|&b| b == 0).collect();
            // At most size_of::<usize>() octets, so the count fits the low seven bits.
            out.push(0x80 | significant.len() as u8);
            out.extend_from_slice(&significant);
        }
    }
    out.extend_from_slice(contents);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_reads_short_and_long_lengths() {
        let input = [0x04, 0x02, 0xAA, 0xBB, 0xCC];
        assert_eq!(tlv(&input), Some((0x04, &[0xAA, 0xBB][..], &[0xCC][..])));
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(std::iter::repeat_n(7u8, 0x80));
        let (tag, contents, rest) = tlv(&long).unwrap();
        assert_eq!((tag, contents.len(), rest.len()), (0x04, 0x80, 0));
    }

    #[test]
    fn tlv_refuses_what_it_cannot_read() {
        let inputs: [&[u8]; 7] = [
            &[],
            &[0x30],
            &[0x30, 0x05, 0x00],                   // shorter than its length
            &[0x30, 0x80, 0x00, 0x00],             // indefinite length
            &[0x30, 0x85, 1, 2, 3, 4, 5],          // five length octets
            &[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], // a length far past the input
            &[0x30, 0x82, 0x01],                   // length octets cut short
        ];
        for input in inputs {
            assert_eq!(tlv(input), None, "{input:02x?}");
        }
    }

    #[test]
    fn write_tlv_round_trips() {
        for len in [0usize, 1, 0x7F, 0x80, 0xFF, 0x100, 70_000] {
            let contents = vec![0x5A; len];
            let mut out = Vec::new();
            write_tlv(&mut out, OCTET_STRING, &contents);
            let (tag, read, rest) = tlv(&out).unwrap();
            assert_eq!((tag, read.len(), rest.len()), (OCTET_STRING, len, 0));
        }
    }

    #[test]
    fn reads_the_pkcs8_algorithm_and_curve() {
        let sec1 = [0x30, 0x03, 0x02, 0x01, 0x01];
        let pkcs8 = sec1_to_pkcs8(oid::P384, &sec1);
        let algorithm = pkcs8_algorithm(&pkcs8).unwrap();
        assert_eq!(algorithm.oid, oid::EC_PUBLIC_KEY);
        assert_eq!(algorithm.curve, Some(oid::P384));
        assert!(pkcs8_algorithm(&[0x30, 0x00]).is_none());
        assert!(pkcs8_algorithm(b"not der at all").is_none());
    }

    #[test]
    fn finds_the_sec1_curve_by_parameter_or_length() {
        // SEQUENCE { 1, OCTET STRING (48 bytes), [0] { prime256v1 } }
        let mut key = Vec::new();
        write_tlv(&mut key, INTEGER, &[1]);
        write_tlv(&mut key, OCTET_STRING, &[1; 48]);
        let mut named = Vec::new();
        write_tlv(&mut named, OBJECT_IDENTIFIER, oid::P256);
        let mut with_parameter = key.clone();
        write_tlv(&mut with_parameter, CONTEXT_0, &named);
        let mut der = Vec::new();
        write_tlv(&mut der, SEQUENCE, &with_parameter);
        assert_eq!(
            sec1_curve(&der),
            Some(oid::P256),
            "the parameter wins over the length"
        );

        let mut der = Vec::new();
        write_tlv(&mut der, SEQUENCE, &key);
        assert_eq!(sec1_curve(&der), Some(oid::P384), "48-byte scalar");
        assert_eq!(sec1_curve(&[0x30, 0x00]), None);
    }
}
