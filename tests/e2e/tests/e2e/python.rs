//! The Python translator (`plugins/python`, built with componentize-py from the same WIT as the
//! Rust ones) loaded into the host from a file with a grant, and driven as Meshery drives an
//! adapter: describe, a namespace operation that reads the cluster first, reads the grant
//! refuses, `custom` and designs of both shapes.

use serde_json::json;
use wasmesh::config::{GrantConfig, PluginConfig, RuleConfig, ScopeConfig};
use wasmesh_e2e::meshery::{ERROR, Generation, INFO, ProcessOamRequest, ProvisionRequest};
use wasmesh_e2e::{
    Events, TestCluster, client, configmap, declaration, design_summary, namespace, oam_component, python_wasm,
    request, run, run_ok, test_config,
};

const LABEL: &str = "example.wasmesh.io/enabled";

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], namespaces: &str) -> RuleConfig {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    RuleConfig {
        api_groups: strings(groups),
        resources: strings(resources),
        verbs: strings(verbs),
        namespaces: ScopeConfig::Named(namespaces.into()),
    }
}

/// The host serving only the Python translator, with this grant.
fn config(kube: Vec<RuleConfig>) -> wasmesh::config::Config {
    let mut config = test_config();
    config.plugins = vec![PluginConfig {
        name: "python".into(),
        builtin: None,
        path: Some(python_wasm()),
        port: 0,
        sha256: None,
        grant: Some(GrantConfig {
            kube: Some(kube),
            operations: None,
            cluster_admin: false,
        }),
        identity: None,
        drift: Default::default(),
        assets: None,
    }];
    config
}

/// What the operator grants: the namespace read and label, reads of ConfigMaps in the request
/// namespace, and ConfigMaps and Services anywhere (so `custom`, declared with wildcards, may
/// write those two kinds only).
fn grant() -> Vec<RuleConfig> {
    vec![
        rule(&[""], &["namespaces"], &["get", "create", "patch"], "cluster"),
        rule(&[""], &["configmaps"], &["get"], "request"),
        rule(
            &[""],
            &["configmaps", "services"],
            &["get", "create", "patch", "delete"],
            "all",
        ),
    ]
}

