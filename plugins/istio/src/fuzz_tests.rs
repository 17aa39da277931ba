//! Property tests of what the Istio translator reads from a request: the install options of the
//! custom body, and a design's TrafficSplit component. No input panics; refusals carry this
//! translator's codes and a remedy; what is accepted is usable.
//!
//! 256 cases per property by default; `PROPTEST_CASES=100000 cargo test -p
//! wasmesh-plugin-istio fuzz_tests` runs longer.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};
use wasmesh_sdk::design::Component;

use crate::install::options::{self, MAX_WAIT_SECONDS, PROFILES};

fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::from),
        prop::sample::select(
            &[
                "default",
                "minimal",
                "demo",
                "ambient",
                "AMBIENT",
                "1.27.3",
                "1.26.3",
                "true",
                "false",
                "30",
                " 7 ",
                "mirror.local:5000/istio"
            ][..]
        )
        .prop_map(Value::from),
        Just(json!([1])),
        Just(json!({"a": 1})),
    ]
}

fn body() -> impl Strategy<Value = String> {
    let key = prop_oneof![4 => prop::sample::select(options::keys()).prop_map(str::to_string), 1 => "\\PC{0,10}"];
    let mapping = (prop::collection::btree_map(key, scalar(), 0..5), any::<bool>()).prop_map(|(m, json)| {
        if json {
            serde_json::to_string(&m).unwrap()
        } else {
            serde_yaml::to_string(&m).unwrap()
        }
    });
    let soup = prop::collection::vec(
        prop::sample::select(
            &[
                "profile", "hub", ":", ": ", "- ", "&a ", "*a", "{", "}", "[", "]", ",", "'", "\"", "#", "---", "\n",
                "  ", "!!int ", "|", "~",
            ][..],
        ),
        0..32,
    )
    .prop_map(|t| t.concat());
    prop_oneof![4 => mapping, 2 => soup, 1 => any::<String>()]
}

fn request(version: String, body: String) -> wasmesh_sdk::OperationRequest {
    wasmesh_sdk::OperationRequest {
        key: "istio".into(),
        namespace: "istio-system".into(),
        version,
        custom_body: body,
        delete: false,
        operation_id: "op".into(),
        username: "u".into(),
        cluster: wasmesh_sdk::ClusterInfo {
            name: "c".into(),
            server: "s".into(),
        },
    }
}

fn check_error(e: &wasmesh_sdk::Error) {
    assert!(e.code.starts_with("WASMESH-ISTIO-"), "{}: {}", e.code, e.message);
    assert!(!e.message.is_empty() && !e.probable_cause.is_empty() && !e.suggested_remediation.is_empty());
    for marker in ["Some(", "Error {", "ErrorImpl", "panicked"] {
        assert!(!e.message.contains(marker), "{marker:?} in {}", e.message);
    }
}

