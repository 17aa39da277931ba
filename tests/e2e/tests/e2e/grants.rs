//! The operator's side of capabilities: grants narrow what a plugin declared, strict mode and
//! sha256 pins refuse plugins, and every decision is audited.

use wasmesh::config::{GrantConfig, RuleConfig, ScopeConfig};
use wasmesh_e2e::meshery::{ERROR, Generation, INFO};
use wasmesh_e2e::{Events, HOSTILE_WASM, TestCluster, cache_dir, client, configmap, request, test_config};

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], namespaces: &str) -> RuleConfig {
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
    RuleConfig {
        api_groups: v(groups),
        resources: v(resources),
        verbs: v(verbs),
        namespaces: ScopeConfig::Named(namespaces.into()),
    }
}

fn hostile(config: &mut wasmesh::Config) -> &mut wasmesh::config::PluginConfig {
    config.plugins.iter_mut().find(|p| p.name == "hostile").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_narrows_the_declaration() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("narrow").await;
    let mut config = test_config();
    // The plugin declares get/list/create/patch/delete on configmaps; the operator grants reads.
    hostile(&mut config).grant = Some(GrantConfig {
        kube: Some(vec![rule(&[""], &["configmaps"], &["get", "list"], "request")]),
        operations: None,
        cluster_admin: false,
    });
    let host = wasmesh::start(config).await.unwrap();
    let mut c = client(&host, "HOSTILE", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: not-granted\n";
    let req = request("custom", ns.name(), body, &[cluster.kubeconfig()]);
    c.apply(req.clone()).await.unwrap();
    let e = events.outcome(&req.operation_id).await;
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(e.error_code, "WASMESH-CAP-DENIED");
    assert!(
        e.details.contains("plugin hostile may not patch configmaps (core)"),
        "{e:#?}"
    );
    assert!(
        e.details.contains("stage \"objects\" step 1"),
        "the denial names the step: {e:#?}"
    );
    assert!(configmap(&cluster, ns.name(), "not-granted").await.is_none());
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_and_pins_refuse_plugins() {
    let sha = {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(HOSTILE_WASM)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        let host = wasmesh::start(test_config()).await.unwrap();
        let sha = host
            .adapters
            .iter()
            .find(|a| a.name == "hostile")
            .unwrap()
            .plugin
            .sha256()
            .to_string();
        host.shutdown().await;
        sha
    };

    // Strict: a partial grant refuses the plugin; the others are served (the built-in ones are
    // accepted as cluster-admin equivalent, which they are: they install control planes).
    let mut config = test_config();
    config.strict = true;
    accept_cluster_admin(&mut config);
    hostile(&mut config).grant = Some(GrantConfig {
        kube: Some(vec![rule(&[""], &["configmaps"], &["get"], "request")]),
        operations: None,
        cluster_admin: false,
    });
    let host = wasmesh::start(config).await.unwrap();
    let skipped = &host.skipped;
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].plugin, "hostile");
    assert!(
        skipped[0].reason.contains("strict mode") && skipped[0].reason.contains("configmaps"),
        "{skipped:?}"
    );
    assert!(host.listener("LINKERD").is_some());
    host.shutdown().await;

    // Strict with a full grant loads it (its secret-reader rule reads Secrets: accepted too).
    let mut config = test_config();
    config.strict = true;
    accept_cluster_admin(&mut config);
    hostile(&mut config).grant = Some(GrantConfig {
        kube: Some(vec![
            rule(&["*"], &["*"], &["*"], "request"),
            rule(&["*"], &["*"], &["*"], "cluster"),
        ]),
        operations: None,
        cluster_admin: true,
    });
    let host = wasmesh::start(config).await.unwrap();
    assert!(host.skipped.is_empty(), "{:?}", host.skipped);
    host.shutdown().await;

    // A pin that does not match refuses the plugin before it runs; the right pin loads it.
    let mut config = test_config();
    hostile(&mut config).sha256 = Some("0".repeat(64));
    let host = wasmesh::start(config).await.unwrap();
    assert_eq!(host.skipped.len(), 1);
    assert!(
        host.skipped[0].reason.contains(&format!("its sha256 is {sha}")),
        "{:?}",
        host.skipped
    );
    host.shutdown().await;
    let mut config = test_config();
    hostile(&mut config).sha256 = Some(sha.to_uppercase());
    let host = wasmesh::start(config).await.unwrap();
    assert!(host.skipped.is_empty(), "{:?}", host.skipped);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_is_audited() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("audit").await;
    let dir = cache_dir()
        .join("..")
        .join(format!("audit-{}", uuid::Uuid::new_v4().simple()));
    let path = dir.join("audit.jsonl");
    let mut config = test_config();
    config.audit_log = Some(path.clone());
    let host = wasmesh::start(config).await.unwrap();
    let mut c = client(&host, "HOSTILE", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;

    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: audited\n";
    let ok = request("custom", ns.name(), body, &[cluster.kubeconfig()]);
    c.apply(ok.clone()).await.unwrap();
    assert_eq!(events.outcome(&ok.operation_id).await.event_type, INFO);
    let denied = request("read-secret", ns.name(), "", &[cluster.kubeconfig()]);
    c.apply(denied.clone()).await.unwrap();
    assert_eq!(events.outcome(&denied.operation_id).await.event_type, ERROR);
    // The decisions are counted too, and ComponentInfo shows the counts.
    let info = c.component_info().await.unwrap();
    assert_eq!(info.properties["capability_checks_allowed"], "2");
    assert_eq!(info.properties["capability_checks_denied"], "1");
    host.shutdown().await;

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let of = |op: &str| {
        lines
            .iter()
            .filter(|l| l["operation_id"] == op)
            .cloned()
            .collect::<Vec<_>>()
    };
    let allowed = of(&ok.operation_id);
    // Server-side apply needs patch and create.
    assert_eq!(allowed.len(), 2, "{allowed:#?}");
    for l in &allowed {
        assert_eq!(l["allowed"], true);
        assert_eq!(l["plugin"], "hostile");
        assert_eq!(l["user"], "test-user");
        assert_eq!(l["via"], "plan");
        assert_eq!(l["resource"], "configmaps");
        assert_eq!(l["namespace"], ns.name());
        assert_eq!(l["name"], "audited");
        assert!(l["cluster"].as_str().is_some_and(|c| !c.is_empty()));
        assert!(
            l["time"].as_str().is_some_and(|t| t.contains('T')),
            "RFC 3339 time: {l}"
        );
    }
    let refused = of(&denied.operation_id);
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0]["allowed"], false);
    assert_eq!(refused[0]["via"], "read");
    assert_eq!(refused[0]["verb"], "get");
    assert_eq!(refused[0]["resource"], "secrets");
    std::fs::remove_dir_all(dir).unwrap();
}

