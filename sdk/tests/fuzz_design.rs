//! Property tests of design parsing (`design::parse_component`, `design::traits`) and planning
//! (`design::plan_design`, `design::plan_design_with`): OAM Components as ProcessOAM sends them,
//! Meshery component declarations (v1beta1 and v1beta2 designs) as Provision sends them, OAM
//! Configurations with traits, and garbage. No input panics; every entry is either planned or
//! rejected with its own error; every object planned is one the host accepts.
//!
//! 256 cases per property by default; `PROPTEST_CASES=100000 cargo test -p wasmesh-sdk --test
//! fuzz_design` runs longer.

mod common;

use common::{config, no_debug_dump, token_soup, value};
use proptest::prelude::*;
use serde_json::{Value, json};
use wasmesh_sdk::design::{TraitEffect, parse_component, plan_design, plan_design_with, traits};
use wasmesh_sdk::{DesignRequest, Plan, Step};

const OAM_API_VERSION: [&str; 2] = [
    "design.meshmodel.io.k8s.APIVersion",
    "pattern.meshery.io.mesh.workload.k8sAPIVersion",
];
const OAM_KIND: [&str; 2] = [
    "design.meshmodel.io.k8s.Kind",
    "pattern.meshery.io.mesh.workload.k8sKind",
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-z0-9][a-z0-9-]{0,15}", 1 => "\\PC{0,12}"]
}

fn api_version() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("v1".to_string()),
        Just("apps/v1".to_string()),
        "(policy\\.linkerd\\.io|networking\\.istio\\.io|security\\.istio\\.io)/v1(beta[1-3])?",
        "\\PC{0,12}",
    ]
}

fn kind() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            &[
                "ConfigMap",
                "Deployment",
                "Server",
                "VirtualService",
                "IstioMesh",
                "VizLinkerdAddon",
                "Namespace",
                "CustomResourceDefinition"
            ][..]
        )
        .prop_map(str::to_string),
        "[A-Z][A-Za-z]{0,10}",
    ]
}

/// An OAM Component as ProcessOAM sends it, in either annotation spelling.
fn oam_component() -> impl Strategy<Value = Value> {
    (
        kind(),
        prop::option::of(api_version()),
        name(),
        prop::option::of(name()),
        value(),
        0..2usize,
        prop::option::of(value()),
    )
        .prop_map(|(kind, api_version, name, namespace, settings, spelling, labels)| {
            let mut metadata = json!({"name": name});
            if let Some(ns) = namespace {
                metadata["namespace"] = ns.into();
            }
            if let Some(v) = api_version {
                metadata["annotations"] = json!({OAM_API_VERSION[spelling]: v, OAM_KIND[spelling]: kind.clone()});
            }
            if let Some(l) = labels {
                metadata["labels"] = l;
            }
            json!({"kind": "Component", "metadata": metadata, "spec": {"type": kind, "settings": settings}})
        })
}

/// A Meshery component declaration as a v1beta1 or v1beta2 design holds it.
fn declaration() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&["components.meshery.io/v1beta1", "core.meshery.io/v1beta2", ""][..]),
        kind(),
        prop::option::of(api_version()),
        prop::option::of(name()),
        prop::option::of(name()),
        prop::option::of(name()),
        value(),
        prop::option::of(prop::sample::select(&["istio", "linkerd", "kubernetes"][..])),
    )
        .prop_map(|(schema, kind, version, name, display, namespace, spec, model)| {
            let mut d = json!({"component": {"kind": kind}, "configuration": {"metadata": {}, "spec": spec, "data": {"k": "v"}}});
            if !schema.is_empty() {
                d["schemaVersion"] = schema.into();
            }
            if let Some(v) = version {
                d["component"]["version"] = v.into();
            }
            if let Some(n) = name {
                d["configuration"]["metadata"]["name"] = n.into();
            }
            if let Some(n) = display {
                d["displayName"] = n.into();
            }
            if let Some(n) = namespace {
                d["configuration"]["metadata"]["namespace"] = n.into();
            }
            if let Some(m) = model {
                d["model"] = json!({"name": m});
            }
            d
        })
}

