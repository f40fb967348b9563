//! Python's `%` string formatting, as `!Format [fmt, a1, a2]` runs it (`fmt % (a1, a2)`).
//!
//! Supported: `%%`; conversions `s r a c d i u o x X e E f F g G`; flags `- + space # 0`;
//! a width and a `.precision` given as digits; the ignored length modifiers `h l L`. Not
//! supported: `*` widths and precisions, and `%(name)s` (authentik always passes a tuple, for
//! which Python says "format requires a mapping" too). Error messages are Python's.
//!
//! The arguments are always a tuple: a single list argument is one value, not spread.

use crate::value::Value;

/// A formatting failure, with Python's message where Python has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FormatError {
    pub message: String,
}

fn fail<T>(message: impl Into<String>) -> Result<T, FormatError> {
    Err(FormatError {
        message: message.into(),
    })
}

/// Widths and precisions above this are refused (Python would try to build the string).
const MAX_WIDTH: usize = 10_000;

#[derive(Debug, Default)]
struct Spec {
    left: bool,
    zero: bool,
    space: bool,
    plus: bool,
    alternate: bool,
    width: usize,
    precision: Option<usize>,
}

/// `fmt % tuple(args)`.
///
/// # Errors
/// Python's errors: "not enough arguments for format string", "not all arguments converted
/// during string formatting", "unsupported format character …", "incomplete format", and the
/// type errors of the conversions ("%d format: a real number is required, not str", …).
pub fn percent_format(fmt: &str, args: &[Value]) -> Result<String, FormatError> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::with_capacity(fmt.len());
    let mut next_arg = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        if i >= chars.len() {
            return fail("incomplete format");
        }
        if chars[i] == '%' {
            out.push('%');
            i += 1;
            continue;
        }
        if chars[i] == '(' {
            return fail("format requires a mapping");
        }
        let mut spec = Spec::default();
        while i < chars.len() {
            match chars[i] {
                '-' => spec.left = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alternate = true,
                '0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        if chars.get(i) == Some(&'*') {
            return fail("`*` widths are not supported in blueprint format strings");
        }
        let (width, after) = read_number(&chars, i);
        spec.width = width;
        i = after;
        if chars.get(i) == Some(&'.') {
            i += 1;
            if chars.get(i) == Some(&'*') {
                return fail("`*` precisions are not supported in blueprint format strings");
            }
            let (precision, after) = read_number(&chars, i);
            spec.precision = Some(precision);
            i = after;
        }
        if spec.width > MAX_WIDTH {
            return fail("width too big");
        }
        if spec.precision.is_some_and(|p| p > MAX_WIDTH) {
            return fail("precision too big");
        }
        while matches!(chars.get(i), Some('h' | 'l' | 'L')) {
            i += 1;
        }
        let Some(&conversion) = chars.get(i) else {
            return fail("incomplete format");
        };
        let index = i;
        i += 1;
        if !"sracdiuoxXeEfFgG".contains(conversion) {
            return fail(format!(
                "unsupported format character '{conversion}' ({:#x}) at index {index}",
                u32::from(conversion)
            ));
        }
        let Some(arg) = args.get(next_arg) else {
            return fail("not enough arguments for format string");
        };
        next_arg += 1;
        out.push_str(&convert(conversion, &spec, arg)?);
    }
    if next_arg < args.len() {
        return fail("not all arguments converted during string formatting");
    }
    Ok(out)
}

/// Reads decimal digits at `i`; returns the number (saturating) and the index after them.
fn read_number(chars: &[char], mut i: usize) -> (usize, usize) {
    let mut value: usize = 0;
    while let Some(digit) = chars.get(i).and_then(|c| c.to_digit(10)) {
        value = value.saturating_mul(10).saturating_add(digit as usize);
        i += 1;
    }
    (value, i)
}

