//! The Kuma translator (Meshery's port 10007), written only against the public SDK: install and
//! uninstall of a standalone Kuma control plane, namespace sidecar injection, a mesh-wide mTLS
//! policy, designs of Kuma's kinds, and `custom`.

mod control_plane;

use serde::Deserialize;
use serde_json::json;
use wasmesh_sdk::design::{Design, Hooks, Trait, TraitEffect};
use wasmesh_sdk::options::{self, OptionsError};
use wasmesh_sdk::plan::{apply, delete_all, deployments_available, namespace_change, plan, stage};
use wasmesh_sdk::registry::{self, DesignKind};
use wasmesh_sdk::translator::{ControlPlane, Namespaces, Op, Rule, Translator};
use wasmesh_sdk::{Category, DesignPlan, DesignRequest, Error, OperationRequest, Plan, Step};

use control_plane::{NAMESPACE, VERSION};

const INJECTION_LABEL: &str = "kuma.io/sidecar-injection";
const MTLS_BACKEND: &str = "ca-1";
const CRD_API: &str = "apiextensions.k8s.io/v1";

wasmesh_sdk::errors! {
    pub enum KumaError in "WASMESH-KUMA" {
        BadOptions { problem: String } = 1101 => {
            message: "the operation's options are not usable: {problem}",
            cause: "the custom body must be empty, or a YAML or JSON mapping of the options this operation knows",
            remedy: "fix or remove the option named above (install: registry, waitSeconds)",
        },
        UnknownVersion { version: String } = 1102 => {
            message: "Kuma version \"{version}\" is not offered; valid versions: {VERSION}",
            cause: "the request names a version this adapter does not embed",
            remedy: "leave the version empty or ask for {VERSION}",
        },
        Certificates { reason: String } = 1103 => {
            message: "the admission webhooks' certificates could not be made: {reason}",
            cause: "the plugin makes a CA and a serving certificate for kuma-control-plane at install",
            remedy: "run the install again; if it keeps failing, report it with this message",
        },
        NotInstalled = 1202 => {
            message: "mesh-wide mTLS cannot be turned on: Kuma is not installed in this cluster",
            cause: "the CRD meshes.kuma.io, which serves the Mesh kind, is not in the cluster",
            remedy: "install Kuma first (the \"kuma\" operation), then run this operation again",
        },
        BadNamespace { namespace: String } = 1201 => {
            message: "\"{namespace}\" is not a namespace name",
            cause: "a namespace name is a lowercase RFC 1123 label of at most 63 characters",
            remedy: "pick the namespace to label with sidecar injection again",
        },
    }
}

/// The Kuma translator, described once.
pub static KUMA: Translator = Translator {
    name: "KUMA",
    mesh: "kuma",
    display: "Kuma",
    version: env!("CARGO_PKG_VERSION"),
    code_prefix: KumaError::PREFIX,
    errors: KumaError::CODES,
    manifest: wasmesh_sdk::manifest!("manifest.json"),
    versions: || vec![VERSION.into()],
    control_plane: ControlPlane {
        kind: "KumaMesh",
        operation: "kuma",
        namespace: NAMESPACE,
        settings: &["registry", "waitSeconds"],
        settings_remedy: "set settings.version to a Kuma release such as \"2.9.3\" and other settings as an object",
        install_first: "install Kuma first, or add its component (KumaMesh) to the design",
    },
    addons: &[],
    kinds: control_plane::KINDS,
    operations: &[
        Op::new("kuma", "Kuma service mesh", Category::Install, install, INSTALL_RULES),
        Op::new("sidecar-injection", INJECT, Category::Configure, inject, INJECT_RULES),
        Op::new("mtls-policy", MTLS, Category::Configure, mtls, MTLS_RULES),
        Op::custom("Apply or delete custom Kubernetes YAML", CUSTOM_RULES),
    ],
    design_rules: &[
        &NAMESPACES_CREATE,
        &NAMESPACES_DELETE,
        &CRDS_WRITE,
        &CLUSTER_RBAC_WRITE,
        &WEBHOOKS_WRITE,
        &CP_OBJECTS_WRITE,
        &CP_DEPLOYMENTS_WRITE,
        &SYSTEM_NAMESPACE_KEY,
        &ANY_NAMESPACED,
        &ANY_CLUSTER,
        &DESIGN_KEYS,
    ],
    outbound_hosts: &[],
    assets: false,
};

