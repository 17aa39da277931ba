//! Linkerd designs through gRPC, as both Meshery generations send them: Provision
//! (AdapterService: Meshery component declarations) installs the control plane with a
//! LinkerdMesh component; ProcessOAM (MeshService: OAM Components and a Configuration with
//! traits) deploys Linkerd's policy and routing kinds on it; deleting each design undoes it.
//!
//! The test installs a control plane (namespace linkerd, CRDs, ClusterRoles, webhooks): it holds
//! the control-plane lock so it never runs at the same time as another test of this file on a real cluster, and a
//! guard removes what is left if it fails half-way.

use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};
use wasmesh_e2e::meshery::{Generation, ProcessOamRequest, ProvisionRequest};
use wasmesh_e2e::{ClusterScoped, TestCluster, client, namespace, start_host};

const NS: &str = "linkerd";
const VERSION: &str = "stable-2.14.10";
const CRDS: &[&str] = &[
    "serviceprofiles.linkerd.io",
    "servers.policy.linkerd.io",
    "serverauthorizations.policy.linkerd.io",
    "authorizationpolicies.policy.linkerd.io",
    "meshtlsauthentications.policy.linkerd.io",
    "networkauthentications.policy.linkerd.io",
    "httproutes.policy.linkerd.io",
    "httproutes.gateway.networking.k8s.io",
];
const CLUSTER_WIDE: &[(&str, &str, &str)] = &[
    ("ClusterRole", "clusterroles", "linkerd-linkerd-identity"),
    ("ClusterRole", "clusterroles", "linkerd-linkerd-destination"),
    ("ClusterRole", "clusterroles", "linkerd-linkerd-proxy-injector"),
    ("ClusterRole", "clusterroles", "linkerd-policy"),
    ("ClusterRoleBinding", "clusterrolebindings", "linkerd-linkerd-identity"),
    (
        "ClusterRoleBinding",
        "clusterrolebindings",
        "linkerd-linkerd-destination",
    ),
    (
        "ClusterRoleBinding",
        "clusterrolebindings",
        "linkerd-linkerd-proxy-injector",
    ),
    (
        "ClusterRoleBinding",
        "clusterrolebindings",
        "linkerd-destination-policy",
    ),
];

/// What an install leaves cluster-wide when the test fails half-way; removed on drop.
struct Leftovers {
    _cluster_scoped: ClusterScoped,
    kubeconfig: String,
}

impl Leftovers {
    fn new(cluster: &TestCluster) -> Self {
        let mut scoped = ClusterScoped::new(cluster);
        let ar = |group: &str, kind: &str, plural: &str| {
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
        };
        let crd = ar(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "customresourcedefinitions",
        );
        for name in CRDS {
            scoped.objects.push((crd.clone(), name.to_string()));
        }
        for (kind, plural, name) in CLUSTER_WIDE {
            scoped
                .objects
                .push((ar("rbac.authorization.k8s.io", kind, plural), name.to_string()));
        }
        let adm = "admissionregistration.k8s.io";
        scoped.objects.push((
            ar(adm, "MutatingWebhookConfiguration", "mutatingwebhookconfigurations"),
            "linkerd-proxy-injector-webhook-config".into(),
        ));
        for name in [
            "linkerd-sp-validator-webhook-config",
            "linkerd-policy-validator-webhook-config",
        ] {
            scoped.objects.push((
                ar(adm, "ValidatingWebhookConfiguration", "validatingwebhookconfigurations"),
                name.into(),
            ));
        }
        Leftovers {
            _cluster_scoped: scoped,
            kubeconfig: cluster.kubeconfig().to_string(),
        }
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        wasmesh_test_apiserver::cleanup(self.kubeconfig.clone(), |client| async move {
            let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
            match api.delete(NS, &Default::default()).await {
                Ok(_) | Err(kube::Error::Api(_)) => {}
                Err(e) => eprintln!("warning: could not delete {NS}: {e}"),
            }
        });
    }
}

