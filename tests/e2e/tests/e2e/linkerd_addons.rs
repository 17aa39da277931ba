//! Linkerd's extensions (`viz-addon`, `jaeger-addon`, `multicluster-addon`, `smi-addon`) and
//! the sample applications, through gRPC as Meshery sends them, against an API server over HTTPS.
//!
//! The add-on tests install a control plane and extensions (namespaces linkerd and linkerd-*,
//! CRDs, ClusterRoles, webhooks, an APIService): they hold the control-plane lock (wasmesh_e2e::control_plane_lock) so they never run at the same
//! time on a real cluster, remove everything at the end, and a guard removes what is left when a
//! test fails half-way.

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams};
use wasmesh_e2e::cluster_objects::{assert_no_cluster_rbac_labelled, dynamic_api, names_labelled, v1_resource};
use wasmesh_e2e::meshery::{ApplyRuleRequest, ERROR, Generation, WARN};
use wasmesh_e2e::{TestCluster, clear_log, connect, namespace, namespace_gone, op, run, run_ok, undo, writes};

const CONTROL_PLANE_NS: &str = "linkerd";

/// Operation key, namespace, `linkerd.io/extension` label, Deployments, CRDs.
struct AddonFacts {
    key: &'static str,
    ns: &'static str,
    ext: &'static str,
    deployments: &'static [&'static str],
    crds: &'static [&'static str],
}

const ADDONS: &[AddonFacts] = &[
    AddonFacts {
        key: "viz-addon",
        ns: "linkerd-viz",
        ext: "viz",
        deployments: &["metrics-api", "prometheus", "tap", "tap-injector", "web"],
        crds: &[],
    },
    AddonFacts {
        key: "jaeger-addon",
        ns: "linkerd-jaeger",
        ext: "jaeger",
        deployments: &["jaeger-injector", "collector", "jaeger"],
        crds: &[],
    },
    AddonFacts {
        key: "multicluster-addon",
        ns: "linkerd-multicluster",
        ext: "multicluster",
        deployments: &["linkerd-gateway"],
        crds: &["links.multicluster.linkerd.io"],
    },
    AddonFacts {
        key: "smi-addon",
        ns: "linkerd-smi",
        ext: "smi",
        deployments: &["smi-adaptor"],
        crds: &["trafficsplits.split.smi-spec.io"],
    },
];

/// Deletes, when dropped, whatever Linkerd or its extensions left cluster-wide: the namespaces,
/// and the cluster-scoped objects labelled as Linkerd's or as an extension's (the extensions'
/// names are many; their labels are few).
struct Leftovers {
    kubeconfig: String,
}

fn leftovers(cluster: &TestCluster) -> Leftovers {
    Leftovers {
        kubeconfig: cluster.kubeconfig().to_string(),
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        wasmesh_test_apiserver::cleanup(self.kubeconfig.clone(), |client| async move {
            let gone = |r: Result<_, kube::Error>, what: &str| match r {
                Ok(_) | Err(kube::Error::Api(_)) => {}
                Err(e) => eprintln!("warning: could not delete {what}: {e}"),
            };
            let rbac = "rbac.authorization.k8s.io";
            let adm = "admissionregistration.k8s.io";
            let crd = v1_resource(
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                "customresourcedefinitions",
            );
            let kinds = [
                v1_resource(rbac, "ClusterRole", "clusterroles"),
                v1_resource(rbac, "ClusterRoleBinding", "clusterrolebindings"),
                v1_resource(adm, "MutatingWebhookConfiguration", "mutatingwebhookconfigurations"),
                v1_resource(adm, "ValidatingWebhookConfiguration", "validatingwebhookconfigurations"),
                v1_resource("apiregistration.k8s.io", "APIService", "apiservices"),
                crd.clone(),
            ];
            for selector in ["linkerd.io/extension", "linkerd.io/control-plane-ns=linkerd"] {
                for kind in &kinds {
                    let api = dynamic_api(client.clone(), kind, None);
                    let Ok(list) = api.list(&ListParams::default().labels(selector)).await else {
                        continue;
                    };
                    for o in list.items {
                        let name = o.metadata.name.unwrap_or_default();
                        gone(api.delete(&name, &DeleteParams::background()).await.map(|_| ()), &name);
                    }
                }
            }
            let crds = dynamic_api(client.clone(), &crd, None);
            if let Ok(list) = crds.list(&ListParams::default()).await {
                for o in list.items {
                    let name = o.metadata.name.unwrap_or_default();
                    if name.ends_with("linkerd.io") || name.ends_with(".split.smi-spec.io") {
                        gone(crds.delete(&name, &DeleteParams::background()).await.map(|_| ()), &name);
                    }
                }
            }
            let namespaces: Api<Namespace> = Api::all(client);
            for ns in ADDONS.iter().map(|a| a.ns).chain([CONTROL_PLANE_NS]) {
                gone(namespaces.delete(ns, &DeleteParams::background()).await.map(|_| ()), ns);
            }
        });
    }
}

