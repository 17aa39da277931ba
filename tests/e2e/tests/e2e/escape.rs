//! Hostile plugins try to escape the sandbox or their grant. Each attempt fails only its own
//! operation, with an ERROR event that says what was refused, nothing is written, and the next
//! normal operation on the same listener succeeds.

use wasmesh_e2e::meshery::{ERROR, Generation, INFO};
use wasmesh_e2e::{Events, TestCluster, clear_log, client, configmap, request, start_host, writes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_escapes_fail() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("escape").await;
    let host = start_host().await;
    let grpc_port = host.listener("HOSTILE").unwrap().addr.to_string();
    let cached = std::fs::read_dir(wasmesh_e2e::cache_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .expect("a compiled plugin in the cache")
        .display()
        .to_string();
    let audit = std::env::temp_dir().join(format!("wasmesh-audit-{}.jsonl", std::process::id()));
    std::fs::write(&audit, "{\"secret\": \"audit line\"}\n").unwrap();
    let audit = audit.display().to_string();
    let mut c = client(&host, "HOSTILE", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let _ = std::fs::remove_file("/tmp/wasmesh-hostile-was-here");

    // (operation, body, what the guest must have seen)
    let cases = [
        ("read-file", "/etc/passwd", "read-file failed"),
        ("read-file", "/proc/self/environ", "read-file failed"),
        // Files that exist on the host: a compiled plugin in the cache, and an audit log.
        ("read-file", cached.as_str(), "read-file failed"),
        ("read-file", audit.as_str(), "read-file failed"),
        ("list-root", "", "list-root failed"),
        ("write-file", "", "write-file failed"),
        ("env", "", "env: 0 variables [], 0 args"),
        ("tcp-connect", grpc_port.as_str(), "tcp-connect failed"),
        ("udp-send", "", "udp-send failed"),
        ("resolve-name", "", "resolve-name failed"),
        ("spawn", "", "spawn failed"),
    ];
    for (i, (op, body, saw)) in cases.into_iter().enumerate() {
        let req = request(op, ns.name(), body, &[cluster.kubeconfig()]);
        c.apply(req.clone()).await.unwrap();
        let e = events.outcome(&req.operation_id).await;
        assert_eq!(e.event_type, ERROR, "{op}: {e:#?}");
        assert!(
            e.summary.contains(saw),
            "{op}: the guest should have seen {saw:?}: {e:#?}"
        );
        assert!(!e.summary.contains("SUCCEEDED"), "{op} escaped: {e:#?}");
        if op == "read-file" {
            // With no directory granted, every host file (these exist) is simply not there.
            assert!(e.summary.contains("No such file or directory"), "{op}: {e:#?}");
        }
        after_each(&mut c, &events, &cluster, ns.name(), i).await;
    }
    assert!(!std::path::Path::new("/tmp/wasmesh-hostile-was-here").exists());
    let _ = std::fs::remove_file(&audit);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_escapes_are_refused_before_anything_is_written() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("grant").await;
    let host = start_host().await;
    let mut c = client(&host, "HOSTILE", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    // (operation, what the refusal names)
    let cases = [
        ("read-secret", "get secrets (core) in namespace"),
        ("write-other-namespace", "configmaps (core) in namespace kube-system"),
        ("write-forbidden-verb", "serviceaccounts (core)"),
        ("smuggle-wait", "get secrets (core)"),
        ("smuggle-label", "namespaces (core) at cluster scope"),
    ];
    // Names that would change the URL path never reach the API server.
    for (op, says) in [
        ("path-read", "not a valid Kubernetes object name"),
        ("path-label", "not a valid Kubernetes namespace name"),
    ] {
        clear_log(&cluster);
        let req = request(op, ns.name(), "", &[cluster.kubeconfig()]);
        c.apply(req.clone()).await.unwrap();
        let e = events.outcome(&req.operation_id).await;
        assert_eq!(e.event_type, ERROR, "{op}: {e:#?}");
        assert!(format!("{} {}", e.summary, e.details).contains(says), "{op}: {e:#?}");
        if let Some(server) = cluster.server() {
            let reached: Vec<_> = server
                .requests()
                .into_iter()
                .filter(|r| r.path.contains("secrets") || r.path.contains("victim"))
                .collect();
            assert!(reached.is_empty(), "{op}: {reached:?}");
        }
        assert_eq!(writes(&cluster), Vec::<String>::new(), "{op}");
    }
    for (i, (op, names)) in cases.into_iter().enumerate() {
        clear_log(&cluster);
        let req = request(op, ns.name(), "", &[cluster.kubeconfig()]);
        c.apply(req.clone()).await.unwrap();
        let e = events.outcome(&req.operation_id).await;
        assert_eq!(e.event_type, ERROR, "{op}: {e:#?}");
        assert_eq!(e.error_code, "WASMESH-CAP-DENIED", "{op}: {e:#?}");
        let text = format!("{} {} {:?}", e.summary, e.details, e.probable_cause);
        assert!(text.contains(names), "{op}: the refusal should name {names:?}: {e:#?}");
        assert!(
            e.suggested_remediation
                .iter()
                .any(|r| r.contains("grant the plugin a rule")),
            "{op}: {e:#?}"
        );
        assert_eq!(writes(&cluster), Vec::<String>::new(), "{op}: nothing may be written");
        if let Some(server) = cluster.server() {
            let secret_reads: Vec<_> = server
                .requests()
                .into_iter()
                .filter(|r| r.path.contains("/secrets"))
                .collect();
            assert!(
                secret_reads.is_empty(),
                "{op}: a refused read never reaches the API server: {secret_reads:?}"
            );
        }
        after_each(&mut c, &events, &cluster, ns.name(), i).await;
    }
    // The plan that mixed an allowed and a forbidden write was refused whole.
    assert!(configmap(&cluster, ns.name(), "hostile-allowed").await.is_none());
    host.shutdown().await;
}

/// A normal operation on the same listener still works.
async fn after_each(c: &mut wasmesh_e2e::meshery::Client, events: &Events, cluster: &TestCluster, ns: &str, i: usize) {
    let name = format!("still-serving-{i}");
    let body = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n");
    let ok = request("custom", ns, &body, &[cluster.kubeconfig()]);
    c.apply(ok.clone()).await.unwrap();
    let e = events.outcome(&ok.operation_id).await;
    assert_eq!(e.event_type, INFO, "{e:#?}");
    assert!(configmap(cluster, ns, &name).await.is_some());
}
