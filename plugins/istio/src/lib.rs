//! The Istio translator: Meshery operations in, Kubernetes plans out.
//!
//! One module per family of operations; this file only dispatches.

mod addons;
mod design;
mod envoy_filter;
mod errors;
#[cfg(test)]
mod fuzz_tests;
mod install;
mod installed;
mod namespace;
mod policies;
mod samples;
mod vet;

use wasmesh_samples::App;
use wasmesh_sdk::Category;
use wasmesh_sdk::translator::{Addon, ControlPlane, Namespaces, Op, Rule, Translator};

use crate::addons::Addon as AddOn;
use crate::installed::CONTROL_PLANE_NAMESPACE;
use crate::policies::{Mode, Policy};

/// The Istio translator, described once: `describe`, the dispatch of `plan`, the rules of
/// manifest.json (checked by a unit test) and the design tables come from here.
pub static ISTIO: Translator = Translator {
    name: "ISTIO",
    mesh: "istio",
    display: "Istio",
    version: env!("CARGO_PKG_VERSION"),
    code_prefix: errors::IstioError::PREFIX,
    errors: errors::IstioError::CODES,
    // Embedded as the component's `wasmesh:manifest` section: what this translator needs. An
    // operator's grant narrows it for a restricted cluster.
    manifest: wasmesh_sdk::manifest!("manifest.json"),
    versions: install::versions,
    control_plane: ControlPlane {
        kind: "IstioMesh",
        operation: "istio",
        namespace: CONTROL_PLANE_NAMESPACE,
        settings: design::INSTALL_OPTIONS,
        settings_remedy: design::SETTINGS_REMEDY,
        install_first: "install Istio first, or add an IstioMesh component to the design",
    },
    addons: &[
        Addon {
            kind: "PrometheusIstioAddon",
            operation: "prometheus-addon",
            settings: &[],
        },
        Addon {
            kind: "GrafanaIstioAddon",
            operation: "grafana-addon",
            settings: &[],
        },
        Addon {
            kind: "KialiIstioAddon",
            operation: "kiali-addon",
            settings: &[],
        },
        Addon {
            kind: "JaegerIstioAddon",
            operation: "jaeger-addon",
            settings: &[],
        },
        Addon {
            kind: "ZipkinIstioAddon",
            operation: "zipkin-addon",
            settings: &[],
        },
    ],
    kinds: design::KINDS,
    operations: wasmesh_sdk::chain!(
        Op,
        &[
            Op::new(
                "istio",
                "Istio service mesh",
                Category::Install,
                install::plan,
                wasmesh_sdk::chain!(&Rule, INSTALL_RULES, &[&ISTIO_NAMESPACE_KEYS]),
            ),
            Op::new(
                "label-namespace",
                "Enable Istio sidecar injection (or ambient mode) on the namespace",
                Category::Configure,
                namespace::plan,
                &[&NAMESPACES_CREATE, &CP_DEPLOYMENTS_READ, &INJECTION_LABEL_KEYS],
            ),
            Op::new(
                "prometheus-addon",
                "Add-on: Prometheus",
                Category::Configure,
                |r| addons::plan(AddOn::Prometheus, r),
                ADDON_WITH_RBAC_RULES,
            ),
            Op::new(
                "grafana-addon",
                "Add-on: Grafana",
                Category::Configure,
                |r| addons::plan(AddOn::Grafana, r),
                ADDON_RULES,
            ),
            Op::new(
                "kiali-addon",
                "Add-on: Kiali",
                Category::Configure,
                |r| addons::plan(AddOn::Kiali, r),
                ADDON_WITH_RBAC_RULES,
            ),
            Op::new(
                "jaeger-addon",
                "Add-on: Jaeger",
                Category::Configure,
                |r| addons::plan(AddOn::Jaeger, r),
                ADDON_RULES,
            ),
            Op::new(
                "zipkin-addon",
                "Add-on: Zipkin",
                Category::Configure,
                |r| addons::plan(AddOn::Zipkin, r),
                ADDON_RULES,
            ),
            Op::new(
                "strict-mtls-policy-operation",
                "Policy: mTLS strict in the namespace",
                Category::Configure,
                |r| policies::plan(Policy::Mtls(Mode::Strict), r),
                MTLS_RULES,
            ),
            Op::new(
                "mutual-mtls-policy-operation",
                "Policy: mTLS permissive in the namespace",
                Category::Configure,
                |r| policies::plan(Policy::Mtls(Mode::Permissive), r),
                MTLS_RULES,
            ),
            Op::new(
                "disable-mtls-policy-operation",
                "Policy: mTLS disabled in the namespace",
                Category::Configure,
                |r| policies::plan(Policy::Mtls(Mode::Disable), r),
                MTLS_RULES,
            ),
            Op::new(
                "deny-all-policy-operation",
                "Policy: deny all requests in the namespace",
                Category::Configure,
                |r| policies::plan(Policy::DenyAll, r),
                &[&CP_DEPLOYMENTS_READ, &AUTHORIZATION_POLICIES_WRITE],
            ),
            Op::new(
                "envoy-filter-operation",
                "Image hub rate-limit filter",
                Category::Configure,
                envoy_filter::plan,
                &[&CP_DEPLOYMENTS_READ, &ENVOY_FILTERS_WRITE, &DEPLOYMENTS_LIST],
            ),
        ],
        &SAMPLES,
        &[
            Op::new(
                "istio-vet",
                "Analyse the running Istio configuration",
                Category::Validate,
                vet::plan,
                &[
                    &NAMESPACES_READ,
                    &WEBHOOKS_LIST,
                    &CP_DEPLOYMENTS_READ,
                    &PODS_LIST,
                    &SERVICES_LIST,
                    &ROUTES_LIST,
                ],
            ),
            Op::custom(
                "Apply or delete custom Kubernetes YAML",
                &[&ANY_NAMESPACED, &ANY_CLUSTER, &CUSTOM_NAMESPACE_KEYS],
            ),
        ]
    ),
    // A design may install Istio: the install's rules, plus what designs need besides.
    design_rules: wasmesh_sdk::chain!(
        &Rule,
        INSTALL_RULES,
        &[
            &CP_DEPLOYMENTS_READ,
            &ANY_NAMESPACED,
            &ANY_CLUSTER,
            &DESIGN_NAMESPACE_KEYS
        ]
    ),
    outbound_hosts: &[],
    assets: true,
};

