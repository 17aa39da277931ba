//! The {{Display}} translator for wasmesh, made by `wasmesh new`: a control-plane install (the
//! {{Display}}Mesh kind in designs), a namespace operation that reads the cluster first, and
//! `custom`. Replace what each planner makes with your mesh's objects; the host carries the plans
//! out, checked against the rules declared here.

use serde::Deserialize;
use serde_json::json;
use wasmesh_sdk::design::{Design, Hooks};
use wasmesh_sdk::plan::{apply_all, delete_all, namespace_change, plan, stage};
use wasmesh_sdk::registry::{self, DesignKind};
use wasmesh_sdk::translator::{ControlPlane, Namespaces, Op, Rule, Translator};
use wasmesh_sdk::{
    Category, DesignPlan, DesignRequest, Error, Level, OperationRequest, Plan, Step,
};

/// The mesh version the install offers (the first of `versions` is the default).
const VERSION: &str = "1.0.0";
/// The control plane's namespace.
const NAMESPACE: &str = "{{mesh}}-system";
/// The label `label-namespace` sets; use a domain of your own.
const LABEL: &str = "{{mesh}}.example.com/enabled";

wasmesh_sdk::errors! {
    /// What can go wrong in this translator: each code is `WASMESH-{{MESH}}-<number>`.
    pub enum PluginError in "WASMESH-{{MESH}}" {
        BadOptions { problem: String } = 1101 => {
            message: "the install options are not usable: {problem}",
            cause: "the body must be empty, or a YAML or JSON mapping of the options the install knows",
            remedy: "fix or remove the option named above (known: greeting)",
        },
        UnknownVersion { version: String } = 1102 => {
            message: "{{Display}} version \"{version}\" is not offered; valid versions: {VERSION}",
            cause: "the request names a version this translator does not install",
            remedy: "leave the version empty or ask for {VERSION}",
        },
        BadNamespace { namespace: String } = 1201 => {
            message: "\"{namespace}\" is not a namespace name",
            cause: "a namespace name is a lowercase RFC 1123 label of at most 63 characters",
            remedy: "pick the namespace to label again",
        },
        NoNamespace { namespace: String } = 1202 => {
            message: "namespace \"{namespace}\" does not exist",
            cause: "label-namespace labels a namespace that is there; it read the cluster and found none",
            remedy: "create the namespace (kubectl create namespace {namespace}), or pick another one",
        },
    }
}

// Each rule is written once and named by every operation that needs it: the host lets an
// operation do what its own rules allow, nothing else. manifest.json is generated from them.
const CORE: &[&str] = &[""];
const NAMESPACES: &[&str] = &["namespaces"];
const CONFIGMAPS: &[&str] = &["configmaps"];
const WRITE: &[&str] = &["create", "patch", "delete"];
const NAMESPACES_WRITE: Rule = Rule::kube(CORE, NAMESPACES, WRITE, Namespaces::Cluster);
const CONTROL_PLANE_WRITE: Rule =
    Rule::kube(CORE, CONFIGMAPS, WRITE, Namespaces::Listed(&[NAMESPACE]));
const NAMESPACE_LABEL: Rule = Rule::kube(CORE, NAMESPACES, &["get", "patch"], Namespaces::Cluster);
const LABEL_KEY: Rule = Rule::namespace_metadata(&[LABEL], &[]);
const CUSTOM_WRITE: Rule = Rule::kube(CORE, CONFIGMAPS, WRITE, Namespaces::Request);
const INSTALL_RULES: &[&Rule] = &[&NAMESPACES_WRITE, &CONTROL_PLANE_WRITE];

/// The translator, described once: `describe`, the dispatch of `plan` and manifest.json come
/// from here.
pub static TRANSLATOR: Translator = Translator {
    name: "{{MESH}}",
    mesh: "{{mesh}}",
    display: "{{Display}}",
    version: env!("CARGO_PKG_VERSION"),
    code_prefix: PluginError::PREFIX,
    manifest: wasmesh_sdk::manifest!("manifest.json"),
    versions: || vec![VERSION.into()],
    control_plane: ControlPlane {
        kind: "{{Display}}Mesh",
        operation: "{{mesh}}",
        namespace: NAMESPACE,
        settings: &["greeting"],
        settings_remedy: "set settings.version to \"1.0.0\" and settings.greeting to a string",
        install_first: "install {{Display}} first, or add its component ({{Display}}Mesh) to the design",
    },
    addons: &[],
    kinds: &[],
    operations: &[
        Op::new(
            "{{mesh}}",
            "{{Display}} control plane",
            Category::Install,
            install,
            INSTALL_RULES,
        ),
        Op::new(
            "label-namespace",
            "Label the namespace for {{Display}}",
            Category::Configure,
            label_namespace,
            &[&NAMESPACE_LABEL, &LABEL_KEY],
        ),
        Op::custom(
            "Apply or delete custom Kubernetes YAML (ConfigMaps)",
            &[&CUSTOM_WRITE],
        ),
    ],
    design_rules: INSTALL_RULES,
    outbound_hosts: &[],
    errors: PluginError::CODES,
    assets: false,
};