fn convert(conversion: char, spec: &Spec, arg: &Value) -> Result<String, FormatError> {
    match conversion {
        's' => Ok(pad_text(&truncate(arg.python_str(), spec.precision), spec)),
        'r' => Ok(pad_text(&truncate(arg.python_repr(), spec.precision), spec)),
        'a' => Ok(pad_text(
            &truncate(ascii(&arg.python_repr()), spec.precision),
            spec,
        )),
        'c' => Ok(pad_text(&character(arg)?.to_string(), spec)),
        'd' | 'i' | 'u' => {
            let (negative, digits) = integer_digits(conversion, arg)?;
            let digits = min_digits(digits, spec.precision);
            Ok(pad_number(negative, "", &digits, spec))
        }
        'o' | 'x' | 'X' => {
            let value = match arg {
                Value::Int(i) => *i,
                Value::Bool(b) => i64::from(*b),
                other => {
                    return fail(format!(
                        "%{conversion} format: an integer is required, not {}",
                        other.python_type()
                    ));
                }
            };
            let magnitude = value.unsigned_abs();
            let (digits, prefix) = match conversion {
                'o' => (format!("{magnitude:o}"), "0o"),
                'x' => (format!("{magnitude:x}"), "0x"),
                _ => (format!("{magnitude:X}"), "0X"),
            };
            let prefix = if spec.alternate { prefix } else { "" };
            let digits = min_digits(digits, spec.precision);
            Ok(pad_number(value < 0, prefix, &digits, spec))
        }
        _ => {
            let value = match arg {
                Value::Float(f) => *f,
                Value::Int(i) => *i as f64,
                Value::Bool(b) => f64::from(u8::from(*b)),
                other => {
                    return fail(format!("must be real number, not {}", other.python_type()));
                }
            };
            let upper = conversion.is_ascii_uppercase();
            let negative = value.is_sign_negative() && !value.is_nan();
            let body = if value.is_finite() {
                let magnitude = value.abs();
                match conversion.to_ascii_lowercase() {
                    'f' => fixed(magnitude, spec.precision.unwrap_or(6), spec.alternate),
                    'e' => scientific(
                        magnitude,
                        spec.precision.unwrap_or(6),
                        upper,
                        spec.alternate,
                    ),
                    _ => general(
                        magnitude,
                        spec.precision.unwrap_or(6),
                        upper,
                        spec.alternate,
                    ),
                }
            } else {
                let text = if value.is_nan() { "nan" } else { "inf" };
                if upper {
                    text.to_uppercase()
                } else {
                    text.to_owned()
                }
            };
            Ok(pad_number(negative, "", &body, spec))
        }
    }
}

fn truncate(text: String, precision: Option<usize>) -> String {
    match precision {
        Some(limit) if text.chars().count() > limit => text.chars().take(limit).collect(),
        _ => text,
    }
}

/// Python's `ascii()` of a repr: non-ASCII characters escaped.
fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let code = u32::from(c);
        if code < 0x80 {
            out.push(c);
        } else if code < 0x100 {
            out.push_str(&format!("\\x{code:02x}"));
        } else if code < 0x10000 {
            out.push_str(&format!("\\u{code:04x}"));
        } else {
            out.push_str(&format!("\\U{code:08x}"));
        }
    }
    out
}

fn character(arg: &Value) -> Result<char, FormatError> {
    match arg {
        Value::Int(_) | Value::Bool(_) => {
            let code = match arg {
                Value::Int(i) => *i,
                Value::Bool(b) => i64::from(*b),
                _ => 0,
            };
            u32::try_from(code)
                .ok()
                .filter(|code| *code < 0x11_0000)
                .and_then(char::from_u32)
                .map_or_else(|| fail("%c arg not in range(0x110000)"), Ok)
        }
        Value::Str(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(c),
                _ => fail("%c requires int or char"),
            }
        }
        _ => fail("%c requires int or char"),
    }
}

