//! With an identity per plugin the host sends each plugin's calls as that plugin's
//! ServiceAccount, and the RBAC `wasmesh rbac` writes makes the API server enforce the grant a
//! second time: the built-in operations pass, and a write the host's grant allows but the RBAC
//! bound to the plugin's identity does not is refused by the API server (403). No build of the
//! host can switch its own check off; the second check is shown by a host grant broader than the
//! identity's RBAC.

use wasmesh::config::IdentityConfig;
use wasmesh::grant::rbac::{KubeRule, PluginRbac, RbacOptions, objects};
use wasmesh_e2e::meshery::{ERROR, Generation, INFO};
use wasmesh_e2e::{
    ClusterScoped, Events, TestCluster, apply_objects, client, configmap, namespace, request, run, test_config,
};

/// Applies, as an administrator would, the RBAC `wasmesh rbac` writes for `config`'s plugins, each
/// acting as the ServiceAccount of its identity, the host as `host_sa`, all in `accounts`, with
/// requests allowed in `target`. Returns the guard that removes the cluster-scoped part and each
/// plugin's effective rules (what the RBAC grants).
async fn apply_plugin_rbac(
    cluster: &TestCluster,
    config: &wasmesh::config::Config,
    accounts: &str,
    host_sa: &str,
    target: &str,
) -> (ClusterScoped, Vec<Vec<KubeRule>>) {
    let (_rt, loaded, _) = wasmesh::load_plugins(config).await.unwrap();
    let effective: Vec<_> = loaded.iter().map(|(_, _, g)| g.effective()).collect();
    let plugins: Vec<PluginRbac> = loaded
        .iter()
        .zip(&effective)
        .map(|((pc, _, _), rules)| PluginRbac {
            plugin: &pc.name,
            service_account: &pc.identity.as_ref().expect("an identity").service_account,
            rules,
        })
        .collect();
    let request_namespaces = vec![target.to_string()];
    let options = RbacOptions {
        namespace: accounts,
        host_service_account: host_sa,
        request_namespaces: &request_namespaces,
    };
    let rbac = objects(&options, &plugins);
    let admin = cluster.client().await;
    let mut cleanup = ClusterScoped::new(cluster);
    cleanup.track(&admin, &rbac).await;
    apply_objects(&admin, &rbac).await;
    (cleanup, effective)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_act_as_their_service_accounts_and_rbac_holds_without_the_host_check() {
    let cluster = TestCluster::start().await;
    let Some(server) = cluster.server() else {
        println!("skipped: needs the built-in API server's token minting and request log");
        return;
    };
    let accounts = cluster.namespace("wasmesh-sa").await;
    let target = cluster.namespace("imp").await;
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let (linkerd_sa, hostile_sa, host_sa) = (
        format!("linkerd-{suffix}"),
        format!("hostile-{suffix}"),
        format!("host-{suffix}"),
    );

    let mut config = test_config();
    config.plugins.retain(|p| p.name != "istio");
    for p in &mut config.plugins {
        let sa = if p.name == "linkerd" { &linkerd_sa } else { &hostile_sa };
        p.identity = Some(IdentityConfig {
            service_account: sa.clone(),
            namespace: accounts.name().to_string(),
        });
    }

    // The RBAC `wasmesh rbac` prints for these plugins, applied by an administrator; the hostile
    // plugin's identity is given none of its rules (`kube: []`), while the host grants it all it
    // declares.
    let mut rbac_config = config.clone();
    for p in rbac_config.plugins.iter_mut().filter(|p| p.name != "linkerd") {
        p.grant = Some(wasmesh::config::GrantConfig {
            kube: Some(Vec::new()),
            operations: None,
            cluster_admin: false,
        });
    }
    let (_cleanup, _) = apply_plugin_rbac(&cluster, &rbac_config, accounts.name(), &host_sa, target.name()).await;

    // The host itself runs with its own account's token: it may only impersonate.
    let host_kubeconfig = server.kubeconfig_for_service_account(accounts.name(), &host_sa);
    let host = wasmesh::start(config).await.unwrap();
    let mut linkerd = client(&host, "LINKERD", Generation::Adapter).await;
    let mut hostile = client(&host, "HOSTILE", Generation::Mesh).await;
    let linkerd_events = Events::subscribe(&linkerd).await;
    let hostile_events = Events::subscribe(&hostile).await;
    server.clear_requests();

    // The built-in plugin's operations pass under the generated RBAC.
    let e = run(
        &mut linkerd,
        &linkerd_events,
        request("annotate-namespace", target.name(), "", &[&host_kubeconfig]),
    )
    .await;
    assert_eq!(e.event_type, INFO, "{e:#?}");
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: as-linkerd\n";
    let e = run(
        &mut linkerd,
        &linkerd_events,
        request("custom", target.name(), body, &[&host_kubeconfig]),
    )
    .await;
    assert_eq!(e.event_type, INFO, "{e:#?}");
    assert!(configmap(&cluster, target.name(), "as-linkerd").await.is_some());
    let annotations = namespace(&cluster, target.name())
        .await
        .unwrap()
        .metadata
        .annotations
        .unwrap_or_default();
    assert_eq!(
        annotations.get("linkerd.io/inject").map(String::as_str),
        Some("enabled")
    );

    // Every call the host made went out as the plugin's account.
    let host_user = format!("system:serviceaccount:{}:{host_sa}", accounts.name());
    let linkerd_user = format!("system:serviceaccount:{}:{linkerd_sa}", accounts.name());
    let made: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.user.as_deref() == Some(host_user.as_str()))
        .collect();
    assert!(!made.is_empty());
    for r in &made {
        assert_eq!(r.impersonated_user.as_deref(), Some(linkerd_user.as_str()), "{r:?}");
    }

    // A write the host's grant allows reaches the API server, which refuses it on its own: the
    // identity's RBAC holds nothing.
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hostile-was-here\n";
    let e = run(
        &mut hostile,
        &hostile_events,
        request("custom", target.name(), body, &[&host_kubeconfig]),
    )
    .await;
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(
        e.error_code, "WASMESH-CLUSTER-1004",
        "a 403 from the API server: {e:#?}"
    );
    assert!(
        e.summary.contains("forbidden") || e.details.contains("forbidden"),
        "{e:#?}"
    );
    let hostile_identity = format!("system:serviceaccount:{}:{hostile_sa}", accounts.name());
    assert!(
        e.suggested_remediation.iter().any(|r| r.contains(&hostile_identity)),
        "the remediation names the refused identity: {e:#?}"
    );
    assert!(configmap(&cluster, target.name(), "hostile-was-here").await.is_none());
    let configmaps = format!("/namespaces/{}/configmaps", target.name());
    let refused: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.status == 403 && r.path.contains(&configmaps))
        .collect();
    assert!(!refused.is_empty(), "the API server refused the write");
    assert!(
        refused
            .iter()
            .all(|r| r.impersonated_user.as_deref() == Some(hostile_identity.as_str())),
        "{refused:?}"
    );
    host.shutdown().await;
}

