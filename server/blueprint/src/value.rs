//! Evaluated values: what a blueprint node becomes once its tags are resolved.
//!
//! The shapes are Python's (authentik evaluates blueprints in Python): `None`, `bool`, `int`,
//! `float`, `str`, `list`, `dict` with string keys. Behaviour that leaks into results is
//! Python's too: truthiness ([`Value::truthy`]), `str()` as `!Format`'s `%s` prints it
//! ([`Value::python_str`]), and deepmerge's `always_merger` ([`deep_merge`]).

use indexmap::IndexMap;

/// An evaluated value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Map(IndexMap<String, Value>),
}

impl Value {
    /// Python's truth test: `None`, `False`, `0`, `0.0`, `""`, `[]` and `{}` are false,
    /// everything else is true — including the strings `"false"`, `"0"` and `"no"`.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            // NaN is truthy in Python (it is not equal to zero).
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(items) => !items.is_empty(),
            Value::Map(map) => !map.is_empty(),
        }
    }

    /// Python's type name, as error messages spell it (`NoneType`, `bool`, `int`, `float`,
    /// `str`, `list`, `dict`).
    pub fn python_type(&self) -> &'static str {
        match self {
            Value::Null => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Map(_) => "dict",
        }
    }

    /// Python's `str()`: `True`, `None`, `1.0`, `1e+16`, strings bare, containers as their
    /// `repr` (`['a', 1]`, `{'k': 'v'}`).
    pub fn python_str(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            other => other.python_repr(),
        }
    }

    /// Python's `repr()`: like [`Value::python_str`] but strings are quoted the way Python
    /// quotes them (single quotes unless the text holds a single quote and no double quote).
    pub fn python_repr(&self) -> String {
        let mut out = String::new();
        self.write_repr(&mut out);
        out
    }

    fn write_repr(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("None"),
            Value::Bool(true) => out.push_str("True"),
            Value::Bool(false) => out.push_str("False"),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&python_float_repr(*f)),
            Value::Str(s) => out.push_str(&python_str_repr(s)),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_repr(out);
                }
                out.push(']');
            }
            Value::Map(map) => {
                out.push('{');
                for (i, (key, value)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&python_str_repr(key));
                    out.push_str(": ");
                    value.write_repr(out);
                }
                out.push('}');
            }
        }
    }

    /// The JSON form. JSON has no NaN or infinity: those floats become `null` (as
    /// `serde_json`'s own conversions do).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::Number((*i).into()),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(map) => {
                let mut object = serde_json::Map::new();
                for (key, value) in map {
                    object.insert(key.clone(), value.to_json());
                }
                serde_json::Value::Object(object)
            }
        }
    }

    /// From JSON. Integers that fit in `i64` stay integers; larger ones become floats.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(object) => Value::Map(
                object
                    .iter()
                    .map(|(key, value)| (key.clone(), Value::from_json(value)))
                    .collect(),
            ),
        }
    }

    /// The string a scalar becomes as a dictionary key once authentik's data passes through
    /// JSON (`json.dumps` spelling: `true`, `null`, `1`, `1.5`, `NaN`, `Infinity`). `None`
    /// for lists and maps, which cannot be keys.
    pub fn json_key(&self) -> Option<String> {
        match self {
            Value::Null => Some("null".to_owned()),
            Value::Bool(true) => Some("true".to_owned()),
            Value::Bool(false) => Some("false".to_owned()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(json_float_key(*f)),
            Value::Str(s) => Some(s.clone()),
            Value::List(_) | Value::Map(_) => None,
        }
    }

    /// The first float JSON cannot hold (NaN or an infinity) inside this value: where it sits,
    /// as a path to append to this value's name (`.limits.ranges[2]`; empty for this value
    /// itself), and the float. `None` when every float is finite. Garrison stores data as JSON,
    /// so such a float must be refused by name rather than turned into `null` by
    /// [`Value::to_json`].
    pub fn first_non_finite(&self) -> Option<(String, f64)> {
        match self {
            Value::Float(f) if !f.is_finite() => Some((String::new(), *f)),
            Value::List(items) => items.iter().enumerate().find_map(|(index, item)| {
                let (path, f) = item.first_non_finite()?;
                Some((format!("[{index}]{path}"), f))
            }),
            Value::Map(map) => map.iter().find_map(|(key, value)| {
                let (path, f) = value.first_non_finite()?;
                Some((format!(".{key}{path}"), f))
            }),
            _ => None,
        }
    }
}

