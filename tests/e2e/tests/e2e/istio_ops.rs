//! Istio's add-ons, policies, image hub filter and sample applications, through gRPC as Meshery
//! sends them, against an API server over HTTPS, on top of a control plane installed by the
//! `istio` operation (minimal profile, the smallest).
//!
//! The tests install a control plane (istio-system, CRDs, ClusterRoles): they hold the control-plane lock so
//! they never run at the same time as other Istio installs on a real cluster, and uninstall at the end (a guard removes what
//! is left if a test fails half-way).

use kube::api::Api;
use serde_json::Value;
use wasmesh_e2e::cluster_objects::{ISTIO_NS as NS, Leftovers, get_live as get, must_get_live as must_get};
use wasmesh_e2e::meshery::{Client, ERROR, Generation, INFO, WARN};
use wasmesh_e2e::{Events, TestCluster, clear_log, connect, namespace, op, request, run, run_ok, undo, writes};

/// Everything cluster-wide a test may leave when it fails half-way (the add-ons' RBAC too);
/// removed on drop.
fn leftovers(cluster: &TestCluster) -> Leftovers {
    Leftovers::istio(cluster).cluster_roles_and_bindings(&["prometheus", "kiali"])
}

/// Installs Istio with the minimal profile through the `istio` operation.
async fn install_istio(c: &mut Client, events: &Events, cluster: &TestCluster) {
    let req = request(
        "istio",
        "default",
        "profile: minimal\nwaitSeconds: 120",
        &[cluster.kubeconfig()],
    );
    let done = run(c, events, req).await;
    assert_eq!(done.event_type, INFO, "Istio installs: {done:#?}");
}

async fn uninstall_istio(c: &mut Client, events: &Events, cluster: &TestCluster) {
    let done = run(c, events, undo("istio", "default", cluster)).await;
    assert_eq!(done.event_type, INFO, "Istio uninstalls: {done:#?}");
}

async fn istio_installed(cluster: &TestCluster) -> bool {
    get(cluster, "apps/v1", "Deployment", Some(NS), "istiod")
        .await
        .is_some()
}

