//! YAML 1.1 resolution of plain scalars, as PyYAML's `SafeLoader` does it.
//!
//! authentik loads blueprints with PyYAML, whose resolver implements YAML 1.1: `yes`/`no`/`on`/
//! `off` are booleans, `0777` is octal, `1:20` is sexagesimal (80), `1_000` is 1000, a float
//! needs a dot (`1e3` and even `1.5e3` stay strings: the exponent needs a sign, `1.5e+3`).
//! Only *plain* (unquoted, untagged) scalars are resolved; quoted and block scalars are
//! strings. The patterns below are PyYAML's regular expressions written out by hand, and the
//! conversions follow its constructors (`construct_yaml_int`, `construct_yaml_float`), which
//! are also what the explicit tags `!!int` and `!!float` run.
//!
//! Timestamps (`2024-01-01`, `2001-12-14t21:59:43.10-05:00`) are left as strings: PyYAML
//! would make `date`/`datetime` objects of them, but no Garrison field takes a date, and the
//! text is what such a field would be given anyway. (An impossible date such as `2024-13-45`
//! therefore loads here, where PyYAML fails.)

/// What a plain scalar resolves to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plain {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Anything else, including timestamps.
    Str,
    /// `<<`: a merge key (only meaningful as a mapping key).
    Merge,
    /// `=`: YAML 1.1's "value" type, which PyYAML resolves but cannot construct.
    ValueType,
}

/// Why an integer could not be constructed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntError {
    Invalid,
    Overflow,
}

/// Resolves a plain scalar's text. Fails only where PyYAML's constructor would fail after its
/// resolver accepted the text (an integer too large for 64 bits, `0b_`).
pub(crate) fn resolve_plain(text: &str) -> Result<Plain, IntError> {
    if text.is_empty() || matches!(text, "~" | "null" | "Null" | "NULL") {
        return Ok(Plain::Null);
    }
    if let Some(value) = bool_value(text) {
        return Ok(Plain::Bool(value));
    }
    if is_float(text) {
        // The pattern guarantees the conversion succeeds.
        return Ok(Plain::Float(construct_float(text).unwrap_or(f64::NAN)));
    }
    if is_int(text) {
        return construct_int(text).map(Plain::Int);
    }
    match text {
        "<<" => Ok(Plain::Merge),
        "=" => Ok(Plain::ValueType),
        _ => Ok(Plain::Str),
    }
}

/// The YAML 1.1 booleans PyYAML recognises (note: not `y`/`n`, not mixed case like `tRue`).
pub(crate) fn bool_value(text: &str) -> Option<bool> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// `!!bool`: PyYAML looks the lower-cased text up in its table.
pub(crate) fn construct_bool(text: &str) -> Option<bool> {
    match text.to_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

fn strip_sign(text: &str) -> &str {
    text.strip_prefix(['-', '+']).unwrap_or(text)
}

fn all_of(text: &str, allowed: impl Fn(char) -> bool) -> bool {
    text.chars().all(allowed)
}

fn is_digit_or_underscore(c: char) -> bool {
    c.is_ascii_digit() || c == '_'
}

/// One `:[0-5]?[0-9]` group of a sexagesimal number, without its colon.
fn is_sexagesimal_group(group: &str) -> bool {
    let bytes = group.as_bytes();
    match bytes {
        [d] => d.is_ascii_digit(),
        [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
        _ => false,
    }
}

/// `first(:group)+` where `first` is checked by `first_ok`.
fn is_sexagesimal(text: &str, first_ok: impl Fn(&str) -> bool) -> bool {
    let mut parts = text.split(':');
    let Some(first) = parts.next() else {
        return false;
    };
    let mut groups = 0;
    for group in parts {
        if !is_sexagesimal_group(group) {
            return false;
        }
        groups += 1;
    }
    groups > 0 && first_ok(first)
}

/// `[0-9][0-9_]*`
fn is_digits_start(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit()) && all_of(text, is_digit_or_underscore)
}

/// `[1-9][0-9_]*`
fn is_digits_nonzero_start(text: &str) -> bool {
    text.starts_with(|c: char| ('1'..='9').contains(&c)) && all_of(text, is_digit_or_underscore)
}

/// `([eE][-+][0-9]+)?` — PyYAML's exponent needs its sign.
fn is_optional_exponent(text: &str) -> bool {
    if text.is_empty() {
        return true;
    }
    let Some(rest) = text.strip_prefix(['e', 'E']) else {
        return false;
    };
    let Some(digits) = rest.strip_prefix(['-', '+']) else {
        return false;
    };
    !digits.is_empty() && all_of(digits, |c| c.is_ascii_digit())
}

/// Splits `[0-9_]*` off the front.
fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !is_digit_or_underscore(c))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// PyYAML's float pattern.
pub(crate) fn is_float(text: &str) -> bool {
    // [-+]?\.(inf|Inf|INF) and \.(nan|NaN|NAN)
    if matches!(strip_sign(text), ".inf" | ".Inf" | ".INF")
        || matches!(text, ".nan" | ".NaN" | ".NAN")
    {
        return true;
    }
    // \.[0-9][0-9_]*([eE][-+][0-9]+)?   (no sign allowed)
    if let Some(rest) = text.strip_prefix('.') {
        let (digits, exponent) = split_digits(rest);
        return is_digits_start(digits) && is_optional_exponent(exponent);
    }
    let unsigned = strip_sign(text);
    let Some((whole, fraction)) = unsigned.split_once('.') else {
        return false;
    };
    // What follows the fraction's `[0-9_]*`.
    let (_, exponent) = split_digits(fraction);
    // [-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?
    if is_digits_start(whole) && is_optional_exponent(exponent) {
        return true;
    }
    // [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*
    exponent.is_empty() && is_sexagesimal(whole, is_digits_start)
}

