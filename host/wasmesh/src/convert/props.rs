//! Property tests of what the host does with a plan a plugin returns (a hostile plugin may return
//! anything the WIT types allow): every step is bounded, parsed and checked before any of it is
//! used, refusals name the stage and step, and the objects reach the executor exactly as the
//! plugin wrote them.
//!
//! 256 cases per property by default; `PROPTEST_CASES=100000 cargo test -p wasmesh --lib
//! convert::props` runs longer.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};
use wasmesh_cluster as cluster;
use wasmesh_runtime::types;

use super::{PlanError, plan};
use crate::config::Limits;

fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

/// Limits small enough that generated plans cross them, as the configuration may set them.
fn limits() -> impl Strategy<Value = Limits> {
    (1usize..4096, 0u32..700, 1usize..40, 0usize..10).prop_map(|(bytes, wait, steps, waits)| Limits {
        max_plan_bytes: bytes,
        max_wait_seconds: wait,
        max_plan_steps: steps,
        max_plan_waits: waits,
        ..Limits::default()
    })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9.-]{0,12}",
        1 => Just(String::new()),
        1 => prop::sample::select(&["/", "..", "x/../../secrets", "kube-system?", "a#b", "%2F", "v1/namespaces"][..]).prop_map(str::to_string),
        1 => "\\PC{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The JSON of an applied object: a well-formed object, one with fields missing or of the wrong
/// type, JSON that is no object, broken JSON, or anything.
fn object_json() -> impl Strategy<Value = String> {
    let object = (
        prop::option::of(prop_oneof![text().prop_map(Value::from), leaf()]),
        prop::option::of(prop_oneof![text().prop_map(Value::from), leaf()]),
        prop::option::of(prop_oneof![text().prop_map(Value::from), leaf()]),
        prop::option::of(text()),
        prop::collection::btree_map("[a-z]{1,6}", value(), 0..3),
    )
        .prop_map(|(api_version, kind, name, namespace, rest)| {
            let mut o = json!({"metadata": {}});
            if let Some(v) = api_version {
                o["apiVersion"] = v;
            }
            if let Some(v) = kind {
                o["kind"] = v;
            }
            if let Some(v) = name {
                o["metadata"]["name"] = v;
            }
            if let Some(v) = namespace {
                o["metadata"]["namespace"] = v.into();
            }
            for (k, v) in rest {
                if !matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    o[k] = v;
                }
            }
            o.to_string()
        });
    prop_oneof![
        6 => object,
        1 => value().prop_map(|v| v.to_string()),
        1 => (object_prefix(), 0usize..40).prop_map(|(s, cut)| s.chars().take(cut).collect()),
        1 => any::<String>(),
    ]
}

fn object_prefix() -> impl Strategy<Value = String> {
    Just(r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}"#.to_string())
}

fn object_ref() -> impl Strategy<Value = types::ObjectRef> {
    (text(), text(), prop::option::of(text()), text()).prop_map(|(api_version, kind, namespace, name)| {
        types::ObjectRef {
            api_version,
            kind,
            namespace,
            name,
        }
    })
}

fn step() -> impl Strategy<Value = types::Step> {
    let pairs = || prop::collection::vec((text(), text()), 0..3);
    prop_oneof![
        4 => object_json().prop_map(types::Step::Apply),
        1 => object_ref().prop_map(types::Step::Delete),
        1 => (text(), pairs(), prop::collection::vec(text(), 0..3), pairs(), prop::collection::vec(text(), 0..3), any::<bool>())
            .prop_map(|(namespace, set_labels, remove_labels, set_annotations, remove_annotations, create)| {
                types::Step::NamespaceMetadata(types::NamespaceChange {
                    namespace,
                    set_labels,
                    remove_labels,
                    set_annotations,
                    remove_annotations,
                    create,
                })
            }),
        1 => (object_ref(), prop_oneof![Just(types::Condition::Exists), Just(types::Condition::Deleted), text().prop_map(types::Condition::ConditionTrue)], any::<u32>(), any::<bool>())
            .prop_map(|(target, condition, timeout_seconds, required)| types::Step::Wait(types::WaitFor { target, condition, timeout_seconds, required })),
    ]
}

fn wit_plan() -> impl Strategy<Value = types::Plan> {
    (
        prop::collection::vec((text(), prop::collection::vec(step(), 0..8)), 0..5),
        "\\PC{0,20}",
    )
        .prop_map(|(stages, summary)| types::Plan {
            stages: stages
                .into_iter()
                .map(|(name, steps)| types::Stage { name, steps })
                .collect(),
            summary,
        })
}

