//! Every undo (an operation sent again with delete_op) of both plugins, on a cluster with nothing
//! installed: its final event is an INFO whose summary says "removed", the word by which the
//! Meshery server records an undo as an undeploy (CONTRACT.md); the one operation that cannot be
//! undone says so with an ERROR.

use wasmesh_e2e::meshery::{ERROR, Generation, INFO};
use wasmesh_e2e::{TestCluster, connect, request, run};

const LINKERD: &[&str] = &[
    "linkerd",
    "annotate-namespace",
    "viz-addon",
    "jaeger-addon",
    "multicluster-addon",
    "smi-addon",
    "bookinfo",
    "httpbin",
    "imagehub",
    "emojivoto",
    "linkerd-check",
    "custom",
];

const ISTIO: &[&str] = &[
    "istio",
    "label-namespace",
    "prometheus-addon",
    "grafana-addon",
    "kiali-addon",
    "jaeger-addon",
    "zipkin-addon",
    "strict-mtls-policy-operation",
    "mutual-mtls-policy-operation",
    "disable-mtls-policy-operation",
    "deny-all-policy-operation",
    "envoy-filter-operation",
    "bookinfo",
    "httpbin",
    "imagehub",
    "emojivoto",
    "istio-vet",
    "custom",
];

async fn undo_all(adapter: &str, keys: &[&str]) {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("undo").await;
    let (host, mut c, events) = connect(adapter, Generation::Adapter).await;
    let body = |key: &str| {
        if key == "custom" {
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: undo-custom}\n"
        } else {
            ""
        }
    };
    for key in keys {
        let req = request(key, ns.name(), body(key), &[cluster.kubeconfig()]).deleting(true);
        let done = run(&mut c, &events, req).await;
        assert_eq!(done.event_type, INFO, "{adapter} {key}: {done:#?}");
        assert!(done.summary.contains("removed"), "{adapter} {key}: {}", done.summary);
    }
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_linkerd_undo_says_removed() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    undo_all("LINKERD", LINKERD).await;

    // Rotating the issuer cannot be undone: an ERROR that says why, not a false "removed".
    let cluster = TestCluster::start().await;
    let (host, mut c, events) = connect("LINKERD", Generation::Adapter).await;
    let req = request("rotate-identity-issuer", "default", "", &[cluster.kubeconfig()]).deleting(true);
    let done = run(&mut c, &events, req).await;
    assert_eq!(done.event_type, ERROR, "{done:#?}");
    assert!(done.summary.contains("cannot be undone"), "{}", done.summary);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_istio_undo_says_removed() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    undo_all("ISTIO", ISTIO).await;
}

/// A design deleted through Provision (the newest server) is an undo too: its events' summaries
/// say "removed" (the Meshery server records them as an undeploy), and so does the response.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_design_says_removed() {
    use wasmesh_e2e::declaration;
    use wasmesh_e2e::meshery::ProvisionRequest;
    for (adapter, model, kind, api_version) in [
        ("LINKERD", "linkerd", "ServiceProfile", "linkerd.io/v1alpha2"),
        ("ISTIO", "istio", "VirtualService", "networking.istio.io/v1"),
    ] {
        let cluster = TestCluster::start().await;
        let ns = cluster.namespace("undo-design").await;
        let (host, mut c, events) = connect(adapter, Generation::Adapter).await;
        let message = c
            .provision(ProvisionRequest {
                username: "e2e".into(),
                delete_op: true,
                declarations: vec![declaration(
                    model,
                    api_version,
                    kind,
                    "undo-design",
                    ns.name(),
                    serde_json::json!({}),
                )],
                kube_configs: vec![cluster.kubeconfig().to_string()],
            })
            .await
            .expect("design removed");
        assert!(
            wasmesh_e2e::design_summary(&message).starts_with("Design removed"),
            "{adapter}: {message}"
        );
        let done = events
            .wait_for("the design's final event", |e| {
                e.event_type == INFO && e.summary.starts_with("Design ")
            })
            .await;
        assert!(done.summary.contains("removed"), "{adapter}: {done:#?}");
        host.shutdown().await;
    }
}