fn install_linkerd(cluster: &TestCluster, version: &str) -> ApplyRuleRequest {
    op("linkerd", "default", cluster).with_version(version)
}

fn uninstall_linkerd(cluster: &TestCluster) -> ApplyRuleRequest {
    undo("linkerd", "default", cluster)
}

/// The control plane's namespace is gone, or going.
async fn control_plane_gone(cluster: &TestCluster) -> bool {
    namespace_gone(cluster, CONTROL_PLANE_NS).await
}

fn images(d: &Deployment) -> Vec<String> {
    let pod = d.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    pod.containers.iter().filter_map(|c| c.image.clone()).collect()
}

/// The add-on's namespace, Deployments, CRDs, webhook and API service TLS are there.
async fn check_addon(cluster: &TestCluster, a: &AddonFacts, linkerd_tag: &str, smi_tag: &str) {
    let client = cluster.client().await;
    let ns = namespace(cluster, a.ns)
        .await
        .unwrap_or_else(|| panic!("namespace {}", a.ns));
    let labels = ns.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("linkerd.io/extension").map(String::as_str), Some(a.ext));
    let annotations = ns.metadata.annotations.unwrap_or_default();
    assert_eq!(
        annotations.get("linkerd.io/inject").map(String::as_str),
        Some("enabled")
    );

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), a.ns);
    for name in a.deployments {
        let d = deployments
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("{}/{name}: {e}", a.ns));
        let l = d.metadata.labels.clone().unwrap_or_default();
        assert_eq!(l.get("linkerd.io/extension").map(String::as_str), Some(a.ext));
        for image in images(&d) {
            if let Some(rest) = image.strip_prefix("cr.l5d.io/linkerd/") {
                let want = if rest.starts_with("smi-adaptor:") {
                    smi_tag
                } else {
                    linkerd_tag
                };
                assert!(rest.ends_with(&format!(":{want}")), "{image}");
            }
        }
        if cluster.server().is_some() {
            let available = d
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Available" && c.status == "True");
            assert!(available, "{}/{name} available", a.ns);
        }
    }
    let crd_api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in a.crds {
        let crd = crd_api.get(name).await.unwrap_or_else(|e| panic!("CRD {name}: {e}"));
        assert_eq!(
            crd.metadata
                .labels
                .unwrap_or_default()
                .get("linkerd.io/extension")
                .map(String::as_str),
            Some(a.ext)
        );
    }

    // Every Service selects pods of one of the add-on's Deployments.
    let pods: Vec<_> = deployments
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|d| d.spec.unwrap().template.metadata.unwrap().labels.unwrap_or_default())
        .collect();
    for s in Api::<Service>::namespaced(client.clone(), a.ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
    {
        let sel = s.spec.unwrap().selector.unwrap_or_default();
        assert!(
            pods.iter().any(|p| sel.iter().all(|(k, v)| p.get(k) == Some(v))),
            "Service {:?} selects no pods",
            s.metadata.name
        );
    }

    // Webhooks and the tap API service trust exactly the certificate their server mounts.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), a.ns);
    let tls = |name: &'static str| {
        let secrets = secrets.clone();
        async move {
            let s = secrets.get(name).await.unwrap_or_else(|e| panic!("secret {name}: {e}"));
            assert_eq!(s.type_.as_deref(), Some("kubernetes.io/tls"));
            let data = s.data.unwrap();
            assert!(
                String::from_utf8_lossy(&data["tls.key"].0).contains("BEGIN EC PRIVATE KEY"),
                "{name} key"
            );
            data["tls.crt"].0.clone()
        }
    };
    let webhook_ca = |name: &'static str| {
        let client = client.clone();
        async move {
            let w = Api::<MutatingWebhookConfiguration>::all(client)
                .get(name)
                .await
                .unwrap();
            let hooks = w.webhooks.unwrap();
            assert_eq!(hooks[0].failure_policy.as_deref(), Some("Ignore"));
            hooks[0].client_config.ca_bundle.clone().unwrap().0
        }
    };
    match a.ext {
        "viz" => {
            let crt = tls("tap-injector-k8s-tls").await;
            assert!(String::from_utf8_lossy(&crt).starts_with("-----BEGIN CERTIFICATE-----"));
            assert_eq!(webhook_ca("linkerd-tap-injector-webhook-config").await, crt);
            tls("tap-k8s-tls").await;
            let api_service = v1_resource("apiregistration.k8s.io", "APIService", "apiservices");
            let services = dynamic_api(client.clone(), &api_service, None);
            let svc = services.get("v1alpha1.tap.linkerd.io").await.unwrap();
            assert_eq!(svc.data["spec"]["service"]["name"], "tap");
            assert_eq!(svc.data["spec"]["service"]["namespace"], a.ns);
            // Both base64 as stored: the caBundle is the certificate tap serves.
            let secret = dynamic_api(client.clone(), &v1_resource("", "Secret", "secrets"), Some(a.ns));
            let s = secret.get("tap-k8s-tls").await.unwrap();
            assert_eq!(svc.data["spec"]["caBundle"], s.data["data"]["tls.crt"]);
        }
        "jaeger" => {
            let crt = tls("jaeger-injector-k8s-tls").await;
            assert_eq!(webhook_ca("linkerd-jaeger-injector-webhook-config").await, crt);
        }
        _ => {}
    }
}

