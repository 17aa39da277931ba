//! The Kuma translator (built on the public SDK only) through gRPC as Meshery sends it: install
//! and uninstall of the control plane, sidecar injection, the mesh-wide mTLS policy, `custom`
//! and a design of Kuma kinds, against an API server over HTTPS.
//!
//! Tests that write Kuma's cluster-wide objects (CRDs, RBAC, webhooks) hold the Kuma lock so they
//! take turns on a real cluster; a guard removes what a failed test leaves.

use serde_json::{Value, json};
use wasmesh_e2e::cluster_objects::{Leftovers, get, get_live, must_get};
use wasmesh_e2e::meshery::{Client, ERROR, Generation, ProcessOamRequest};
use wasmesh_e2e::{Events, TestCluster, client, namespace, namespace_gone, oam_component, request, run, run_ok};

const NS: &str = "kuma-system";
const VERSION: &str = "2.9.3";
const CRDS: &[&str] = &[
    "meshes.kuma.io",
    "dataplanes.kuma.io",
    "meshtrafficpermissions.kuma.io",
    "meshtimeouts.kuma.io",
    "meshretries.kuma.io",
    "meshhealthchecks.kuma.io",
    "meshcircuitbreakers.kuma.io",
    "meshhttproutes.kuma.io",
    "meshtcproutes.kuma.io",
    "meshloadbalancingstrategies.kuma.io",
    "meshratelimits.kuma.io",
    "meshaccesslogs.kuma.io",
];
const MUTATING: &str = "kuma-admission-mutating-webhook-configuration";
const VALIDATING: &str = "kuma-validating-webhook-configuration";

/// A host serving only the built-in Kuma plugin (the shared test config serves Istio and Linkerd),
/// a client of it and the client's events.
async fn connect(generation: Generation) -> (wasmesh::RunningHost, Client, Events) {
    wasmesh_e2e::init_log();
    let host = wasmesh::start(wasmesh_e2e::serving(&["kuma"]))
        .await
        .expect("host starts");
    let c = client(&host, "KUMA", generation).await;
    let events = Events::subscribe(&c).await;
    (host, c, events)
}

fn leftovers(cluster: &TestCluster) -> Leftovers {
    Leftovers::new(cluster, NS)
        .crds(CRDS)
        .cluster_roles_and_bindings(&["kuma-control-plane"])
        .mutating_webhooks(&[MUTATING])
        .validating_webhooks(&[VALIDATING])
}