/// The object, or None when it (or its kind) does not exist.
async fn get(cluster: &TestCluster, api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> Option<Value> {
    let client = cluster.client().await;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let Ok((ar, _)) = kube::discovery::pinned_kind(&client, &gvk).await else {
        return None;
    };
    let api: Api<DynamicObject> = match ns {
        Some(ns) => Api::namespaced_with(client, ns, &ar),
        None => Api::all_with(client, &ar),
    };
    api.get_opt(name)
        .await
        .unwrap_or_else(|e| panic!("get {kind} {name}: {e}"))
        .map(|o| serde_json::to_value(o).unwrap())
}

/// The plan's summary line of a design's response (rejected components are listed before it).
fn summary(message: &str) -> &str {
    message
        .lines()
        .find(|l| l.starts_with("Design "))
        .unwrap_or_else(|| panic!("no summary line: {message}"))
}

fn oam(api_version: &str, kind: &str, name: &str, ns: &str, settings: Value) -> String {
    json!({
        "kind": "Component",
        "metadata": {"name": name, "namespace": ns,
            "annotations": {"design.meshmodel.io.k8s.APIVersion": api_version, "design.meshmodel.io.k8s.Kind": kind}},
        "spec": {"type": kind, "settings": settings},
    })
    .to_string()
}

fn declaration(api_version: &str, kind: &str, name: &str, ns: &str, spec: Value) -> String {
    json!({
        "schemaVersion": "components.meshery.io/v1beta1",
        "displayName": name,
        "component": {"version": api_version, "kind": kind},
        "model": {"name": "linkerd"},
        "configuration": {"metadata": {"name": name, "namespace": ns}, "spec": spec},
    })
    .to_string()
}

fn server_spec() -> Value {
    json!({"podSelector": {"matchLabels": {"app": "web"}}, "port": "http", "proxyProtocol": "HTTP/1"})
}

/// Retries, a retry budget and per-route timeouts: all must arrive as designed.
fn service_profile_spec() -> Value {
    json!({
        "routes": [
            {"name": "GET /api/list", "condition": {"method": "GET", "pathRegex": "/api/list"},
             "isRetryable": true, "timeout": "250ms"},
            {"name": "POST /api/vote", "condition": {"method": "POST", "pathRegex": "/api/vote"},
             "timeout": "2s", "responseClasses": [{"condition": {"status": {"min": 500, "max": 599}}, "isFailure": true}]},
        ],
        "retryBudget": {"retryRatio": 0.2, "minRetriesPerSecond": 10, "ttl": "10s"},
    })
}

fn annotation(ns: &k8s_openapi::api::core::v1::Namespace, key: &str) -> Option<String> {
    ns.metadata.annotations.as_ref().and_then(|a| a.get(key).cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linkerd_design_installs_deploys_policies_with_traits_and_removes_them() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    if let Some(server) = cluster.server() {
        server.set_deployments_become_available(true);
    }
    let _leftovers = Leftovers::new(&cluster);
    let ns = cluster.namespace("linkerd-design").await;
    let host = start_host().await;
    let mut newest = client(&host, "LINKERD", Generation::Adapter).await;
    let mut oldest = client(&host, "LINKERD", Generation::Mesh).await;
    let kube_configs = vec![cluster.kubeconfig().to_string()];

    // Provision: the control plane and an HTTPRoute, as Meshery component declarations.
    let route_spec = json!({"parentRefs": [{"name": "web", "kind": "Server", "group": "policy.linkerd.io"}],
        "rules": [{"matches": [{"path": {"value": "/api", "type": "PathPrefix"}}]}]});
    let install = vec![
        json!({
            "schemaVersion": "components.meshery.io/v1beta1",
            "displayName": "linkerd",
            "component": {"kind": "LinkerdMesh"},
            "model": {"name": "linkerd"},
            "configuration": {"metadata": {"name": "linkerd", "namespace": NS}, "spec": {"version": VERSION}},
        })
        .to_string(),
        declaration("policy.linkerd.io/v1beta3", "HTTPRoute", "api", &ns, route_spec.clone()),
    ];
    let provision = |delete_op, declarations: &Vec<String>| ProvisionRequest {
        username: "e2e".into(),
        delete_op,
        declarations: declarations.clone(),
        kube_configs: kube_configs.clone(),
    };
    let message = newest
        .provision(provision(false, &install))
        .await
        .expect("control plane installed");
    assert!(
        summary(&message).starts_with(&format!(
            "Design deployed (2 components): LinkerdMesh \"linkerd\" in \"linkerd\": install {VERSION}; HTTPRoute \"api\" in \"{ns}\": apply"
        )),
        "{message}"
    );
    for d in ["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"] {
        assert!(
            get(&cluster, "apps/v1", "Deployment", Some(NS), d).await.is_some(),
            "{d}"
        );
    }
    let route = get(&cluster, "policy.linkerd.io/v1beta3", "HTTPRoute", Some(&ns), "api")
        .await
        .expect("HTTPRoute");
    assert_eq!(route["spec"], route_spec);

    // ProcessOAM: Linkerd kinds on the installed control plane, one with a wrong group, and the
    // injection trait in Linkerd's spelling.
    let sp_name = format!("web.{ns}.svc.cluster.local");
    let components = vec![
        oam("policy.linkerd.io/v1beta1", "Server", "web", &ns, server_spec()),
        oam(
            "linkerd.io/v1alpha2",
            "ServiceProfile",
            &sp_name,
            &ns,
            service_profile_spec(),
        ),
        oam("policy.istio.io/v1beta1", "Server", "wrong-group", &ns, json!({})),
        oam(
            "policy.linkerd.io/v1alpha1",
            "MeshTLSAuthentication",
            "web-clients",
            &ns,
            json!({"identities": ["*.linkerd.cluster.local"]}),
        ),
    ];
    let config = json!({"spec": {"components": [{"componentName": "web", "traits": [
        {"name": "automaticSidecarInjection.Linkerd", "properties": {"namespaces": [ns.name()]}}]}]}});
    let oam_request = |delete_op| ProcessOamRequest {
        username: "e2e".into(),
        delete_op,
        oam_comps: components.clone(),
        oam_config: config.to_string(),
        kube_configs: kube_configs.clone(),
    };
    let message = oldest.process_oam(oam_request(false)).await.expect("design deployed");
    let first = summary(&message);
    assert!(
        first.starts_with("Design deployed (3 of 4 components, 1 rejected): "),
        "{message}"
    );
    for said in [
        format!("Server \"web\" in \"{ns}\": apply"),
        format!("ServiceProfile \"{sp_name}\" in \"{ns}\": apply"),
        format!(
            "trait automaticSidecarInjection.Linkerd of \"web\": annotation linkerd.io/inject=enabled on namespaces {ns}"
        ),
    ] {
        assert!(first.contains(&said), "{said}: {first}");
    }
    assert!(
        message.contains("component 3 \"wrong-group\" not deployed")
            && message.contains("Linkerd's Server is in policy.linkerd.io/v1beta1"),
        "{message}"
    );
    let server = get(&cluster, "policy.linkerd.io/v1beta1", "Server", Some(&ns), "web")
        .await
        .expect("Server");
    assert_eq!(server["spec"], server_spec());
    let sp = get(&cluster, "linkerd.io/v1alpha2", "ServiceProfile", Some(&ns), &sp_name)
        .await
        .expect("ServiceProfile");
    assert_eq!(sp["spec"], service_profile_spec(), "retries, budget and timeouts kept");
    assert!(
        get(
            &cluster,
            "policy.linkerd.io/v1alpha1",
            "MeshTLSAuthentication",
            Some(&ns),
            "web-clients"
        )
        .await
        .is_some()
    );
    let n = namespace(&cluster, &ns).await.expect("namespace");
    assert_eq!(annotation(&n, "linkerd.io/inject").as_deref(), Some("enabled"));

    // Deleting the OAM design removes its objects and the annotation; the control plane stays.
    let message = oldest.process_oam(oam_request(true)).await.expect("design removed");
    assert!(
        summary(&message).starts_with("Design removed (3 of 4 components, 1 rejected): "),
        "{message}"
    );
    assert!(message.contains("deleted Server \"web\""), "{message}");
    assert!(
        get(&cluster, "policy.linkerd.io/v1beta1", "Server", Some(&ns), "web")
            .await
            .is_none()
    );
    assert!(
        get(&cluster, "linkerd.io/v1alpha2", "ServiceProfile", Some(&ns), &sp_name)
            .await
            .is_none()
    );
    let n = namespace(&cluster, &ns).await.expect("the namespace stays");
    assert_eq!(annotation(&n, "linkerd.io/inject"), None);
    assert!(
        get(&cluster, "apps/v1", "Deployment", Some(NS), "linkerd-destination")
            .await
            .is_some()
    );

    // Deleting the Provision design uninstalls the control plane.
    let message = newest
        .provision(provision(true, &install))
        .await
        .expect("control plane removed");
    assert!(
        summary(&message)
            .starts_with("Design removed (2 components): LinkerdMesh \"linkerd\" in \"linkerd\": uninstall"),
        "{message}"
    );
    assert!(
        get(&cluster, "apps/v1", "Deployment", Some(NS), "linkerd-destination")
            .await
            .is_none()
    );
    assert!(
        get(&cluster, "policy.linkerd.io/v1beta3", "HTTPRoute", Some(&ns), "api")
            .await
            .is_none()
    );

    // Without Linkerd, a Linkerd kind is rejected alone with the reason, and nothing is written.
    // (On a real cluster the CRDs may still be terminating: checked on the built-in server.)
    if cluster.server().is_some() {
        let alone = vec![
            declaration(
                "linkerd.io/v1alpha2",
                "ServiceProfile",
                &sp_name,
                &ns,
                service_profile_spec(),
            ),
            declaration("v1", "ConfigMap", "plain", &ns, Value::Null),
        ];
        let message = newest
            .provision(provision(false, &alone))
            .await
            .expect("the rest deployed");
        assert!(
            message.contains("component 1") && message.contains("the cluster does not serve linkerd.io ServiceProfile"),
            "{message}"
        );
        assert!(message.contains("applied ConfigMap \"plain\""), "{message}");
    }
    host.shutdown().await;
}