/// PyYAML's int pattern.
pub(crate) fn is_int(text: &str) -> bool {
    let unsigned = strip_sign(text);
    if let Some(bits) = unsigned.strip_prefix("0b") {
        return !bits.is_empty() && all_of(bits, |c| matches!(c, '0' | '1' | '_'));
    }
    if let Some(hex) = unsigned.strip_prefix("0x") {
        return !hex.is_empty() && all_of(hex, |c| c.is_ascii_hexdigit() || c == '_');
    }
    if let Some(octal) = unsigned.strip_prefix('0') {
        // `0` alone, or `0[0-7_]+`.
        return all_of(octal, |c| matches!(c, '0'..='7' | '_'));
    }
    is_digits_nonzero_start(unsigned) || is_sexagesimal(unsigned, is_digits_nonzero_start)
}

/// Accumulates digits in `radix` into a magnitude; `Invalid` for an empty or bad digit string.
fn magnitude(digits: &str, radix: u32) -> Result<u128, IntError> {
    if digits.is_empty() {
        return Err(IntError::Invalid);
    }
    let mut value: u128 = 0;
    for c in digits.chars() {
        let digit = c.to_digit(radix).ok_or(IntError::Invalid)?;
        value = value
            .checked_mul(u128::from(radix))
            .and_then(|v| v.checked_add(u128::from(digit)))
            .ok_or(IntError::Overflow)?;
    }
    Ok(value)
}

fn signed(negative: bool, magnitude: u128) -> Result<i64, IntError> {
    if negative {
        if magnitude == 1u128 << 63 {
            return Ok(i64::MIN);
        }
        i64::try_from(magnitude)
            .map(|v| -v)
            .map_err(|_| IntError::Overflow)
    } else {
        i64::try_from(magnitude).map_err(|_| IntError::Overflow)
    }
}

/// PyYAML's `construct_yaml_int` (also what `!!int` runs, on any text).
pub(crate) fn construct_int(text: &str) -> Result<i64, IntError> {
    let cleaned: String = text.trim().chars().filter(|c| *c != '_').collect();
    let negative = cleaned.starts_with('-');
    let unsigned = strip_sign(&cleaned);
    let value = if unsigned == "0" {
        0
    } else if let Some(bits) = unsigned.strip_prefix("0b") {
        magnitude(bits, 2)?
    } else if let Some(hex) = unsigned.strip_prefix("0x") {
        magnitude(hex, 16)?
    } else if unsigned.starts_with('0') {
        magnitude(unsigned, 8)?
    } else if unsigned.contains(':') {
        let mut total: u128 = 0;
        let mut base: u128 = 1;
        for part in unsigned.split(':').rev() {
            let digit = magnitude(part, 10)?;
            total = digit
                .checked_mul(base)
                .and_then(|v| v.checked_add(total))
                .ok_or(IntError::Overflow)?;
            base = base.checked_mul(60).ok_or(IntError::Overflow)?;
        }
        total
    } else {
        magnitude(unsigned, 10)?
    };
    signed(negative, value)
}

