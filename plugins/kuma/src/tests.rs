//! Unit tests of the Kuma translator, natively with the SDK's test harness.

use super::*;
use base64::Engine;
use serde_json::Value;
use wasmesh_sdk::design::testing::applied;
use wasmesh_sdk::testing::{Harness, request};
use x509_cert::der::DecodePem;

fn cert(b64: &Value) -> x509_cert::Certificate {
    let pem = base64::engine::general_purpose::STANDARD
        .decode(b64.as_str().unwrap())
        .unwrap();
    x509_cert::Certificate::from_pem(pem).unwrap()
}

#[test]
fn install_signs_the_webhook_certificate_with_the_ca_it_gives_the_api_server() {
    let p = install(&request("kuma", "default", "registry: mirror.example/kumahq")).unwrap();
    let objects = applied(&p);
    let find = |kind: &str| objects.iter().find(|o| o["kind"] == kind).unwrap();
    assert_eq!(objects[0]["kind"], "Namespace");
    let deployment = find("Deployment");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "mirror.example/kumahq/kuma-cp:2.9.3");
    let secret = find("Secret");
    let (ca, leaf) = (cert(&secret["data"]["ca.crt"]), cert(&secret["data"]["tls.crt"]));
    assert_eq!(leaf.tbs_certificate.issuer, ca.tbs_certificate.subject);
    assert_eq!(leaf.tbs_certificate.subject.to_string(), "CN=kuma-control-plane");
    for kind in ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"] {
        for w in find(kind)["webhooks"].as_array().unwrap() {
            assert_eq!(w["clientConfig"]["caBundle"], secret["data"]["ca.crt"], "{}", w["name"]);
        }
    }
    let mut undo = request("kuma", "default", "");
    undo.delete = true;
    let removed = install(&undo).unwrap();
    assert!(removed.summary.contains("removed"), "{}", removed.summary);
    let steps: usize = removed.stages.iter().map(|s| s.steps.len()).sum();
    assert_eq!(steps, objects.len(), "every installed object is deleted");
}

#[test]
fn bad_options_and_versions_are_refused() {
    let e = install(&request("kuma", "default", "color: blue")).unwrap_err();
    assert_eq!(e.code, "WASMESH-KUMA-1101");
    let e = install(&request("kuma", "default", "waitSeconds: 0")).unwrap_err();
    assert_eq!(e.code, "WASMESH-KUMA-1101");
    let mut r = request("kuma", "default", "");
    r.version = "1.0.0".into();
    assert_eq!(install(&r).unwrap_err().code, "WASMESH-KUMA-1102");
    let e = inject(&request("sidecar-injection", "Bad_NS", "")).unwrap_err();
    assert_eq!(e.code, "WASMESH-KUMA-1201");
}

#[test]
fn mtls_needs_the_mesh_crd() {
    let h = Harness::new(KUMA.manifest, "mtls-policy", "default");
    let e = mtls(&request("mtls-policy", "default", "")).unwrap_err();
    assert_eq!(e.code, "WASMESH-KUMA-1202");
    h.add(control_plane::crds()[0].clone());
    let p = mtls(&request("mtls-policy", "default", "")).unwrap();
    let mesh = &applied(&p)[0];
    assert_eq!(mesh["spec"]["mtls"]["backends"][0]["type"], "builtin");
}

#[test]
fn design_kinds_are_the_crds() {
    let crds = control_plane::crds();
    assert_eq!(crds.len(), control_plane::KINDS.len());
    for (crd, (kind, groups)) in crds.iter().zip(control_plane::KINDS) {
        assert_eq!(crd["spec"]["names"]["kind"], *kind);
        assert_eq!(crd["spec"]["names"]["plural"], groups[0].1);
    }
    assert_eq!(design_kinds().len(), control_plane::KINDS.len() + 1);
}