fn labelled(ns: &k8s_openapi::api::core::v1::Namespace) -> Option<String> {
    ns.metadata.labels.as_ref().and_then(|l| l.get(LABEL).cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_translator_serves_meshery_within_its_grant() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("python").await;
    let host = wasmesh::start(config(grant())).await.expect("host starts");
    let mut c = client(&host, "PYEXAMPLE", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;

    // describe, as Meshery sees it.
    assert_eq!(c.name().await.unwrap(), "PYEXAMPLE");
    assert_eq!(c.operation_keys().await, ["label-namespace", "inspect", "custom"]);

    // The namespace operation reads the namespace (through the checked import), then labels it.
    let label = run_ok(
        &mut c,
        &events,
        request("label-namespace", &ns, "", &[cluster.kubeconfig()]),
    )
    .await;
    assert_eq!(
        label.summary,
        format!("label {LABEL} set on namespace \"{}\"", ns.name())
    );
    let got = namespace(&cluster, &ns).await.expect("namespace");
    assert_eq!(labelled(&got).as_deref(), Some("true"));
    // Again: what it read is said.
    let again = request("label-namespace", &ns, "", &[cluster.kubeconfig()]);
    run_ok(&mut c, &events, again.clone()).await;
    assert!(
        events
            .for_op(&again.operation_id)
            .iter()
            .any(|e| e.summary == format!("namespace \"{}\" is already labelled {LABEL}=true", ns.name())),
        "{:#?}",
        events.for_op(&again.operation_id)
    );
    run_ok(
        &mut c,
        &events,
        request("label-namespace", &ns, "", &[cluster.kubeconfig()]).deleting(true),
    )
    .await;
    assert_eq!(labelled(&namespace(&cluster, &ns).await.unwrap()), None);

    // custom: JSON objects, applied with the host's server-side apply, then removed.
    let two = json!([
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": "py"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other"}, "data": {"n": "2"}},
    ])
    .to_string();
    let applied = run_ok(&mut c, &events, request("custom", &ns, &two, &[cluster.kubeconfig()])).await;
    assert_eq!(applied.summary, "Custom JSON applied (2 objects)");
    assert_eq!(configmap(&cluster, &ns, "settings").await.unwrap()["mode"], "py");
    assert!(configmap(&cluster, &ns, "other").await.is_some());

    // inspect reads what the body names: a ConfigMap in the request namespace is declared and
    // granted, and its data reaches Meshery.
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "settings"}).to_string();
    let inspect = request("inspect", &ns, &body, &[cluster.kubeconfig()]);
    run_ok(&mut c, &events, inspect.clone()).await;
    assert!(
        events
            .for_op(&inspect.operation_id)
            .iter()
            .any(|e| e.event_type == INFO && e.summary.ends_with(r#"settings": {"mode": "py"}"#)),
        "{:#?}",
        events.for_op(&inspect.operation_id)
    );

    // Hostile reads: a Secret (the manifest declares no Secret read) and a ConfigMap outside the
    // request namespace. The host refuses each read; the translator's error carries the host's
    // refusal, and nothing is read.
    for (kind, in_ns, what) in [
        (
            "Secret",
            ns.name(),
            format!("get secrets (core) in namespace {}", ns.name()),
        ),
        (
            "ConfigMap",
            "kube-system",
            "get configmaps (core) in namespace kube-system".to_string(),
        ),
    ] {
        let body = json!({"apiVersion": "v1", "kind": kind, "name": "settings", "namespace": in_ns}).to_string();
        let e = run(&mut c, &events, request("inspect", &ns, &body, &[cluster.kubeconfig()])).await;
        assert_eq!(e.event_type, ERROR, "{kind} in {in_ns}: {e:#?}");
        assert_eq!(e.error_code, "WASMESH-CAP-DENIED", "{e:#?}");
        assert!(
            e.details.contains(&format!("\nrefused: plugin python may not {what}")),
            "{e:#?}"
        );
    }

    // custom may write only what the grant allows: a Secret is refused whole, nothing written.
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}});
    let e = run(
        &mut c,
        &events,
        request("custom", &ns, &secret.to_string(), &[cluster.kubeconfig()]),
    )
    .await;
    assert_eq!(
        (e.event_type, e.error_code.as_str()),
        (ERROR, "WASMESH-CAP-DENIED"),
        "{e:#?}"
    );
    // Bad input: YAML is not read (JSON only), with the translator's own error, nothing written.
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml\n";
    let e = run(&mut c, &events, request("custom", &ns, yaml, &[cluster.kubeconfig()])).await;
    assert_eq!(
        (e.event_type, e.error_code.as_str()),
        (ERROR, "WASMESH-PYEXAMPLE-1001"),
        "{e:#?}"
    );
    assert!(e.summary.contains("not JSON"), "{e:#?}");
    assert!(!e.suggested_remediation.is_empty());
    assert!(configmap(&cluster, &ns, "yaml").await.is_none());

    let removed = run_ok(
        &mut c,
        &events,
        request("custom", &ns, &two, &[cluster.kubeconfig()]).deleting(true),
    )
    .await;
    assert_eq!(removed.summary, "Custom JSON removed (2 objects)");
    assert!(configmap(&cluster, &ns, "settings").await.is_none());
    assert!(configmap(&cluster, &ns, "other").await.is_none());

    // A design (Provision): a ConfigMap and a Service deployed, a Deployment rejected alone.
    let declarations = vec![
        declaration(
            "kubernetes",
            "v1",
            "ConfigMap",
            "web-config",
            &ns,
            json!({"data": {"from": "design"}}),
        ),
        declaration(
            "kubernetes",
            "apps/v1",
            "Deployment",
            "web",
            &ns,
            json!({"replicas": 1}),
        ),
        declaration(
            "kubernetes",
            "v1",
            "Service",
            "web",
            &ns,
            json!({"ports": [{"port": 80}], "selector": {"app": "web"}}),
        ),
    ];
    let provision = |delete_op| ProvisionRequest {
        username: "e2e".into(),
        delete_op,
        declarations: declarations.clone(),
        kube_configs: vec![cluster.kubeconfig().to_string()],
    };
    let message = c.provision(provision(false)).await.expect("design deployed");
    assert_eq!(
        design_summary(&message),
        format!(
            "Design deployed (2 of 3 components, 1 rejected): ConfigMap \"web-config\" in \"{0}\": apply; Service \"web\" in \"{0}\": apply",
            ns.name()
        ),
        "{message}"
    );
    assert!(
        message.contains("WASMESH-PYEXAMPLE-2002") || message.contains("does not handle"),
        "{message}"
    );
    assert_eq!(configmap(&cluster, &ns, "web-config").await.unwrap()["from"], "design");
    let services: kube::Api<k8s_openapi::api::core::v1::Service> = kube::Api::namespaced(cluster.client().await, &ns);
    assert!(services.get_opt("web").await.unwrap().is_some());
    let message = c.provision(provision(true)).await.expect("design removed");
    assert!(
        design_summary(&message).starts_with("Design removed (2 of 3 components, 1 rejected): "),
        "{message}"
    );
    assert!(configmap(&cluster, &ns, "web-config").await.is_none());
    assert!(services.get_opt("web").await.unwrap().is_none());

    // The older shape (ProcessOAM, an OAM Component).
    let mut mesh = client(&host, "PYEXAMPLE", Generation::Mesh).await;
    let oam = ProcessOamRequest {
        username: "e2e".into(),
        delete_op: false,
        oam_comps: vec![
            oam_component("v1", "ConfigMap", "oam-config", &ns, json!({"data": {"from": "oam"}})).to_string(),
        ],
        oam_config: String::new(),
        kube_configs: vec![cluster.kubeconfig().to_string()],
    };
    let message = mesh.process_oam(oam.clone()).await.expect("OAM design deployed");
    assert!(
        design_summary(&message).starts_with("Design deployed (1 components): "),
        "{message}"
    );
    assert_eq!(configmap(&cluster, &ns, "oam-config").await.unwrap()["from"], "oam");
    mesh.process_oam(ProcessOamRequest { delete_op: true, ..oam })
        .await
        .expect("OAM design removed");
    assert!(configmap(&cluster, &ns, "oam-config").await.is_none());
    host.shutdown().await;

    // The grant, not only the manifest, bounds the reads: without the namespace read granted,
    // the namespace operation fails at its read with the host's refusal, and labels nothing.
    // (In this test, after the first host: the compile cache then holds the component, which
    // is compiled once.)
    let narrower = vec![rule(&[""], &["namespaces"], &["create", "patch"], "cluster")];
    let host = wasmesh::start(config(narrower)).await.expect("host starts");
    let mut c = client(&host, "PYEXAMPLE", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let e = run(
        &mut c,
        &events,
        request("label-namespace", &ns, "", &[cluster.kubeconfig()]),
    )
    .await;
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(e.error_code, "WASMESH-CAP-DENIED", "{e:#?}");
    assert!(
        e.details
            .contains("\nrefused: plugin python may not get namespaces (core) at cluster scope"),
        "{e:#?}"
    );
    assert_eq!(labelled(&namespace(&cluster, &ns).await.unwrap()), None);
    host.shutdown().await;
}