/// PyYAML's `construct_yaml_float` (also what `!!float` runs, on any text).
pub(crate) fn construct_float(text: &str) -> Option<f64> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_lowercase();
    let sign = if cleaned.starts_with('-') { -1.0 } else { 1.0 };
    let unsigned = strip_sign(&cleaned);
    if unsigned == ".inf" {
        return Some(sign * f64::INFINITY);
    }
    if unsigned == ".nan" {
        return Some(f64::NAN);
    }
    if unsigned.contains(':') {
        let mut total = 0.0;
        let mut base = 1.0;
        for part in unsigned.split(':').rev() {
            let digit: f64 = part.parse().ok()?;
            total += digit * base;
            base *= 60.0;
        }
        return Some(sign * total);
    }
    // Python's float() takes what Rust's parser takes for these texts: digits with an
    // optional dot and exponent, "inf", "infinity", "nan".
    unsigned.parse::<f64>().ok().map(|v| sign * v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> Plain {
        resolve_plain(text).unwrap()
    }

    #[test]
    fn nulls() {
        for text in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(r(text), Plain::Null, "{text:?}");
        }
        assert_eq!(r("nUll"), Plain::Str);
    }

    #[test]
    fn booleans() {
        for text in [
            "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
        ] {
            assert_eq!(r(text), Plain::Bool(true), "{text}");
        }
        for text in [
            "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
        ] {
            assert_eq!(r(text), Plain::Bool(false), "{text}");
        }
        for text in ["y", "n", "Y", "N", "tRue", "oN", "yES"] {
            assert_eq!(r(text), Plain::Str, "{text}");
        }
    }

    #[test]
    fn integers() {
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("-0", 0),
            ("+12", 12),
            ("1_000", 1000),
            ("1__2", 12),
            ("1_", 1),
            ("0777", 511),
            ("00", 0),
            ("0_", 0),
            ("0b101", 5),
            ("+0b1", 1),
            ("0x1F", 31),
            ("-0x_1", -1),
            ("1:20", 80),
            ("-1:20", -80),
            ("1:5", 65),
            ("190:20:30", 685_230),
            ("12:30:00", 45_000),
            ("1_:20", 80),
            ("20240101", 20_240_101),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
        ];
        for (text, value) in cases {
            assert_eq!(r(text), Plain::Int(*value), "{text}");
        }
        for text in [
            "08", "0_8", "0o17", "1:60", "0:20", "_1", "-_1", "0x", "0b", "1e3",
        ] {
            assert_eq!(r(text), Plain::Str, "{text}");
        }
        assert_eq!(
            resolve_plain("9223372036854775808"),
            Err(IntError::Overflow)
        );
        assert_eq!(resolve_plain("0b_"), Err(IntError::Invalid));
        assert_eq!(resolve_plain("0x_"), Err(IntError::Invalid));
    }

    #[test]
    fn floats() {
        let cases: &[(&str, f64)] = &[
            ("1.5", 1.5),
            ("1.", 1.0),
            ("0.", 0.0),
            (".5", 0.5),
            ("+1.5", 1.5),
            ("01.5", 1.5),
            ("1.5e+3", 1500.0),
            ("1.5E+3", 1500.0),
            ("1.5e-3", 0.0015),
            ("1.e+3", 1000.0),
            (".1e+3", 100.0),
            ("1_0.5_0", 10.5),
            ("1:20.5", 80.5),
            ("-1:20.5", -80.5),
            ("1:2:3.5", 3723.5),
            (".inf", f64::INFINITY),
            (".Inf", f64::INFINITY),
            ("+.inf", f64::INFINITY),
            ("-.inf", f64::NEG_INFINITY),
            ("-.INF", f64::NEG_INFINITY),
        ];
        for (text, value) in cases {
            assert_eq!(r(text), Plain::Float(*value), "{text}");
        }
        assert!(matches!(r("-0.0"), Plain::Float(v) if v == 0.0 && v.is_sign_negative()));
        for text in [".nan", ".NaN", ".NAN"] {
            assert!(matches!(r(text), Plain::Float(v) if v.is_nan()), "{text}");
        }
        // PyYAML needs a dot, and a sign on the exponent.
        for text in [
            "1e3", "1.5e3", "1E5", "+.5", "-.5", "._5", "+.nan", ".", "1.5.2",
        ] {
            assert_eq!(r(text), Plain::Str, "{text}");
        }
    }

    #[test]
    fn timestamps_and_the_rest_stay_strings() {
        for text in [
            "2024-01-01",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10",
            "2024-01-01T01:02:03Z",
            "hello",
            "a: b",
        ] {
            assert_eq!(r(text), Plain::Str, "{text}");
        }
        assert_eq!(r("<<"), Plain::Merge);
        assert_eq!(r("="), Plain::ValueType);
    }

    #[test]
    fn explicit_constructors() {
        assert_eq!(construct_int("0x1f"), Ok(31));
        assert_eq!(construct_int("1:20"), Ok(80));
        assert_eq!(construct_int("-0b1"), Ok(-1));
        assert_eq!(construct_int(" 12"), Ok(12));
        assert_eq!(construct_int("1.5"), Err(IntError::Invalid));
        assert_eq!(construct_int(""), Err(IntError::Invalid));
        assert_eq!(construct_float("1e3"), Some(1000.0));
        assert_eq!(construct_float("1"), Some(1.0));
        assert_eq!(construct_float("1_0"), Some(10.0));
        assert_eq!(construct_float("-.INF"), Some(f64::NEG_INFINITY));
        assert_eq!(construct_float("infinity"), Some(f64::INFINITY));
        assert_eq!(construct_float("abc"), None);
        assert_eq!(construct_bool("Yes"), Some(true));
        assert_eq!(construct_bool("OFF"), Some(false));
        assert_eq!(construct_bool("y"), None);
    }
}