/// YAML's spelling of a float JSON cannot hold: `.nan`, `.inf`, `-.inf`.
pub fn yaml_non_finite(f: f64) -> &'static str {
    if f.is_nan() {
        ".nan"
    } else if f > 0.0 {
        ".inf"
    } else {
        "-.inf"
    }
}

/// `json.dumps` spelling of a float used as a key.
pub(crate) fn json_float_key(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        let text = if f > 0.0 { "Infinity" } else { "-Infinity" };
        text.to_owned()
    } else {
        python_float_repr(f)
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when the
/// decimal exponent is from -4 to 15 (`0.0001`, `1000000000000000.0`), otherwise in
/// scientific notation with a signed exponent of at least two digits (`1e-05`, `1e+16`,
/// `1.5e+300`).
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        let text = if f > 0.0 { "inf" } else { "-inf" };
        return text.to_owned();
    }
    // `{:e}` prints the shortest round-trip digits: "-1.5e-5", "1e16", "0e0".
    let scientific = format!("{:e}", f.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    // Position of the decimal point relative to the start of `digits`.
    let point = exponent + 1;
    if (-3..=16).contains(&point) {
        let len = i32::try_from(digits.len()).unwrap_or(i32::MAX);
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat(point.unsigned_abs() as usize), digits)
        } else if point >= len {
            format!("{}{}.0", digits, "0".repeat((point - len) as usize))
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            format!("{whole}.{fraction}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        )
    }
}