/// One design entry: a component of either shape (whole, or with a few bytes changed), or
/// anything at all.
fn entry() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop_oneof![oam_component(), declaration()].prop_map(|v| v.to_string()),
        1 => (prop_oneof![oam_component(), declaration()], any::<prop::sample::Index>(), "\\PC{0,4}").prop_map(|(v, at, insert)| {
            let mut s = v.to_string();
            let mut i = at.index(s.len() + 1);
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            s.insert_str(i, &insert);
            s
        }),
        1 => value().prop_map(|v| v.to_string()),
        1 => token_soup(),
        1 => any::<String>(),
    ]
}

/// An OAM Configuration with traits (list or map form), or anything at all.
fn configuration() -> impl Strategy<Value = Option<String>> {
    let properties = prop_oneof![
        3 => prop::collection::vec(prop_oneof![3 => "[a-z][a-z0-9-]{0,8}", 1 => "\\PC{0,8}"], 0..3)
            .prop_map(|ns| json!({"namespaces": ns})),
        1 => "[a-z][a-z0-9-]{0,8}".prop_map(|ns| json!({"namespaces": ns})),
        1 => value(),
    ];
    let t = (
        prop::sample::select(
            &[
                "automaticSidecarInjection",
                "automaticSidecarInjection.Linkerd",
                "mTLS",
                "other",
                "",
            ][..],
        ),
        properties,
    )
        .prop_map(|(n, p)| json!({"name": n, "properties": p}));
    let component = (name(), prop::collection::vec(t, 0..3), any::<bool>()).prop_map(|(c, ts, as_map)| {
        let traits = if as_map {
            Value::Object(
                ts.into_iter()
                    .map(|t| (t["name"].as_str().unwrap().to_string(), t["properties"].clone()))
                    .collect(),
            )
        } else {
            Value::Array(ts)
        };
        json!({"componentName": c, "traits": traits})
    });
    prop::option::of(prop_oneof![
        4 => prop::collection::vec(component, 0..4).prop_map(|cs| json!({"spec": {"components": cs}}).to_string()),
        1 => value().prop_map(|v| v.to_string()),
        1 => token_soup(),
    ])
}

fn request(components: Vec<String>, config: Option<String>, delete: bool) -> DesignRequest {
    DesignRequest {
        components,
        config,
        delete,
        operation_id: "op".into(),
        username: "u".into(),
        cluster: wasmesh_sdk::ClusterInfo {
            name: "c".into(),
            server: "s".into(),
        },
    }
}

