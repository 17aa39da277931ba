//! YAML bombs and deep nesting in a request's custom body, found by the property tests
//! (sdk/tests/fuzz_yaml.rs): refused by the translator with its "over the limit" error, not by
//! running it out of memory, and nothing is written. The adapter then serves the next request.

use wasmesh_e2e::meshery::{ERROR, Generation};
use wasmesh_e2e::{Events, TestCluster, clear_log, client, configmap, request, start_host, writes};

/// Ten aliases per level, nine levels: 10^9 items from a few hundred bytes.
fn billion_laughs() -> String {
    let mut body = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 1..=9 {
        body.push_str(&format!(
            "a{level}: &a{level} [{}]\n",
            vec![format!("*a{}", level - 1); 10].join(", ")
        ));
    }
    body
}

/// One anchored list of 100 000 items aliased 100 000 times: 500 KB, under the host's body
/// limit, 10^10 items expanded (serde_yaml's own bound counts alias jumps, not what they copy).
fn quadratic_aliases() -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: bomb}}\nx: &x [{}]\ny: [{}]\n",
        vec!["x"; 100_000].join(","),
        vec!["*x"; 100_000].join(",")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_bombs_and_deep_nesting_are_refused_as_over_the_limit() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("yamlbomb").await;
    let host = start_host().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases = [
        (
            "LINKERD",
            "custom",
            billion_laughs(),
            "WASMESH-LINKERD-1002",
            "expands past the limit",
        ),
        (
            "LINKERD",
            "custom",
            quadratic_aliases(),
            "WASMESH-LINKERD-1002",
            "expands past the limit",
        ),
        (
            "LINKERD",
            "custom",
            deep.clone(),
            "WASMESH-LINKERD-1002",
            "deeper than 128 levels",
        ),
        (
            "ISTIO",
            "custom",
            quadratic_aliases(),
            "WASMESH-ISTIO-1002",
            "expands past the limit",
        ),
        (
            "ISTIO",
            "istio",
            quadratic_aliases(),
            "WASMESH-ISTIO-1101",
            "expand past the limit",
        ),
        (
            "LINKERD",
            "linkerd",
            billion_laughs(),
            "WASMESH-LINKERD-1102",
            "expand past the limit",
        ),
        (
            "LINKERD",
            "viz-addon",
            deep,
            "WASMESH-LINKERD-1203",
            "deeper than 128 levels",
        ),
    ];
    for (adapter, op, body, code, says) in cases {
        let mut c = client(&host, adapter, Generation::Adapter).await;
        let events = Events::subscribe(&c).await;
        clear_log(&cluster);
        let req = request(op, ns.name(), &body, &[cluster.kubeconfig()]);
        c.apply(req.clone()).await.expect("the request itself is well-formed");
        let e = events.outcome(&req.operation_id).await;
        assert_eq!(e.event_type, ERROR, "{adapter} {op}: {e:#?}");
        assert_eq!(e.error_code, code, "{adapter} {op}: {}", e.summary);
        assert!(e.summary.contains(says), "{adapter} {op}: {}", e.summary);
        assert!(e.suggested_remediation.iter().any(|r| !r.is_empty()), "{adapter} {op}");
        assert_eq!(
            writes(&cluster),
            Vec::<String>::new(),
            "{adapter} {op}: nothing may be written"
        );
    }
    assert!(configmap(&cluster, ns.name(), "bomb").await.is_none());

    // The same adapter serves an ordinary body next.
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after-bombs, labels: &l {app: a}}\ndata: {k: v}\n";
    let req = request("custom", ns.name(), body, &[cluster.kubeconfig()]);
    c.apply(req.clone()).await.unwrap();
    let e = events.outcome(&req.operation_id).await;
    assert_ne!(e.event_type, ERROR, "{e:#?}");
    assert!(configmap(&cluster, ns.name(), "after-bombs").await.is_some());
    host.shutdown().await;
}