/// The sample applications' operations, from the list they share (wasmesh-samples).
const SAMPLES: [Op; 4] = Op::samples(App::OPERATIONS, samples::operation, SAMPLE_RULES);

// The rules of the manifest, each written once; the operations above name the ones they need.
/// The Kubernetes rules of the install (its operation adds its namespace keys, designs theirs).
const INSTALL_RULES: &[&Rule] = &[
    &NAMESPACES_CREATE,
    &NAMESPACES_DELETE,
    &CRDS_WRITE,
    &CLUSTER_ROLES_WRITE,
    &CLUSTER_ROLE_BINDINGS_WRITE,
    &WEBHOOKS_WRITE,
    &API_SERVICES_READ,
    &CP_OBJECTS_WRITE,
    &CP_DEPLOYMENTS_WRITE,
    &CP_DAEMONSETS_WRITE,
    &CP_ROLES_WRITE,
    &CP_ROLE_BINDINGS_WRITE,
    &CP_DISRUPTION_BUDGETS_WRITE,
    &CP_AUTOSCALERS_WRITE,
];
const CP: Namespaces = Namespaces::Listed(&[CONTROL_PLANE_NAMESPACE]);
const CORE: &[&str] = &[""];
const RBAC: &[&str] = &["rbac.authorization.k8s.io"];
const WRITE: &[&str] = &["create", "patch", "delete"];
const GET_WRITE: &[&str] = &["get", "create", "patch", "delete"];
const ANY: &[&str] = &["get", "list", "create", "patch", "delete"];
const WEBHOOK_KINDS: &[&str] = &["mutatingwebhookconfigurations", "validatingwebhookconfigurations"];
const NAMESPACES_CREATE: Rule = Rule::kube(CORE, &["namespaces"], &["get", "create", "patch"], Namespaces::Cluster);
const NAMESPACES_DELETE: Rule = Rule::kube(CORE, &["namespaces"], &["delete"], Namespaces::Cluster);
const NAMESPACES_READ: Rule = Rule::kube(CORE, &["namespaces"], &["get", "list"], Namespaces::Cluster);
const CRDS_WRITE: Rule = Rule::kube(
    &["apiextensions.k8s.io"],
    &["customresourcedefinitions"],
    GET_WRITE,
    Namespaces::Cluster,
);
const CLUSTER_ROLES_WRITE: Rule = Rule::kube(
    RBAC,
    &["clusterroles"],
    &["create", "patch", "delete", "bind", "escalate"],
    Namespaces::Cluster,
);
const CLUSTER_ROLE_BINDINGS_WRITE: Rule = Rule::kube(RBAC, &["clusterrolebindings"], WRITE, Namespaces::Cluster);
const WEBHOOKS_WRITE: Rule = Rule::kube(
    &["admissionregistration.k8s.io"],
    WEBHOOK_KINDS,
    WRITE,
    Namespaces::Cluster,
);
const WEBHOOKS_LIST: Rule = Rule::kube(
    &["admissionregistration.k8s.io"],
    WEBHOOK_KINDS,
    &["list"],
    Namespaces::Cluster,
);
const API_SERVICES_READ: Rule = Rule::kube(
    &["apiregistration.k8s.io"],
    &["apiservices"],
    &["get"],
    Namespaces::Cluster,
);
const CP_OBJECTS_WRITE: Rule = Rule::kube(CORE, &["configmaps", "services", "serviceaccounts"], WRITE, CP);
const CP_DEPLOYMENTS_WRITE: Rule = Rule::kube(&["apps"], &["deployments"], GET_WRITE, CP);
const CP_DAEMONSETS_WRITE: Rule = Rule::kube(&["apps"], &["daemonsets"], GET_WRITE, CP);
const CP_ROLES_WRITE: Rule = Rule::kube(RBAC, &["roles"], &["create", "patch", "delete", "bind", "escalate"], CP);
const CP_ROLE_BINDINGS_WRITE: Rule = Rule::kube(RBAC, &["rolebindings"], WRITE, CP);
const CP_DISRUPTION_BUDGETS_WRITE: Rule = Rule::kube(&["policy"], &["poddisruptionbudgets"], WRITE, CP);
const CP_AUTOSCALERS_WRITE: Rule = Rule::kube(&["autoscaling"], &["horizontalpodautoscalers"], WRITE, CP);
const CP_DEPLOYMENTS_READ: Rule = Rule::kube(&["apps"], &["deployments"], &["get", "list"], CP);
const PEER_AUTHENTICATIONS_WRITE: Rule = Rule::kube(
    &["security.istio.io"],
    &["peerauthentications"],
    GET_WRITE,
    Namespaces::Request,
);
const AUTHORIZATION_POLICIES_WRITE: Rule = Rule::kube(
    &["security.istio.io"],
    &["authorizationpolicies"],
    WRITE,
    Namespaces::Request,
);
const ENVOY_FILTERS_WRITE: Rule = Rule::kube(&["networking.istio.io"], &["envoyfilters"], WRITE, Namespaces::Request);
const DEPLOYMENTS_LIST: Rule = Rule::kube(&["apps"], &["deployments"], &["list"], Namespaces::Request);
const SAMPLE_SERVICES_WRITE: Rule = Rule::kube(CORE, &["services", "serviceaccounts"], WRITE, Namespaces::Request);
const SAMPLE_DEPLOYMENTS_WRITE: Rule = Rule::kube(&["apps"], &["deployments"], GET_WRITE, Namespaces::Request);
const SAMPLE_ROUTES_WRITE: Rule = Rule::kube(
    &["networking.istio.io"],
    &["gateways", "virtualservices"],
    WRITE,
    Namespaces::Request,
);
const PODS_LIST: Rule = Rule::kube(CORE, &["pods"], &["list"], Namespaces::All);
const SERVICES_LIST: Rule = Rule::kube(CORE, &["services"], &["list"], Namespaces::All);
const ROUTES_LIST: Rule = Rule::kube(
    &["networking.istio.io"],
    &["virtualservices", "serviceentries"],
    &["list"],
    Namespaces::All,
);
const ANY_NAMESPACED: Rule = Rule::kube(&["*"], &["*"], ANY, Namespaces::All);
const ANY_CLUSTER: Rule = Rule::kube(&["*"], &["*"], ANY, Namespaces::Cluster);
const ISTIO_NAMESPACE_KEYS: Rule =
    Rule::namespace_metadata(&["app.kubernetes.io/*", "istio.io/*", "topology.istio.io/*"], &[]);