/// What the host requires of every plan (host/wasmesh/src/convert.rs): applied objects are JSON
/// objects with apiVersion, kind and metadata.name.
fn check_plan_for_host(plan: &Plan) {
    for step in plan.stages.iter().flat_map(|s| &s.steps) {
        if let Step::Apply(json) = step {
            let v: Value = serde_json::from_str(json).expect("an applied object is JSON");
            for p in ["/apiVersion", "/kind", "/metadata/name"] {
                assert!(
                    v.pointer(p).and_then(Value::as_str).is_some_and(|s| !s.is_empty()),
                    "{p} missing in {json}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_component_never_panics_and_refusals_are_clear(json in entry()) {
        match parse_component(&json, "T") {
            Ok(c) => {
                prop_assert!(!c.kind.is_empty() && !c.name.is_empty());
                let o = c.to_object();
                prop_assert_eq!(&o["kind"], &Value::from(c.kind.clone()));
                prop_assert_eq!(&o["metadata"]["name"], &Value::from(c.name.clone()));
            }
            Err(e) => {
                prop_assert_eq!(e.code, "T-2001");
                prop_assert!(e.message.starts_with("design component is not usable: "), "{}", e.message);
                no_debug_dump(&e.message);
            }
        }
    }

    #[test]
    fn components_of_both_shapes_keep_their_type_name_and_namespace(v in prop_oneof![oam_component(), declaration()]) {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let oam = v.get("kind").is_some();
        let (kind, version, name, namespace) = if oam {
            let annotation = |keys: [&str; 2]| keys.iter().find_map(|k| s(&format!("/metadata/annotations/{}", k.replace('/', "~1"))));
            (annotation(OAM_KIND).or(s("/spec/type")), annotation(OAM_API_VERSION), s("/metadata/name"), s("/metadata/namespace"))
        } else {
            (s("/component/kind"), s("/component/version"), s("/configuration/metadata/name").or(s("/displayName")), s("/configuration/metadata/namespace"))
        };
        let mesh_or_addon = kind.as_deref().is_some_and(|k| k.ends_with("Mesh") || k.ends_with("Addon"));
        match parse_component(&v.to_string(), "T") {
            Ok(c) => {
                prop_assert_eq!(Some(c.kind.clone()), kind);
                prop_assert_eq!(c.api_version.clone(), version.unwrap_or_default());
                prop_assert_eq!(Some(c.name.clone()), name);
                prop_assert_eq!(c.namespace.clone(), namespace);
                let o = c.to_object();
                prop_assert_eq!(o["apiVersion"].as_str(), Some(c.api_version.as_str()));
                if !oam {
                    prop_assert_eq!(&o["data"], &json!({"k": "v"}), "a declaration's other fields are kept");
                }
            }
            Err(e) => {
                // Only a missing name, or a missing apiVersion of a Kubernetes kind, is refused.
                prop_assert!(name.is_none() || (version.is_none() && !mesh_or_addon), "{v}: {}", e.message);
            }
        }
    }

    #[test]
    fn traits_never_panic_and_refusals_are_clear(config in configuration()) {
        if let Err(e) = traits(config.as_deref().unwrap_or_default(), "T") {
            prop_assert_eq!(e.code, "T-2006");
            no_debug_dump(&e.message);
        }
    }

    #[test]
    fn every_entry_is_planned_or_rejected_and_plans_are_what_the_host_accepts(
        components in prop::collection::vec(entry(), 0..8),
        config in configuration(),
        delete in any::<bool>(),
    ) {
        let r = request(components, config, delete);
        let p = plan_design(&r, "T", "demo");
        let mut seen = std::collections::HashSet::new();
        for rej in &p.rejected {
            prop_assert!((rej.index as usize) < r.components.len() && seen.insert(rej.index));
            prop_assert!(rej.error.code.starts_with("T-"));
            no_debug_dump(&rej.error.message);
        }
        check_plan_for_host(&p.plan);
        let used = r.components.len() - p.rejected.len();
        prop_assert!(p.plan.summary.contains(&format!("{used} ")), "{}", p.plan.summary);
        for step in p.plan.stages.iter().flat_map(|s| &s.steps) {
            // A removal only deletes and waits; a deploy never deletes.
            match step {
                Step::Apply(_) => prop_assert!(!delete),
                Step::Delete(_) => prop_assert!(delete),
                _ => {}
            }
        }

        // With a trait handler, as the translators have one: the design is planned, or refused
        // whole with a trait error.
        let planned = plan_design_with(&r, "T", "demo", |c| wasmesh_sdk::design::Expansion::as_given(c, "T"), |t| {
            t.is("automaticSidecarInjection").then(|| {
                let namespaces = t.namespaces("T")?;
                Ok(TraitEffect::label_namespaces(&namespaces, "demo-injection", "enabled"))
            })
        });
        match planned {
            Ok(p) => check_plan_for_host(&p.plan),
            Err(e) => {
                prop_assert!(["T-2005", "T-2006", "T-2007"].contains(&e.code.as_str()), "{}: {}", e.code, e.message);
                no_debug_dump(&e.message);
            }
        }
    }
}

#[test]
fn deeply_nested_components_are_refused_not_overflowed() {
    let deep = format!(
        "{{\"kind\": \"Component\", \"x\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let e = parse_component(&deep, "T").unwrap_err();
    assert!(e.message.contains("recursion limit exceeded"), "{}", e.message);
    let e = traits(&deep, "T").unwrap_err();
    assert_eq!(e.code, "T-2006");
}
