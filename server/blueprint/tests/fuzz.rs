//! Property tests: no input makes `parse` panic, every error has a line, and generated data
//! survives a load.

use garrison_blueprint::{Limits, Value, load, parse};
use indexmap::IndexMap;
use proptest::prelude::*;

/// Characters that matter to YAML, plus a few letters and digits.
const YAML_CHARS: &[char] = &[
    '[', ']', '{', '}', ':', ',', '-', '!', '&', '*', '|', '>', '\'', '"', '#', '\n', ' ', '?',
    '%', '@', '`', '<', '=', '~', '.', '0', '1', '9', 'a', 'e', 'x', 'y', 'K', 'O', 'f', '\t',
];

/// Fragments that build plausible blueprint-shaped text.
const FRAGMENTS: &[&str] = &[
    "version: 1\n",
    "entries:\n",
    "  - model: a.b\n",
    "    attrs:\n",
    "      k: ",
    "!KeyOf x",
    "!Find [m, [k, v]]",
    "!If [a, b, c]",
    "!If [a, b]",
    "!Enumerate [[1, 2], SEQ, !Index 0]",
    "!Context k",
    "!Format ['%s', 1]",
    "&a [1, 2]",
    "*a",
    "<<: *a\n",
    "yes",
    "0777",
    "1:20",
    "1e3",
    "- ",
    "\n",
    "  ",
    "{",
    "}",
    "[",
    "]",
    ", ",
    ": ",
    "'q'",
    "\"dq\"",
    "|\n  text\n",
    "---\n",
];

fn check(text: &str) -> Result<(), TestCaseError> {
    match parse(text, &Limits::default()) {
        Ok(blueprint) => {
            for entry in &blueprint.entries {
                prop_assert!(entry.line >= 1);
            }
        }
        Err(error) => prop_assert!(error.line() >= 1, "{error:?}"),
    }
    Ok(())
}

/// Generated data: what JSON can carry and YAML 1.1 reads back unchanged (no floats: their
/// JSON spelling, such as `1e16`, is a string to YAML 1.1).
fn data() -> impl Strategy<Value = Value> {
    let text = "[a-zA-Z0-9 _:#,.'\"-]{0,8}";
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        text.prop_map(Value::Str),
    ];
    leaf.prop_recursive(8, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::btree_map(text, inner, 0..6)
                .prop_map(|map| Value::Map(map.into_iter().collect::<IndexMap<_, _>>())),
        ]
    })
}

/// 256 cases per property in the suite; `PROPTEST_CASES=N` for a long run by hand.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn yaml_shaped_text_never_panics(chars in prop::collection::vec(prop::sample::select(YAML_CHARS), 0..120)) {
        let text: String = chars.into_iter().collect();
        check(&text)?;
    }

    #[test]
    fn blueprint_shaped_text_never_panics(parts in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40)) {
        let text: String = parts.concat();
        check(&text)?;
    }

    #[test]
    fn generated_data_round_trips(value in data()) {
        let text = serde_json::to_string(&value.to_json()).unwrap();
        let node = load(&text, &Limits::default()).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(node.to_value_untagged(), Some(value), "{}", text);
    }
}