/// Nothing of the add-on is left: namespace, CRDs, its cluster-wide RBAC, webhooks.
async fn check_addon_gone(cluster: &TestCluster, a: &AddonFacts) {
    let client = cluster.client().await;
    assert!(namespace_gone(cluster, a.ns).await, "{} is still there", a.ns);
    let crd_api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in a.crds {
        assert!(crd_api.get_opt(name).await.unwrap().is_none(), "CRD {name} left");
    }
    let selector = format!("linkerd.io/extension={}", a.ext);
    assert_no_cluster_rbac_labelled(&client, &selector, a.key).await;
    let hooks = names_labelled::<MutatingWebhookConfiguration>(&client, &selector).await;
    assert!(hooks.is_empty(), "{}: webhooks left: {hooks:?}", a.key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addons_are_refused_without_a_control_plane_and_nothing_is_written() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let (host, mut c, events) = connect("LINKERD", Generation::Adapter).await;
    assert!(
        control_plane_gone(&cluster).await,
        "this test needs a cluster without Linkerd"
    );

    for a in ADDONS {
        clear_log(&cluster);
        let done = run(&mut c, &events, op(a.key, "default", &cluster)).await;
        assert_eq!(done.event_type, ERROR, "{done:#?}");
        assert_eq!(done.error_code, "WASMESH-LINKERD-1201", "{done:#?}");
        assert!(done.summary.contains("no Linkerd control plane"), "{}", done.summary);
        assert!(!done.suggested_remediation.is_empty());
        assert_eq!(writes(&cluster), Vec::<String>::new(), "{}: nothing written", a.key);
        assert!(namespace(&cluster, a.ns).await.is_none());
    }

    // Settings that are not a JSON object are refused before anything else.
    clear_log(&cluster);
    let mut bad = op("viz-addon", "default", &cluster);
    bad.custom_body = "logLevel: [".into();
    let done = run(&mut c, &events, bad).await;
    assert_eq!(done.event_type, ERROR, "{done:#?}");
    assert_eq!(done.error_code, "WASMESH-LINKERD-1203");
    assert_eq!(writes(&cluster), Vec::<String>::new());

    // A removal without anything installed succeeds and says so.
    let done = run_ok(&mut c, &events, undo("smi-addon", "default", &cluster)).await;
    assert!(done.summary.contains("removed"), "{}", done.summary);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_addon_installed_for_the_installed_release_and_removed() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let (host, mut c, events) = connect("LINKERD", Generation::Adapter).await;

    let version = "stable-2.14.10";
    run_ok(&mut c, &events, install_linkerd(&cluster, version)).await;

    for a in ADDONS {
        let mut req = op(a.key, "default", &cluster);
        req.custom_body = r#"{"logLevel": "debug"}"#.into();
        let done = run_ok(&mut c, &events, req.clone()).await;
        assert!(done.summary.contains(version), "{}", done.summary);
        assert!(done.summary.contains(a.ns), "{}", done.summary);
        if cluster.server().is_some() {
            // The test server makes Deployments Available: no WARN about readiness.
            let warns: Vec<_> = events
                .for_op(&req.operation_id)
                .into_iter()
                .filter(|e| e.event_type == WARN)
                .collect();
            assert!(warns.is_empty(), "{warns:#?}");
        }
        check_addon(&cluster, a, version, "v0.2.5").await;
    }

    // The control plane's uninstall is refused while extensions remain.
    let mut uninstall = uninstall_linkerd(&cluster);
    let done = run(&mut c, &events, uninstall.clone()).await;
    assert_eq!(done.event_type, ERROR, "{done:#?}");
    assert!(!control_plane_gone(&cluster).await);

    for a in ADDONS {
        let done = run_ok(&mut c, &events, undo(a.key, "default", &cluster)).await;
        assert!(done.summary.contains("removed"), "{}", done.summary);
        check_addon_gone(&cluster, a).await;
    }
    assert!(
        namespace(&cluster, CONTROL_PLANE_NS).await.is_some(),
        "removing an extension leaves the control plane"
    );

    uninstall.operation_id = uuid::Uuid::new_v4().to_string();
    run_ok(&mut c, &events, uninstall).await;
    assert!(control_plane_gone(&cluster).await);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addons_follow_the_second_release() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let (host, mut c, events) = connect("LINKERD", Generation::Mesh).await;

    let version = "edge-25.4.4";
    run_ok(&mut c, &events, install_linkerd(&cluster, version)).await;
    for a in ADDONS.iter() {
        let done = run_ok(&mut c, &events, op(a.key, "default", &cluster)).await;
        assert!(done.summary.contains(version), "{}", done.summary);
        check_addon(&cluster, a, version, "v0.2.7").await;
    }
    // The newer Link CRD serves the newer versions.
    let crd = Api::<CustomResourceDefinition>::all(cluster.client().await)
        .get("links.multicluster.linkerd.io")
        .await
        .unwrap();
    let served: Vec<String> = crd.spec.versions.iter().map(|v| v.name.clone()).collect();
    assert!(served.contains(&"v1alpha3".to_string()), "{served:?}");

    for a in ADDONS.iter() {
        run_ok(&mut c, &events, undo(a.key, "default", &cluster)).await;
        check_addon_gone(&cluster, a).await;
    }
    run_ok(&mut c, &events, uninstall_linkerd(&cluster)).await;
    host.shutdown().await;
}

/// An install with its own trust domain and image mirror: the extensions name identities in that
/// trust domain and take their Linkerd images from the mirror (third-party images stay as they are).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addons_follow_the_installed_trust_domain_and_registry() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let (host, mut c, events) = connect("LINKERD", Generation::Adapter).await;

    let mut install = install_linkerd(&cluster, "edge-25.4.4");
    install.custom_body = "trustDomain: mesh.example.com\nregistry: mirror.example.com/l5d\n".into();
    run_ok(&mut c, &events, install).await;
    let client = cluster.client().await;
    let used = ["viz-addon", "multicluster-addon", "smi-addon", "jaeger-addon"];
    for key in used {
        run_ok(&mut c, &events, op(key, "default", &cluster)).await;
    }

    let args = |ns: &'static str, name: &'static str| {
        let client = client.clone();
        async move {
            let d = Api::<Deployment>::namespaced(client, ns).get(name).await.unwrap();
            d.spec.unwrap().template.spec.unwrap().containers[0]
                .args
                .clone()
                .unwrap_or_default()
        }
    };
    let tap = args("linkerd-viz", "tap").await;
    assert!(
        tap.contains(&"-identity-trust-domain=mesh.example.com".to_string()),
        "{tap:?}"
    );
    let injector = args("linkerd-viz", "tap-injector").await;
    assert!(
        injector.contains(&"-tap-service-name=tap.linkerd-viz.serviceaccount.identity.linkerd.mesh.example.com".into()),
        "{injector:?}"
    );
    let gateway = Api::<Service>::namespaced(client.clone(), "linkerd-multicluster")
        .get("linkerd-gateway")
        .await
        .unwrap();
    assert_eq!(
        gateway
            .metadata
            .annotations
            .unwrap_or_default()
            .get("mirror.linkerd.io/gateway-identity")
            .map(String::as_str),
        Some("linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.mesh.example.com")
    );
    for a in ADDONS {
        for d in Api::<Deployment>::namespaced(client.clone(), a.ns)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
        {
            for image in images(&d) {
                assert!(!image.starts_with("cr.l5d.io/"), "{}: {image}", a.ns);
                let linkerd = ["metrics-api", "tap", "web", "jaeger-webhook", "smi-adaptor"]
                    .iter()
                    .any(|n| image.starts_with(&format!("mirror.example.com/l5d/{n}:")));
                let third_party = ["prom/", "otel/", "jaegertracing/", "gcr.io/google_containers/"]
                    .iter()
                    .any(|p| image.starts_with(p));
                assert!(linkerd || third_party, "{}: {image}", a.ns);
            }
        }
    }

    for key in used {
        run_ok(&mut c, &events, undo(key, "default", &cluster)).await;
    }
    run_ok(&mut c, &events, uninstall_linkerd(&cluster)).await;
    host.shutdown().await;
}

