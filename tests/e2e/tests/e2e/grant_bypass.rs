//! Ways around the grant that an outside review found: each is tried on the real gRPC path, by
//! a hostile plugin or a hostile `custom` body, and refused before the cluster sees more than the
//! grant allows.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use wasmesh::config::{GrantConfig, IdentityConfig};
use wasmesh_e2e::meshery::{ERROR, Generation, ProvisionRequest, WARN};
use wasmesh_e2e::{Events, TestCluster, clear_log, client, configmap, request, run, run_ok, start_host, writes};

/// apiVersions that would be URL paths if pasted into one.
const URL_API_VERSIONS: &[&str] = &[
    "/v1/secrets",
    "v1/namespaces/kube-system/secrets/x",
    "v1/namespaces/default/services/s/proxy",
    "v1?watch=true",
    "apps/v1/../../api/v1/secrets",
];

/// Requests the built-in API server received that an attack aimed at.
fn reached(cluster: &TestCluster) -> Vec<String> {
    cluster.server().map_or_else(Vec::new, |s| {
        s.requests()
            .into_iter()
            .map(|r| r.path)
            .filter(|p| p.contains("secrets") || p.contains("proxy") || p.contains("watch") || p.contains(".."))
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_that_are_url_paths_never_reach_the_api_server() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("urlpath").await;
    let host = start_host().await;
    let mut hostile = client(&host, "HOSTILE", Generation::Adapter).await;
    let hostile_events = Events::subscribe(&hostile).await;
    // Linkerd's `custom` declares every resource: the grant is no help, the name check must be.
    let mut linkerd = client(&host, "LINKERD", Generation::Mesh).await;
    let linkerd_events = Events::subscribe(&linkerd).await;
    for api_version in URL_API_VERSIONS {
        for op in ["url-read", "url-wait", "url-delete"] {
            clear_log(&cluster);
            let e = run(
                &mut hostile,
                &hostile_events,
                request(op, ns.name(), api_version, &[cluster.kubeconfig()]),
            )
            .await;
            assert_eq!(e.event_type, ERROR, "{op} {api_version}: {e:#?}");
            let text = format!("{} {}", e.summary, e.details);
            assert!(
                text.contains("do not name a Kubernetes type"),
                "{op} {api_version}: {e:#?}"
            );
            assert_eq!(reached(&cluster), Vec::<String>::new(), "{op} {api_version}");
        }
        clear_log(&cluster);
        let body = format!("apiVersion: {api_version}\nkind: X\nmetadata:\n  name: x\n");
        let e = run(
            &mut linkerd,
            &linkerd_events,
            request("custom", ns.name(), &body, &[cluster.kubeconfig()]),
        )
        .await;
        assert_eq!(e.event_type, ERROR, "custom {api_version}: {e:#?}");
        assert_eq!(e.error_code, "WASMESH-CLUSTER-1010", "{e:#?}");
        assert_eq!(reached(&cluster), Vec::<String>::new(), "custom {api_version}");
        assert_eq!(writes(&cluster), Vec::<String>::new(), "custom {api_version}");
    }
    // A design component is no way around it either.
    let design = wasmesh_e2e::declaration("kubernetes", "/v1/secrets", "X", "x", ns.name(), serde_json::json!({}));
    let refused = linkerd
        .provision(ProvisionRequest {
            username: "u".into(),
            delete_op: false,
            declarations: vec![design],
            kube_configs: vec![cluster.kubeconfig().to_string()],
        })
        .await;
    let message = match refused {
        Ok(m) => m,
        Err(s) => s.message().to_string(),
    };
    assert!(message.contains("do not name a Kubernetes type"), "{message}");
    assert_eq!(reached(&cluster), Vec::<String>::new(), "design");
    // The listener still serves.
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-urls\n";
    run_ok(
        &mut linkerd,
        &linkerd_events,
        request("custom", ns.name(), body, &[cluster.kubeconfig()]),
    )
    .await;
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_operation_runs_with_its_own_rules_only() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("perop").await;
    let secrets: Api<Secret> = Api::namespaced(cluster.client().await, ns.name());
    let secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "wasmesh-test-secret"}, "stringData": {"k": "v"}
    }))
    .unwrap();
    secrets.create(&PostParams::default(), &secret).await.unwrap();
    // No grant in the configuration: every operation is granted, each with its own rules.
    let host = start_host().await;
    let mut c = client(&host, "HOSTILE", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let e = run(
        &mut c,
        &events,
        request("secret-reader", ns.name(), "", &[cluster.kubeconfig()]),
    )
    .await;
    assert!(
        e.summary.contains("secret-reader read: true"),
        "its own rule serves it: {e:#?}"
    );
    clear_log(&cluster);
    let e = run(
        &mut c,
        &events,
        request("read-secret", ns.name(), "", &[cluster.kubeconfig()]),
    )
    .await;
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(
        e.error_code, "WASMESH-CAP-DENIED",
        "another operation's rule does not: {e:#?}"
    );
    assert!(!e.summary.contains("SUCCEEDED"), "{e:#?}");
    assert_eq!(reached(&cluster), Vec::<String>::new());
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_objects_grant_only_what_the_plugin_holds() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("escalate").await;
    let host = start_host().await;
    let mut c = client(&host, "HOSTILE", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    for (op, says) in [
        ("escalate-role", "would grant get secrets (core) in namespace"),
        ("bind-admin", "ClusterRole \"cluster-admin\""),
    ] {
        clear_log(&cluster);
        let e = run(&mut c, &events, request(op, ns.name(), "", &[cluster.kubeconfig()])).await;
        assert_eq!(e.event_type, ERROR, "{op}: {e:#?}");
        assert_eq!(e.error_code, "WASMESH-CAP-DENIED", "{op}: {e:#?}");
        let text = format!("{} {} {:?}", e.summary, e.details, e.probable_cause);
        assert!(text.contains(says), "{op}: {e:#?}");
        assert!(
            e.suggested_remediation
                .iter()
                .any(|r| r.contains("escalate") || r.contains("bind")),
            "{op}: {e:#?}"
        );
        assert_eq!(writes(&cluster), Vec::<String>::new(), "{op}: nothing written");
    }
    let roles = wasmesh_e2e::cluster_objects::get(
        &cluster,
        "rbac.authorization.k8s.io/v1",
        "Role",
        Some(ns.name()),
        "hostile-secrets",
    )
    .await;
    assert!(roles.is_none());
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_labels_are_limited_to_the_keys_the_manifest_declares() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("psa").await;
    let host = start_host().await;
    let mut c = client(&host, "HOSTILE", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let kc = [cluster.kubeconfig()];
    clear_log(&cluster);
    let e = run(
        &mut c,
        &events,
        request("label-namespace", ns.name(), "pod-security.kubernetes.io/enforce", &kc),
    )
    .await;
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(e.error_code, "WASMESH-CAP-DENIED", "{e:#?}");
    assert!(
        format!("{} {}", e.summary, e.details).contains("label \"pod-security.kubernetes.io/enforce\""),
        "{e:#?}"
    );
    assert_eq!(writes(&cluster), Vec::<String>::new());
    // The key it declares goes through: the patch verb alone was never the problem.
    run_ok(
        &mut c,
        &events,
        request("label-namespace", ns.name(), "hostile.example/ok", &kc),
    )
    .await;
    let labels = wasmesh_e2e::namespace(&cluster, ns.name())
        .await
        .unwrap()
        .metadata
        .labels
        .unwrap_or_default();
    assert_eq!(labels.get("hostile.example/ok").map(String::as_str), Some("privileged"));
    assert!(!labels.contains_key("pod-security.kubernetes.io/enforce"), "{labels:?}");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_refuses_cluster_admin_equivalent_grants_unless_accepted() {
    let mut config = wasmesh_e2e::test_config();
    config.strict = true;
    config.plugins.retain(|p| p.name == "linkerd");
    let (_rt, loaded, skipped) = wasmesh::load_plugins(&config).await.unwrap();
    assert!(loaded.is_empty());
    let reason = &skipped[0].reason;
    assert!(reason.contains("cluster-admin equivalent"), "{reason}");
    assert!(reason.contains("wasmesh plugins"), "{reason}");
    // Granted only the operations that do not write RBAC, webhooks or workloads, it loads.
    config.plugins[0].grant = Some(GrantConfig {
        kube: None,
        operations: Some(vec!["annotate-namespace".into()]),
        cluster_admin: false,
    });
    let (_rt, loaded, skipped) = wasmesh::load_plugins(&config).await.unwrap();
    assert_eq!(loaded.len(), 1, "{skipped:?}");
    // Or the operator accepts it in so many words.
    config.plugins[0].grant = Some(GrantConfig {
        kube: None,
        operations: None,
        cluster_admin: true,
    });
    let (_rt, loaded, skipped) = wasmesh::load_plugins(&config).await.unwrap();
    assert_eq!(loaded.len(), 1, "{skipped:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_plugins_apply_never_takes_another_plugins_fields() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("managers").await;
    let host = start_host().await;
    let mut linkerd = client(&host, "LINKERD", Generation::Adapter).await;
    let linkerd_events = Events::subscribe(&linkerd).await;
    let mut istio = client(&host, "ISTIO", Generation::Adapter).await;
    let istio_events = Events::subscribe(&istio).await;
    let cm =
        |owner: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  owner: {owner}\n");
    let kc = [cluster.kubeconfig()];
    run_ok(
        &mut linkerd,
        &linkerd_events,
        request("custom", ns.name(), &cm("linkerd"), &kc),
    )
    .await;

    let e = run(
        &mut istio,
        &istio_events,
        request("custom", ns.name(), &cm("istio"), &kc),
    )
    .await;
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(e.error_code, "WASMESH-CLUSTER-1006", "{e:#?}");
    assert!(
        format!("{} {}", e.summary, e.details).contains("wasmesh-linkerd"),
        "{e:#?}"
    );
    let data = configmap(&cluster, ns.name(), "shared").await.unwrap();
    assert_eq!(data["owner"], "linkerd", "the other plugin's field stayed");

    // A person's change with kubectl is taken back, and the event says so.
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(cluster.client().await, ns.name());
    let mine = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"},
        "data": {"owner": "kubectl"}});
    api.patch("shared", &PatchParams::apply("kubectl").force(), &Patch::Apply(&mine))
        .await
        .unwrap();
    let req = request("custom", ns.name(), &cm("linkerd"), &kc);
    let e = run_ok(&mut linkerd, &linkerd_events, req.clone()).await;
    let warn = linkerd_events
        .for_op(&req.operation_id)
        .into_iter()
        .find(|e| e.event_type == WARN)
        .unwrap_or_else(|| panic!("a WARN naming kubectl: {e:#?}"));
    assert!(warn.summary.contains("taking over fields set by kubectl"), "{warn:#?}");
    let live = api.get("shared").await.unwrap();
    assert_eq!(live.data.unwrap()["owner"], "linkerd");
    let managers: Vec<String> = live
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"wasmesh-linkerd".to_string()), "{managers:?}");
    assert!(!managers.contains(&"wasmesh".to_string()), "{managers:?}");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_operation_is_bounded() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("deadline").await;
    let mut config = wasmesh_e2e::test_config();
    config.limits.max_wait_seconds = 600;
    config.limits.operation_timeout_seconds = 2;
    let host = wasmesh::start(config).await.unwrap();
    let mut c = client(&host, "HOSTILE", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    // A wait within max_wait_seconds still ends at the operation's deadline.
    let e = run(
        &mut c,
        &events,
        request("long-wait", ns.name(), "", &[cluster.kubeconfig()]),
    )
    .await;
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(e.error_code, "WASMESH-CLUSTER-1015", "{e:#?}");
    assert!(e.summary.contains("at most 2 s"), "{e:#?}");
    // A plan of thousands of waits is refused before any of them runs.
    clear_log(&cluster);
    let e = run(
        &mut c,
        &events,
        request("many-waits", ns.name(), "", &[cluster.kubeconfig()]),
    )
    .await;
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(e.error_code, "WASMESH-HOST-1002", "{e:#?}");
    assert!(e.summary.contains("5000 waits, over the limit of 1000"), "{e:#?}");
    if let Some(server) = cluster.server() {
        assert!(server.requests().is_empty(), "{:?}", server.requests());
    }
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfigs_own_impersonation_cannot_lift_the_plugins_identity() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("lift").await;
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let mut config = wasmesh_e2e::test_config();
    config.plugins.retain(|p| p.name == "hostile");
    // An identity with no RBAC at all: the API server refuses it everything.
    config.plugins[0].identity = Some(IdentityConfig {
        service_account: format!("nobody-{suffix}"),
        namespace: ns.name().to_string(),
    });
    let host = wasmesh::start(config).await.unwrap();
    let mut c = client(&host, "HOSTILE", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    // The kubeconfig asks to act as system:masters, with a uid and extras.
    let mut kc: serde_yaml::Value = serde_yaml::from_str(cluster.kubeconfig()).unwrap();
    for user in kc["users"].as_sequence_mut().unwrap() {
        let u = user["user"].as_mapping_mut().unwrap();
        u.insert("as".into(), "admin".into());
        u.insert("as-groups".into(), serde_yaml::to_value(["system:masters"]).unwrap());
        u.insert("as-uid".into(), "0".into());
        u.insert(
            "as-user-extra".into(),
            serde_yaml::to_value(std::collections::BTreeMap::from([("scopes", ["all"])])).unwrap(),
        );
    }
    let kc = serde_yaml::to_string(&kc).unwrap();
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lifted\n";
    let e = run(&mut c, &events, request("custom", ns.name(), body, &[&kc])).await;
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(
        e.error_code, "WASMESH-CLUSTER-1004",
        "refused by the API server: {e:#?}"
    );
    assert!(configmap(&cluster, ns.name(), "lifted").await.is_none());
    if let Some(server) = cluster.server() {
        let sa = format!("system:serviceaccount:{}:nobody-{suffix}", ns.name());
        for r in server.requests().iter().filter(|r| r.impersonated_user.is_some()) {
            assert_eq!(r.impersonated_user.as_deref(), Some(sa.as_str()), "{r:?}");
        }
    }
    host.shutdown().await;
}
