//! Generators and checks shared by the SDK's property tests.
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};

/// proptest's defaults (256 cases, or `PROPTEST_CASES`), without writing failures into the
/// source tree: every failure found becomes a named regression test instead.
pub fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

/// Pieces of YAML syntax, joined at random: reaches the parser's corners (anchors, aliases,
/// tags, block and flow styles, document markers, directives, escapes) far more often than
/// random text does.
pub fn token_soup() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "a",
        "kind",
        "apiVersion",
        "metadata",
        "name",
        "List",
        "items",
        "v1",
        "ConfigMap",
        ":",
        ": ",
        "- ",
        "-",
        "? ",
        "&a ",
        "*a",
        "&b ",
        "*b",
        "<<: ",
        "!!str ",
        "!!int ",
        "!!map ",
        "!!binary ",
        "!tag ",
        "!<x> ",
        "|",
        "|-",
        ">",
        ">+",
        "'",
        "\"",
        "\\",
        "\\L",
        "\\x41",
        "\\U0001F600",
        "{",
        "}",
        "[",
        "]",
        ",",
        "#",
        " # c",
        "---",
        "---\n",
        "...",
        "\n",
        "\n  ",
        "\n    ",
        "  ",
        "\t",
        "%YAML 1.2\n",
        "%TAG ! tag:x,2000:\n",
        "~",
        "null",
        "true",
        "1",
        "-1",
        "0x1F",
        "0o17",
        "1e400",
        ".nan",
        "-.inf",
        "99999999999999999999999999",
        "1_000",
        "\u{feff}",
        "é",
        "\u{0}",
        "\r\n",
        "@",
        "`",
    ];
    prop::collection::vec(prop::sample::select(TOKENS), 0..64).prop_map(|t| t.concat())
}

/// A JSON value as YAML and JSON can both carry it (no NaN, no infinities).
pub fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Floats with short decimal forms: serde_json without its `float_roundtrip` feature
        // (as the workspace builds it) may read a 17-digit float one unit in the last place off,
        // in the host (plan objects) as here (JSON bodies). See the README, "Fuzzing and
        // property tests".
        any::<i32>().prop_map(|i| Value::from(f64::from(i) / 8.0)),
        "\\PC{0,12}".prop_map(Value::from),
        // Strings YAML would read as something else unless quoted.
        prop::sample::select(
            &[
                "1", "true", "null", "~", "0x1F", "1e3", "- a", "a: b", "#", "&a", "*a", "", " x"
            ][..]
        )
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A Kubernetes object: apiVersion, kind (never `List`, which is unrolled) and a name, plus
/// arbitrary other fields.
pub fn k8s_object() -> impl Strategy<Value = Value> {
    (
        "(v1|apps/v1|[a-z]{1,8}\\.io/v1(beta[12])?)",
        "[A-Z][a-zA-Z0-9]{0,12}",
        "[a-z0-9][a-z0-9.-]{0,20}",
        prop::option::of("[a-z0-9-]{1,12}"),
        prop::collection::btree_map("[a-z][a-zA-Z]{0,8}", value(), 0..4),
    )
        .prop_filter("kind List is a list, not an object", |(_, k, ..)| k != "List")
        .prop_map(|(api_version, kind, name, namespace, fields)| {
            let mut o = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
            if let Some(ns) = namespace {
                o["metadata"]["namespace"] = ns.into();
            }
            for (k, v) in fields {
                if !matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    o[k] = v;
                }
            }
            o
        })
}

/// An error message meant for a person carries no Rust Debug output of the parser's internals.
pub fn no_debug_dump(message: &str) {
    for marker in [
        "ErrorImpl",
        "Mark {",
        "Location {",
        "Some(",
        "None,",
        "Error {",
        "Error(",
        "Scalar(",
        "Object {",
        "String(\"",
        "Array [",
        "panicked",
    ] {
        assert!(!message.contains(marker), "{marker:?} in {message:?}");
    }
}