const ADDONS: [(&str, &str); 5] = [
    ("prometheus-addon", "prometheus"),
    ("grafana-addon", "grafana"),
    ("kiali-addon", "kiali"),
    ("jaeger-addon", "jaeger"),
    ("zipkin-addon", "zipkin"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_istio_every_operation_is_refused_and_nothing_is_written() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    if istio_installed(&cluster).await {
        eprintln!("skipped: the cluster already runs Istio");
        return;
    }
    let ns = cluster.namespace("istio-ops-none").await;
    let (host, mut c, events) = connect("ISTIO", Generation::Adapter).await;

    let mut cases: Vec<(&str, &str)> = ADDONS.iter().map(|(k, _)| (*k, "WASMESH-ISTIO-1200")).collect();
    cases.extend([
        ("strict-mtls-policy-operation", "WASMESH-ISTIO-1300"),
        ("mutual-mtls-policy-operation", "WASMESH-ISTIO-1300"),
        ("disable-mtls-policy-operation", "WASMESH-ISTIO-1300"),
        ("deny-all-policy-operation", "WASMESH-ISTIO-1300"),
        ("envoy-filter-operation", "WASMESH-ISTIO-1350"),
        ("bookinfo", "WASMESH-ISTIO-1400"),
        ("httpbin", "WASMESH-ISTIO-1400"),
        ("imagehub", "WASMESH-ISTIO-1400"),
        ("emojivoto", "WASMESH-ISTIO-1400"),
    ]);
    for (key, code) in cases {
        clear_log(&cluster);
        let done = run(&mut c, &events, op(key, ns.name(), &cluster)).await;
        assert_eq!(done.event_type, ERROR, "{key}: {done:#?}");
        assert_eq!(done.error_code, code, "{key}");
        assert!(
            done.summary.contains("Istio is not installed"),
            "{key}: {}",
            done.summary
        );
        assert!(!done.suggested_remediation.is_empty(), "{key}");
        assert_eq!(writes(&cluster), Vec::<String>::new(), "{key} wrote nothing");
    }
    assert!(namespace(&cluster, NS).await.is_none(), "no istio-system was made");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addons_install_with_upstream_service_types_and_are_removed() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let (host, mut c, events) = connect("ISTIO", Generation::Mesh).await;
    install_istio(&mut c, &events, &cluster).await;

    // Every add-on but Zipkin (Jaeger holds the tracing Services).
    for (key, deployment) in &ADDONS[..4] {
        let done = run(&mut c, &events, op(key, "default", &cluster)).await;
        assert_eq!(done.event_type, INFO, "{key}: {done:#?}");
        assert!(
            done.summary.contains("add-on installed in istio-system"),
            "{}",
            done.summary
        );
        assert!(done.summary.contains("for Istio 1.27"), "{}", done.summary);
        let d = must_get(&cluster, "apps/v1", "Deployment", Some(NS), deployment).await;
        assert_eq!(
            d["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"],
            "false"
        );
    }
    let service_type = |s: &Value| s["spec"]["type"].as_str().unwrap_or("ClusterIP").to_string();
    for (svc, port) in [
        ("prometheus", 9090),
        ("grafana", 3000),
        ("kiali", 20001),
        ("tracing", 80),
        ("zipkin", 9411),
        ("jaeger-collector", 14268),
    ] {
        let s = must_get(&cluster, "v1", "Service", Some(NS), svc).await;
        assert_eq!(service_type(&s), "ClusterIP", "{svc} keeps the upstream type");
        assert_eq!(s["spec"]["ports"][0]["port"], port, "{svc}");
    }
    let prometheus = must_get(&cluster, "v1", "ConfigMap", Some(NS), "prometheus").await;
    assert!(
        prometheus["data"]["prometheus.yml"]
            .as_str()
            .unwrap()
            .contains("kubernetes-pods")
    );
    let dashboards = must_get(
        &cluster,
        "v1",
        "ConfigMap",
        Some(NS),
        "istio-services-grafana-dashboards",
    )
    .await;
    assert!(dashboards["data"]["istio-mesh-dashboard.json"].is_string());
    for name in ["prometheus", "kiali"] {
        let binding = must_get(
            &cluster,
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            None,
            name,
        )
        .await;
        assert_eq!(binding["subjects"][0]["namespace"], NS);
    }

    // Zipkin would take the tracing Services over from Jaeger: refused, nothing written.
    clear_log(&cluster);
    let done = run(&mut c, &events, op("zipkin-addon", "default", &cluster)).await;
    assert_eq!(done.event_type, ERROR, "{done:#?}");
    assert_eq!(done.error_code, "WASMESH-ISTIO-1201");
    assert!(writes(&cluster).is_empty(), "{:?}", writes(&cluster));

    // Jaeger removed, Zipkin installed in its place, then removed too.
    run_ok(&mut c, &events, undo("jaeger-addon", "default", &cluster)).await;
    assert!(
        get(&cluster, "v1", "Service", Some(NS), "jaeger-collector")
            .await
            .is_none()
    );
    run_ok(&mut c, &events, op("zipkin-addon", "default", &cluster)).await;
    let tracing = must_get(&cluster, "v1", "Service", Some(NS), "tracing").await;
    assert_eq!(tracing["spec"]["selector"]["app"], "zipkin");
    assert_eq!(service_type(&tracing), "ClusterIP");

    for (key, deployment) in ADDONS.iter().filter(|(k, _)| *k != "jaeger-addon") {
        let done = run(&mut c, &events, undo(key, "default", &cluster)).await;
        assert_eq!(done.event_type, INFO, "{key}: {done:#?}");
        assert!(done.summary.contains("add-on removed"), "{}", done.summary);
        assert!(
            get(&cluster, "apps/v1", "Deployment", Some(NS), deployment)
                .await
                .is_none(),
            "{deployment} removed"
        );
    }
    for svc in ["prometheus", "grafana", "kiali", "tracing", "zipkin"] {
        assert!(get(&cluster, "v1", "Service", Some(NS), svc).await.is_none(), "{svc}");
    }
    for name in ["prometheus", "kiali"] {
        assert!(
            get(&cluster, "rbac.authorization.k8s.io/v1", "ClusterRole", None, name)
                .await
                .is_none(),
            "ClusterRole {name}"
        );
    }
    assert!(
        must_get(&cluster, "apps/v1", "Deployment", Some(NS), "istiod").await["metadata"]["name"] == "istiod",
        "Istio itself stays"
    );
    uninstall_istio(&mut c, &events, &cluster).await;
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_set_replace_and_remove_their_objects() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let ns = cluster.namespace("istio-policy").await;
    let (host, mut c, events) = connect("ISTIO", Generation::Adapter).await;
    install_istio(&mut c, &events, &cluster).await;
    let sec = "security.istio.io/v1";
    let peer = || get(&cluster, sec, "PeerAuthentication", Some(ns.name()), "default");

    for (key, mode) in [
        ("strict-mtls-policy-operation", "STRICT"),
        ("mutual-mtls-policy-operation", "PERMISSIVE"),
        ("disable-mtls-policy-operation", "DISABLE"),
    ] {
        let done = run(&mut c, &events, op(key, ns.name(), &cluster)).await;
        assert_eq!(done.event_type, INFO, "{key}: {done:#?}");
        let pa = peer().await.expect("PeerAuthentication default");
        assert_eq!(pa["spec"]["mtls"]["mode"], mode, "{key}");
        let done = run(&mut c, &events, undo(key, ns.name(), &cluster)).await;
        assert_eq!(done.event_type, INFO, "{key}: {done:#?}");
        assert!(peer().await.is_none(), "{key} removed its policy");
    }

    // Switching modes replaces the one object; undoing a mode that was replaced leaves it.
    run(&mut c, &events, op("strict-mtls-policy-operation", ns.name(), &cluster)).await;
    run(&mut c, &events, op("mutual-mtls-policy-operation", ns.name(), &cluster)).await;
    assert_eq!(peer().await.unwrap()["spec"]["mtls"]["mode"], "PERMISSIVE");
    let req = undo("strict-mtls-policy-operation", ns.name(), &cluster);
    let done = run_ok(&mut c, &events, req.clone()).await;
    assert!(done.summary.contains("left in place"), "{}", done.summary);
    // Meshery records any summary with "removed" as an undeploy (CONTRACT.md); nothing went.
    assert!(!done.summary.contains("removed"), "{}", done.summary);
    assert!(
        events
            .for_op(&req.operation_id)
            .iter()
            .any(|e| e.event_type == WARN && e.summary.contains("now says PERMISSIVE")),
        "{:#?}",
        events.for_op(&req.operation_id)
    );
    assert_eq!(peer().await.unwrap()["spec"]["mtls"]["mode"], "PERMISSIVE");
    run(
        &mut c,
        &events,
        undo("mutual-mtls-policy-operation", ns.name(), &cluster),
    )
    .await;
    assert!(peer().await.is_none());

    run_ok(&mut c, &events, op("deny-all-policy-operation", ns.name(), &cluster)).await;
    let ap = get(&cluster, sec, "AuthorizationPolicy", Some(ns.name()), "deny-all")
        .await
        .expect("AuthorizationPolicy deny-all");
    assert!(
        ap["spec"].as_object().is_none_or(|s| s.is_empty()),
        "an empty spec denies all: {}",
        ap["spec"]
    );
    run_ok(&mut c, &events, undo("deny-all-policy-operation", ns.name(), &cluster)).await;
    assert!(
        get(&cluster, sec, "AuthorizationPolicy", Some(ns.name()), "deny-all")
            .await
            .is_none()
    );

    uninstall_istio(&mut c, &events, &cluster).await;
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_deploy_with_gateway_and_virtual_service_then_go_and_the_filter_guards_imagehub() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let ns = cluster.namespace("istio-samples").await;
    let (host, mut c, events) = connect("ISTIO", Generation::Mesh).await;
    install_istio(&mut c, &events, &cluster).await;
    if cluster.server().is_none() {
        // A real cluster here may have no cluster network (../shared/k8s has none): nothing
        // answers behind the injector's Service, and its webhook (failurePolicy Fail, as upstream)
        // would refuse every sample pod. Without it the pods start, without sidecars.
        let hooks: Api<k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration> =
            Api::all(cluster.client().await);
        let _ = hooks.delete("istio-sidecar-injector", &Default::default()).await;
    }
    let net = "networking.istio.io/v1";

    for (key, front, port) in [
        ("bookinfo", "productpage", 9080),
        ("httpbin", "httpbin", 8000),
        ("imagehub", "web", 8080),
        ("emojivoto", "web-svc", 80),
    ] {
        let req = op(key, ns.name(), &cluster);
        let done = run(&mut c, &events, req.clone()).await;
        assert_eq!(done.event_type, INFO, "{key}: {done:#?}");
        assert!(done.summary.contains("with Istio sidecars"), "{}", done.summary);
        // The minimal profile has no ingress gateway: said, not failed.
        assert!(
            events
                .for_op(&req.operation_id)
                .iter()
                .any(|e| e.event_type == WARN && e.summary.contains("No Istio ingress gateway")),
            "{key}"
        );
        let gw = must_get(&cluster, net, "Gateway", Some(ns.name()), &format!("{key}-gateway")).await;
        assert_eq!(gw["spec"]["selector"]["istio"], "ingressgateway");
        let vs = must_get(&cluster, net, "VirtualService", Some(ns.name()), key).await;
        assert_eq!(vs["spec"]["gateways"][0], format!("{key}-gateway"));
        let dest = &vs["spec"]["http"][0]["route"][0]["destination"];
        assert_eq!(dest["host"], front, "{key}");
        assert_eq!(dest["port"]["number"], port, "{key}");
        must_get(&cluster, "v1", "Service", Some(ns.name()), front).await;
        let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(cluster.client().await, ns.name());
        let list = deployments.list(&Default::default()).await.unwrap().items;
        assert!(!list.is_empty(), "{key}");
        for d in &list {
            let labels = d
                .spec
                .as_ref()
                .unwrap()
                .template
                .metadata
                .as_ref()
                .unwrap()
                .labels
                .clone();
            assert_eq!(
                labels
                    .unwrap_or_default()
                    .get("sidecar.istio.io/inject")
                    .map(String::as_str),
                Some("true"),
                "{key}: {:?}",
                d.metadata.name
            );
        }

        if key == "imagehub" {
            run_ok(&mut c, &events, op("envoy-filter-operation", ns.name(), &cluster)).await;
            let f = must_get(
                &cluster,
                "networking.istio.io/v1alpha3",
                "EnvoyFilter",
                Some(ns.name()),
                "imagehub-rate-limit",
            )
            .await;
            assert_eq!(f["spec"]["workloadSelector"]["labels"]["app"], "api");
            assert_eq!(
                f["spec"]["configPatches"][0]["patch"]["value"]["name"],
                "envoy.filters.http.local_ratelimit"
            );
            run_ok(&mut c, &events, undo("envoy-filter-operation", ns.name(), &cluster)).await;
            assert!(
                get(
                    &cluster,
                    "networking.istio.io/v1alpha3",
                    "EnvoyFilter",
                    Some(ns.name()),
                    "imagehub-rate-limit"
                )
                .await
                .is_none()
            );
        }

        let done = run(&mut c, &events, undo(key, ns.name(), &cluster)).await;
        assert_eq!(done.event_type, INFO, "{key}: {done:#?}");
        assert!(done.summary.contains("removed"), "{}", done.summary);
        assert!(
            get(&cluster, net, "Gateway", Some(ns.name()), &format!("{key}-gateway"))
                .await
                .is_none()
        );
        assert!(
            get(&cluster, net, "VirtualService", Some(ns.name()), key)
                .await
                .is_none()
        );
        assert!(
            get(&cluster, "v1", "Service", Some(ns.name()), front).await.is_none(),
            "{key}"
        );
        let left: Vec<_> = deployments
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|d| d.metadata.deletion_timestamp.is_none())
            .filter_map(|d| d.metadata.name)
            .collect();
        assert!(left.is_empty(), "{key}: {left:?}");
        assert!(namespace(&cluster, ns.name()).await.is_some(), "the namespace survives");
    }

    uninstall_istio(&mut c, &events, &cluster).await;
    host.shutdown().await;
}