/// The install's options: its body, or a {{Display}}Mesh component's settings. Unknown keys are
/// refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Install {
    #[serde(deserialize_with = "wasmesh_sdk::options::valid::string")]
    pub greeting: String,
}

impl Default for Install {
    fn default() -> Self {
        Install {
            greeting: "hello".into(),
        }
    }
}

/// The control plane: its namespace and a ConfigMap (put your mesh's objects here).
fn control_plane(options: &Install) -> Vec<serde_json::Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "{{mesh}}-config", "namespace": NAMESPACE},
            "data": {"version": VERSION, "greeting": options.greeting}}),
    ]
}

fn install(request: &OperationRequest) -> Result<Plan, Error> {
    let options: Install =
        wasmesh_sdk::options::parse(&request.custom_body).map_err(|e| PluginError::BadOptions {
            problem: e.to_string(),
        })?;
    if !request.version.is_empty() && request.version != VERSION {
        let version = request.version.clone();
        return Err(PluginError::UnknownVersion { version }.into());
    }
    let objects = control_plane(&options);
    if request.delete {
        return Ok(plan(
            format!("{{Display}} removed from namespace {NAMESPACE}"),
            delete_all(&objects),
        ));
    }
    let summary = format!("{{Display}} {VERSION} installed in namespace {NAMESPACE}");
    Ok(plan(summary, apply_all(&objects)))
}

/// Reads the namespace first (through the host's checked `cluster` import), then labels it.
fn label_namespace(request: &OperationRequest) -> Result<Plan, Error> {
    let ns = &request.namespace;
    if !wasmesh_sdk::plan::is_namespace_name(ns) {
        let namespace = ns.escape_debug().to_string();
        return Err(PluginError::BadNamespace { namespace }.into());
    }
    let found = wasmesh_sdk::cluster::get("v1", "Namespace", None, ns)?;
    let namespace = found.ok_or_else(|| PluginError::NoNamespace {
        namespace: ns.clone(),
    })?;
    let mut change = namespace_change(ns, false);
    let summary = if request.delete {
        change.remove_labels.push(LABEL.into());
        format!("label {LABEL} removed from namespace {ns}")
    } else {
        if namespace["metadata"]["labels"][LABEL] == "true" {
            wasmesh_sdk::progress::report(
                Level::Info,
                &format!("namespace {ns} is already labelled"),
                LABEL,
            );
        }
        change.set_labels.push((LABEL.into(), "true".into()));
        format!("label {LABEL} set on namespace {ns}")
    };
    Ok(plan(
        summary,
        vec![stage("namespace", vec![Step::NamespaceMetadata(change)])],
    ))
}

/// Designs: a {{Display}}Mesh component runs the install with its settings; any other component is
/// applied as given (within the design rules). Hooks add what is the mesh's own (traits, kinds).
struct NoHooks;

impl Hooks for NoHooks {}

fn provision(request: &DesignRequest) -> Result<DesignPlan, Error> {
    Design::new(&TRANSLATOR, request).plan(NoHooks)
}

/// What the host registers with the Meshery server: the {{Display}}Mesh kind and its settings.
fn design_kinds() -> Vec<DesignKind> {
    let settings = json!({
        "version": {"type": "string", "enum": [VERSION], "default": VERSION},
        "greeting": {"type": "string", "default": "hello", "description": "written into the control plane's ConfigMap"},
    });
    vec![registry::settings_kind(
        TRANSLATOR.control_plane.kind,
        settings,
        &[],
    )]
}

struct Plugin;

wasmesh_sdk::translator!(Plugin, TRANSLATOR, provision: provision, design_kinds: design_kinds);

#[cfg(test)]
mod tests;
