//! The Linkerd translator: Meshery operations in, Kubernetes plans out.
//!
//! One module per family of operations; this file only dispatches.

mod addons;
mod check;
mod design;
mod errors;
#[cfg(test)]
mod fuzz_tests;
mod identity;
mod install;
mod installed;
mod rotate;
mod samples;

use wasmesh_samples::App;
use wasmesh_sdk::plan::{namespace_change, plan, stage};
use wasmesh_sdk::translator::{Addon, ControlPlane, Namespaces, Op, Rule, Translator};
use wasmesh_sdk::{Category, OperationRequest, Plan, Step};

use crate::addons::Addon as Extension;

const INJECT_ANNOTATION: &str = "linkerd.io/inject";

/// The Linkerd translator, described once: `describe`, the dispatch of `plan`, the rules of
/// manifest.json (checked by a unit test) and the design tables come from here.
pub static LINKERD: Translator = Translator {
    name: "LINKERD",
    mesh: "linkerd",
    display: "Linkerd",
    version: env!("CARGO_PKG_VERSION"),
    code_prefix: errors::LinkerdError::PREFIX,
    errors: errors::LinkerdError::CODES,
    // Embedded as the component's `wasmesh:manifest` section: what this translator needs. An
    // operator's grant narrows it for a restricted cluster.
    manifest: wasmesh_sdk::manifest!("manifest.json"),
    versions: install::versions,
    control_plane: ControlPlane {
        kind: "LinkerdMesh",
        operation: "linkerd",
        namespace: installed::CONTROL_PLANE_NAMESPACE,
        settings: design::INSTALL_OPTIONS,
        settings_remedy: design::SETTINGS_REMEDY,
        install_first: "install Linkerd first, or add its component (LinkerdMesh) to the design",
    },
    addons: &[
        Addon {
            kind: "VizLinkerdAddon",
            operation: "viz-addon",
            settings: design::ADDON_OPTIONS,
        },
        Addon {
            kind: "JaegerLinkerdAddon",
            operation: "jaeger-addon",
            settings: design::ADDON_OPTIONS,
        },
        Addon {
            kind: "MultiClusterLinkerdAddon",
            operation: "multicluster-addon",
            settings: design::ADDON_OPTIONS,
        },
        Addon {
            kind: "SMILinkerdAddon",
            operation: "smi-addon",
            settings: design::ADDON_OPTIONS,
        },
    ],
    kinds: design::KINDS,
    operations: wasmesh_sdk::chain!(
        Op,
        &[
            Op::new(
                "linkerd",
                "Linkerd service mesh",
                Category::Install,
                install::plan,
                INSTALL_RULES,
            ),
            Op::new(
                "annotate-namespace",
                "Enable Linkerd proxy injection on the namespace",
                Category::Configure,
                |r| Ok(annotate_namespace(r)),
                &[&NAMESPACES_CREATE, &INJECT_ANNOTATION_KEY],
            ),
            Op::new(
                "viz-addon",
                "Linkerd Viz extension (dashboard and metrics)",
                Category::Configure,
                |r| addons::plan(Extension::Viz, r),
                &[
                    &NAMESPACES_CREATE,
                    &NAMESPACES_DELETE,
                    &CRDS_WRITE,
                    &CLUSTER_ROLES_WRITE,
                    &CLUSTER_ROLE_BINDINGS_WRITE,
                    &MUTATING_WEBHOOKS_WRITE,
                    &API_SERVICES_WRITE,
                    &CP_ROLES_WRITE,
                    &CP_ROLE_BINDINGS_WRITE,
                    &CP_CONFIGMAPS_READ,
                    &EXT_OBJECTS_WRITE,
                    &EXT_DEPLOYMENTS_WRITE,
                    &EXT_ROLE_BINDINGS_WRITE,
                    &KUBE_SYSTEM_ROLES_BIND,
                    &LINKERD_NAMESPACE_KEYS,
                ],
            ),
            Op::new(
                "jaeger-addon",
                "Linkerd Jaeger extension (distributed tracing)",
                Category::Configure,
                |r| addons::plan(Extension::Jaeger, r),
                &[
                    &NAMESPACES_CREATE,
                    &NAMESPACES_DELETE,
                    &CRDS_WRITE,
                    &CLUSTER_ROLES_WRITE,
                    &CLUSTER_ROLE_BINDINGS_WRITE,
                    &MUTATING_WEBHOOKS_WRITE,
                    &CP_CONFIGMAPS_READ,
                    &EXT_OBJECTS_WRITE,
                    &EXT_DEPLOYMENTS_WRITE,
                    &EXT_ROLE_BINDINGS_WRITE,
                    &LINKERD_NAMESPACE_KEYS,
                ],
            ),
            Op::new(
                "multicluster-addon",
                "Linkerd Multicluster extension",
                Category::Configure,
                |r| addons::plan(Extension::Multicluster, r),
                EXTENSION_RULES,
            ),
            Op::new(
                "smi-addon",
                "Linkerd SMI extension (TrafficSplit)",
                Category::Configure,
                |r| addons::plan(Extension::Smi, r),
                EXTENSION_RULES,
            ),
        ],
        &SAMPLES,
        &[
            Op::new(
                "linkerd-check",
                "Check the health of the Linkerd installation",
                Category::Validate,
                check::plan,
                &[
                    &NAMESPACES_LIST,
                    &CRDS_READ,
                    &WEBHOOKS_READ,
                    &CP_CONFIGMAPS_READ,
                    &CP_SECRETS_READ,
                    &CP_DEPLOYMENTS_READ,
                    &PODS_LIST,
                ],
            ),
            Op::new(
                "rotate-identity-issuer",
                "Rotate the Linkerd identity issuer certificate",
                Category::Configure,
                rotate::plan,
                &[&CP_CONFIGMAPS_READ, &CP_CONFIG_UPDATE],
            ),
            Op::custom(
                "Apply or delete custom Kubernetes YAML",
                &[&ANY_NAMESPACED, &ANY_CLUSTER, &CUSTOM_NAMESPACE_KEYS],
            ),
        ]
    ),
    design_rules: &[
        &NAMESPACES_CREATE,
        &NAMESPACES_DELETE,
        &CRDS_WRITE,
        &CLUSTER_ROLES_WRITE,
        &CLUSTER_ROLE_BINDINGS_WRITE,
        &WEBHOOKS_WRITE,
        &MUTATING_WEBHOOKS_WRITE,
        &WEBHOOKS_READ,
        &API_SERVICES_WRITE,
        &CP_CONFIG_WRITE,
        &CP_SERVICES_WRITE,
        &CP_DEPLOYMENTS_WRITE,
        &CP_ROLES_WRITE,
        &CP_ROLE_BINDINGS_WRITE,
        &CP_CONFIGMAPS_READ,
        &EXT_OBJECTS_WRITE,
        &EXT_DEPLOYMENTS_WRITE,
        &EXT_ROLE_BINDINGS_WRITE,
        &KUBE_SYSTEM_ROLES_BIND,
        &ANY_NAMESPACED,
        &ANY_CLUSTER,
        &DESIGN_NAMESPACE_KEYS,
    ],
    outbound_hosts: &[],
    assets: true,
};

