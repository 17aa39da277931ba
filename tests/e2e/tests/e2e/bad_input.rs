//! Bad input gets an ERROR event (and, where it can be told at once, a gRPC error) that says
//! what is wrong and what to do, and nothing is written to any cluster.

use wasmesh_e2e::meshery::{ERROR, EventsResponse, Generation};
use wasmesh_e2e::{Events, TestCluster, clear_log, client, configmap, request, start_host, writes};

fn assert_actionable(e: &EventsResponse, code: &str, says: &str) {
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(e.error_code, code, "{e:#?}");
    assert!(e.summary.contains(says), "summary should say {says:?}: {e:#?}");
    assert!(
        e.probable_cause.iter().any(|c| !c.is_empty()),
        "a probable cause: {e:#?}"
    );
    assert!(
        e.suggested_remediation.iter().any(|r| !r.is_empty()),
        "a remediation: {e:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_fail_in_the_plugin_and_write_nothing() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("badbody").await;
    let host = start_host().await;
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let valid = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: must-not-exist\n";
    let cases = [
        (
            "malformed YAML",
            "apiVersion: v1\nkind: [ConfigMap\n".to_string(),
            "WASMESH-LINKERD-1001",
            "not valid YAML",
        ),
        (
            "no kind",
            "apiVersion: v1\nmetadata:\n  name: x\n".to_string(),
            "WASMESH-LINKERD-1003",
            "kind is missing",
        ),
        (
            "a valid object then one without a name",
            format!("{valid}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{}}\n"),
            "WASMESH-LINKERD-1003",
            "metadata.name",
        ),
        (
            "a scalar",
            "just a string".to_string(),
            "WASMESH-LINKERD-1003",
            "not a mapping",
        ),
        (
            "nothing",
            "# only a comment\n".to_string(),
            "WASMESH-LINKERD-1004",
            "no Kubernetes object",
        ),
        (
            "a kind the cluster does not serve",
            "apiVersion: example.com/v1\nkind: Nope\nmetadata:\n  name: x\n".to_string(),
            "WASMESH-CLUSTER-1003",
            "does not serve Nope",
        ),
    ];
    for (what, body, code, says) in cases {
        clear_log(&cluster);
        let req = request("custom", ns.name(), &body, &[cluster.kubeconfig()]);
        c.apply(req.clone())
            .await
            .unwrap_or_else(|e| panic!("{what}: the request itself is well-formed: {e}"));
        let e = events.outcome(&req.operation_id).await;
        assert_actionable(&e, code, says);
        assert_eq!(writes(&cluster), Vec::<String>::new(), "{what}: nothing may be written");
    }
    assert!(configmap(&cluster, ns.name(), "must-not-exist").await.is_none());
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_before_any_work() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("badreq").await;
    let host = start_host().await;
    let mut c = client(&host, "ISTIO", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    let valid = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: must-not-exist\n";
    let exec_kubeconfig = "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nclusters:\n- name: k\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/touch, args: [/tmp/wasmesh-exec-ran]}\n";
    let oversized = format!("{valid}data:\n  big: \"{}\"\n", "x".repeat(4 << 20));
    let cases: Vec<(&str, &str, String, Vec<String>, &str, &str)> = vec![
        (
            "unknown operation",
            "no-such-op",
            valid.into(),
            vec![cluster.kubeconfig().into()],
            "WASMESH-HOST-1005",
            "unknown operation \"no-such-op\"",
        ),
        (
            "no kubeconfig",
            "custom",
            valid.into(),
            vec![],
            "WASMESH-HOST-1003",
            "names no Kubernetes cluster",
        ),
        (
            "empty kubeconfig",
            "custom",
            valid.into(),
            vec![String::new()],
            "WASMESH-CLUSTER-1001",
            "it is empty",
        ),
        (
            "invalid kubeconfig",
            "custom",
            valid.into(),
            vec!["clusters: 12\n".into()],
            "WASMESH-CLUSTER-1001",
            "not usable",
        ),
        (
            "exec kubeconfig",
            "custom",
            valid.into(),
            vec![exec_kubeconfig.into()],
            "WASMESH-CLUSTER-1001",
            "exec plugin",
        ),
        (
            "one bad kubeconfig of two",
            "custom",
            valid.into(),
            vec![cluster.kubeconfig().into(), "nope".into()],
            "WASMESH-CLUSTER-1001",
            "kubeconfig 2 of 2",
        ),
        (
            "oversized body",
            "custom",
            oversized,
            vec![cluster.kubeconfig().into()],
            "WASMESH-HOST-1006",
            "over the limit",
        ),
    ];
    for (what, op, body, kubeconfigs, code, says) in cases.into_iter().chain([(
        "a namespace that would change the URL",
        "custom",
        valid.to_string(),
        vec![cluster.kubeconfig().to_string()],
        "WASMESH-HOST-1007",
        "not a valid Kubernetes namespace name",
    )]) {
        clear_log(&cluster);
        let refs: Vec<&str> = kubeconfigs.iter().map(String::as_str).collect();
        let namespace = if code == "WASMESH-HOST-1007" {
            "kube-system?"
        } else {
            ns.name()
        };
        let req = request(op, namespace, &body, &refs);
        let status = c.apply(req.clone()).await.expect_err(what);
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{what}: {status:?}");
        assert!(
            status.message().contains(code),
            "{what}: the status names the code: {status:?}"
        );
        let e = events.outcome(&req.operation_id).await;
        assert_actionable(&e, code, says);
        assert_eq!(writes(&cluster), Vec::<String>::new(), "{what}: nothing may be written");
    }
    assert!(configmap(&cluster, ns.name(), "must-not-exist").await.is_none());
    assert!(
        !std::path::Path::new("/tmp/wasmesh-exec-ran").exists(),
        "the exec plugin must never run"
    );
    host.shutdown().await;
}