const INJECTION_LABEL_KEYS: Rule = Rule::namespace_metadata(&["istio-injection", "istio.io/dataplane-mode"], &[]);
const CUSTOM_NAMESPACE_KEYS: Rule = Rule::namespace_metadata(&["*", "!pod-security.kubernetes.io/*"], &["*"]);
const DESIGN_NAMESPACE_KEYS: Rule = Rule::namespace_metadata(&["*"], &["*"]);

const ADDON_RULES: &[&Rule] = &[&CP_OBJECTS_WRITE, &CP_DEPLOYMENTS_WRITE, &CP_DEPLOYMENTS_READ];
const ADDON_WITH_RBAC_RULES: &[&Rule] = &[
    &CLUSTER_ROLES_WRITE,
    &CLUSTER_ROLE_BINDINGS_WRITE,
    &CP_OBJECTS_WRITE,
    &CP_DEPLOYMENTS_WRITE,
    &CP_DEPLOYMENTS_READ,
];
const MTLS_RULES: &[&Rule] = &[&CP_DEPLOYMENTS_READ, &PEER_AUTHENTICATIONS_WRITE];
const SAMPLE_RULES: &[&Rule] = &[
    &NAMESPACES_CREATE,
    &CP_DEPLOYMENTS_READ,
    &SAMPLE_SERVICES_WRITE,
    &SAMPLE_DEPLOYMENTS_WRITE,
    &SAMPLE_ROUTES_WRITE,
];

struct Istio;

wasmesh_sdk::translator!(Istio, ISTIO, provision: design::provision, design_kinds: design::design_kinds);