/// The sample applications' operations, from the list they share (wasmesh-samples).
const SAMPLES: [Op; 4] = Op::samples(App::OPERATIONS, samples::operation, SAMPLE_RULES);

// The rules of the manifest, each written once; the operations above name the ones they need.
const CP: Namespaces = Namespaces::Listed(&[installed::CONTROL_PLANE_NAMESPACE]);
const EXTENSIONS: Namespaces =
    Namespaces::Listed(&["linkerd-viz", "linkerd-jaeger", "linkerd-multicluster", "linkerd-smi"]);
const CORE: &[&str] = &[""];
const RBAC: &[&str] = &["rbac.authorization.k8s.io"];
const WRITE: &[&str] = &["create", "patch", "delete"];
const GET_WRITE: &[&str] = &["get", "create", "patch", "delete"];
const ANY: &[&str] = &["get", "list", "create", "patch", "delete"];
const NAMESPACES_CREATE: Rule = Rule::kube(CORE, &["namespaces"], &["get", "create", "patch"], Namespaces::Cluster);
const NAMESPACES_DELETE: Rule = Rule::kube(CORE, &["namespaces"], &["list", "delete"], Namespaces::Cluster);
const NAMESPACES_LIST: Rule = Rule::kube(CORE, &["namespaces"], &["list"], Namespaces::Cluster);
const CRDS_WRITE: Rule = Rule::kube(
    &["apiextensions.k8s.io"],
    &["customresourcedefinitions"],
    GET_WRITE,
    Namespaces::Cluster,
);
const CRDS_READ: Rule = Rule::kube(
    &["apiextensions.k8s.io"],
    &["customresourcedefinitions"],
    &["get"],
    Namespaces::Cluster,
);
const CLUSTER_ROLES_WRITE: Rule = Rule::kube(
    RBAC,
    &["clusterroles"],
    &["create", "patch", "delete", "bind", "escalate"],
    Namespaces::Cluster,
);
const CLUSTER_ROLE_BINDINGS_WRITE: Rule = Rule::kube(RBAC, &["clusterrolebindings"], WRITE, Namespaces::Cluster);
const WEBHOOK_KINDS: &[&str] = &["mutatingwebhookconfigurations", "validatingwebhookconfigurations"];
const WEBHOOKS_WRITE: Rule = Rule::kube(
    &["admissionregistration.k8s.io"],
    WEBHOOK_KINDS,
    WRITE,
    Namespaces::Cluster,
);
const MUTATING_WEBHOOKS_WRITE: Rule = Rule::kube(
    &["admissionregistration.k8s.io"],
    &["mutatingwebhookconfigurations"],
    WRITE,
    Namespaces::Cluster,
);
const WEBHOOKS_READ: Rule = Rule::kube(
    &["admissionregistration.k8s.io"],
    WEBHOOK_KINDS,
    &["get"],
    Namespaces::Cluster,
);
const API_SERVICES_WRITE: Rule = Rule::kube(
    &["apiregistration.k8s.io"],
    &["apiservices"],
    WRITE,
    Namespaces::Cluster,
);
const CP_CONFIG_WRITE: Rule = Rule::kube(CORE, &["configmaps", "secrets"], GET_WRITE, CP);
const CP_SERVICES_WRITE: Rule = Rule::kube(CORE, &["services", "serviceaccounts"], WRITE, CP);
const CP_DEPLOYMENTS_WRITE: Rule = Rule::kube(&["apps"], &["deployments"], GET_WRITE, CP);
const CP_ROLES_WRITE: Rule = Rule::kube(RBAC, &["roles"], &["create", "patch", "delete", "bind", "escalate"], CP);
const CP_ROLE_BINDINGS_WRITE: Rule = Rule::kube(RBAC, &["rolebindings"], WRITE, CP);
const CP_CONFIGMAPS_READ: Rule = Rule::kube(CORE, &["configmaps"], &["get"], CP);
const CP_SECRETS_READ: Rule = Rule::kube(CORE, &["secrets"], &["get"], CP);
const CP_DEPLOYMENTS_READ: Rule = Rule::kube(&["apps"], &["deployments"], &["get"], CP);
const CP_CONFIG_UPDATE: Rule = Rule::kube(CORE, &["configmaps", "secrets"], &["get", "create", "patch"], CP);
const EXT_OBJECTS_WRITE: Rule = Rule::kube(
    CORE,
    &["configmaps", "secrets", "services", "serviceaccounts"],
    WRITE,
    EXTENSIONS,
);
const EXT_DEPLOYMENTS_WRITE: Rule = Rule::kube(&["apps"], &["deployments"], GET_WRITE, EXTENSIONS);
const EXT_ROLE_BINDINGS_WRITE: Rule = Rule::kube(
    RBAC,
    &["rolebindings"],
    WRITE,
    Namespaces::Listed(&[
        "linkerd-viz",
        "linkerd-jaeger",
        "linkerd-multicluster",
        "linkerd-smi",
        "kube-system",
    ]),
);
const KUBE_SYSTEM_ROLES_BIND: Rule = Rule::kube(RBAC, &["roles"], &["bind"], Namespaces::Listed(&["kube-system"]));
const PODS_LIST: Rule = Rule::kube(CORE, &["pods"], &["list"], Namespaces::All);
const SAMPLE_SERVICES_WRITE: Rule = Rule::kube(CORE, &["services", "serviceaccounts"], WRITE, Namespaces::Request);
const SAMPLE_DEPLOYMENTS_WRITE: Rule = Rule::kube(&["apps"], &["deployments"], GET_WRITE, Namespaces::Request);
const ANY_NAMESPACED: Rule = Rule::kube(&["*"], &["*"], ANY, Namespaces::All);
const ANY_CLUSTER: Rule = Rule::kube(&["*"], &["*"], ANY, Namespaces::Cluster);
const LINKERD_NAMESPACE_KEYS: Rule = Rule::namespace_metadata(
    &[
        "linkerd.io/*",
        "config.linkerd.io/*",
        "pod-security.kubernetes.io/enforce",
    ],
    &["linkerd.io/*", "config.linkerd.io/*"],
);
const INJECT_ANNOTATION_KEY: Rule = Rule::namespace_metadata(&[], &[INJECT_ANNOTATION]);
const CUSTOM_NAMESPACE_KEYS: Rule = Rule::namespace_metadata(&["*", "!pod-security.kubernetes.io/*"], &["*"]);
const DESIGN_NAMESPACE_KEYS: Rule = Rule::namespace_metadata(&["*"], &["*"]);