fn no_debug_dump(message: &str) {
    for marker in [
        "Error(",
        "Error {",
        "Some(",
        "ErrorImpl",
        "Apply(",
        "Value::",
        "Object {",
    ] {
        assert!(!message.contains(marker), "{marker:?} in {message:?}");
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn plans_from_a_plugin_never_panic_and_what_passes_is_bounded_checked_and_unchanged(p in wit_plan(), limits in limits()) {
        let original = p.clone();
        match plan(p, &limits) {
            Ok(converted) => {
                prop_assert_eq!(converted.summary, original.summary);
                prop_assert_eq!(converted.stages.len(), original.stages.len());
                let (mut steps, mut waits) = (0, 0);
                for (s, o) in converted.stages.iter().zip(&original.stages) {
                    prop_assert_eq!(&s.name, &o.name);
                    prop_assert_eq!(s.steps.len(), o.steps.len());
                    for (step, wit) in s.steps.iter().zip(&o.steps) {
                        steps += 1;
                        match (step, wit) {
                            (cluster::Step::Apply(v), types::Step::Apply(json)) => {
                                for p in ["/apiVersion", "/kind", "/metadata/name"] {
                                    prop_assert!(v.pointer(p).and_then(Value::as_str).is_some_and(|s| !s.is_empty()), "{p} in {json}");
                                }
                                // Exactly what the plugin wrote, and it writes back to the same.
                                prop_assert_eq!(v, &serde_json::from_str::<Value>(json).unwrap());
                                prop_assert_eq!(v, &serde_json::from_str::<Value>(&v.to_string()).unwrap());
                            }
                            (cluster::Step::Delete(r), types::Step::Delete(w)) => {
                                prop_assert_eq!(&r.name, &w.name);
                                prop_assert!(r.namespace.as_deref() != Some(""), "an empty namespace is no namespace");
                            }
                            (cluster::Step::Wait(r), types::Step::Wait(w)) => {
                                waits += 1;
                                prop_assert!(r.timeout_seconds <= limits.max_wait_seconds);
                                prop_assert_eq!(r.timeout_seconds, w.timeout_seconds.min(limits.max_wait_seconds));
                                prop_assert!(r.target.namespace.as_deref() != Some(""));
                            }
                            (cluster::Step::NamespaceMetadata(r), types::Step::NamespaceMetadata(w)) => {
                                prop_assert_eq!(&r.namespace, &w.namespace);
                                prop_assert_eq!(&r.set_labels, &w.set_labels);
                            }
                            _ => prop_assert!(false, "a step changed kind"),
                        }
                    }
                }
                prop_assert!(steps <= limits.max_plan_steps && waits <= limits.max_plan_waits);
            }
            Err(e) => {
                let message = e.to_string();
                no_debug_dump(&message);
                match e {
                    PlanError::BadObject { number, stage, step, reason } => {
                        let s = original.stages.get(number.wrapping_sub(1));
                        prop_assert!(s.is_some_and(|s| s.name == stage && step >= 1 && step <= s.steps.len()), "{message}");
                        prop_assert!(reason.starts_with("not JSON: ") || reason.ends_with(" is missing"), "{message}");
                    }
                    PlanError::TooLarge { bytes, limit } => prop_assert!(bytes > limit),
                    PlanError::TooMany { count, limit, .. } => prop_assert!(count > limit),
                }
            }
        }
    }
}

/// A plan over a limit is refused before any object in it is parsed: a broken object in it is
/// never reached.
#[test]
fn plans_over_the_limits_are_refused_before_their_objects_are_read() {
    let limits = Limits {
        max_plan_steps: 3,
        max_plan_waits: 1,
        max_plan_bytes: 1000,
        ..Limits::default()
    };
    let broken = types::Step::Apply("{not json".into());
    let stage = |steps: Vec<types::Step>| types::Plan {
        stages: vec![types::Stage {
            name: "s".into(),
            steps,
        }],
        summary: String::new(),
    };
    let wait = || {
        types::Step::Wait(types::WaitFor {
            target: types::ObjectRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: None,
                name: "p".into(),
            },
            condition: types::Condition::Exists,
            timeout_seconds: u32::MAX,
            required: true,
        })
    };
    let e = plan(stage(vec![broken.clone(); 4]), &limits).unwrap_err();
    assert_eq!(e.to_string(), "the plan has 4 steps, over the limit of 3");
    let e = plan(stage(vec![broken.clone(), wait(), wait()]), &limits).unwrap_err();
    assert_eq!(e.to_string(), "the plan has 2 waits, over the limit of 1");
    let e = plan(
        stage(vec![types::Step::Apply(format!("{{\"x\": \"{}\"", "a".repeat(2000)))]),
        &limits,
    )
    .unwrap_err();
    assert!(matches!(e, PlanError::TooLarge { limit: 1000, .. }), "{e}");
}

