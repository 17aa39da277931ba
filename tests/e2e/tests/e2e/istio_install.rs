//! `istio` (install and uninstall, every profile, two releases) and `label-namespace`, through
//! gRPC as Meshery sends them, against an API server over HTTPS.
//!
//! The tests install a control plane (istio-system, CRDs, ClusterRoles, webhooks): they hold
//! the control-plane lock so they never run at the same time on a real cluster, and uninstall at the end (a guard
//! removes what is left if a test fails half-way).

use serde_json::{Value, json};
use wasmesh_e2e::cluster_objects::{
    ISTIO_CRDS as CRDS, ISTIO_NS as NS, Leftovers, assert_no_cluster_rbac_labelled, dynamic_api, get, get_live,
    must_get, v1_resource,
};
use wasmesh_e2e::meshery::{ApplyRuleRequest, ERROR, Generation, INFO, WARN};
use wasmesh_e2e::{TestCluster, clear_log, connect, namespace, namespace_gone, request, run, run_ok, undo, writes};

const DEFAULT_VERSION: &str = "1.27.3";
const SECOND_VERSION: &str = "1.26.3";

/// Everything cluster-wide an install may leave when a test fails half-way (istio-cni's RBAC
/// too); removed on drop.
fn leftovers(cluster: &TestCluster) -> Leftovers {
    Leftovers::istio(cluster)
        .cluster_roles(&["istio-cni", "istio-cni-repair-role", "istio-cni-ambient"])
        .cluster_role_bindings(&["istio-cni", "istio-cni-repair-rolebinding", "istio-cni-ambient"])
}

fn istio(body: &str, cluster: &TestCluster) -> ApplyRuleRequest {
    request("istio", "default", body, &[cluster.kubeconfig()])
}

fn uninstall(cluster: &TestCluster) -> ApplyRuleRequest {
    istio("", cluster).deleting(true)
}

fn container(workload: &Value, index: usize) -> &Value {
    &workload["spec"]["template"]["spec"]["containers"][index]
}

fn env_value<'a>(c: &'a Value, name: &str) -> Option<&'a str> {
    c["env"].as_array()?.iter().find(|e| e["name"] == name)?["value"].as_str()
}

fn labels_of(ns: &k8s_openapi::api::core::v1::Namespace) -> std::collections::BTreeMap<String, String> {
    ns.metadata.labels.clone().unwrap_or_default()
}