const INSTALL_RULES: &[&Rule] = &[
    &NAMESPACES_CREATE,
    &NAMESPACES_DELETE,
    &CRDS_WRITE,
    &CLUSTER_ROLES_WRITE,
    &CLUSTER_ROLE_BINDINGS_WRITE,
    &WEBHOOKS_WRITE,
    &WEBHOOKS_READ,
    &CP_CONFIG_WRITE,
    &CP_SERVICES_WRITE,
    &CP_DEPLOYMENTS_WRITE,
    &CP_ROLES_WRITE,
    &CP_ROLE_BINDINGS_WRITE,
    &LINKERD_NAMESPACE_KEYS,
];
const EXTENSION_RULES: &[&Rule] = &[
    &NAMESPACES_CREATE,
    &NAMESPACES_DELETE,
    &CRDS_WRITE,
    &CLUSTER_ROLES_WRITE,
    &CLUSTER_ROLE_BINDINGS_WRITE,
    &CP_CONFIGMAPS_READ,
    &EXT_OBJECTS_WRITE,
    &EXT_DEPLOYMENTS_WRITE,
    &EXT_ROLE_BINDINGS_WRITE,
    &LINKERD_NAMESPACE_KEYS,
];
const SAMPLE_RULES: &[&Rule] = &[
    &NAMESPACES_CREATE,
    &CP_CONFIGMAPS_READ,
    &SAMPLE_SERVICES_WRITE,
    &SAMPLE_DEPLOYMENTS_WRITE,
];

struct Linkerd;

wasmesh_sdk::translator!(Linkerd, LINKERD, provision: design::provision, design_kinds: design::design_kinds);

fn annotate_namespace(request: &OperationRequest) -> Plan {
    let ns = &request.namespace;
    let mut change = namespace_change(ns, !request.delete);
    if request.delete {
        change.remove_annotations.push(INJECT_ANNOTATION.into());
        plan(
            format!("Linkerd proxy injection annotation removed from namespace {ns}"),
            vec![stage("namespace", vec![Step::NamespaceMetadata(change)])],
        )
    } else {
        change
            .set_annotations
            .push((INJECT_ANNOTATION.into(), "enabled".into()));
        plan(
            format!("Linkerd proxy injection enabled on namespace {ns}"),
            vec![stage("namespace", vec![Step::NamespaceMetadata(change)])],
        )
    }
}