fn label(ns: &k8s_openapi::api::core::v1::Namespace, key: &str) -> Option<String> {
    ns.metadata.labels.as_ref().and_then(|l| l.get(key).cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kuma_installs_its_control_plane_with_its_own_webhook_certificates_and_uninstalls_it() {
    let _lock = wasmesh_e2e::control_plane_lock("kuma").await;
    let cluster = TestCluster::start().await;
    if let Some(server) = cluster.server() {
        server.set_deployments_become_available(true);
    }
    let _leftovers = leftovers(&cluster);
    let (_host, mut c, events) = connect(Generation::Adapter).await;

    let done = run_ok(
        &mut c,
        &events,
        request("kuma", "default", "waitSeconds: 120", &[cluster.kubeconfig()]),
    )
    .await;
    assert_eq!(
        done.summary,
        format!("Kuma {VERSION} control plane installed in namespace {NS}")
    );
    for crd in CRDS {
        let o = must_get(
            &cluster,
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            crd,
        )
        .await;
        let established = o["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Established" && c["status"] == "True");
        assert!(established, "{crd} not established");
    }
    let cp = must_get(&cluster, "apps/v1", "Deployment", Some(NS), "kuma-control-plane").await;
    let container = &cp["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], format!("docker.io/kumahq/kuma-cp:{VERSION}"));
    must_get(&cluster, "v1", "Service", Some(NS), "kuma-control-plane").await;
    let secret = must_get(&cluster, "v1", "Secret", Some(NS), "kuma-tls-cert").await;
    let ca = secret["data"]["ca.crt"].as_str().expect("a CA").to_string();
    assert!(!ca.is_empty() && secret["data"]["tls.key"].as_str().is_some_and(|k| !k.is_empty()));
    for (kind, name) in [
        ("MutatingWebhookConfiguration", MUTATING),
        ("ValidatingWebhookConfiguration", VALIDATING),
    ] {
        let w = must_get(&cluster, "admissionregistration.k8s.io/v1", kind, None, name).await;
        for hook in w["webhooks"].as_array().unwrap() {
            assert_eq!(hook["clientConfig"]["caBundle"], ca.as_str(), "{}", hook["name"]);
            assert_eq!(hook["clientConfig"]["service"]["name"], "kuma-control-plane");
        }
    }
    must_get(
        &cluster,
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        None,
        "kuma-control-plane",
    )
    .await;

    let undo = request("kuma", "default", "", &[cluster.kubeconfig()]).deleting(true);
    let done = run_ok(&mut c, &events, undo).await;
    assert!(done.summary.contains("removed"), "{}", done.summary);
    assert!(namespace_gone(&cluster, NS).await, "{NS} is still there");
    for crd in CRDS {
        let left = get_live(
            &cluster,
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            crd,
        )
        .await;
        assert!(left.is_none(), "CRD {crd} left behind");
    }
    for (kind, name) in [
        ("MutatingWebhookConfiguration", MUTATING),
        ("ValidatingWebhookConfiguration", VALIDATING),
        ("ClusterRole", "kuma-control-plane"),
    ] {
        let api = if kind == "ClusterRole" {
            "rbac.authorization.k8s.io/v1"
        } else {
            "admissionregistration.k8s.io/v1"
        };
        assert!(
            get(&cluster, api, kind, None, name).await.is_none(),
            "{kind} {name} left behind"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecar_injection_labels_the_namespace_and_undo_removes_the_label() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("kuma-inject").await;
    let (_host, mut c, events) = connect(Generation::Mesh).await;
    let inject = || request("sidecar-injection", ns.name(), "", &[cluster.kubeconfig()]);
    let done = run_ok(&mut c, &events, inject()).await;
    assert!(done.summary.contains("injection enabled"), "{}", done.summary);
    let labelled = namespace(&cluster, ns.name()).await.unwrap();
    assert_eq!(
        label(&labelled, "kuma.io/sidecar-injection").as_deref(),
        Some("enabled")
    );
    run_ok(&mut c, &events, inject().deleting(true)).await;
    let plain = namespace(&cluster, ns.name()).await.unwrap();
    assert_eq!(label(&plain, "kuma.io/sidecar-injection"), None);
}

/// Two of Kuma's CRDs, written here as an operator would apply them with `custom`.
fn crd(kind: &str, plural: &str, scope: &str) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.kuma.io")},
        "spec": {"group": "kuma.io", "scope": scope, "names": {"kind": kind, "plural": plural},
            "versions": [{"name": "v1alpha1", "served": true, "storage": true, "schema": {"openAPIV3Schema":
                {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_custom_and_a_design_of_kuma_kinds_work_on_kumas_crds() {
    let _lock = wasmesh_e2e::control_plane_lock("kuma").await;
    let cluster = TestCluster::start().await;
    let _leftovers =
        Leftovers::new(&cluster, "kuma-e2e-unused").crds(&["meshes.kuma.io", "meshtrafficpermissions.kuma.io"]);
    let ns = cluster.namespace("kuma-design").await;
    let (host, mut c, events) = connect(Generation::Adapter).await;
    let kc = [cluster.kubeconfig()];

    // No Kuma: the mTLS policy is refused with the plugin's code and nothing is written.
    let done = run(&mut c, &events, request("mtls-policy", "default", "", &kc)).await;
    assert_eq!(done.event_type, ERROR, "{done:#?}");
    assert_eq!(done.error_code, "WASMESH-KUMA-1202");

    // custom: the CRDs, then the policy on them.
    let body = [
        crd("Mesh", "meshes", "Cluster"),
        crd("MeshTrafficPermission", "meshtrafficpermissions", "Namespaced"),
    ]
    .iter()
    .map(|o| serde_json::to_string(o).unwrap())
    .collect::<Vec<_>>()
    .join("\n---\n");
    run_ok(&mut c, &events, request("custom", "default", &body, &kc)).await;
    let done = run_ok(&mut c, &events, request("mtls-policy", "default", "", &kc)).await;
    assert!(done.summary.contains("mTLS enabled"), "{}", done.summary);
    let mesh = must_get(&cluster, "kuma.io/v1alpha1", "Mesh", None, "default").await;
    assert_eq!(mesh["spec"]["mtls"]["enabledBackend"], "ca-1");
    assert_eq!(mesh["spec"]["mtls"]["backends"][0]["type"], "builtin");

    // A design: a MeshTrafficPermission passed through whole, one with an unknown version
    // rejected alone, and the injection trait labelling the namespace.
    let mtp = json!({"targetRef": {"kind": "Mesh"}, "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]});
    let components = vec![
        oam_component(
            "kuma.io/v1alpha1",
            "MeshTrafficPermission",
            "allow-all",
            ns.name(),
            mtp.clone(),
        )
        .to_string(),
        oam_component(
            "kuma.io/v9",
            "MeshTrafficPermission",
            "bad-version",
            ns.name(),
            json!({}),
        )
        .to_string(),
    ];
    let config = json!({"spec": {"components": [{"componentName": "allow-all", "traits": [
        {"name": "automaticSidecarInjection", "properties": {"namespaces": [ns.name()]}}]}]}});
    let oam = |delete_op| ProcessOamRequest {
        username: "e2e".into(),
        delete_op,
        oam_comps: components.clone(),
        oam_config: config.to_string(),
        kube_configs: vec![cluster.kubeconfig().to_string()],
    };
    let mut mesh_client = client(&host, "KUMA", Generation::Mesh).await;
    let message = mesh_client.process_oam(oam(false)).await.expect("design deployed");
    assert!(
        message.contains("1 rejected") && message.contains("bad-version"),
        "{message}"
    );
    let applied = must_get(
        &cluster,
        "kuma.io/v1alpha1",
        "MeshTrafficPermission",
        Some(ns.name()),
        "allow-all",
    )
    .await;
    assert_eq!(applied["spec"], mtp);
    let labelled = namespace(&cluster, ns.name()).await.unwrap();
    assert_eq!(
        label(&labelled, "kuma.io/sidecar-injection").as_deref(),
        Some("enabled")
    );

    // Undo everything: the design, the policy, the CRDs.
    mesh_client.process_oam(oam(true)).await.expect("design deleted");
    assert!(
        get(
            &cluster,
            "kuma.io/v1alpha1",
            "MeshTrafficPermission",
            Some(ns.name()),
            "allow-all"
        )
        .await
        .is_none()
    );
    let done = run_ok(
        &mut c,
        &events,
        request("mtls-policy", "default", "", &kc).deleting(true),
    )
    .await;
    assert!(done.summary.contains("removed"), "{}", done.summary);
    assert!(
        get(&cluster, "kuma.io/v1alpha1", "Mesh", None, "default")
            .await
            .is_none()
    );
    run_ok(&mut c, &events, request("custom", "default", &body, &kc).deleting(true)).await;
    let left = get_live(
        &cluster,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        "meshes.kuma.io",
    )
    .await;
    assert!(left.is_none(), "custom's undo removes the CRD");
}