const INJECT: &str = "Enable Kuma sidecar injection on the namespace";
const MTLS: &str = "Policy: mesh-wide mTLS (the default Mesh with a builtin CA)";
const CORE: &[&str] = &[""];
const APIEXT: &[&str] = &["apiextensions.k8s.io"];
const CRDS: &[&str] = &["customresourcedefinitions"];
const RBAC: &[&str] = &["rbac.authorization.k8s.io"];
const CLUSTER_RBAC: &[&str] = &["clusterroles", "clusterrolebindings"];
const RBAC_WRITE: &[&str] = &["create", "patch", "delete", "bind", "escalate"];
const ADMISSION: &[&str] = &["admissionregistration.k8s.io"];
const WEBHOOKS: &[&str] = &["mutatingwebhookconfigurations", "validatingwebhookconfigurations"];
const CP_OBJECTS: &[&str] = &["configmaps", "secrets", "services", "serviceaccounts"];
const WRITE: &[&str] = &["get", "create", "patch", "delete"];
const ANY: &[&str] = &["get", "list", "create", "patch", "delete"];
const CP: Namespaces = Namespaces::Listed(&[NAMESPACE]);
const NAMESPACES_CREATE: Rule = Rule::kube(CORE, &["namespaces"], &["get", "create", "patch"], Namespaces::Cluster);
const NAMESPACES_DELETE: Rule = Rule::kube(CORE, &["namespaces"], &["list", "delete"], Namespaces::Cluster);
const CRDS_WRITE: Rule = Rule::kube(APIEXT, CRDS, WRITE, Namespaces::Cluster);
const CRDS_READ: Rule = Rule::kube(APIEXT, CRDS, &["get"], Namespaces::Cluster);
const CLUSTER_RBAC_WRITE: Rule = Rule::kube(RBAC, CLUSTER_RBAC, RBAC_WRITE, Namespaces::Cluster);
const WEBHOOKS_WRITE: Rule = Rule::kube(ADMISSION, WEBHOOKS, WRITE, Namespaces::Cluster);
const CP_OBJECTS_WRITE: Rule = Rule::kube(CORE, CP_OBJECTS, WRITE, CP);
const CP_DEPLOYMENTS_WRITE: Rule = Rule::kube(&["apps"], &["deployments"], WRITE, CP);
const MESHES_WRITE: Rule = Rule::kube(&["kuma.io"], &["meshes"], WRITE, Namespaces::Cluster);
const ANY_NAMESPACED: Rule = Rule::kube(&["*"], &["*"], ANY, Namespaces::All);
const ANY_CLUSTER: Rule = Rule::kube(&["*"], &["*"], ANY, Namespaces::Cluster);
const SYSTEM_NAMESPACE_KEY: Rule = Rule::namespace_metadata(&["kuma.io/system-namespace"], &[]);
const INJECTION_KEY: Rule = Rule::namespace_metadata(&[INJECTION_LABEL], &[]);
const CUSTOM_KEYS: Rule = Rule::namespace_metadata(&["*", "!pod-security.kubernetes.io/*"], &["*"]);
const DESIGN_KEYS: Rule = Rule::namespace_metadata(&["*"], &["*"]);
const INJECT_RULES: &[&Rule] = &[&NAMESPACES_CREATE, &INJECTION_KEY];
const MTLS_RULES: &[&Rule] = &[&CRDS_READ, &MESHES_WRITE];
const CUSTOM_RULES: &[&Rule] = &[&ANY_NAMESPACED, &ANY_CLUSTER, &CUSTOM_KEYS];
const INSTALL_RULES: &[&Rule] = &[
    &NAMESPACES_CREATE,
    &NAMESPACES_DELETE,
    &CRDS_WRITE,
    &CLUSTER_RBAC_WRITE,
    &WEBHOOKS_WRITE,
    &CP_OBJECTS_WRITE,
    &CP_DEPLOYMENTS_WRITE,
    &SYSTEM_NAMESPACE_KEY,
];

/// The install's options (a KumaMesh component's settings too).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Install {
    #[serde(deserialize_with = "options::valid::image_repository")]
    pub registry: String,
    #[serde(deserialize_with = "options::valid::wait_seconds")]
    pub wait_seconds: u32,
}

impl Default for Install {
    fn default() -> Self {
        Install {
            registry: "docker.io/kumahq".into(),
            wait_seconds: options::DEFAULT_WAIT_SECONDS,
        }
    }
}

fn bad_options(e: OptionsError) -> Error {
    KumaError::BadOptions { problem: e.to_string() }.into()
}

