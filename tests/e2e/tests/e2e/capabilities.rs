//! The built-in translators declare exactly what their operations need.
//!
//! The host checks every call against the rules its manifest ties to that call's operation, so
//! an operation whose rules are missing fails with a capability denial. Then the audit log of the
//! whole run must use every (group, resource, verb) of every rule, through the operations the
//! rule names: a rule nothing used is declared but not needed. Wildcard rules (the YAML of
//! `custom` and plain objects in designs) and the RBAC-only verbs `bind` and `escalate` (used
//! only when a role's rules are not all held) are left out of that second half.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Value, json};
use wasmesh_e2e::meshery::{Generation, INFO, ProvisionRequest};
use wasmesh_e2e::{Events, TestCluster, cache_dir, client, declaration, request, test_config};

/// One step of the run: an operation (or `design`) with its body, namespace and direction.
struct Run {
    op: String,
    body: String,
    namespace: String,
    delete: bool,
}

fn run(op: &str, body: &str, namespace: &str, delete: bool) -> Run {
    Run {
        op: op.into(),
        body: body.into(),
        namespace: namespace.into(),
        delete,
    }
}

/// A host with the built-in `mesh` granted everything it declares, auditing to a file of its
/// own: the host checks each call against its own operation's rules, and the audit names the
/// operation of every decision.
async fn host_for(mesh: &str) -> (wasmesh::RunningHost, PathBuf) {
    let path = cache_dir()
        .join("..")
        .join(format!("caps-{}", uuid::Uuid::new_v4().simple()))
        .join("audit.jsonl");
    let mut config = test_config();
    config.plugins.retain(|p| p.name == mesh);
    config.audit_log = Some(path.clone());
    // Installs plan and sign certificates in the plugin, and this host also writes an audit
    // log: give a loaded 2-core machine room.
    config.limits.call_timeout_ms = 20_000;
    let host = wasmesh::start(config).await.expect("host starts");
    assert!(host.skipped.is_empty(), "the plugin loads: {:?}", host.skipped);
    (host, path)
}

/// Runs one step; the error says what the step's own rules did not allow.
async fn carry_out(host: &wasmesh::RunningHost, mesh: &str, cluster: &TestCluster, step: &Run) -> Result<(), String> {
    let mut c = client(host, mesh, Generation::Adapter).await;
    if step.op == "design" {
        let message = c
            .provision(ProvisionRequest {
                username: "caps".into(),
                delete_op: step.delete,
                declarations: vec![step.body.clone()],
                kube_configs: vec![cluster.kubeconfig().to_string()],
            })
            .await
            .map_err(|s| format!("design (delete {}): {}", step.delete, s.message()))?;
        if message.contains("not deployed") {
            return Err(format!("design (delete {}): {message}", step.delete));
        }
        return Ok(());
    }
    let events = Events::subscribe(&c).await;
    let mut req = request(&step.op, &step.namespace, &step.body, &[cluster.kubeconfig()]);
    req.delete_op = step.delete;
    c.apply(req.clone()).await.unwrap();
    let e = events.outcome(&req.operation_id).await;
    if e.event_type == INFO {
        Ok(())
    } else {
        Err(format!(
            "{} (delete {}): {}\n{}",
            step.op, step.delete, e.summary, e.details
        ))
    }
}

/// (group, resource, verb) triples of a manifest's rules that no allowed decision of the rule's
/// operations used.
fn unused(manifest: &Value, mesh: &str, audit: &[Value], request_namespace: &str) -> Vec<String> {
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let mut out = Vec::new();
    for rule in manifest["kube"].as_array().unwrap() {
        let (groups, resources, verbs) = (strs(&rule["apiGroups"]), strs(&rule["resources"]), strs(&rule["verbs"]));
        if groups.iter().chain(&resources).any(|x| x == "*") {
            continue;
        }
        let ops = strs(&rule["operations"]);
        let scope = &rule["namespaces"];
        // As the host's check reads a scope: cluster rules are for cluster-scoped resources,
        // the others for namespaced ones.
        let in_scope = |d: &Value| {
            let namespaced = d["namespaced"]
                .as_bool()
                .expect("the audit says whether it is namespaced");
            match (scope.as_str(), d["namespace"].as_str()) {
                (Some("cluster"), _) => !namespaced,
                (Some("all"), _) => namespaced,
                (Some("request"), Some(ns)) => namespaced && ns == request_namespace,
                (None, Some(ns)) => namespaced && strs(scope).iter().any(|l| l == ns),
                _ => false,
            }
        };
        for g in &groups {
            for r in &resources {
                for v in verbs.iter().filter(|v| !matches!(v.as_str(), "bind" | "escalate")) {
                    let used = audit.iter().any(|d| {
                        d["allowed"] == true
                            && d["group"] == g.as_str()
                            && d["resource"] == r.as_str()
                            && d["verb"] == v.as_str()
                            && in_scope(d)
                            && d["plugin"] == mesh
                            && d["operation"]
                                .as_str()
                                .is_some_and(|o| ops.is_empty() || ops.iter().any(|x| x == o))
                    });
                    if !used {
                        out.push(format!("{v} {g}/{r} {scope} for {ops:?}"));
                    }
                }
            }
        }
    }
    out
}