/// The sign and decimal digits of `int(arg)` for `%d`.
fn integer_digits(conversion: char, arg: &Value) -> Result<(bool, String), FormatError> {
    match arg {
        Value::Int(i) => Ok((*i < 0, i.unsigned_abs().to_string())),
        Value::Bool(b) => Ok((false, u8::from(*b).to_string())),
        Value::Float(f) if f.is_nan() => fail("cannot convert float NaN to integer"),
        Value::Float(f) if f.is_infinite() => fail("cannot convert float infinity to integer"),
        Value::Float(f) => {
            let truncated = f.trunc();
            // `{:.0}` prints a float's exact integer value, however large.
            Ok((truncated < 0.0, format!("{:.0}", truncated.abs())))
        }
        other => fail(format!(
            "%{conversion} format: a real number is required, not {}",
            other.python_type()
        )),
    }
}

fn min_digits(digits: String, precision: Option<usize>) -> String {
    match precision {
        Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
        _ => digits,
    }
}

fn pad_text(text: &str, spec: &Spec) -> String {
    let len = text.chars().count();
    if len >= spec.width {
        return text.to_owned();
    }
    let fill = " ".repeat(spec.width - len);
    if spec.left {
        format!("{text}{fill}")
    } else {
        format!("{fill}{text}")
    }
}

fn pad_number(negative: bool, prefix: &str, body: &str, spec: &Spec) -> String {
    let sign = if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let len = sign.len() + prefix.len() + body.chars().count();
    if len >= spec.width {
        return format!("{sign}{prefix}{body}");
    }
    let fill = spec.width - len;
    if spec.left {
        format!("{sign}{prefix}{body}{}", " ".repeat(fill))
    } else if spec.zero {
        format!("{sign}{prefix}{}{body}", "0".repeat(fill))
    } else {
        format!("{}{sign}{prefix}{body}", " ".repeat(fill))
    }
}

/// `%f` of a non-negative finite value. Rust and Python both round the exact binary value
/// correctly (ties to even), so the digits agree.
fn fixed(value: f64, precision: usize, alternate: bool) -> String {
    let mut text = format!("{value:.precision$}");
    if alternate && precision == 0 {
        text.push('.');
    }
    text
}

/// Splits Rust's `{:e}` output ("1.5e-7") into mantissa and exponent.
fn split_exponent(text: &str) -> (String, i32) {
    match text.split_once('e') {
        Some((mantissa, exponent)) => (mantissa.to_owned(), exponent.parse().unwrap_or(0)),
        None => (text.to_owned(), 0),
    }
}

fn exponent_suffix(exponent: i32, upper: bool) -> String {
    let letter = if upper { 'E' } else { 'e' };
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{letter}{sign}{:02}", exponent.unsigned_abs())
}

/// `%e` of a non-negative finite value: `1.500000e+00`.
fn scientific(value: f64, precision: usize, upper: bool, alternate: bool) -> String {
    let (mut mantissa, exponent) = split_exponent(&format!("{value:.precision$e}"));
    if alternate && precision == 0 {
        mantissa.push('.');
    }
    format!("{mantissa}{}", exponent_suffix(exponent, upper))
}

/// `%g` of a non-negative finite value: `%e` or `%f` by the exponent, trailing zeros removed
/// unless `#`.
fn general(value: f64, precision: usize, upper: bool, alternate: bool) -> String {
    let precision = precision.max(1);
    let digits_after = precision - 1;
    let exponent = if value == 0.0 {
        0
    } else {
        split_exponent(&format!("{value:.digits_after$e}")).1
    };
    let limit = i32::try_from(precision).unwrap_or(i32::MAX);
    if (-4..limit).contains(&exponent) {
        let decimals = usize::try_from(limit - 1 - exponent).unwrap_or(0);
        let mut text = format!("{value:.decimals$}");
        if alternate {
            if !text.contains('.') {
                text.push('.');
            }
        } else {
            text = strip_zeros(&text);
        }
        text
    } else {
        let (mut mantissa, exponent) = split_exponent(&format!("{value:.digits_after$e}"));
        if alternate {
            if !mantissa.contains('.') {
                mantissa.push('.');
            }
        } else {
            mantissa = strip_zeros(&mantissa);
        }
        format!("{mantissa}{}", exponent_suffix(exponent, upper))
    }
}