/// An object nested past serde_json's recursion limit is refused as a bad object, with where.
#[test]
fn deeply_nested_objects_are_refused_with_where() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let p = types::Plan {
        stages: vec![types::Stage {
            name: "objects".into(),
            steps: vec![types::Step::Apply(deep)],
        }],
        summary: String::new(),
    };
    let limits = Limits {
        max_plan_bytes: 1 << 20,
        ..Limits::default()
    };
    let e = plan(p, &limits).unwrap_err();
    assert_eq!(
        e.to_string(),
        "step 1 of stage 1 (\"objects\") is not a usable object: not JSON: recursion limit exceeded at line 1 column 128"
    );
}

/// Found by plans_from_a_plugin_never_panic_and_what_passes_is_bounded_checked_and_unchanged: a
/// refusal named the stage only by its name, which several stages may share (or leave empty),
/// so "step 1 of stage \"\"" pointed at the wrong stage.
#[test]
fn a_bad_object_is_located_by_stage_number_when_stages_share_a_name() {
    let p = types::Plan {
        stages: vec![
            types::Stage {
                name: String::new(),
                steps: vec![],
            },
            types::Stage {
                name: String::new(),
                steps: vec![types::Step::Apply("{\"metadata\":{}}".into())],
            },
        ],
        summary: String::new(),
    };
    let e = plan(p, &Limits::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "step 1 of stage 2 (\"\") is not a usable object: apiVersion is missing"
    );
}

/// An object small in the plan and large once parsed (`[0,0,...]`, a few bytes a value) is refused
/// by its number of values before it is parsed, within the plan's byte limit.
#[test]
fn objects_of_many_tiny_values_are_refused_before_they_are_parsed() {
    let values = super::MAX_PLAN_JSON_VALUES + 1;
    let object = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"x\"}},\"x\":[{}]}}",
        vec!["0"; values].join(",")
    );
    let p = types::Plan {
        stages: vec![types::Stage {
            name: "objects".into(),
            steps: vec![types::Step::Apply(object)],
        }],
        summary: String::new(),
    };
    let limits = Limits {
        max_plan_bytes: 16 << 20,
        ..Limits::default()
    };
    let e = plan(p, &limits).unwrap_err();
    assert!(
        matches!(e, PlanError::TooMany { what: "JSON values in its objects and namespace changes", count, .. } if count > values),
        "{e}"
    );
}

/// Labels are members of the namespace patch the host builds: a plan of a million one-byte labels
/// (within the byte limit) is refused like an object of as many values, before any patch is made.
#[test]
fn namespace_changes_of_many_tiny_labels_are_refused_by_their_number() {
    let pairs = super::MAX_PLAN_JSON_VALUES / 2 + 1;
    let set_labels: Vec<(String, String)> = (0..pairs).map(|i| (format!("{i:x}"), String::new())).collect();
    let change = |set_labels| types::Plan {
        stages: vec![types::Stage {
            name: "labels".into(),
            steps: vec![types::Step::NamespaceMetadata(types::NamespaceChange {
                namespace: "demo".into(),
                set_labels,
                remove_labels: vec![],
                set_annotations: vec![],
                remove_annotations: vec![],
                create: false,
            })],
        }],
        summary: String::new(),
    };
    let limits = Limits {
        max_plan_bytes: 16 << 20,
        ..Limits::default()
    };
    let e = plan(change(set_labels), &limits).unwrap_err();
    assert!(
        matches!(e, PlanError::TooMany { what: "JSON values in its objects and namespace changes", count, .. } if count > super::MAX_PLAN_JSON_VALUES),
        "{e}"
    );
    // A real plan's handful of labels passes.
    assert!(plan(change(vec![("istio-injection".into(), "enabled".into())]), &limits).is_ok());
}