/// A namespace the operation under test creates; deleted when dropped.
struct FreshNamespace {
    name: String,
    kubeconfig: String,
}

impl FreshNamespace {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for FreshNamespace {
    fn drop(&mut self) {
        let name = self.name.clone();
        wasmesh_test_apiserver::cleanup(self.kubeconfig.clone(), |client| async move {
            let _ = Api::<Namespace>::all(client)
                .delete(&name, &DeleteParams::background())
                .await;
        });
    }
}

/// The sample's Deployments, in `ns`.
async fn sample_deployments(cluster: &TestCluster, ns: &str) -> Vec<Deployment> {
    Api::<Deployment>::namespaced(cluster.client().await, ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_deployed_injected_into_the_namespace_and_removed() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let ns = cluster.namespace("l5d-samples").await;
    let (host, mut c, events) = connect("LINKERD", Generation::Adapter).await;
    let labels_before = namespace(&cluster, ns.name()).await.unwrap().metadata.labels;

    run_ok(&mut c, &events, install_linkerd(&cluster, "")).await;

    // Deployment names and front Service of each app.
    let apps: &[(&str, &[&str], &str)] = &[
        (
            "bookinfo",
            &[
                "details-v1",
                "ratings-v1",
                "reviews-v1",
                "reviews-v2",
                "reviews-v3",
                "productpage-v1",
            ],
            "productpage",
        ),
        ("httpbin", &["httpbin"], "httpbin"),
        ("imagehub", &["api-v1", "web-v1"], "web"),
        ("emojivoto", &["emoji", "voting", "web", "vote-bot"], "web-svc"),
    ];
    for (key, deployments, front) in apps {
        let req = op(key, ns.name(), &cluster);
        let done = run_ok(&mut c, &events, req.clone()).await;
        assert!(done.summary.contains(ns.name()), "{}", done.summary);
        let warned = events
            .for_op(&req.operation_id)
            .into_iter()
            .any(|e| e.error_code == "WASMESH-LINKERD-1302");
        assert!(!warned, "no warning with a control plane installed");

        let found = sample_deployments(&cluster, ns.name()).await;
        for name in *deployments {
            let d = found
                .iter()
                .find(|d| d.metadata.name.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("{key}: deployment {name}"));
            let annotations = d
                .spec
                .as_ref()
                .unwrap()
                .template
                .metadata
                .as_ref()
                .unwrap()
                .annotations
                .clone()
                .unwrap_or_default();
            assert_eq!(
                annotations.get("linkerd.io/inject").map(String::as_str),
                Some("enabled"),
                "{key}/{name} injected"
            );
        }
        let services: Api<Service> = Api::namespaced(cluster.client().await, ns.name());
        assert!(
            services.get_opt(front).await.unwrap().is_some(),
            "{key}: service {front}"
        );

        let done = run_ok(&mut c, &events, undo(key, ns.name(), &cluster)).await;
        assert!(done.summary.contains("removed"), "{}", done.summary);
        let left: Vec<_> = sample_deployments(&cluster, ns.name())
            .await
            .into_iter()
            .filter_map(|d| d.metadata.name)
            .filter(|n| deployments.contains(&n.as_str()))
            .collect();
        assert!(left.is_empty(), "{key}: left {left:?}");
        assert!(services.get_opt(front).await.unwrap().is_none(), "{key}: {front} left");
        let now = namespace(&cluster, ns.name()).await.expect("the namespace survives");
        assert!(now.metadata.deletion_timestamp.is_none());
        assert_eq!(
            now.metadata.labels, labels_before,
            "the user's namespace is left as it was"
        );
        assert!(
            now.metadata
                .annotations
                .unwrap_or_default()
                .get("linkerd.io/inject")
                .is_none(),
            "the namespace itself is not annotated"
        );
    }

    run_ok(&mut c, &events, uninstall_linkerd(&cluster)).await;

    // Without a control plane the app still deploys, with a warning that it runs unmeshed; a
    // missing namespace is created.
    let fresh = FreshNamespace {
        name: format!("l5d-fresh-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        kubeconfig: cluster.kubeconfig().to_string(),
    };
    assert!(namespace(&cluster, fresh.name()).await.is_none());
    let req = op("httpbin", fresh.name(), &cluster);
    run_ok(&mut c, &events, req.clone()).await;
    let warn = events
        .for_op(&req.operation_id)
        .into_iter()
        .find(|e| e.error_code == "WASMESH-LINKERD-1302")
        .expect("a warning that the app runs without proxies");
    assert_eq!(warn.event_type, WARN);
    assert!(namespace(&cluster, fresh.name()).await.is_some(), "namespace created");
    assert_eq!(sample_deployments(&cluster, fresh.name()).await.len(), 1);
    run_ok(&mut c, &events, undo("httpbin", fresh.name(), &cluster)).await;

    host.shutdown().await;
}