fn strip_zeros(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::*;

    fn s(text: &str) -> Value {
        Value::Str(text.to_owned())
    }

    fn ok(fmt: &str, args: &[Value]) -> String {
        percent_format(fmt, args).unwrap_or_else(|e| panic!("{fmt}: {e}"))
    }

    fn err(fmt: &str, args: &[Value]) -> String {
        percent_format(fmt, args).unwrap_err().message
    }

    #[test]
    fn strings_and_reprs() {
        assert_eq!(
            ok("foo-%s-%s-%s", &[s("bar"), s("baz"), s("qux")]),
            "foo-bar-baz-qux"
        );
        assert_eq!(
            ok("%s.view_%s", &[s("authentik_core"), s("user")]),
            "authentik_core.view_user"
        );
        assert_eq!(ok("100%%", &[]), "100%");
        assert_eq!(ok("%s", &[Value::Null]), "None");
        assert_eq!(ok("%s", &[Value::Bool(true)]), "True");
        assert_eq!(ok("%s", &[Value::Float(1.0)]), "1.0");
        assert_eq!(ok("%s", &[Value::Float(1e16)]), "1e+16");
        assert_eq!(ok("%r", &[s("it's")]), "\"it's\"");
        assert_eq!(ok("%a", &[s("é")]), "'\\xe9'");
        assert_eq!(ok("%-6s|", &[s("ab")]), "ab    |");
        assert_eq!(ok("%05s", &[s("ab")]), "   ab");
        assert_eq!(ok("%.2s", &[s("abc")]), "ab");
        assert_eq!(ok("%.3s", &[Value::Null]), "Non");
        assert_eq!(ok("%5c", &[s("x")]), "    x");
        assert_eq!(ok("%c", &[Value::Int(65)]), "A");
        let mut map = IndexMap::new();
        map.insert("k".to_owned(), s("v"));
        assert_eq!(ok("%s", &[Value::Map(map)]), "{'k': 'v'}");
    }

    #[test]
    fn a_single_list_is_one_argument() {
        let list = Value::List(vec![s("a"), Value::Int(1)]);
        assert_eq!(ok("%s", std::slice::from_ref(&list)), "['a', 1]");
        assert_eq!(
            err("%s %s", &[list]),
            "not enough arguments for format string"
        );
    }

    #[test]
    fn integers() {
        assert_eq!(ok("index: %d", &[Value::Int(0)]), "index: 0");
        assert_eq!(ok("%d", &[Value::Bool(true)]), "1");
        assert_eq!(ok("%d", &[Value::Float(1.9)]), "1");
        assert_eq!(ok("%i", &[Value::Float(-7.9)]), "-7");
        assert_eq!(ok("%d", &[Value::Float(-0.5)]), "0");
        assert_eq!(ok("%d", &[Value::Float(1e20)]), "100000000000000000000");
        assert_eq!(ok("%+.3d", &[Value::Int(5)]), "+005");
        assert_eq!(ok("%05.3d", &[Value::Int(5)]), "00005");
        assert_eq!(ok("%-05d|", &[Value::Int(3)]), "3    |");
        assert_eq!(ok("%+05d", &[Value::Int(3)]), "+0003");
        assert_eq!(ok("% 05d", &[Value::Int(-3)]), "-0003");
        assert_eq!(ok("% d", &[Value::Int(5)]), " 5");
        assert_eq!(ok("%ld", &[Value::Int(5)]), "5");
        assert_eq!(ok("%x", &[Value::Int(-255)]), "-ff");
        assert_eq!(ok("%X", &[Value::Int(255)]), "FF");
        assert_eq!(ok("%#x", &[Value::Int(255)]), "0xff");
        assert_eq!(ok("%#5x", &[Value::Int(255)]), " 0xff");
        assert_eq!(ok("%#o", &[Value::Int(8)]), "0o10");
        assert_eq!(ok("%x", &[Value::Bool(true)]), "1");
        assert_eq!(
            err("%d", &[s("a")]),
            "%d format: a real number is required, not str"
        );
        assert_eq!(
            err("%x", &[Value::Float(1.5)]),
            "%x format: an integer is required, not float"
        );
        assert_eq!(
            err("%d", &[Value::Float(f64::NAN)]),
            "cannot convert float NaN to integer"
        );
    }

    #[test]
    fn floats() {
        assert_eq!(ok("%f", &[Value::Float(1.5)]), "1.500000");
        assert_eq!(ok("%F", &[Value::Float(f64::INFINITY)]), "INF");
        assert_eq!(ok("%f", &[Value::Int(2)]), "2.000000");
        assert_eq!(ok("%05.1f", &[Value::Float(-2.25)]), "-02.2");
        assert_eq!(ok("%10.4f|", &[Value::Float(1.23456)]), "    1.2346|");
        assert_eq!(ok("%.1f", &[Value::Float(-0.01)]), "-0.0");
        assert_eq!(ok("%.0f", &[Value::Float(2.5)]), "2");
        assert_eq!(ok("%.0f", &[Value::Float(1.5)]), "2");
        assert_eq!(ok("%#.0f", &[Value::Float(1.0)]), "1.");
        assert_eq!(ok("%05f", &[Value::Float(f64::INFINITY)]), "00inf");
        assert_eq!(ok("%+f", &[Value::Float(f64::NAN)]), "+nan");
        assert_eq!(ok("%e", &[Value::Float(1.5)]), "1.500000e+00");
        assert_eq!(ok("%e", &[Value::Float(0.0)]), "0.000000e+00");
        assert_eq!(ok("%5.2e", &[Value::Float(-1234.5)]), "-1.23e+03");
        assert_eq!(ok("%.0e", &[Value::Float(15.0)]), "2e+01");
        assert_eq!(ok("%#.0e", &[Value::Float(15.0)]), "2.e+01");
        assert_eq!(ok("%.3e", &[Value::Float(1e-310)]), "1.000e-310");
        assert_eq!(ok("%g", &[Value::Float(1e-5)]), "1e-05");
        assert_eq!(ok("%g", &[Value::Float(0.0001)]), "0.0001");
        assert_eq!(ok("%g", &[Value::Float(123_456.0)]), "123456");
        assert_eq!(ok("%g", &[Value::Float(1_234_567.0)]), "1.23457e+06");
        assert_eq!(ok("%g", &[Value::Float(123_456_789.0)]), "1.23457e+08");
        assert_eq!(ok("%G", &[Value::Float(1e20)]), "1E+20");
        assert_eq!(ok("%g", &[Value::Float(0.0)]), "0");
        assert_eq!(ok("%g", &[Value::Float(-0.0)]), "-0");
        assert_eq!(ok("%.3g", &[Value::Float(0.000_123_4)]), "0.000123");
        assert_eq!(ok("%.2g", &[Value::Float(0.000_001_234)]), "1.2e-06");
        assert_eq!(ok("%#g", &[Value::Float(1.0)]), "1.00000");
        assert_eq!(ok("%#.1g", &[Value::Float(1.0)]), "1.");
        assert_eq!(err("%f", &[s("a")]), "must be real number, not str");
    }

    #[test]
    fn argument_count_and_syntax_errors() {
        assert_eq!(
            err("%s %s", &[s("a")]),
            "not enough arguments for format string"
        );
        assert_eq!(
            err("%s", &[s("a"), s("b")]),
            "not all arguments converted during string formatting"
        );
        assert_eq!(
            err("no placeholders", &[s("a")]),
            "not all arguments converted during string formatting"
        );
        assert_eq!(
            err("%y", &[s("a")]),
            "unsupported format character 'y' (0x79) at index 1"
        );
        assert_eq!(err("%", &[]), "incomplete format");
        assert_eq!(err("%(name)s", &[s("a")]), "format requires a mapping");
        assert_eq!(err("%c", &[s("ab")]), "%c requires int or char");
        assert!(err("%*d", &[Value::Int(1), Value::Int(2)]).contains("not supported"));
        assert_eq!(err("%99999999d", &[Value::Int(1)]), "width too big");
    }
}
