//! Property tests of the custom-body parsers (`yaml::parse_objects`, `yaml::parse_mapping`) and
//! the option checks every translator shares (`options::image_repository`): no input panics,
//! every refusal is an actionable error that says what and where, what is written is read back
//! unchanged, and bodies over the limits (YAML bombs, deep nesting) are refused.
//!
//! 256 cases per property by default; `PROPTEST_CASES=100000 cargo test -p wasmesh-sdk --test
//! fuzz_yaml` runs longer (see the README, "Fuzzing and property tests").

mod common;

use common::{config, k8s_object, no_debug_dump, token_soup, value};
use proptest::prelude::*;
use serde_json::Value;
use wasmesh_sdk::options::image_repository;
use wasmesh_sdk::yaml::{MAX_BODY_BYTES, parse_mapping, parse_objects};

/// Bodies worth throwing at a YAML parser: YAML-ish token soup, arbitrary text, and valid
/// bodies with a few bytes changed.
fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => token_soup(),
        1 => any::<String>(),
        2 => (prop::collection::vec(k8s_object(), 1..4), any::<prop::sample::Index>(), "\\PC{0,8}").prop_map(
            |(objects, at, insert)| {
                let mut body = objects
                    .iter()
                    .map(|o| serde_yaml::to_string(o).unwrap())
                    .collect::<Vec<_>>()
                    .join("---\n");
                let mut i = at.index(body.len() + 1);
                while !body.is_char_boundary(i) {
                    i -= 1;
                }
                body.insert_str(i, &insert);
                body
            }
        ),
    ]
}

/// Checks one refusal of `parse_objects`.
fn check_error(body: &str, e: &wasmesh_sdk::Error) {
    assert!(
        ["T-1001", "T-1002", "T-1003", "T-1004"].contains(&e.code.as_str()),
        "{body:?}: unexpected code {}",
        e.code
    );
    if e.code != "T-1004" {
        assert!(e.message.starts_with("YAML document "), "{body:?}: {}", e.message);
    }
    no_debug_dump(&e.message);
    assert!(!e.probable_cause.is_empty() && !e.suggested_remediation.is_empty());
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_objects_never_panics_and_errors_say_what_and_where(body in body()) {
        match parse_objects(&body, "T") {
            Ok(objects) => {
                prop_assert!(!objects.is_empty());
                for o in &objects {
                    for p in ["/apiVersion", "/kind", "/metadata/name"] {
                        prop_assert!(o.pointer(p).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty()), "{body:?}");
                    }
                }
            }
            Err(e) => check_error(&body, &e),
        }
    }

    #[test]
    fn objects_written_as_yaml_or_json_read_back_unchanged(objects in prop::collection::vec(k8s_object(), 1..5), json in any::<bool>()) {
        // JSON bodies as a stream of objects (as `kubectl get -o json` items are sent), YAML
        // bodies as documents.
        let body = if json {
            objects.iter().map(|o| serde_json::to_string_pretty(o).unwrap()).collect::<Vec<_>>().join("\n")
        } else {
            objects.iter().map(|o| serde_yaml::to_string(o).unwrap()).collect::<Vec<_>>().join("---\n")
        };
        prop_assert_eq!(parse_objects(&body, "T").unwrap(), objects);
    }

    #[test]
    fn parse_mapping_never_panics(body in body()) {
        if let Err(e) = parse_mapping(&body) {
            prop_assert!(e.starts_with("the options "), "{body:?}: {e}");
            no_debug_dump(&e);
        }
    }

    #[test]
    fn option_mappings_read_back_unchanged(map in prop::collection::btree_map("[a-zA-Z][a-zA-Z0-9_.-]{0,12}", value(), 0..6), json in any::<bool>()) {
        let map: serde_json::Map<String, Value> = map.into_iter().collect();
        let body = if json { serde_json::to_string(&map).unwrap() } else { serde_yaml::to_string(&map).unwrap() };
        prop_assert_eq!(parse_mapping(&body).unwrap(), map);
    }

    #[test]
    fn image_repositories_that_pass_are_plain_repositories(s in prop_oneof!["[a-z0-9.:/@_ -]{0,24}", any::<String>()]) {
        match image_repository(&s) {
            Ok(r) => {
                prop_assert!(!r.is_empty() && !r.ends_with('/') && !r.contains("://") && !r.contains('@'), "{s:?} -> {r:?}");
                prop_assert!(r.chars().all(|c| c.is_ascii_alphanumeric() || "._-/:".contains(c)), "{s:?} -> {r:?}");
                // A tag would follow a colon in the last path segment.
                prop_assert!(!(r.contains('/') && r.rsplit('/').next().unwrap().contains(':')), "{s:?} -> {r:?}");
                // Accepting is stable: what passed passes again unchanged.
                prop_assert_eq!(image_repository(&r), Ok(r.clone()));
            }
            Err(e) => {
                prop_assert!(e.starts_with("it "), "{s:?}: {e}");
                no_debug_dump(&e);
            }
        }
    }
}

// YAML bombs and deep nesting: each is refused with the "over the limit" code, after work
// bounded by the body's size (the parser stops early by construction, so these finish fast).

