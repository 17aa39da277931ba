//! Reading, deleting and cleaning up cluster objects by apiVersion, kind, namespace and name, the
//! way the mesh tests check what an operation wrote.
//!
//! The tests look at many kinds (Istio and Linkerd CRs, webhooks, RBAC, workloads) and the
//! kinds an operation installs may not be served yet, so lookups go through discovery and work
//! on JSON. Every mesh test file needs the same lookups and the same "remove the control plane
//! if the test fails half-way" guard; they live here so a fix (a real cluster finalizing an
//! object, a kind not served yet) is made once for all of them.

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};

use crate::{ClusterScoped, TestCluster, apply_objects, resource_of};

/// The dynamic API for objects of `ar`, in `ns` or cluster-wide when `ns` is None.
pub fn dynamic_api(client: kube::Client, ar: &ApiResource, ns: Option<&str>) -> Api<DynamicObject> {
    match ns {
        Some(ns) => Api::namespaced_with(client, ns, ar),
        None => Api::all_with(client, ar),
    }
}

/// The API resource of a `<group>/v1` kind whose plural is known, without asking discovery (the
/// clean-up guards name kinds that may not be served any more when they run).
pub fn v1_resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

/// The object, or None when it (or its kind) does not exist: a test may look for an object of a
/// CRD the operation under test was to install (or has removed).
pub async fn get(cluster: &TestCluster, api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> Option<Value> {
    let client = cluster.client().await;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let Ok((ar, _)) = kube::discovery::pinned_kind(&client, &gvk).await else {
        return None;
    };
    dynamic_api(client, &ar, ns)
        .get_opt(name)
        .await
        .unwrap_or_else(|e| panic!("get {kind} {name}: {e}"))
        .map(|o| serde_json::to_value(o).unwrap())
}

/// The object the operation under test must have created.
pub async fn must_get(cluster: &TestCluster, api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> Value {
    get(cluster, api_version, kind, ns, name)
        .await
        .unwrap_or_else(|| panic!("{kind} {name} was not created"))
}

/// Like [`get`], but an object a real cluster is still finalizing counts as gone.
pub async fn get_live(
    cluster: &TestCluster,
    api_version: &str,
    kind: &str,
    ns: Option<&str>,
    name: &str,
) -> Option<Value> {
    get(cluster, api_version, kind, ns, name)
        .await
        .filter(|o| o["metadata"]["deletionTimestamp"].is_null())
}

/// Like [`must_get`], with [`get_live`]'s view of objects being finalized.
pub async fn must_get_live(
    cluster: &TestCluster,
    api_version: &str,
    kind: &str,
    ns: Option<&str>,
    name: &str,
) -> Value {
    get_live(cluster, api_version, kind, ns, name)
        .await
        .unwrap_or_else(|| panic!("{kind} {name} was not created"))
}

/// The object, or None when it does not exist; its kind must be served (a test seeding or
/// checking kinds the cluster already has).
pub async fn get_json(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    ns: Option<&str>,
    name: &str,
) -> Option<Value> {
    let ar = resource_of(client, &json!({"apiVersion": api_version, "kind": kind})).await;
    dynamic_api(client.clone(), &ar, ns)
        .get_opt(name)
        .await
        .unwrap_or_else(|e| panic!("get {kind} {name}: {e}"))
        .map(|o| serde_json::to_value(o).unwrap())
}

/// Deletes the object as an administrator would (a test breaking what an operation made);
/// absence is fine.
pub async fn delete(client: &kube::Client, api_version: &str, kind: &str, ns: Option<&str>, name: &str) {
    let ar = resource_of(client, &json!({"apiVersion": api_version, "kind": kind})).await;
    let api = dynamic_api(client.clone(), &ar, ns);
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => panic!("delete {kind} {name}: {e}"),
    }
    // A real cluster finalizes a CRD for a moment: what the test checks next must find it gone,
    // as the test server's immediate delete does.
    if kind == "CustomResourceDefinition" {
        crate::await_gone(&api, name).await;
    }
}

/// The names of the cluster-scoped objects of type `K` that carry the labels of `selector`: what
/// an uninstall must not leave behind.
pub async fn names_labelled<K>(client: &kube::Client, selector: &str) -> Vec<String>
where
    K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope, DynamicType = ()>
        + Clone
        + k8s_openapi::serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    Api::<K>::all(client.clone())
        .list(&ListParams::default().labels(selector))
        .await
        .unwrap_or_else(|e| panic!("list {} {selector}: {e}", K::kind(&())))
        .items
        .into_iter()
        .filter_map(|o| o.meta().name.clone())
        .collect()
}

