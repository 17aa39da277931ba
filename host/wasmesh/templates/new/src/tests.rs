//! Unit tests, run natively by `cargo test`: the SDK's Harness is a fake cluster whose reads are
//! checked against manifest.json as the host checks them. (`translator!` adds one more test:
//! manifest.json is exactly what the description above generates.)

use super::*;
use wasmesh_sdk::design::testing::{applied, design_request, oam_component};
use wasmesh_sdk::testing::{Harness, request};

#[test]
fn describe_lists_the_operations_of_the_table() {
    let info = TRANSLATOR.info();
    let keys: Vec<&str> = info.operations.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["{{mesh}}", "label-namespace", "custom"]);
    assert_eq!(info.mesh_versions, [VERSION]);
    assert_eq!(design_kinds()[0].kind, "{{Display}}Mesh");
}

#[test]
fn label_namespace_reads_the_namespace_first() {
    let h = Harness::new(TRANSLATOR.manifest, "label-namespace", "shop");
    let e = label_namespace(&request("label-namespace", "shop", "")).unwrap_err();
    assert_eq!(e.code, "WASMESH-{{MESH}}-1202");
    assert_eq!(h.reads(), ["get v1 Namespace /shop"]);

    h.add(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}));
    let p = label_namespace(&request("label-namespace", "shop", "")).unwrap();
    let Step::NamespaceMetadata(change) = &p.stages[0].steps[0] else {
        panic!("not a namespace step: {p:?}");
    };
    assert_eq!(change.set_labels, [(LABEL.to_string(), "true".to_string())]);
    assert!(h.events().is_empty());

    let mut undo = request("label-namespace", "shop", "");
    undo.delete = true;
    let p = label_namespace(&undo).unwrap();
    assert!(p.summary.contains("removed"), "{}", p.summary);

    let e = label_namespace(&request("label-namespace", "Not_A_Name", "")).unwrap_err();
    assert_eq!(e.code, "WASMESH-{{MESH}}-1201");
}

#[test]
fn install_applies_the_control_plane_and_refuses_bad_options() {
    let p = install(&request("{{mesh}}", "default", "greeting: hi")).unwrap();
    let objects = applied(&p);
    assert_eq!(objects[0]["kind"], "Namespace");
    assert_eq!(objects[1]["data"]["greeting"], "hi");

    let e = install(&request("{{mesh}}", "default", "colour: blue")).unwrap_err();
    assert_eq!(e.code, "WASMESH-{{MESH}}-1101");
    let mut old = request("{{mesh}}", "default", "");
    old.version = "0.9.0".into();
    assert_eq!(install(&old).unwrap_err().code, "WASMESH-{{MESH}}-1102");
}

#[test]
fn a_design_installs_the_control_plane_with_its_settings() {
    let component = oam_component(
        "{{Display}}Mesh",
        "",
        "{{mesh}}",
        "",
        json!({"greeting": "from a design"}),
    );
    let d = provision(&design_request(vec![component], None)).unwrap();
    assert!(d.rejected.is_empty(), "{:?}", d.rejected);
    let objects = applied(&d.plan);
    let config = objects.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert_eq!(config["data"]["greeting"], "from a design");
}

#[test]
fn custom_applies_the_yaml_it_is_given() {
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: plain}\n";
    let p = TRANSLATOR.plan(&request("custom", "shop", yaml)).unwrap();
    assert_eq!(applied(&p)[0]["data"]["mode"], "plain");
}