fn install(request: &OperationRequest) -> Result<Plan, Error> {
    let options: Install = options::parse(&request.custom_body).map_err(bad_options)?;
    if !request.version.is_empty() && request.version != VERSION {
        let version = request.version.clone();
        return Err(KumaError::UnknownVersion { version }.into());
    }
    if request.delete {
        let objects = control_plane::objects(&options, &control_plane::Tls::default())?;
        let summary = format!("Kuma control plane removed from namespace {NAMESPACE} (CRDs, RBAC and webhooks too)");
        return Ok(plan(summary, delete_all(&objects)));
    }
    let tls = control_plane::Tls::generate().map_err(|reason| KumaError::Certificates { reason })?;
    let objects = control_plane::objects(&options, &tls)?;
    let mut stages = wasmesh_sdk::plan::apply_all(&objects);
    stages.extend(deployments_available("available", &objects, options.wait_seconds));
    let summary = format!("Kuma {VERSION} control plane installed in namespace {NAMESPACE}");
    Ok(plan(summary, stages))
}

fn inject(request: &OperationRequest) -> Result<Plan, Error> {
    let ns = &request.namespace;
    if !wasmesh_sdk::plan::is_namespace_name(ns) {
        let namespace = ns.escape_debug().to_string();
        return Err(KumaError::BadNamespace { namespace }.into());
    }
    let mut change = namespace_change(ns, !request.delete);
    let summary = if request.delete {
        change.remove_labels.push(INJECTION_LABEL.into());
        format!("Kuma sidecar injection label removed from namespace {ns}")
    } else {
        change.set_labels.push((INJECTION_LABEL.into(), "enabled".into()));
        format!("Kuma sidecar injection enabled on namespace {ns}")
    };
    let steps = vec![Step::NamespaceMetadata(change)];
    Ok(plan(summary, vec![stage("namespace", steps)]))
}

/// The default Mesh with mTLS on (a builtin CA); undone by deleting it, as kuma-cp then makes a
/// default Mesh of its own without mTLS.
fn mtls(request: &OperationRequest) -> Result<Plan, Error> {
    let mesh = json!({"apiVersion": "kuma.io/v1alpha1", "kind": "Mesh", "metadata": {"name": "default"},
        "spec": {"mtls": {"enabledBackend": MTLS_BACKEND, "backends": [{"name": MTLS_BACKEND, "type": "builtin"}]}}});
    if request.delete {
        let steps = vec![Step::Delete(wasmesh_sdk::plan::object_ref(&mesh))];
        return Ok(plan(
            "mesh-wide mTLS removed (the default Mesh deleted)",
            vec![stage("mesh", steps)],
        ));
    }
    let crd = wasmesh_sdk::cluster::get(CRD_API, "CustomResourceDefinition", None, "meshes.kuma.io")?;
    crd.ok_or(KumaError::NotInstalled)?;
    let summary = format!("mesh-wide mTLS enabled on the default Mesh (builtin CA backend {MTLS_BACKEND})");
    Ok(plan(summary, vec![stage("mesh", vec![apply(&mesh)])]))
}

struct KumaHooks;

impl Hooks for KumaHooks {
    fn on_trait(&mut self, d: &Design, t: &Trait) -> Option<Result<TraitEffect, Error>> {
        let label = |namespaces: Vec<String>| TraitEffect::label_namespaces(&namespaces, INJECTION_LABEL, "enabled");
        t.is("automaticSidecarInjection").then(|| d.namespaces(t).map(label))
    }
}

fn provision(request: &DesignRequest) -> Result<DesignPlan, Error> {
    Design::new(&KUMA, request).plan(KumaHooks)
}

fn design_kinds() -> Vec<DesignKind> {
    let mut kinds = vec![registry::settings_kind(
        KUMA.control_plane.kind,
        json!({
            "version": {"type": "string", "enum": [VERSION], "default": VERSION},
            "registry": {"type": "string", "default": "docker.io/kumahq", "description": "image registry of kuma-cp"},
            "waitSeconds": {"type": "integer", "minimum": options::MIN_WAIT_SECONDS,
                "maximum": options::MAX_WAIT_SECONDS, "default": options::DEFAULT_WAIT_SECONDS},
        }),
        &[],
    )];
    kinds.extend(registry::kinds_from_crds(control_plane::KINDS, &control_plane::crds()));
    kinds
}

struct Kuma;

wasmesh_sdk::translator!(Kuma, KUMA, provision: provision, design_kinds: design_kinds);

#[cfg(test)]
mod tests;