/// An operator can grant a plugin some of its operations: the others are neither offered to
/// Meshery nor run, and designs need `design`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_grant_offers_and_runs_only_those_operations() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("opgrant").await;
    let mut config = test_config();
    let linkerd = config.plugins.iter_mut().find(|p| p.name == "linkerd").unwrap();
    linkerd.grant = Some(GrantConfig {
        kube: None,
        operations: Some(vec!["annotate-namespace".into()]),
        cluster_admin: false,
    });
    let host = wasmesh::start(config).await.unwrap();
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    let offered = c.operation_keys().await;
    assert_eq!(offered, ["annotate-namespace"]);

    let events = Events::subscribe(&c).await;
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: not-granted\n";
    let req = request("custom", ns.name(), body, &[cluster.kubeconfig()]);
    let status = c.apply(req.clone()).await.unwrap_err();
    assert!(status.message().contains("WASMESH-HOST-1011"), "{status:?}");
    let e = events.outcome(&req.operation_id).await;
    assert_eq!(e.error_code, "WASMESH-HOST-1011");
    assert!(e.suggested_remediation.concat().contains("grant.operations"), "{e:#?}");
    assert!(configmap(&cluster, ns.name(), "not-granted").await.is_none());

    let status = c
        .provision(wasmesh_e2e::meshery::ProvisionRequest {
            username: "u".into(),
            delete_op: false,
            declarations: vec![],
            kube_configs: vec![cluster.kubeconfig().to_string()],
        })
        .await
        .unwrap_err();
    assert!(
        status.message().contains("deploying designs is not granted"),
        "{status:?}"
    );

    let req = request("annotate-namespace", ns.name(), "", &[cluster.kubeconfig()]);
    c.apply(req.clone()).await.unwrap();
    assert_eq!(events.outcome(&req.operation_id).await.event_type, INFO);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_grant_naming_an_unknown_operation_is_refused() {
    let mut config = test_config();
    config.plugins.retain(|p| p.name == "linkerd");
    config.plugins[0].grant = Some(GrantConfig {
        kube: None,
        operations: Some(vec!["frobnicate".into()]),
        cluster_admin: false,
    });
    let e = wasmesh::start(config).await.err().expect("refused").to_string();
    assert!(e.contains("\"frobnicate\", which the plugin does not offer"), "{e}");
    assert!(e.contains("annotate-namespace"), "the error lists what is offered: {e}");
}

/// `operations: []` grants no operation: nothing is offered, everything is refused and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_operation_grant_offers_and_runs_nothing() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("nogrant").await;
    let mut config = test_config();
    config.plugins.retain(|p| p.name == "linkerd");
    config.plugins[0].grant = Some(GrantConfig {
        kube: None,
        operations: Some(vec![]),
        cluster_admin: false,
    });
    let host = wasmesh::start(config).await.unwrap();
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    assert!(c.operation_keys().await.is_empty());
    let events = Events::subscribe(&c).await;
    let req = request("annotate-namespace", ns.name(), "", &[cluster.kubeconfig()]);
    let status = c.apply(req.clone()).await.unwrap_err();
    assert!(status.message().contains("WASMESH-HOST-1011"), "{status:?}");
    let e = events.outcome(&req.operation_id).await;
    assert_eq!(e.error_code, "WASMESH-HOST-1011");
    assert_eq!(e.details, "granted operations: none");
    host.shutdown().await;
}

/// Strict mode loads the built-in translators only when the operator accepts what they are.
fn accept_cluster_admin(config: &mut wasmesh::config::Config) {
    for p in config.plugins.iter_mut().filter(|p| p.builtin.is_some()) {
        p.grant = Some(GrantConfig {
            kube: None,
            operations: None,
            cluster_admin: true,
        });
    }
}