/// Nothing of Istio is left cluster-wide after an uninstall.
async fn assert_nothing_left(cluster: &TestCluster) {
    // A real cluster takes a while to finalize a namespace or a CRD; it must at least be going.
    assert!(namespace_gone(cluster, NS).await, "{NS} is still there");
    for crd in CRDS {
        let left = get_live(
            cluster,
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            crd,
        )
        .await;
        assert!(left.is_none(), "CRD {crd} left behind");
    }
    assert_no_cluster_rbac_labelled(&cluster.client().await, "app.kubernetes.io/part-of=istio", "Istio").await;
    for (kind, name) in [
        ("MutatingWebhookConfiguration", "istio-sidecar-injector"),
        ("ValidatingWebhookConfiguration", "istio-validator-istio-system"),
    ] {
        assert!(
            get(cluster, "admissionregistration.k8s.io/v1", kind, None, name)
                .await
                .is_none(),
            "{kind} {name} left behind"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_profile_installs_istiod_and_ingress_then_uninstall_leaves_user_namespaces() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let user = cluster.namespace("istio-user").await;
    let (host, mut c, events) = connect("ISTIO", Generation::Mesh).await;

    let done = run_ok(&mut c, &events, istio("waitSeconds: 120", &cluster)).await;
    assert_eq!(
        done.summary,
        format!("Istio {DEFAULT_VERSION} installed with the default profile in {NS}")
    );
    if cluster.server().is_some() {
        assert!(
            done.details.contains("Deployment \"istiod\"") && done.details.contains("is ready"),
            "{}",
            done.details
        );
    }

    for crd in CRDS {
        let o = must_get(
            &cluster,
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            crd,
        )
        .await;
        let established = o["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Established" && c["status"] == "True");
        assert!(established, "{crd} not established");
    }
    let vs = must_get(
        &cluster,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        "virtualservices.networking.istio.io",
    )
    .await;
    let served: Vec<&str> = vs["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(served, ["v1alpha3", "v1beta1", "v1"]);

    let istiod = must_get(&cluster, "apps/v1", "Deployment", Some(NS), "istiod").await;
    assert_eq!(
        container(&istiod, 0)["image"],
        format!("docker.io/istio/pilot:{DEFAULT_VERSION}")
    );
    assert_eq!(
        istiod["metadata"]["labels"]["app.kubernetes.io/version"],
        DEFAULT_VERSION
    );
    assert_eq!(istiod["metadata"]["labels"]["istio"], "pilot");
    assert_eq!(istiod["metadata"]["annotations"]["wasmesh.io/istio-profile"], "default");
    let ports: Vec<i64> = container(&istiod, 0)["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["containerPort"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [8080, 15010, 15012, 15017, 15014]);
    assert_eq!(env_value(container(&istiod, 0), "PILOT_ENABLE_AMBIENT"), None);

    let svc = must_get(&cluster, "v1", "Service", Some(NS), "istiod").await;
    let svc_ports: Vec<(i64, i64)> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let port = p["port"].as_i64().unwrap();
            (port, p["targetPort"].as_i64().unwrap_or(port))
        })
        .collect();
    assert_eq!(
        svc_ports,
        [(15010, 15010), (15012, 15012), (443, 15017), (15014, 15014)]
    );

    let mwc = must_get(
        &cluster,
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        None,
        "istio-sidecar-injector",
    )
    .await;
    let hooks = mwc["webhooks"].as_array().unwrap();
    let names: Vec<&str> = hooks.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "rev.namespace.sidecar-injector.istio.io",
            "rev.object.sidecar-injector.istio.io",
            "namespace.sidecar-injector.istio.io",
            "object.sidecar-injector.istio.io"
        ]
    );
    for w in hooks {
        assert_eq!(w["clientConfig"]["service"]["path"], "/inject");
        assert_eq!(w["clientConfig"]["service"]["name"], "istiod");
        assert_eq!(w["failurePolicy"], "Fail");
    }
    assert_eq!(
        hooks[2]["namespaceSelector"]["matchExpressions"][0],
        json!({"key": "istio-injection", "operator": "In", "values": ["enabled"]})
    );
    let vwc = must_get(
        &cluster,
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        None,
        "istio-validator-istio-system",
    )
    .await;
    assert_eq!(vwc["webhooks"][0]["failurePolicy"], "Ignore");
    assert_eq!(vwc["webhooks"][0]["clientConfig"]["service"]["path"], "/validate");

    let injector = must_get(&cluster, "v1", "ConfigMap", Some(NS), "istio-sidecar-injector").await;
    let config = injector["data"]["config"].as_str().unwrap();
    assert!(config.contains("- name: istio-proxy") && config.contains("istio-iptables"));
    let values: Value = serde_json::from_str(injector["data"]["values"].as_str().unwrap()).unwrap();
    assert_eq!(values["global"]["tag"], DEFAULT_VERSION);
    let mesh = must_get(&cluster, "v1", "ConfigMap", Some(NS), "istio").await;
    assert!(
        mesh["data"]["mesh"]
            .as_str()
            .unwrap()
            .contains("discoveryAddress: istiod.istio-system.svc:15012")
    );
    must_get(&cluster, "policy/v1", "PodDisruptionBudget", Some(NS), "istiod").await;
    must_get(
        &cluster,
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        Some(NS),
        "istiod",
    )
    .await;
    must_get(
        &cluster,
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        None,
        "istiod-clusterrole-istio-system",
    )
    .await;

    let ingress = must_get(&cluster, "apps/v1", "Deployment", Some(NS), "istio-ingressgateway").await;
    assert_eq!(
        container(&ingress, 0)["image"],
        format!("docker.io/istio/proxyv2:{DEFAULT_VERSION}")
    );
    assert_eq!(container(&ingress, 0)["args"][1], "router");
    let ingress_svc = must_get(&cluster, "v1", "Service", Some(NS), "istio-ingressgateway").await;
    assert_eq!(ingress_svc["spec"]["type"], "LoadBalancer");
    let ports: Vec<(i64, i64)> = ingress_svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["port"].as_i64().unwrap(), p["targetPort"].as_i64().unwrap()))
        .collect();
    assert_eq!(ports, [(15021, 15021), (80, 8080), (443, 8443)]);
    assert!(
        get(&cluster, "apps/v1", "Deployment", Some(NS), "istio-egressgateway")
            .await
            .is_none()
    );
    assert!(
        get(&cluster, "apps/v1", "DaemonSet", Some(NS), "ztunnel")
            .await
            .is_none()
    );

    // Sidecar mode: label-namespace sets the injection label.
    let done = run(
        &mut c,
        &events,
        request("label-namespace", user.name(), "", &[cluster.kubeconfig()]),
    )
    .await;
    assert_eq!(done.event_type, INFO, "{done:#?}");
    let labels = labels_of(&namespace(&cluster, user.name()).await.unwrap());
    assert_eq!(labels.get("istio-injection").map(String::as_str), Some("enabled"));
    assert!(!labels.contains_key("istio.io/dataplane-mode"));

    let done = run_ok(&mut c, &events, uninstall(&cluster)).await;
    assert_eq!(done.summary, format!("Istio control plane removed from {NS}"));
    assert_nothing_left(&cluster).await;
    let survivor = namespace(&cluster, user.name())
        .await
        .expect("the user namespace survives");
    assert!(survivor.metadata.deletion_timestamp.is_none());
    assert_eq!(
        labels_of(&survivor).get("istio-injection").map(String::as_str),
        Some("enabled"),
        "user namespaces are left as they are"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minimal_has_no_gateway_and_demo_adds_ingress_and_egress() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let (host, mut c, events) = connect("ISTIO", Generation::Adapter).await;

    let done = run_ok(&mut c, &events, istio("profile: minimal\nwaitSeconds: 120", &cluster)).await;
    assert!(done.summary.contains("minimal profile"), "{}", done.summary);
    let istiod = must_get(&cluster, "apps/v1", "Deployment", Some(NS), "istiod").await;
    assert_eq!(istiod["metadata"]["annotations"]["wasmesh.io/istio-profile"], "minimal");
    for gw in ["istio-ingressgateway", "istio-egressgateway"] {
        assert!(
            get(&cluster, "apps/v1", "Deployment", Some(NS), gw).await.is_none(),
            "{gw}"
        );
        assert!(get(&cluster, "v1", "Service", Some(NS), gw).await.is_none(), "{gw}");
    }

    let done = run(
        &mut c,
        &events,
        istio(r#"{"profile": "demo", "waitSeconds": 120}"#, &cluster),
    )
    .await;
    assert_eq!(done.event_type, INFO, "{done:#?}");
    let istiod = must_get(&cluster, "apps/v1", "Deployment", Some(NS), "istiod").await;
    assert_eq!(istiod["metadata"]["annotations"]["wasmesh.io/istio-profile"], "demo");
    assert_eq!(env_value(container(&istiod, 0), "PILOT_TRACE_SAMPLING"), Some("100"));
    for gw in ["istio-ingressgateway", "istio-egressgateway"] {
        let d = must_get(&cluster, "apps/v1", "Deployment", Some(NS), gw).await;
        assert_eq!(
            container(&d, 0)["image"],
            format!("docker.io/istio/proxyv2:{DEFAULT_VERSION}")
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["serviceAccountName"],
            format!("{gw}-service-account")
        );
    }
    let egress = must_get(&cluster, "v1", "Service", Some(NS), "istio-egressgateway").await;
    assert_eq!(egress["spec"]["type"], "ClusterIP");
    let mesh = must_get(&cluster, "v1", "ConfigMap", Some(NS), "istio").await;
    assert!(
        mesh["data"]["mesh"]
            .as_str()
            .unwrap()
            .contains("accessLogFile: /dev/stdout")
    );

    run_ok(&mut c, &events, uninstall(&cluster)).await;
    assert_nothing_left(&cluster).await;
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambient_runs_cni_and_ztunnel_and_label_namespace_switches_to_ambient() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let guard = cluster.namespace("ambient").await;
    let (host, mut c, events) = connect("ISTIO", Generation::Mesh).await;

    let done = run_ok(&mut c, &events, istio("profile: ambient\nwaitSeconds: 120", &cluster)).await;
    assert!(done.summary.contains("ambient profile"), "{}", done.summary);

    let cni = must_get(&cluster, "apps/v1", "DaemonSet", Some(NS), "istio-cni-node").await;
    assert_eq!(
        container(&cni, 0)["image"],
        format!("docker.io/istio/install-cni:{DEFAULT_VERSION}")
    );
    assert_eq!(cni["spec"]["template"]["spec"]["serviceAccountName"], "istio-cni");
    let cni_config = must_get(&cluster, "v1", "ConfigMap", Some(NS), "istio-cni-config").await;
    assert_eq!(cni_config["data"]["AMBIENT_ENABLED"], "true");
    let zt = must_get(&cluster, "apps/v1", "DaemonSet", Some(NS), "ztunnel").await;
    assert_eq!(
        container(&zt, 0)["image"],
        format!("docker.io/istio/ztunnel:{DEFAULT_VERSION}")
    );
    assert_eq!(container(&zt, 0)["args"], json!(["proxy", "ztunnel"]));
    must_get(&cluster, "v1", "ServiceAccount", Some(NS), "ztunnel").await;
    must_get(
        &cluster,
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        None,
        "istio-cni",
    )
    .await;
    let istiod = must_get(&cluster, "apps/v1", "Deployment", Some(NS), "istiod").await;
    assert_eq!(env_value(container(&istiod, 0), "PILOT_ENABLE_AMBIENT"), Some("true"));
    assert_eq!(
        env_value(container(&istiod, 0), "CA_TRUSTED_NODE_ACCOUNTS"),
        Some("istio-system/ztunnel")
    );
    // As upstream's ambient profile: the injector stays (sidecars may still be used), no gateway.
    must_get(
        &cluster,
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        None,
        "istio-sidecar-injector",
    )
    .await;
    assert!(
        get(&cluster, "apps/v1", "Deployment", Some(NS), "istio-ingressgateway")
            .await
            .is_none()
    );

    // label-namespace reads the installed profile: ambient mode, on a namespace it creates.
    let ns = format!("{}-new", guard.name());
    let done = run(
        &mut c,
        &events,
        request("label-namespace", &ns, "", &[cluster.kubeconfig()]),
    )
    .await;
    assert_eq!(done.event_type, INFO, "{done:#?}");
    assert!(done.summary.contains("ambient"), "{}", done.summary);
    let labels = labels_of(&namespace(&cluster, &ns).await.expect("namespace created"));
    assert_eq!(
        labels.get("istio.io/dataplane-mode").map(String::as_str),
        Some("ambient")
    );
    assert!(!labels.contains_key("istio-injection"));
    run_ok(&mut c, &events, undo("label-namespace", &ns, &cluster)).await;
    let labels = labels_of(&namespace(&cluster, &ns).await.expect("the namespace stays"));
    assert!(!labels.contains_key("istio.io/dataplane-mode") && !labels.contains_key("istio-injection"));
    let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(cluster.client().await);
    api.delete(&ns, &Default::default()).await.unwrap();

    run_ok(&mut c, &events, uninstall(&cluster)).await;
    assert_nothing_left(&cluster).await;
    for ds in ["istio-cni-node", "ztunnel"] {
        assert!(
            get(&cluster, "apps/v1", "DaemonSet", Some(NS), ds).await.is_none(),
            "{ds}"
        );
    }
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_version_tags_its_images_and_request_version_wins() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let (host, mut c, events) = connect("ISTIO", Generation::Mesh).await;

    // The body asks for the default version; the request's version wins.
    let mut req = istio(&format!("version: {DEFAULT_VERSION}\nwaitSeconds: 120"), &cluster);
    req.version = SECOND_VERSION.into();
    let done = run_ok(&mut c, &events, req).await;
    assert!(
        done.summary.starts_with(&format!("Istio {SECOND_VERSION} installed")),
        "{}",
        done.summary
    );
    let istiod = must_get(&cluster, "apps/v1", "Deployment", Some(NS), "istiod").await;
    assert_eq!(
        container(&istiod, 0)["image"],
        format!("docker.io/istio/pilot:{SECOND_VERSION}")
    );
    assert_eq!(
        istiod["metadata"]["labels"]["app.kubernetes.io/version"],
        SECOND_VERSION
    );
    let ingress = must_get(&cluster, "apps/v1", "Deployment", Some(NS), "istio-ingressgateway").await;
    assert_eq!(
        container(&ingress, 0)["image"],
        format!("docker.io/istio/proxyv2:{SECOND_VERSION}")
    );
    let injector = must_get(&cluster, "v1", "ConfigMap", Some(NS), "istio-sidecar-injector").await;
    let values: Value = serde_json::from_str(injector["data"]["values"].as_str().unwrap()).unwrap();
    assert_eq!(values["global"]["tag"], SECOND_VERSION);

    run_ok(&mut c, &events, uninstall(&cluster)).await;
    assert_nothing_left(&cluster).await;
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_version_profile_or_body_is_refused_and_nothing_is_written() {
    let cluster = TestCluster::start().await;
    let (host, mut c, events) = connect("ISTIO", Generation::Mesh).await;

    let mut bad_version = istio("", &cluster);
    bad_version.version = "1.0.0".into();
    let cases = [
        (bad_version, "WASMESH-ISTIO-1102", vec![DEFAULT_VERSION, SECOND_VERSION]),
        (
            istio("profile: openshift", &cluster),
            "WASMESH-ISTIO-1103",
            vec!["default", "minimal", "demo", "ambient"],
        ),
        (
            istio(r#"{"version": "9.9.9"}"#, &cluster),
            "WASMESH-ISTIO-1102",
            vec![DEFAULT_VERSION],
        ),
        (
            istio("profile:\n  name: demo\n", &cluster),
            "WASMESH-ISTIO-1104",
            vec!["profile"],
        ),
        (
            istio("- profile\n", &cluster),
            "WASMESH-ISTIO-1101",
            vec!["profile: ambient"],
        ),
        (
            istio("revision: canary\n", &cluster),
            "WASMESH-ISTIO-1105",
            vec!["revision", "waitSeconds"],
        ),
        (
            istio("waitSeconds: forever", &cluster),
            "WASMESH-ISTIO-1104",
            vec!["waitSeconds"],
        ),
    ];
    for (req, code, mentions) in cases {
        clear_log(&cluster);
        let done = run(&mut c, &events, req).await;
        assert_eq!(done.event_type, ERROR, "{done:#?}");
        assert_eq!(done.error_code, code, "{done:#?}");
        let text = format!("{} {} {:?}", done.summary, done.details, done.suggested_remediation);
        for m in mentions {
            assert!(text.contains(m), "{m:?} not in {text}");
        }
        assert!(!done.suggested_remediation.is_empty());
        assert_eq!(writes(&cluster), Vec::<String>::new(), "{code}: nothing written");
    }
    assert!(namespace(&cluster, NS).await.is_none() || cluster.server().is_none());
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn availability_timeout_is_a_warn_naming_what_is_not_ready() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let Some(server) = cluster.server() else {
        eprintln!("skipped: needs the built-in API server to keep Deployments unavailable");
        return;
    };
    let _leftovers = leftovers(&cluster);
    // A cluster without the autoscaling API: the install goes ahead without autoscalers and
    // says so.
    let api_service = v1_resource("apiregistration.k8s.io", "APIService", "apiservices");
    let api_services = dynamic_api(cluster.client().await, &api_service, None);
    api_services
        .delete("v2.autoscaling", &Default::default())
        .await
        .expect("the test server registers v2.autoscaling");
    server.set_deployments_become_available(false);
    let (host, mut c, events) = connect("ISTIO", Generation::Mesh).await;

    let req = istio("profile: minimal\nwaitSeconds: 1", &cluster);
    let id = req.operation_id.clone();
    let done = run(&mut c, &events, req).await;
    assert_eq!(done.event_type, INFO, "the install itself succeeded: {done:#?}");
    let warn = events
        .for_op(&id)
        .into_iter()
        .find(|e| e.event_type == WARN && e.summary.contains("not ready"))
        .unwrap_or_else(|| panic!("no WARN: {:#?}", events.for_op(&id)));
    assert!(
        warn.summary.contains("istiod") && warn.summary.contains("not ready"),
        "{warn:#?}"
    );
    assert_eq!(warn.error_code, "WASMESH-CLUSTER-1009");
    let no_hpa = events
        .for_op(&id)
        .into_iter()
        .find(|e| e.event_type == WARN && e.summary.contains("HorizontalPodAutoscalers"))
        .unwrap_or_else(|| panic!("no WARN about autoscaling: {:#?}", events.for_op(&id)));
    assert!(no_hpa.details.contains("autoscaling/v2"), "{no_hpa:#?}");
    let istiod = must_get(&cluster, "apps/v1", "Deployment", Some(NS), "istiod").await;
    assert_eq!(istiod["spec"]["replicas"], 1);

    run_ok(&mut c, &events, uninstall(&cluster)).await;
    host.shutdown().await;
}