/// The restricted-cluster story end to end: a built-in translator granted every operation but
/// `custom` and designs (so no wildcard rule), the least-privilege RBAC `wasmesh rbac` writes for
/// that grant, and each step done as the plugin's ServiceAccount on an API server that enforces
/// RBAC: nothing is refused, every call is impersonated.
async fn least_privilege(mesh: &str, adapter: &str, steps: &[(&str, bool, &str, bool)]) {
    let cluster = TestCluster::start().await;
    let Some(server) = cluster.server() else {
        println!("skipped: needs the built-in API server's token minting and request log");
        return;
    };
    let accounts = cluster.namespace("wasmesh-lp").await;
    let target = cluster.namespace("lp").await;
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let (plugin_sa, host_sa) = (format!("{mesh}-{suffix}"), format!("host-{suffix}"));

    let mut config = test_config();
    config.limits.call_timeout_ms = 20_000;
    config.plugins.retain(|p| p.name == mesh);
    config.plugins[0].identity = Some(IdentityConfig {
        service_account: plugin_sa.clone(),
        namespace: accounts.name().to_string(),
    });
    let mut operations: Vec<String> = steps.iter().map(|s| s.0.to_string()).collect();
    operations.sort();
    operations.dedup();
    config.plugins[0].grant = Some(wasmesh::config::GrantConfig {
        kube: None,
        operations: Some(operations),
        cluster_admin: false,
    });
    let (_cleanup, rules) = apply_plugin_rbac(&cluster, &config, accounts.name(), &host_sa, target.name()).await;
    let rules = &rules[0];
    assert!(
        rules.iter().all(|r| !r.resources.contains(&"*".to_string())),
        "no wildcard rule without custom and designs: {rules:?}"
    );

    let host_kubeconfig = server.kubeconfig_for_service_account(accounts.name(), &host_sa);
    let host = wasmesh::start(config).await.unwrap();
    let mut c = client(&host, adapter, Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    server.clear_requests();
    for (key, in_target, body, delete) in steps {
        let namespace = if *in_target { target.name() } else { "default" };
        let req = request(key, namespace, body, &[&host_kubeconfig]).deleting(*delete);
        let e = run(&mut c, &events, req).await;
        assert_eq!(
            e.event_type, INFO,
            "{key} (delete {delete}) as the plugin's account: {e:#?}"
        );
    }

    let plugin_user = format!("system:serviceaccount:{}:{plugin_sa}", accounts.name());
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.method == "PATCH" && r.path.contains("customresourcedefinitions"))
    );
    assert!(
        requests.iter().all(|r| r.status != 403),
        "nothing was refused: {:?}",
        requests.iter().filter(|r| r.status == 403).collect::<Vec<_>>()
    );
    assert!(
        requests
            .iter()
            .all(|r| r.impersonated_user.as_deref() == Some(plugin_user.as_str())),
        "every call went out as the plugin's account"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linkerd_runs_every_operation_under_least_privilege_rbac() {
    let mut steps = vec![
        ("linkerd", false, "waitSeconds: 60", false),
        ("annotate-namespace", true, "", false),
    ];
    let addons = ["viz-addon", "jaeger-addon", "multicluster-addon", "smi-addon"];
    let samples = ["bookinfo", "httpbin", "imagehub", "emojivoto"];
    steps.extend(addons.iter().map(|a| (*a, false, "", false)));
    steps.extend(samples.iter().map(|s| (*s, true, "", false)));
    steps.extend([
        ("linkerd-check", false, "", false),
        ("rotate-identity-issuer", false, "", false),
    ]);
    steps.extend(samples.iter().map(|s| (*s, true, "", true)));
    steps.extend(addons.iter().map(|a| (*a, false, "", true)));
    steps.extend([("annotate-namespace", true, "", true), ("linkerd", false, "", true)]);
    least_privilege("linkerd", "LINKERD", &steps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_runs_every_operation_under_least_privilege_rbac() {
    let mut steps = vec![
        ("istio", false, "profile: ambient\nwaitSeconds: 60", false),
        ("label-namespace", true, "", false),
        ("istio-vet", true, "", false),
    ];
    for addon in ["prometheus-addon", "grafana-addon", "kiali-addon", "jaeger-addon"] {
        steps.push((addon, false, "", false));
    }
    steps.extend([("jaeger-addon", false, "", true), ("zipkin-addon", false, "", false)]);
    for policy in [
        "strict-mtls-policy-operation",
        "mutual-mtls-policy-operation",
        "disable-mtls-policy-operation",
        "deny-all-policy-operation",
    ] {
        steps.extend([(policy, true, "", false), (policy, true, "", true)]);
    }
    let samples = ["bookinfo", "httpbin", "imagehub", "emojivoto"];
    steps.extend(samples.iter().map(|s| (*s, true, "", false)));
    steps.extend([
        ("envoy-filter-operation", true, "", false),
        ("envoy-filter-operation", true, "", true),
    ]);
    steps.extend(samples.iter().map(|s| (*s, true, "", true)));
    for addon in ["zipkin-addon", "kiali-addon", "grafana-addon", "prometheus-addon"] {
        steps.push((addon, false, "", true));
    }
    steps.extend([("label-namespace", true, "", true), ("istio", false, "", true)]);
    least_privilege("istio", "ISTIO", &steps).await;
}