/// Asserts that no ClusterRole or ClusterRoleBinding carries the labels of `selector`: what the
/// uninstall tests check after removing a control plane or an extension (`what`).
pub async fn assert_no_cluster_rbac_labelled(client: &kube::Client, selector: &str, what: &str) {
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
    let roles = names_labelled::<ClusterRole>(client, selector).await;
    assert!(roles.is_empty(), "{what}: ClusterRoles left: {roles:?}");
    let bindings = names_labelled::<ClusterRoleBinding>(client, selector).await;
    assert!(bindings.is_empty(), "{what}: ClusterRoleBindings left: {bindings:?}");
}

/// Objects a test made itself (seeded as an administrator would); deleted in reverse order when
/// dropped, also when the test fails.
pub struct Created {
    kubeconfig: String,
    objects: Vec<(ApiResource, Option<String>, String)>,
}

impl Created {
    pub fn new(cluster: &TestCluster) -> Self {
        Created {
            kubeconfig: cluster.kubeconfig().to_string(),
            objects: Vec::new(),
        }
    }

    /// Server-side applies each object and records it for deletion.
    pub async fn apply(&mut self, client: &kube::Client, objects: &[Value]) {
        for o in objects {
            apply_objects(client, std::slice::from_ref(o)).await;
            self.objects.push((
                resource_of(client, o).await,
                o["metadata"]["namespace"].as_str().map(str::to_string),
                o["metadata"]["name"].as_str().expect("name").to_string(),
            ));
        }
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        let objects = std::mem::take(&mut self.objects);
        wasmesh_test_apiserver::cleanup(self.kubeconfig.clone(), move |client| async move {
            for (ar, ns, name) in objects.iter().rev() {
                match dynamic_api(client.clone(), ar, ns.as_deref())
                    .delete(name, &DeleteParams::background())
                    .await
                {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => eprintln!("warning: could not delete {} {name}: {e}", ar.kind),
                }
            }
            // Namespaces and CRDs are finalized for a while on a real cluster: the next test must
            // find them gone.
            for (ar, ns, name) in objects.iter().rev() {
                crate::await_gone(&dynamic_api(client.clone(), ar, ns.as_deref()), name).await;
            }
        });
    }
}

/// Everything cluster-wide a control-plane install may leave when a test fails half-way: its
/// namespace and the named cluster-scoped objects. Removed on drop: the namespace first, then the
/// cluster-scoped objects (a real cluster would otherwise keep them: the test server's cluster
/// goes away with the test, a real one does not).
pub struct Leftovers {
    namespace: String,
    kubeconfig: String,
    // Dropped after `Drop for Leftovers` has removed the namespace.
    cluster_scoped: ClusterScoped,
}

impl Leftovers {
    pub fn new(cluster: &TestCluster, namespace: &str) -> Self {
        Leftovers {
            namespace: namespace.to_string(),
            kubeconfig: cluster.kubeconfig().to_string(),
            cluster_scoped: ClusterScoped::new(cluster),
        }
    }

    /// Also removes the named objects of a cluster-scoped `<group>/v1` kind.
    pub fn with(mut self, group: &str, kind: &str, plural: &str, names: &[&str]) -> Self {
        let ar = v1_resource(group, kind, plural);
        for name in names {
            self.cluster_scoped.objects.push((ar.clone(), name.to_string()));
        }
        self
    }

    pub fn crds(self, names: &[&str]) -> Self {
        self.with(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            names,
        )
    }

    pub fn cluster_roles(self, names: &[&str]) -> Self {
        self.with("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", names)
    }

    pub fn cluster_role_bindings(self, names: &[&str]) -> Self {
        self.with(
            "rbac.authorization.k8s.io",
            "ClusterRoleBinding",
            "clusterrolebindings",
            names,
        )
    }

    /// A ClusterRole and a ClusterRoleBinding of each name, in that order.
    pub fn cluster_roles_and_bindings(mut self, names: &[&str]) -> Self {
        for name in names {
            self = self.cluster_roles(&[name]).cluster_role_bindings(&[name]);
        }
        self
    }

    pub fn mutating_webhooks(self, names: &[&str]) -> Self {
        self.with(
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
            names,
        )
    }

    pub fn validating_webhooks(self, names: &[&str]) -> Self {
        self.with(
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            names,
        )
    }

    /// What an Istio install leaves cluster-wide with every profile: the CRDs, istiod's RBAC and
    /// its two webhook configurations. Tests of add-ons or CNI add their own names.
    pub fn istio(cluster: &TestCluster) -> Self {
        Leftovers::new(cluster, ISTIO_NS)
            .crds(ISTIO_CRDS)
            .cluster_roles_and_bindings(ISTIOD_CLUSTER_RBAC)
            .mutating_webhooks(&["istio-sidecar-injector"])
            .validating_webhooks(&["istio-validator-istio-system"])
    }