/// A TrafficSplit component's spec: backends naming versions or services, with weights.
fn split_spec() -> impl Strategy<Value = Value> {
    let version = prop_oneof![
        prop::sample::select(&["v1", "v2", "V1", "1.0", "1-0", "1_0", "-", ".", "v1 ", ""][..])
            .prop_map(str::to_string),
        "\\PC{0,6}",
    ];
    let backend = (
        prop::option::of(version),
        prop::option::of(prop::sample::select(&["reviews", "reviews-next", ""][..])),
        prop_oneof![(0u64..=100).prop_map(Value::from), scalar()],
    )
        .prop_map(|(v, s, w)| {
            let mut b = Map::new();
            if let Some(v) = v {
                b.insert("version".into(), v.into());
            }
            if let Some(s) = s {
                b.insert("service".into(), s.into());
            }
            b.insert("weight".into(), w);
            Value::Object(b)
        });
    (
        prop::option::of(prop_oneof![Just("reviews".to_string()), "\\PC{0,8}"]),
        prop::option::of(scalar()),
        prop::collection::vec(backend, 0..4),
        any::<bool>(),
    )
        .prop_map(|(service, label, backends, versions_key)| {
            let mut spec = Map::new();
            if let Some(s) = service {
                spec.insert("service".into(), s.into());
            }
            if let Some(l) = label {
                spec.insert("versionLabel".into(), l);
            }
            spec.insert(
                if versions_key { "versions" } else { "backends" }.into(),
                Value::Array(backends),
            );
            Value::Object(spec)
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn install_options_never_panic_and_accept_only_valid_values(
        version in prop_oneof![Just(String::new()), Just("1.26.3".to_string()), "\\PC{0,10}"],
        body in body(),
    ) {
        match options::parse(&request(version, body)) {
            Ok(o) => {
                prop_assert!(PROFILES.contains(&o.profile.name()));
                prop_assert!(o.wait_seconds <= MAX_WAIT_SECONDS);
                if let Some(hub) = &o.hub {
                    prop_assert_eq!(wasmesh_sdk::options::image_repository(hub), Ok(hub.clone()));
                }
            }
            Err(e) => check_error(&e),
        }
    }

    #[test]
    fn traffic_splits_never_panic_and_route_each_version_to_its_own_subset(spec in split_spec()) {
        let c = Component {
            kind: "TrafficSplit".into(),
            api_version: "split.smi-spec.io/v1alpha4".into(),
            name: "split".into(),
            namespace: Some("shop".into()),
            spec,
            fields: Map::new(),
            labels: Map::new(),
            annotations: Map::new(),
            model: None,
            version: None,
        };
        match crate::design::traffic_split(&c) {
            Ok((objects, _)) => {
                let routes = objects[0]["spec"]["http"][0]["route"].as_array().unwrap();
                prop_assert_eq!(routes.iter().map(|r| r["weight"].as_u64().unwrap()).sum::<u64>(), 100);
                if let Some(dr) = objects.get(1) {
                    let subsets = dr["spec"]["subsets"].as_array().unwrap();
                    let label = c.spec.get("versionLabel").and_then(Value::as_str).unwrap_or("version");
                    for s in subsets {
                        let name = s["name"].as_str().unwrap();
                        prop_assert!(wasmesh_sdk::plan::is_namespace_name(name), "subset name {name:?} is not a DNS label");
                        // One subset per name: two versions never share one.
                        prop_assert_eq!(subsets.iter().filter(|x| x["name"] == name).count(), 1);
                        prop_assert!(s["labels"][label].is_string());
                    }
                    // Every route to a subset reaches the version it was written for.
                    let backends = c.spec.get("backends").or_else(|| c.spec.get("versions")).unwrap().as_array().unwrap();
                    for (b, r) in backends.iter().zip(routes) {
                        if let (Some(v), Some(subset)) = (b.get("version").and_then(Value::as_str), r["destination"]["subset"].as_str()) {
                            let s = subsets.iter().find(|s| s["name"] == subset).unwrap();
                            prop_assert_eq!(s["labels"][label].as_str(), Some(v.trim()));
                        }
                    }
                }
            }
            Err(e) => check_error(&e),
        }
    }
}

// Found by traffic_splits_never_panic_and_route_each_version_to_its_own_subset: a version made
// of punctuation gave the subset name "" (the API server refused the DestinationRule only after
// the VirtualService was applied), and versions differing only in punctuation shared a subset,
// so the routes of one reached the pods of the other.

fn split(backends: Value) -> Component {
    Component {
        kind: "TrafficSplit".into(),
        api_version: "split.smi-spec.io/v1alpha4".into(),
        name: "split".into(),
        namespace: Some("shop".into()),
        spec: json!({"service": "reviews", "backends": backends}),
        fields: Map::new(),
        labels: Map::new(),
        annotations: Map::new(),
        model: None,
        version: None,
    }
}

#[test]
fn a_version_without_letters_or_digits_is_refused_naming_it() {
    let e = crate::design::traffic_split(&split(json!([{"version": ":", "weight": 100}]))).unwrap_err();
    assert_eq!(e.code, "WASMESH-ISTIO-2110");
    assert!(
        e.message
            .contains("backend 1 names version \":\", which gives no subset name"),
        "{}",
        e.message
    );
}

#[test]
fn versions_that_differ_only_in_punctuation_are_refused() {
    let e = crate::design::traffic_split(&split(
        json!([{"version": "1.0", "weight": 50}, {"version": "1-0", "weight": 50}]),
    ))
    .unwrap_err();
    assert_eq!(e.code, "WASMESH-ISTIO-2110");
    assert!(
        e.message
            .contains("versions \"1.0\" and \"1-0\" would share the subset name \"1-0\""),
        "{}",
        e.message
    );
}