fn audit_of(path: &PathBuf) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn manifest(mesh: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../plugins/{mesh}/manifest.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linkerd_declares_exactly_what_its_operations_need() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("caps-l5d").await;
    let ns = ns.name().to_string();
    let install = r#"{"waitSeconds": 120}"#;
    let addons = ["viz-addon", "jaeger-addon", "multicluster-addon", "smi-addon"];
    let samples = ["bookinfo", "httpbin", "imagehub", "emojivoto"];
    let design = declaration(
        "linkerd",
        "policy.linkerd.io/v1beta1",
        "Server",
        "caps-server",
        &ns,
        json!({"podSelector": {"matchLabels": {"app": "web"}}, "port": 8080}),
    );
    let custom = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps-custom\n";

    let mut steps = vec![
        run("linkerd", install, "default", false),
        run("annotate-namespace", "", &ns, false),
    ];
    steps.extend(addons.iter().map(|a| run(a, "", "default", false)));
    steps.extend(samples.iter().map(|s| run(s, "", &ns, false)));
    steps.extend([
        run("linkerd-check", "", "default", false),
        run("rotate-identity-issuer", "", "default", false),
        run("custom", custom, &ns, false),
        run("custom", custom, &ns, true),
        run("design", &design, &ns, false),
        run("design", &design, &ns, true),
    ]);
    steps.extend(samples.iter().map(|s| run(s, "", &ns, true)));
    steps.extend(addons.iter().map(|a| run(a, "", "default", true)));
    steps.extend([
        run("annotate-namespace", "", &ns, true),
        run("linkerd", "", "default", true),
    ]);

    exercise("linkerd", &cluster, &steps, &ns).await;
}

/// Runs every step (each checked against its own operation's rules), then checks the manifest
/// both ways: each operation had what it needed, each rule was needed.
async fn exercise(mesh: &str, cluster: &TestCluster, steps: &[Run], request_namespace: &str) {
    let manifest = manifest(mesh);
    let operations: Vec<&str> = steps
        .iter()
        .map(|s| s.op.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Every operation is exercised (a manifest naming an operation the plugin does not offer
    // is refused when the plugin loads).
    let mut all = offered(mesh).await;
    all.insert("design".into());
    assert_eq!(all, operations.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
    let (host, audit_path) = host_for(mesh).await;
    let mut failed = Vec::new();
    for step in steps {
        if let Err(e) = carry_out(&host, mesh, cluster, step).await {
            failed.push(e);
        }
    }
    host.shutdown().await;
    assert!(
        failed.is_empty(),
        "operations that their own rules did not allow:\n{}",
        failed.join("\n")
    );
    let unused = unused(&manifest, mesh, &audit_of(&audit_path), request_namespace);
    assert!(
        unused.is_empty(),
        "declared but used by none of the rule's operations:\n{}",
        unused.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_declares_exactly_what_its_operations_need() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("caps-istio").await;
    let ns = ns.name().to_string();
    // Ambient: the profile with the most kinds (DaemonSets for istio-cni and ztunnel).
    let install = "profile: ambient\nwaitSeconds: 120";
    let samples = ["bookinfo", "httpbin", "imagehub", "emojivoto"];
    let design = declaration(
        "istio",
        "networking.istio.io/v1",
        "VirtualService",
        "caps-vs",
        &ns,
        json!({"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews"}}]}]}),
    );
    let custom = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps-custom\n";

    let mut steps = vec![
        run("istio", install, "default", false),
        run("label-namespace", "", &ns, false),
        run("istio-vet", "", &ns, false),
        run("istio-vet", "", "all", false),
    ];
    // Jaeger and Zipkin share their Services: one at a time.
    for (addon, delete) in [
        ("prometheus-addon", false),
        ("grafana-addon", false),
        ("kiali-addon", false),
        ("jaeger-addon", false),
        ("jaeger-addon", true),
        ("zipkin-addon", false),
        ("zipkin-addon", true),
    ] {
        steps.push(run(addon, "", "default", delete));
    }
    for policy in [
        "strict-mtls-policy-operation",
        "mutual-mtls-policy-operation",
        "disable-mtls-policy-operation",
        "deny-all-policy-operation",
    ] {
        steps.extend([run(policy, "", &ns, false), run(policy, "", &ns, true)]);
    }
    steps.extend(samples.iter().map(|s| run(s, "", &ns, false)));
    steps.extend([
        run("envoy-filter-operation", "", &ns, false),
        run("envoy-filter-operation", "", &ns, true),
        run("custom", custom, &ns, false),
        run("custom", custom, &ns, true),
        run("design", &design, &ns, false),
        run("design", &design, &ns, true),
    ]);
    steps.extend(samples.iter().map(|s| run(s, "", &ns, true)));
    steps.extend(
        ["kiali-addon", "grafana-addon", "prometheus-addon"]
            .iter()
            .map(|a| run(a, "", "default", true)),
    );
    steps.extend([run("label-namespace", "", &ns, true), run("istio", "", "default", true)]);
    exercise("istio", &cluster, &steps, &ns).await;
}

/// The operations the built-in `mesh` offers, as Meshery sees them with no operation grant.
async fn offered(mesh: &str) -> BTreeSet<String> {
    let host = wasmesh_e2e::start_host().await;
    let mut c = client(&host, mesh, Generation::Adapter).await;
    let ops = c.operation_keys().await.into_iter().collect();
    host.shutdown().await;
    ops
}