/// Billion laughs: nine levels of ten aliases each, 10^9 "lol"s from a few hundred bytes.
fn billion_laughs() -> String {
    let mut body = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..=9 {
        let prev = format!("*a{}", level - 1);
        body.push_str(&format!("a{level}: &a{level} [{}]\n", vec![prev; 10].join(", ")));
    }
    body
}

/// One large anchored list, aliased as many times as it has items: quadratic, and within
/// serde_yaml's own bound on alias jumps (it counts jumps, not what each copies).
fn quadratic_aliases(n: usize) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\nx: &x [{}]\ny: [{}]\n",
        vec!["x"; n].join(","),
        vec!["*x"; n].join(",")
    )
}

/// One large anchored string, aliased many times.
fn aliased_long_string() -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\ndata:\n  a: &s \"{}\"\n  b: [{}]\n",
        "x".repeat(1 << 20),
        vec!["*s"; 10_000].join(",")
    )
}

#[test]
fn yaml_bombs_are_refused_as_over_the_limit() {
    for (what, body) in [
        ("billion laughs", billion_laughs()),
        ("quadratic aliases", quadratic_aliases(100_000)),
        ("an aliased long string", aliased_long_string()),
    ] {
        let e = parse_objects(&body, "T").unwrap_err();
        assert_eq!(e.code, "T-1002", "{what}: {}", e.message);
        assert!(
            e.message.contains("YAML document 1 expands past the limit"),
            "{what}: {}",
            e.message
        );
        assert!(e.suggested_remediation.contains("instead of aliasing"), "{what}");
        let e = parse_mapping(&body).unwrap_err();
        assert!(e.contains("the options expand past the limit"), "{what}: {e}");
    }
}

#[test]
fn a_bomb_in_a_later_document_names_that_document() {
    let body = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\n---\n{}",
        billion_laughs()
    );
    let e = parse_objects(&body, "T").unwrap_err();
    assert!(
        e.message.starts_with("YAML document 2 expands past the limit"),
        "{}",
        e.message
    );
}

#[test]
fn ordinary_anchors_and_aliases_still_work() {
    let body = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, labels: &l {app: web, tier: front}}}\n- {apiVersion: v1, kind: Service, metadata: {name: b, labels: *l}}\n";
    let objects = parse_objects(body, "T").unwrap();
    assert_eq!(objects[1]["metadata"]["labels"]["tier"], "front");
    // Many small aliases in a small body stay within the floor of the budget.
    assert!(parse_objects(&quadratic_aliases(300), "T").is_ok());
}

#[test]
fn deep_nesting_is_refused_as_over_the_limit() {
    let deep = 10_000;
    for (what, body) in [
        ("flow lists", "[".repeat(deep)),
        ("closed flow lists", format!("{}{}", "[".repeat(deep), "]".repeat(deep))),
        ("flow mappings", "{a: ".repeat(deep)),
        ("block lists", format!("{}x\n", "- ".repeat(deep))),
        (
            "block mappings",
            (0..200).map(|i| format!("{}k:\n", "  ".repeat(i))).collect(),
        ),
    ] {
        let e = parse_objects(&body, "T").unwrap_err();
        assert_eq!(e.code, "T-1002", "{what}: {}", e.message);
        assert!(e.message.contains("deeper than 128 levels"), "{what}: {}", e.message);
        assert!(e.message.contains("line "), "{what}: says where: {}", e.message);
        let e = parse_mapping(&body).unwrap_err();
        assert!(e.contains("deeper than 128 levels"), "{what}: {e}");
    }
}

#[test]
fn bodies_over_the_size_limit_are_refused_before_parsing() {
    // A body that would be a bomb too: the size check comes first.
    let body = format!("{}{}", billion_laughs(), "#".repeat(MAX_BODY_BYTES));
    let e = parse_objects(&body, "T").unwrap_err();
    assert_eq!(e.code, "T-1002");
    assert!(e.message.starts_with("the YAML body is "), "{}", e.message);
    assert!(parse_mapping(&body).unwrap_err().contains("over the limit"));
}

// Found by objects_written_as_yaml_or_json_read_back_unchanged: serde_yaml reads YAML 1.1, where
// U+0085, U+2028 and U+2029 are line breaks, so a JSON body holding one in a string was refused
// (in a key) or changed (U+0085 in a value became a space). JSON bodies are read as JSON.

#[test]
fn json_with_a_line_separator_in_a_key_reads_back_unchanged() {
    let body = "{\n  \"a\": {\n    \"\u{2028}\": null\n  },\n  \"apiVersion\": \"v1\",\n  \"kind\": \"A\",\n  \"metadata\": {\n    \"name\": \"0\"\n  }\n}";
    let objects = parse_objects(body, "T").unwrap();
    assert_eq!(objects, [serde_json::from_str::<Value>(body).unwrap()]);
}

#[test]
fn json_with_a_next_line_character_in_a_value_is_not_changed() {
    let body = "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\"}, \"data\": {\"k\": \"x\u{85}y\"}}";
    assert_eq!(parse_objects(body, "T").unwrap()[0]["data"]["k"], "x\u{85}y");
    assert_eq!(
        parse_mapping("{\"k\": \"x\u{85}y\", \"\u{2029}\": 1}").unwrap()["k"],
        "x\u{85}y"
    );
    // Several JSON documents are one too many for options, as several YAML documents are.
    assert!(parse_mapping("{} {}").unwrap_err().contains("one JSON document"));
}