    /// What a Linkerd install leaves cluster-wide: the given CRDs (they depend on the release),
    /// the control plane's RBAC and its webhook configurations.
    pub fn linkerd(cluster: &TestCluster, crds: &[&str]) -> Self {
        let (mutating, validating): (Vec<_>, Vec<_>) = LINKERD_WEBHOOKS.iter().partition(|(_, m, _)| *m);
        let names = |w: Vec<&(&str, bool, &'static str)>| w.into_iter().map(|(_, _, n)| *n).collect::<Vec<_>>();
        Leftovers::new(cluster, LINKERD_NS)
            .crds(crds)
            .cluster_roles(LINKERD_CLUSTER_ROLES)
            .cluster_role_bindings(LINKERD_CLUSTER_ROLE_BINDINGS)
            .mutating_webhooks(&names(mutating))
            .validating_webhooks(&names(validating))
    }

    /// What an install of any release the tests use may leave (2.14's CRDs and 2.18's extras).
    pub fn linkerd_any_release(cluster: &TestCluster) -> Self {
        let crds: Vec<&str> = LINKERD_CRDS_2_14
            .iter()
            .chain(LINKERD_CRDS_2_18_EXTRA)
            .copied()
            .collect();
        Leftovers::linkerd(cluster, &crds)
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        let ns = self.namespace.clone();
        wasmesh_test_apiserver::cleanup(self.kubeconfig.clone(), |client| async move {
            let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
            match api.delete(&ns, &Default::default()).await {
                Ok(_) | Err(kube::Error::Api(_)) => {}
                Err(e) => eprintln!("warning: could not delete {ns}: {e}"),
            }
            // A real cluster keeps it Terminating for a while; the next test (holding the same
            // control-plane lock) must find it gone, not write into it.
            crate::await_gone(&api, &ns).await;
        });
    }
}

/// Istio's control-plane namespace.
pub const ISTIO_NS: &str = "istio-system";

/// The CRDs every Istio install creates (istio/istio manifests/charts/base).
pub const ISTIO_CRDS: &[&str] = &[
    "virtualservices.networking.istio.io",
    "destinationrules.networking.istio.io",
    "gateways.networking.istio.io",
    "serviceentries.networking.istio.io",
    "sidecars.networking.istio.io",
    "workloadentries.networking.istio.io",
    "workloadgroups.networking.istio.io",
    "envoyfilters.networking.istio.io",
    "proxyconfigs.networking.istio.io",
    "peerauthentications.security.istio.io",
    "authorizationpolicies.security.istio.io",
    "requestauthentications.security.istio.io",
    "telemetries.telemetry.istio.io",
    "wasmplugins.extensions.istio.io",
];

/// istiod's ClusterRoles, each with a ClusterRoleBinding of the same name.
pub const ISTIOD_CLUSTER_RBAC: &[&str] = &[
    "istiod-clusterrole-istio-system",
    "istiod-gateway-controller-istio-system",
    "istio-reader-clusterrole-istio-system",
];

/// Linkerd's control-plane namespace.
pub const LINKERD_NS: &str = "linkerd";

/// The CRDs of a stable-2.14 install.
pub const LINKERD_CRDS_2_14: &[&str] = &[
    "serviceprofiles.linkerd.io",
    "servers.policy.linkerd.io",
    "serverauthorizations.policy.linkerd.io",
    "authorizationpolicies.policy.linkerd.io",
    "meshtlsauthentications.policy.linkerd.io",
    "networkauthentications.policy.linkerd.io",
    "httproutes.policy.linkerd.io",
    "httproutes.gateway.networking.k8s.io",
];

/// The CRDs a 2.18-era release installs on top of 2.14's.
pub const LINKERD_CRDS_2_18_EXTRA: &[&str] = &[
    "externalworkloads.workload.linkerd.io",
    "httplocalratelimitpolicies.policy.linkerd.io",
    "egressnetworks.policy.linkerd.io",
    "grpcroutes.gateway.networking.k8s.io",
    "tlsroutes.gateway.networking.k8s.io",
    "tcproutes.gateway.networking.k8s.io",
];

pub const LINKERD_CLUSTER_ROLES: &[&str] = &[
    "linkerd-linkerd-identity",
    "linkerd-linkerd-destination",
    "linkerd-linkerd-proxy-injector",
    "linkerd-policy",
];

pub const LINKERD_CLUSTER_ROLE_BINDINGS: &[&str] = &[
    "linkerd-linkerd-identity",
    "linkerd-linkerd-destination",
    "linkerd-linkerd-proxy-injector",
    "linkerd-destination-policy",
];

/// Linkerd's webhooks: TLS secret, whether the configuration is mutating, configuration name.
pub const LINKERD_WEBHOOKS: &[(&str, bool, &str)] = &[
    (
        "linkerd-proxy-injector-k8s-tls",
        true,
        "linkerd-proxy-injector-webhook-config",
    ),
    (
        "linkerd-sp-validator-k8s-tls",
        false,
        "linkerd-sp-validator-webhook-config",
    ),
    (
        "linkerd-policy-validator-k8s-tls",
        false,
        "linkerd-policy-validator-webhook-config",
    ),
];