/// Python's `repr(str)`.
pub fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            // Python escapes non-printable characters; the C0 and C1 controls, DEL, the
            // no-break space and the soft hyphen are the ones a blueprint may realistically
            // hold (other non-printable characters are left as they are here).
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) || c == '\u{ad}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// deepmerge's `always_merger.merge(base, overlay)`, as authentik uses it for contexts,
/// identifiers and `!Enumerate` MAP output: mappings merge key by key (recursively, new keys
/// appended in the overlay's order), lists **concatenate** (base then overlay), anything else
/// — including a type mismatch — takes the overlay.
pub fn deep_merge(base: Value, overlay: Value) -> Value {
    match (base, overlay) {
        (Value::Map(mut base), Value::Map(overlay)) => {
            for (key, value) in overlay {
                let merged = match base.get_mut(&key) {
                    Some(existing) => deep_merge(std::mem::replace(existing, Value::Null), value),
                    None => value,
                };
                base.insert(key, merged);
            }
            Value::Map(base)
        }
        (Value::List(mut base), Value::List(overlay)) => {
            base.extend(overlay);
            Value::List(base)
        }
        (_, overlay) => overlay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    fn s(text: &str) -> Value {
        Value::Str(text.to_owned())
    }

    #[test]
    fn truthiness_is_pythons() {
        for falsy in [
            Value::Null,
            Value::Bool(false),
            Value::Int(0),
            Value::Float(0.0),
            Value::Float(-0.0),
            s(""),
            Value::List(vec![]),
            Value::Map(IndexMap::new()),
        ] {
            assert!(!falsy.truthy(), "{falsy:?}");
        }
        for truthy in [
            Value::Bool(true),
            Value::Int(-1),
            Value::Float(0.5),
            Value::Float(f64::NAN),
            s("false"),
            s("0"),
            s("no"),
            Value::List(vec![Value::Null]),
            map(&[("a", Value::Null)]),
        ] {
            assert!(truthy.truthy(), "{truthy:?}");
        }
    }

    #[test]
    fn float_repr_matches_python() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (123.456, "123.456"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e300, "1.5e+300"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for (value, expected) in cases {
            assert_eq!(python_float_repr(*value), *expected, "{value}");
        }
    }

    #[test]
    fn str_and_repr() {
        assert_eq!(Value::Null.python_str(), "None");
        assert_eq!(Value::Bool(true).python_str(), "True");
        assert_eq!(Value::Int(-3).python_str(), "-3");
        assert_eq!(s("plain").python_str(), "plain");
        assert_eq!(s("plain").python_repr(), "'plain'");
        assert_eq!(s("it's").python_repr(), "\"it's\"");
        assert_eq!(s("e'f\"").python_repr(), "'e\\'f\"'");
        assert_eq!(s("a\nb\\").python_repr(), "'a\\nb\\\\'");
        let list = Value::List(vec![
            Value::Float(1.0),
            s("a"),
            Value::Null,
            Value::Bool(true),
            map(&[("k", Value::Float(1e16))]),
        ]);
        assert_eq!(list.python_str(), "[1.0, 'a', None, True, {'k': 1e+16}]");
        assert_eq!(Value::Map(IndexMap::new()).python_str(), "{}");
    }

    #[test]
    fn json_round_trip() {
        let value = map(&[
            ("a", Value::Int(1)),
            (
                "b",
                Value::List(vec![s("x"), Value::Null, Value::Bool(false)]),
            ),
            ("c", Value::Float(1.5)),
        ]);
        assert_eq!(Value::from_json(&value.to_json()), value);
        assert_eq!(Value::Float(f64::NAN).to_json(), serde_json::Value::Null);
    }

    #[test]
    fn json_keys() {
        assert_eq!(Value::Bool(true).json_key().as_deref(), Some("true"));
        assert_eq!(Value::Null.json_key().as_deref(), Some("null"));
        assert_eq!(Value::Int(1).json_key().as_deref(), Some("1"));
        assert_eq!(Value::Float(1.5).json_key().as_deref(), Some("1.5"));
        assert_eq!(Value::List(vec![]).json_key(), None);
    }

    #[test]
    fn deep_merge_concatenates_lists_and_merges_maps() {
        let base = map(&[
            ("list", Value::List(vec![Value::Int(1)])),
            ("map", map(&[("x", Value::Int(1)), ("y", Value::Int(2))])),
            ("scalar", s("base")),
            ("kept", s("kept")),
        ]);
        let overlay = map(&[
            ("list", Value::List(vec![Value::Int(2)])),
            ("map", map(&[("y", Value::Int(20)), ("z", Value::Int(30))])),
            ("scalar", s("overlay")),
            ("new", Value::Null),
        ]);
        let merged = deep_merge(base, overlay);
        let expected = map(&[
            ("list", Value::List(vec![Value::Int(1), Value::Int(2)])),
            (
                "map",
                map(&[
                    ("x", Value::Int(1)),
                    ("y", Value::Int(20)),
                    ("z", Value::Int(30)),
                ]),
            ),
            ("scalar", s("overlay")),
            ("kept", s("kept")),
            ("new", Value::Null),
        ]);
        assert_eq!(merged, expected);
        // A type conflict takes the overlay.
        assert_eq!(deep_merge(Value::List(vec![]), s("x")), s("x"));
    }

    #[test]
    fn floats_json_cannot_hold_are_found_with_their_path() {
        let list = |items: Vec<Value>| Value::List(items);
        let value = map(&[
            ("fine", list(vec![Value::Float(1.5), Value::Int(2)])),
            (
                "limits",
                map(&[(
                    "ranges",
                    list(vec![
                        Value::Float(0.0),
                        list(vec![s("a"), Value::Float(f64::NEG_INFINITY)]),
                    ]),
                )]),
            ),
            ("later", Value::Float(f64::NAN)),
        ]);
        let (path, f) = value.first_non_finite().expect("the infinity");
        assert_eq!(path, ".limits.ranges[1][1]");
        assert_eq!(yaml_non_finite(f), "-.inf");
        let (path, f) = Value::Float(f64::INFINITY)
            .first_non_finite()
            .expect("itself");
        assert_eq!((path.as_str(), yaml_non_finite(f)), ("", ".inf"));
        let nan = list(vec![map(&[("x", Value::Float(f64::NAN))])]);
        let (path, f) = nan.first_non_finite().expect("the NaN");
        assert_eq!((path.as_str(), yaml_non_finite(f)), ("[0].x", ".nan"));
        let finite = map(&[("a", list(vec![Value::Float(1e300), Value::Float(-0.0)]))]);
        assert_eq!(finite.first_non_finite(), None);
    }
}
