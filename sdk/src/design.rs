//! Meshery designs: components in either shape (an OAM Component from ProcessOAM, or a Meshery
//! component declaration from Provision), OAM traits, and the assembly of one plan for a design.
//!
//! A translator's `provision` usually is one call to [`plan_design_with`]: a closure says what
//! each component means ([`Expansion::as_given`] for a Kubernetes object, [`Expansion::Objects`]
//! for objects made from it, [`Expansion::Operation`] for a control-plane install or an add-on,
//! whose stages come from the translator's own operation, planned with a request from
//! [`operation_request`]), and a second closure says what each OAM trait does ([`TraitEffect`]).
//! The SDK orders everything:
//!
//! - deploy: control-plane installs, then add-ons (each in component order), then the objects
//!   (namespaces and CRDs first, then the namespace changes of traits, then everything else),
//!   then the objects of traits;
//! - delete: the exact reverse: trait objects and trait namespace changes are undone first, then
//!   the objects, then the add-ons, and the control plane is uninstalled last.
//!
//! A component the closure rejects is rejected alone (the rest of the design goes ahead); a
//! trait that is malformed refuses the whole design, since deploying without a requested
//! security setting (mTLS) would be worse than deploying nothing. A trait no closure handles is
//! reported as a WARN event (`WASMESH-SDK-2003`), never ignored silently. The plan's summary
//! names every component and trait and what is done with it, since Meshery shows it.
//!
//! Helpers for the `expand` closure, the same in every translator:
//!
//! - the mesh's own kinds: a table of kinds and the groups and versions each may use
//!   ([`KindGroups`], [`known_kind`]), the component's apiVersion checked against it
//!   ([`check_api_version`]), and, when the design does not install the CRDs itself, whether the
//!   cluster serves the kind ([`ServedKinds`]), so that a wrong or unserved kind is rejected
//!   alone before anything is written;
//! - control-plane and add-on components: their version and the settings their operation takes
//!   ([`settings_version`], [`settings`], [`settings_body`]) and their summary
//!   ([`Expansion::control_plane`], [`Expansion::addon`]);
//! - the errors a translator gives for a second control plane ([`second_control_plane`]) and
//!   for another mesh's component ([`foreign_component`]).
//!
//! Their error codes are the translator's, from the prefix it passes: `<prefix>-2101` wrong
//! group, `-2102` unknown version, `-2103` not served by the cluster, `-2104` settings not
//! usable, `-2105` second control plane, `-2106` another mesh's component (the SDK's own design
//! errors are `<prefix>-2001` to `-2007`).
//!
//! ```ignore
//! use wasmesh_sdk::design::{Expansion, TraitEffect, plan_design_with};
//! plan_design_with(&request, "WASMESH-MYMESH", "mymesh",
//!     |c| match c.kind.as_str() {
//!         "MyMesh" => {
//!             let op = operation_request(&request, "mymesh", "mymesh-system", "1.0", "");
//!             let p = my_install_plan(&op)?;
//!             Ok(Expansion::Operation { stages: p.stages, what: "install 1.0".into(), control_plane: true })
//!         }
//!         _ => Expansion::as_given(c, "WASMESH-MYMESH"),
//!     },
//!     |t| t.is("automaticSidecarInjection").then(|| {
//!         let namespaces = t.namespaces("WASMESH-MYMESH")?;
//!         Ok(TraitEffect::label_namespaces(&namespaces, "mymesh-injection", "enabled"))
//!     }),
//! )
//! ```

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::plan::{apply_all, delete_all, object_ref, plan, stage};
use crate::translator::{Addon, Translator};
use crate::{
    DesignPlan, DesignRequest, Error, NamespaceChange, OperationRequest, RejectedComponent, Stage, Step, error,
};

/// One design component, reduced to the Kubernetes object it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// The component's type (OAM spec.type) or kind (Meshery declaration).
    pub kind: String,
    pub api_version: String,
    pub name: String,
    pub namespace: Option<String>,
    /// The object's spec (OAM settings, or the declaration's configuration.spec).
    pub spec: Value,
    /// The object's other top-level fields (a declaration's configuration: data, rules, ...).
    pub fields: Map<String, Value>,
    pub labels: Map<String, Value>,
    pub annotations: Map<String, Value>,
    /// Meshery model (istio, linkerd, kubernetes) when the declaration names one.
    pub model: Option<String>,
    /// The version an OAM Component names in `spec.version` (upstream Meshery puts the mesh
    /// version of an `IstioMesh` there); `spec.version` of the object itself stays in `spec`.
    pub version: Option<String>,
}

impl Component {
    /// The Kubernetes object for this component.
    pub fn to_object(&self) -> Value {
        let mut metadata = Map::new();
        metadata.insert("name".into(), self.name.clone().into());
        if let Some(ns) = &self.namespace {
            metadata.insert("namespace".into(), ns.clone().into());
        }
        if !self.labels.is_empty() {
            metadata.insert("labels".into(), Value::Object(self.labels.clone()));
        }
        if !self.annotations.is_empty() {
            metadata.insert("annotations".into(), Value::Object(self.annotations.clone()));
        }
        let mut object = Map::new();
        object.insert("apiVersion".into(), self.api_version.clone().into());
        object.insert("kind".into(), self.kind.clone().into());
        object.insert("metadata".into(), Value::Object(metadata));
        for (k, v) in &self.fields {
            object.insert(k.clone(), v.clone());
        }
        match &self.spec {
            Value::Null => {}
            // Kinds without a spec carry their content at the top level (a ConfigMap's data): the
            // API server refuses a server-side apply with a field its schema does not declare.
            Value::Object(settings) if NO_SPEC_KINDS.contains(&self.kind.as_str()) => {
                for (k, v) in settings {
                    object.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            Value::Object(settings) if settings.is_empty() => {}
            spec => {
                object.insert("spec".into(), spec.clone());
            }
        }
        Value::Object(object)
    }
}

/// Built-in kinds whose objects have no `spec`: an OAM component's settings are their fields.
const NO_SPEC_KINDS: &[&str] = &[
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "Endpoints",
    "EndpointSlice",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "PriorityClass",
    "StorageClass",
];

const OAM_API_VERSION: &str = "design.meshmodel.io.k8s.APIVersion";
const OAM_KIND: &str = "design.meshmodel.io.k8s.Kind";
/// The same annotations as older Meshery servers spell them.
const OLD_OAM_API_VERSION: &str = "pattern.meshery.io.mesh.workload.k8sAPIVersion";
const OLD_OAM_KIND: &str = "pattern.meshery.io.mesh.workload.k8sKind";

/// Whether a component type names something that is not a Kubernetes object (a control plane,
/// `...Mesh`, or an add-on, `...Addon`): such components need no apiVersion.
pub fn is_mesh_or_addon(kind: &str) -> bool {
    kind.ends_with("Mesh") || kind.ends_with("Addon")
}

/// Parses one design entry. An entry that is neither shape is an error for that entry only.
///
/// An OAM Component's apiVersion and kind come from its `design.meshmodel.io.k8s.APIVersion` /
/// `design.meshmodel.io.k8s.Kind` annotations (older servers: `pattern.meshery.io.mesh.workload.
/// k8sAPIVersion` / `k8sKind`), the kind defaulting to `spec.type`; a declaration's from
/// `component.version` / `component.kind`. Components of a `...Mesh` or `...Addon` type may
/// lack the apiVersion (it is then empty).
pub fn parse_component(json: &str, code_prefix: &str) -> Result<Component, Error> {
    let invalid = |what: String| {
        error(
            format!("{code_prefix}-2001"),
            format!("design component is not usable: {what}"),
            "the design holds an entry that is neither an OAM Component nor a Meshery component declaration",
            "re-export the design from Meshery, or fix the component's kind, version and name",
        )
    };
    let value: Value = serde_json::from_str(json).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let str_at = |p: &str| {
        value
            .pointer(p)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let obj_at = |p: &str| value.pointer(p).and_then(Value::as_object).cloned().unwrap_or_default();

    if value.get("kind").and_then(Value::as_str) == Some("Component") && value.pointer("/spec/type").is_some() {
        // OAM Component: type in spec.type, apiVersion/kind in annotations, object in settings.
        let mut annotations = obj_at("/metadata/annotations");
        let mut take = |keys: [&str; 2]| {
            keys.iter()
                .filter_map(|k| annotations.remove(*k))
                .filter_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string))
                .next()
        };
        let api_version = take([OAM_API_VERSION, OLD_OAM_API_VERSION]);
        let kind = take([OAM_KIND, OLD_OAM_KIND])
            .or_else(|| str_at("/spec/type"))
            .ok_or_else(|| invalid("spec.type is missing".into()))?;
        let api_version = match api_version {
            Some(v) => v,
            None if is_mesh_or_addon(&kind) => String::new(),
            None => return Err(invalid(format!("annotation {OAM_API_VERSION} is missing"))),
        };
        let name = str_at("/metadata/name").ok_or_else(|| invalid("metadata.name is missing".into()))?;
        return Ok(Component {
            kind,
            api_version,
            name,
            namespace: str_at("/metadata/namespace"),
            spec: value.pointer("/spec/settings").cloned().unwrap_or(Value::Null),
            fields: Map::new(),
            labels: obj_at("/metadata/labels"),
            annotations,
            model: None,
            version: str_at("/spec/version"),
        });
    }

    if value.get("component").is_some() {
        // Meshery declaration: component.version is the apiVersion, component.kind the kind.
        let kind = str_at("/component/kind").ok_or_else(|| invalid("component.kind is missing".into()))?;
        let api_version = match str_at("/component/version") {
            Some(v) => v,
            None if is_mesh_or_addon(&kind) => String::new(),
            None => return Err(invalid("component.version is missing".into())),
        };
        let name = str_at("/configuration/metadata/name")
            .or_else(|| str_at("/displayName"))
            .ok_or_else(|| invalid("neither configuration.metadata.name nor displayName is set".into()))?;
        let spec = value.pointer("/configuration/spec").cloned().unwrap_or(Value::Null);
        // The configuration is the object's content: keep data, rules, subjects and the rest.
        let fields: Map<String, Value> = obj_at("/configuration")
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "spec"))
            .collect();
        return Ok(Component {
            kind,
            api_version,
            name,
            namespace: str_at("/configuration/metadata/namespace"),
            spec,
            fields,
            labels: obj_at("/configuration/metadata/labels"),
            annotations: obj_at("/configuration/metadata/annotations"),
            model: str_at("/model/name"),
            version: None,
        });
    }

    Err(invalid(
        "it has neither kind \"Component\" with spec.type nor a \"component\" block".into(),
    ))
}

/// What a translator does with one design component (the answer of `expand` in
/// [`plan_design_with`]).
#[derive(Debug, Clone)]
pub enum Expansion {
    /// Apply these objects on deploy, delete them on delete. `what` is said in the plan's summary
    /// (e.g. "VirtualService and DestinationRule, v1 80%, v2 20%"); empty says "apply"/"delete".
    Objects { objects: Vec<Value>, what: String },
    /// The stages of one of the translator's own operations, planned with the design's delete
    /// flag (see [`operation_request`]): a control-plane install (`control_plane: true`, first on
    /// deploy and last on delete) or an add-on (after the control planes on deploy, before them
    /// on delete). `what` is said in the summary (e.g. "install stable-2.14.10").
    Operation {
        stages: Vec<Stage>,
        what: String,
        control_plane: bool,
    },
}

impl Expansion {
    /// The component's own object, applied (or deleted) as given. A component that is no
    /// Kubernetes object (a `...Mesh` or `...Addon` type without an apiVersion) is an error.
    pub fn as_given(component: &Component, code_prefix: &str) -> Result<Expansion, Error> {
        if component.api_version.is_empty() {
            return Err(error(
                format!("{code_prefix}-2004"),
                format!(
                    "component \"{}\" of type {} is not a Kubernetes object and this translator does not know the type",
                    component.name, component.kind
                ),
                "the design holds a mesh or add-on component meant for another adapter or another translator version",
                "deploy the component through the adapter of its mesh, or remove it from the design",
            ));
        }
        Ok(Expansion::Objects {
            objects: vec![component.to_object()],
            what: String::new(),
        })
    }

    /// A control-plane install: the stages of the translator's install operation, planned with
    /// the design's delete flag. The summary says `install` (e.g. "install 1.27.3 with profile
    /// minimal") on deploy and "uninstall" on delete.
    pub fn control_plane(delete: bool, stages: Vec<Stage>, install: impl Into<String>) -> Expansion {
        Expansion::Operation {
            stages,
            what: if delete { "uninstall".into() } else { install.into() },
            control_plane: true,
        }
    }

    /// An add-on: the stages of the translator's add-on operation `key`, planned with the
    /// design's delete flag. The summary says "install <key>" or "remove <key>".
    pub fn addon(delete: bool, key: &str, stages: Vec<Stage>) -> Expansion {
        Expansion::Operation {
            stages,
            what: format!("{} {key}", if delete { "remove" } else { "install" }),
            control_plane: false,
        }
    }
}

/// One trait of an OAM Configuration (ProcessOAM): `spec.components[].traits[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trait {
    /// The component the trait is attached to (`componentName`).
    pub component: String,
    /// The trait's name as written, e.g. "mTLS" or "automaticSidecarInjection.Linkerd".
    pub name: String,
    /// The trait's properties (an object, `{}` when absent).
    pub properties: Value,
}

impl Trait {
    /// Whether this is the trait `base` in either spelling: `automaticSidecarInjection` or a
    /// mesh-qualified `automaticSidecarInjection.Linkerd` (ASCII case ignored).
    pub fn is(&self, base: &str) -> bool {
        let head = self.name.split('.').next().unwrap_or_default();
        head.eq_ignore_ascii_case(base)
    }

    /// A string property, when present and a string.
    pub fn string(&self, key: &str) -> Option<&str> {
        self.properties.get(key).and_then(Value::as_str)
    }

    /// The `namespaces` property: a list of namespace names (one string is accepted too), each
    /// a valid Kubernetes namespace name, at least one.
    pub fn namespaces(&self, code_prefix: &str) -> Result<Vec<String>, Error> {
        let bad = |why: String| self.invalid(code_prefix, why);
        let names: Vec<String> = match self.properties.get("namespaces") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(format!("namespaces holds {v}, not a name")))
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(bad(format!("namespaces is {other}, not a list of names"))),
            None => return Err(bad("the property namespaces is missing".into())),
        };
        if names.is_empty() {
            return Err(bad("namespaces is empty".into()));
        }
        if let Some(n) = names.iter().find(|n| !crate::plan::is_namespace_name(n)) {
            return Err(bad(format!("\"{n}\" is not a valid namespace name")));
        }
        let mut unique = Vec::new();
        for n in names {
            if !unique.contains(&n) {
                unique.push(n);
            }
        }
        Ok(unique)
    }

    /// The error for a trait whose properties cannot be used: it refuses the whole design.
    pub fn invalid(&self, code_prefix: &str, why: impl std::fmt::Display) -> Error {
        error(
            format!("{code_prefix}-2005"),
            format!(
                "trait {} of component \"{}\" is invalid: {why}",
                self.name, self.component
            ),
            "the design's configuration holds a trait whose properties this translator cannot use",
            "fix the trait's properties in the design (for example namespaces: [\"shop\"]), then deploy again",
        )
    }
}

/// The traits of an OAM Configuration given as JSON: `{"spec": {"components": [{"componentName":
/// "...", "traits": [{"name": "...", "properties": {...}}]}]}}` (a trait map `{"<name>":
/// {properties}}` is accepted too). An empty configuration has no traits; one that is not JSON
/// or not of this shape is an error.
pub fn traits(config: &str, code_prefix: &str) -> Result<Vec<Trait>, Error> {
    let invalid = |why: String| {
        error(
            format!("{code_prefix}-2006"),
            format!("the design's configuration cannot be read: {why}"),
            "the OAM Configuration sent with the design is not of the expected shape",
            "re-export the design from Meshery; traits go in spec.components[].traits[] as {name, properties}",
        )
    };
    let config = config.trim();
    if config.is_empty() {
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_str(config).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let components = match value.pointer("/spec/components") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(c)) => c,
        Some(_) => return Err(invalid("spec.components is not a list".into())),
    };
    let mut out = Vec::new();
    for c in components {
        let component = c
            .get("componentName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let props = |p: Option<&Value>| match p {
            None | Some(Value::Null) => Ok(Value::Object(Map::new())),
            Some(v @ Value::Object(_)) => Ok(v.clone()),
            Some(v) => Err(invalid(format!(
                "the properties of a trait of \"{component}\" are {v}, not an object"
            ))),
        };
        match c.get("traits") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for t in list {
                    let name = t
                        .get("name")
                        .and_then(Value::as_str)
                        .filter(|n| !n.is_empty())
                        .ok_or_else(|| invalid(format!("a trait of \"{component}\" has no name")))?;
                    out.push(Trait {
                        component: component.clone(),
                        name: name.to_string(),
                        properties: props(t.get("properties"))?,
                    });
                }
            }
            Some(Value::Object(map)) => {
                for (name, p) in map {
                    out.push(Trait {
                        component: component.clone(),
                        name: name.clone(),
                        properties: props(Some(p))?,
                    });
                }
            }
            Some(_) => return Err(invalid(format!("the traits of \"{component}\" are not a list"))),
        }
    }
    Ok(out)
}

/// What one trait does, stated for deploy; on delete the SDK undoes it.
#[derive(Debug, Clone, Default)]
pub struct TraitEffect {
    /// Objects the trait makes (e.g. PeerAuthentications): applied after the design's objects,
    /// deleted first on delete.
    pub objects: Vec<Value>,
    /// Labels and annotations the trait sets on namespaces: set (creating the namespace when
    /// `create`) after the design's namespaces and CRDs but before its other objects, so new
    /// workloads already see them; on delete what they set is removed and nothing is created.
    pub namespaces: Vec<NamespaceChange>,
    /// Said in the plan's summary, e.g. "istio-injection=enabled on namespaces a, b".
    pub what: String,
}

impl TraitEffect {
    /// Sets label `key=value` on each namespace, creating missing ones.
    pub fn label_namespaces(namespaces: &[String], key: &str, value: &str) -> TraitEffect {
        Self::namespace_metadata(namespaces, key, value, true)
    }

    /// Sets annotation `key: value` on each namespace, creating missing ones.
    pub fn annotate_namespaces(namespaces: &[String], key: &str, value: &str) -> TraitEffect {
        Self::namespace_metadata(namespaces, key, value, false)
    }

    fn namespace_metadata(namespaces: &[String], key: &str, value: &str, label: bool) -> TraitEffect {
        let changes = namespaces
            .iter()
            .map(|ns| {
                let mut c = crate::plan::namespace_change(ns, true);
                let pair = (key.to_string(), value.to_string());
                if label {
                    c.set_labels.push(pair);
                } else {
                    c.set_annotations.push(pair);
                }
                c
            })
            .collect();
        TraitEffect {
            objects: Vec::new(),
            namespaces: changes,
            what: format!(
                "{} {key}={value} on namespaces {}",
                if label { "label" } else { "annotation" },
                namespaces.join(", ")
            ),
        }
    }
}

/// A request for one of the translator's own operations on behalf of a design: the design's
/// delete flag, operation id, user and cluster, with the operation's key, namespace, version and
/// body. Plan it with the operation's own planner and return its stages as
/// [`Expansion::Operation`].
pub fn operation_request(
    design: &DesignRequest,
    key: &str,
    namespace: &str,
    version: &str,
    custom_body: &str,
) -> OperationRequest {
    OperationRequest {
        key: key.to_string(),
        namespace: namespace.to_string(),
        version: version.to_string(),
        custom_body: custom_body.to_string(),
        delete: design.delete,
        operation_id: design.operation_id.clone(),
        username: design.username.clone(),
        cluster: design.cluster.clone(),
    }
}

/// `Kind "name"`, with ` in "namespace"` when the component names one.
pub fn component_label(c: &Component) -> String {
    match &c.namespace {
        Some(ns) => format!("{} \"{}\" in \"{ns}\"", c.kind, c.name),
        None => format!("{} \"{}\"", c.kind, c.name),
    }
}

/// The groups a kind may use, each as (group, plural, versions), the version suggested in
/// errors first (one every supported release serves).
pub type KindGroups = &'static [(&'static str, &'static str, &'static [&'static str])];

/// The groups `kind` may use, from a translator's table of the kinds it checks and passes through
/// (kind, then its [`KindGroups`]); None for a kind the table does not list.
///
/// ```ignore
/// const KINDS: &[(&str, KindGroups)] = &[("Server", &[("policy.mymesh.io", "servers", &["v1", "v1beta1"])])];
/// if let Some(groups) = known_kind(KINDS, &c.kind) {
///     let (group, plural) = check_api_version(c, groups, "WASMESH-MYMESH", "MyMesh")?;
///     served.check(c, &c.api_version, &c.kind, plural, Some(Provider { name: "MyMesh", remedy: "install MyMesh first" }))?;
///     return Expansion::as_given(c, "WASMESH-MYMESH");
/// }
/// ```
pub fn known_kind(table: &[(&str, KindGroups)], kind: &str) -> Option<KindGroups> {
    table.iter().find(|(k, _)| *k == kind).map(|(_, g)| *g)
}

/// Checks a component's apiVersion against the groups and versions its kind may use (see
/// [`known_kind`]); the component's group and the kind's plural. A group the kind is not in is
/// `<code_prefix>-2101`, a version the group does not define it in `<code_prefix>-2102`; both
/// name the apiVersion to use. `mesh` is said in the messages ("Linkerd's Server is in ...").
pub fn check_api_version(
    c: &Component,
    groups: &[(&'static str, &'static str, &'static [&'static str])],
    code_prefix: &str,
    mesh: &str,
) -> Result<(&'static str, &'static str), Error> {
    let (group, version) = c.api_version.split_once('/').unwrap_or(("", c.api_version.as_str()));
    let Some((group, plural, versions)) = groups.iter().find(|(g, _, _)| *g == group) else {
        let expected: Vec<String> = groups.iter().map(|(g, _, v)| format!("{g}/{}", v[0])).collect();
        return Err(error(
            format!("{code_prefix}-2101"),
            format!(
                "{} \"{}\" names apiVersion \"{}\", but {mesh}'s {} is in {}",
                c.kind,
                c.name,
                c.api_version,
                c.kind,
                expected.join(" or ")
            ),
            format!("the group \"{group}\" does not serve {mesh}'s {}", c.kind),
            format!("set the component's apiVersion to {}", expected.join(" or ")),
        ));
    };
    if !versions.contains(&version) {
        return Err(error(
            format!("{code_prefix}-2102"),
            format!(
                "{} \"{}\" names version \"{version}\" of {group}, which {mesh} does not define for {}",
                c.kind, c.name, c.kind
            ),
            format!("{group} defines {} in versions {}", c.kind, versions.join(", ")),
            format!("set the component's apiVersion to {group}/{}", versions[0]),
        ));
    }
    Ok((group, plural))
}

/// What installs a CRD, said when the cluster does not serve it: `name` in the cause ("Linkerd
/// is not installed in the cluster"), `remedy` as the remediation ("install Linkerd first, or
/// add its component (LinkerdMesh) to the design").
#[derive(Debug, Clone, Copy)]
pub struct Provider<'a> {
    pub name: &'a str,
    pub remedy: &'a str,
}

/// Which versions of which CRDs the cluster serves, each CRD read once (with
/// [`cluster::get`](crate::cluster::get), so the grant must allow reading
/// `apiextensions.k8s.io` customresourcedefinitions; a read the host refuses skips the check).
/// A design component of a CRD's kind that the design itself does not install is checked with
/// [`ServedKinds::check`], so that it is rejected alone, before anything is written, instead of
/// failing the whole plan when the host applies it.
#[derive(Debug, Default)]
pub struct ServedKinds {
    code_prefix: String,
    mesh: String,
    crds: HashMap<String, Option<Vec<String>>>,
}

impl ServedKinds {
    /// `mesh` is said in the messages ("the installed Linkerd release defines other versions").
    pub fn new(code_prefix: &str, mesh: &str) -> ServedKinds {
        ServedKinds {
            code_prefix: code_prefix.to_string(),
            mesh: mesh.to_string(),
            crds: HashMap::new(),
        }
    }

    /// The versions the CRD `<plural>.<group>` serves: empty when it is absent, None when it
    /// cannot be read.
    pub fn versions(&mut self, group: &str, plural: &str) -> Option<&[String]> {
        let name = format!("{plural}.{group}");
        self.crds
            .entry(name)
            .or_insert_with_key(|name| served_versions(name))
            .as_deref()
    }

    /// Rejects component `c` when the cluster does not serve `kind` in `api_version` (the
    /// component's own, or of an object made from it), whose CRD is `<plural>.<group>`, with
    /// `<code_prefix>-2103`. `provider` says what installs the CRD; None says "the API this kind
    /// belongs to" and "install the CRD ... first". A CRD that cannot be read is not checked: the
    /// host's own check decides then.
    pub fn check(
        &mut self,
        c: &Component,
        api_version: &str,
        kind: &str,
        plural: &str,
        provider: Option<Provider>,
    ) -> Result<(), Error> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let Some(versions) = self.versions(group, plural).map(<[String]>::to_vec) else {
            return Ok(());
        };
        if versions.iter().any(|v| v == version) {
            return Ok(());
        }
        let crd = format!("{plural}.{group}");
        let (message, cause, remedy) = if versions.is_empty() {
            let fallback = format!("install the CRD {crd} first");
            let (name, remedy) = match provider {
                Some(p) => (p.name, p.remedy.to_string()),
                None => ("the API this kind belongs to", fallback),
            };
            (
                format!(
                    "{} \"{}\" cannot be applied: the cluster does not serve {group} {kind}",
                    c.kind, c.name
                ),
                format!("{name} is not installed in the cluster (its CRD {crd} is missing)"),
                remedy,
            )
        } else {
            (
                format!(
                    "{} \"{}\" cannot be applied: the cluster serves {group} {kind} in versions {}, not {version}",
                    c.kind,
                    c.name,
                    versions.join(", ")
                ),
                format!(
                    "the installed {} release defines other versions of this kind",
                    self.mesh
                ),
                format!("set the component's apiVersion to {group}/{}", versions[0]),
            )
        };
        Err(error(format!("{}-2103", self.code_prefix), message, cause, remedy))
    }
}

/// The versions a CRD serves: Some([]) when it is absent, None when it cannot be read.
fn served_versions(crd: &str) -> Option<Vec<String>> {
    match crate::cluster::get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, crd) {
        Ok(None) => Some(Vec::new()),
        Ok(Some(crd)) => Some(
            crd.pointer("/spec/versions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|v| v["served"] != false)
                .filter_map(|v| v["name"].as_str().map(str::to_string))
                .collect(),
        ),
        Err(_) => None,
    }
}

/// The error for a component whose settings cannot be used (`<code_prefix>-2104`): `why` says
/// what is wrong, `remedy` what the settings should be for this translator.
pub fn bad_settings(c: &Component, code_prefix: &str, remedy: &str, why: impl std::fmt::Display) -> Error {
    error(
        format!("{code_prefix}-2104"),
        format!("{} \"{}\" cannot be used: {why}", c.kind, c.name),
        "the component's settings are not of the expected shape",
        remedy,
    )
}

/// The version a control-plane or add-on component asks for: `settings.version`, else an OAM
/// Component's `spec.version`, else "" (the operation's default); trimmed. A version that is
/// not a string is [`bad_settings`].
pub fn settings_version(c: &Component, code_prefix: &str, remedy: &str) -> Result<String, Error> {
    match c.spec.get("version") {
        None | Some(Value::Null) => Ok(c.version.clone().unwrap_or_default()),
        Some(Value::String(v)) => Ok(v.trim().to_string()),
        Some(other) => Err(bad_settings(
            c,
            code_prefix,
            remedy,
            format!("settings.version is {other}, not a string"),
        )),
    }
}

/// The settings among `keys` that a component sets (null ones are left out), to pass to an
/// operation (see [`settings_body`]); other settings are dropped. Settings that are not an
/// object are [`bad_settings`].
pub fn settings(c: &Component, keys: &[&str], code_prefix: &str, remedy: &str) -> Result<Map<String, Value>, Error> {
    match &c.spec {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m
            .iter()
            .filter(|(k, v)| keys.contains(&k.as_str()) && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()),
        other => Err(bad_settings(
            c,
            code_prefix,
            remedy,
            format!("the settings are {other}, not an object"),
        )),
    }
}

/// Settings as an operation's custom body: "" when there are none, else a JSON object.
pub fn settings_body(settings: Map<String, Value>) -> String {
    if settings.is_empty() {
        String::new()
    } else {
        Value::Object(settings).to_string()
    }
}

/// The error for a second control-plane component (`<code_prefix>-2105`): a cluster runs one
/// control plane of a mesh. `mesh` is the mesh's name ("Linkerd"), `c` the second component.
pub fn second_control_plane(c: &Component, code_prefix: &str, mesh: &str) -> Error {
    error(
        format!("{code_prefix}-2105"),
        format!(
            "{} \"{}\" is a second {mesh} control plane in the design",
            c.kind, c.name
        ),
        format!("a cluster runs one {mesh} control plane; the design names more than one"),
        format!("keep one {} component in the design", c.kind),
    )
}

/// The error for a control-plane or add-on component of another mesh (`<code_prefix>-2106`),
/// e.g. an `IstioMesh` sent to the Linkerd translator: check [`is_mesh_or_addon`] and an empty
/// apiVersion before [`Expansion::as_given`], which would say less.
pub fn foreign_component(c: &Component, code_prefix: &str, mesh: &str) -> Error {
    let article = if mesh.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    error(
        format!("{code_prefix}-2106"),
        format!("{} \"{}\" is not {article} {mesh} component", c.kind, c.name),
        format!(
            "the {mesh} adapter deploys {mesh}Mesh and {mesh} add-ons, not {}",
            c.kind
        ),
        "deploy the component through the adapter of its mesh, or remove it from the design",
    )
}

/// Plans a design: `expand` says what each component means, `on_trait` what each OAM trait does
/// (`None`: not a trait this translator applies; it is reported as a WARN). See the module
/// documentation for the order of the plan. A component that fails to parse or that `expand`
/// rejects is listed in `rejected` with its error; the rest goes ahead. An unreadable
/// configuration, a malformed trait, or two traits that disagree refuse the whole design.
pub fn plan_design_with(
    request: &DesignRequest,
    code_prefix: &str,
    mesh: &str,
    mut expand: impl FnMut(&Component) -> Result<Expansion, Error>,
    mut on_trait: impl FnMut(&Trait) -> Option<Result<TraitEffect, Error>>,
) -> Result<DesignPlan, Error> {
    let delete = request.delete;
    let mut control_planes: Vec<Vec<Stage>> = Vec::new();
    let mut addons: Vec<Vec<Stage>> = Vec::new();
    let mut objects: Vec<Value> = Vec::new();
    let mut said: Vec<String> = Vec::new();
    let mut rejected = Vec::new();
    for (index, json) in request.components.iter().enumerate() {
        let parsed = parse_component(json, code_prefix);
        let name = match &parsed {
            Ok(c) => c.name.clone(),
            Err(_) => component_name(json),
        };
        match parsed.and_then(|c| expand(&c).map(|e| (c, e))) {
            Ok((c, Expansion::Objects { objects: o, what })) => {
                let what = match (what.is_empty(), delete) {
                    (false, _) => what,
                    (true, false) => "apply".into(),
                    (true, true) => "delete".into(),
                };
                said.push(format!("{}: {what}", component_label(&c)));
                objects.extend(o);
            }
            Ok((
                c,
                Expansion::Operation {
                    stages,
                    what,
                    control_plane,
                },
            )) => {
                let label = component_label(&c);
                said.push(format!("{label}: {what}"));
                let stages = stages
                    .into_iter()
                    .map(|s| stage(format!("{label}: {}", s.name), s.steps))
                    .collect();
                if control_plane {
                    control_planes.push(stages);
                } else {
                    addons.push(stages);
                }
            }
            Err(error) => rejected.push(RejectedComponent {
                index: index as u32,
                name,
                error,
            }),
        }
    }

    let mut trait_objects: Vec<Value> = Vec::new();
    let mut namespaces: BTreeMap<String, NamespaceChange> = BTreeMap::new();
    for t in traits(request.config.as_deref().unwrap_or_default(), code_prefix)? {
        let head = format!("trait {} of \"{}\"", t.name, t.component);
        match on_trait(&t) {
            None => {
                warn_unapplied(&t, mesh);
                said.push(format!("{head}: not applied (the {mesh} translator does not know it)"));
            }
            Some(Err(e)) => return Err(e),
            Some(Ok(effect)) => {
                said.push(match delete {
                    false => format!("{head}: {}", effect.what),
                    true => format!("{head}: undo {}", effect.what),
                });
                for o in effect.objects {
                    add_trait_object(&mut trait_objects, o, &t, code_prefix)?;
                }
                for change in effect.namespaces {
                    merge_namespace_change(&mut namespaces, change, &t, code_prefix)?;
                }
            }
        }
    }

    let is_foundation = |o: &Value| matches!(o["kind"].as_str(), Some("Namespace" | "CustomResourceDefinition"));
    let traits_named = |stages: Vec<Stage>| {
        stages
            .into_iter()
            .map(|s| stage(format!("traits: {}", s.name), s.steps))
            .collect::<Vec<_>>()
    };
    let mut stages = Vec::new();
    if !delete {
        stages.extend(control_planes.into_iter().flatten());
        stages.extend(addons.into_iter().flatten());
        let (foundation, rest): (Vec<Value>, Vec<Value>) = objects.into_iter().partition(|o| is_foundation(o));
        stages.extend(apply_all(&foundation));
        if !namespaces.is_empty() {
            let steps = namespaces.into_values().map(Step::NamespaceMetadata).collect();
            stages.push(stage("traits: namespaces", steps));
        }
        stages.extend(apply_all(&rest));
        stages.extend(traits_named(apply_all(&trait_objects)));
    } else {
        stages.extend(traits_named(delete_all(&trait_objects)));
        let undo: Vec<Step> = namespaces.into_values().filter_map(undo_namespace_change).collect();
        if !undo.is_empty() {
            stages.push(stage("traits: namespaces", undo));
        }
        stages.extend(delete_all(&objects));
        stages.extend(addons.into_iter().rev().flatten());
        stages.extend(control_planes.into_iter().rev().flatten());
    }

    let total = request.components.len();
    let used = total - rejected.len();
    let verb = if delete { "removed" } else { "deployed" };
    let count = if rejected.is_empty() {
        format!("{used} components")
    } else {
        format!("{used} of {total} components, {} rejected", rejected.len())
    };
    let items = if said.is_empty() {
        "nothing to do".to_string()
    } else {
        said.join("; ")
    };
    Ok(DesignPlan {
        plan: plan(format!("Design {verb} ({count}): {items}"), stages),
        rejected,
    })
}

/// Two traits making the same object must agree on it.
fn add_trait_object(objects: &mut Vec<Value>, o: Value, t: &Trait, code_prefix: &str) -> Result<(), Error> {
    let r = object_ref(&o);
    let key = |x: &crate::ObjectRef| {
        (
            x.api_version.clone(),
            x.kind.clone(),
            x.namespace.clone(),
            x.name.clone(),
        )
    };
    match objects.iter().find(|x| key(&object_ref(x)) == key(&r)) {
        None => objects.push(o),
        Some(existing) if *existing == o => {}
        Some(_) => {
            return Err(conflict(
                t,
                code_prefix,
                format!(
                    "{} \"{}\"{} is set differently by another trait",
                    r.kind,
                    r.name,
                    r.namespace.map(|n| format!(" in \"{n}\"")).unwrap_or_default()
                ),
            ));
        }
    }
    Ok(())
}

/// One namespace change per namespace: two changes of one namespace in parallel could race.
fn merge_namespace_change(
    all: &mut BTreeMap<String, NamespaceChange>,
    change: NamespaceChange,
    t: &Trait,
    code_prefix: &str,
) -> Result<(), Error> {
    let Some(into) = all.get_mut(&change.namespace) else {
        all.insert(change.namespace.clone(), change);
        return Ok(());
    };
    into.create |= change.create;
    for (what, set, mine) in [
        ("label", &mut into.set_labels, change.set_labels),
        ("annotation", &mut into.set_annotations, change.set_annotations),
    ] {
        for (k, v) in mine {
            match set.iter().find(|(k2, _)| *k2 == k) {
                Some((_, v2)) if *v2 != v => {
                    return Err(conflict(
                        t,
                        code_prefix,
                        format!(
                            "{what} {k} of namespace \"{}\" is set to \"{v}\" here and \"{v2}\" by another trait",
                            change.namespace
                        ),
                    ));
                }
                Some(_) => {}
                None => set.push((k, v)),
            }
        }
    }
    for (set, mine) in [
        (&mut into.remove_labels, change.remove_labels),
        (&mut into.remove_annotations, change.remove_annotations),
    ] {
        for k in mine {
            if !set.contains(&k) {
                set.push(k);
            }
        }
    }
    Ok(())
}

fn conflict(t: &Trait, code_prefix: &str, what: String) -> Error {
    error(
        format!("{code_prefix}-2007"),
        format!("trait {} of component \"{}\" conflicts: {what}", t.name, t.component),
        "two traits of the design ask for different settings of the same object",
        "keep one setting per namespace in the design's traits, then deploy again",
    )
}

/// On delete a trait's namespace change is undone: what it set is removed, nothing is created.
fn undo_namespace_change(change: NamespaceChange) -> Option<Step> {
    let mut undo = crate::plan::namespace_change(&change.namespace, false);
    undo.remove_labels = change.set_labels.into_iter().map(|(k, _)| k).collect();
    undo.remove_annotations = change.set_annotations.into_iter().map(|(k, _)| k).collect();
    (!undo.remove_labels.is_empty() || !undo.remove_annotations.is_empty()).then_some(Step::NamespaceMetadata(undo))
}

/// Plans a design whose components are Kubernetes objects of the mesh's (or any) kinds: each
/// usable component is applied (or deleted), each unusable one is rejected on its own.
/// Install components (`<Mesh>Mesh`) are rejected here: translators handle them with
/// [`plan_design_with`]. Traits are not applied; each is reported as a WARN.
pub fn plan_design(request: &DesignRequest, code_prefix: &str, mesh: &str) -> DesignPlan {
    let expand = |c: &Component| {
        if c.kind.ends_with("Mesh") {
            return Err(error(
                format!("{code_prefix}-2002"),
                format!(
                    "component {} of type {} cannot be deployed from a design by this translator",
                    c.name, c.kind
                ),
                format!(
                    "installing the {mesh} control plane from a design is not supported by this translator version"
                ),
                format!(
                    "install {mesh} with the adapter's install operation, then deploy the design without this component"
                ),
            ));
        }
        Expansion::as_given(c, code_prefix)
    };
    match plan_design_with(request, code_prefix, mesh, expand, |_| None) {
        Ok(p) => p,
        Err(e) => {
            // Only an unreadable configuration gets here: deploy the components without traits.
            report_warning(&e);
            let mut without = request.clone();
            without.config = None;
            plan_design_with(&without, code_prefix, mesh, expand, |_| None)
                .expect("a design without configuration has no trait to fail on")
        }
    }
}

/// A trait no handler applies is said, not ignored.
fn warn_unapplied(t: &Trait, mesh: &str) {
    report_warning(&error(
        "WASMESH-SDK-2003",
        format!("trait {} of component \"{}\" was not applied", t.name, t.component),
        format!("the {mesh} translator does not apply the trait {}", t.name),
        "apply the setting with the adapter's operations (for example the namespace injection operation)",
    ));
}

fn report_warning(e: &Error) {
    crate::progress::report_error(crate::Level::Warn, e);
}

/// Best-effort name of an entry that could not be parsed, for the error message.
fn component_name(json: &str) -> String {
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| {
            ["/metadata/name", "/displayName", "/configuration/metadata/name"]
                .iter()
                .find_map(|p| v.pointer(p).and_then(Value::as_str).map(str::to_string))
        })
        .unwrap_or_default()
}

/// The shared design flow of a translator described by a [`Translator`]: what every
/// translator does with a design, with the translator's own parts as [`Hooks`].
///
/// For each component, in order:
///
/// 1. the control-plane kind ([`ControlPlane::kind`](crate::translator::ControlPlane)): the
///    first is [`Hooks::control_plane`], a second is refused (`<prefix>-2105`);
/// 2. an add-on kind (matched without regard to case): [`Hooks::addon`];
/// 3. [`Hooks::component`], for kinds the translator makes objects from (Istio's TrafficSplit);
/// 4. a kind of the translator's table of pass-through kinds: its apiVersion is checked
///    (`-2101`, `-2102`) and, on deploy when the design does not bring its CRDs
///    ([`Hooks::provider`]), whether the cluster serves it (`-2103`); then it is applied as given;
/// 5. a control-plane or add-on type of another mesh is refused (`-2106`);
/// 6. anything else is applied as given.
///
/// Traits go to [`Hooks::on_trait`]. The order of the plan and its summary are
/// [`plan_design_with`]'s.
///
/// ```ignore
/// struct MyHooks;
/// impl wasmesh_sdk::design::Hooks for MyHooks {
///     fn on_trait(&mut self, d: &Design, t: &Trait) -> Option<Result<TraitEffect, Error>> {
///         t.is("automaticSidecarInjection").then(|| {
///             Ok(TraitEffect::label_namespaces(&d.namespaces(t)?, "mymesh-injection", "enabled"))
///         })
///     }
/// }
/// pub fn provision(request: &DesignRequest) -> Result<DesignPlan, Error> {
///     Design::new(&crate::MYMESH, request).plan(MyHooks)
/// }
/// ```
pub struct Design<'a> {
    pub translator: &'static Translator,
    pub request: &'a DesignRequest,
    /// The components that parse, in the design's order.
    pub components: Vec<Component>,
    served: std::cell::RefCell<ServedKinds>,
}

/// What a translator adds to the shared design flow ([`Design`]). Every method has a default.
pub trait Hooks {
    /// The control-plane component (a second one never gets here). Default:
    /// [`Design::control_plane`] with nothing added.
    fn control_plane(&mut self, d: &Design, c: &Component) -> Result<Expansion, Error> {
        d.control_plane(c, |_| Ok(String::new()))
    }

    /// An add-on component. Default: [`Design::addon`].
    fn addon(&mut self, d: &Design, c: &Component, addon: &Addon) -> Result<Expansion, Error> {
        d.addon(c, addon)
    }

    /// A component the translator turns into objects itself; None: not one of those.
    fn component(&mut self, d: &Design, c: &Component) -> Option<Result<Expansion, Error>> {
        let _ = (d, c);
        None
    }

    /// Whether the design itself brings the CRDs of `group` (so the cluster is not asked), and
    /// what installs them otherwise (None: the SDK's words for another API). Default: the
    /// control-plane component brings them, and the mesh installs them.
    fn provider(&self, d: &Design, group: &str) -> (bool, Option<Provider<'static>>) {
        let _ = group;
        (d.brings(d.translator.control_plane.kind), Some(d.default_provider()))
    }

    /// What an OAM trait does; None: not a trait this translator applies (reported as a WARN).
    fn on_trait(&mut self, d: &Design, t: &Trait) -> Option<Result<TraitEffect, Error>> {
        let _ = (d, t);
        None
    }
}

impl<'a> Design<'a> {
    pub fn new(translator: &'static Translator, request: &'a DesignRequest) -> Design<'a> {
        Design {
            translator,
            request,
            components: request
                .components
                .iter()
                .filter_map(|j| parse_component(j, translator.code_prefix).ok())
                .collect(),
            served: std::cell::RefCell::new(ServedKinds::new(translator.code_prefix, translator.display)),
        }
    }

    /// Whether the design has a component of `kind` (ASCII case ignored).
    pub fn brings(&self, kind: &str) -> bool {
        self.components.iter().any(|c| c.kind.eq_ignore_ascii_case(kind))
    }

    /// The design's control-plane component, if any.
    pub fn control_plane_component(&self) -> Option<&Component> {
        self.components
            .iter()
            .find(|c| c.kind == self.translator.control_plane.kind)
    }

    /// The version a control-plane or add-on component asks for ([`settings_version`]).
    pub fn version(&self, c: &Component) -> Result<String, Error> {
        settings_version(
            c,
            self.translator.code_prefix,
            self.translator.control_plane.settings_remedy,
        )
    }

    /// The settings among `keys` that a component sets ([`settings`]).
    pub fn settings(&self, c: &Component, keys: &[&str]) -> Result<Map<String, Value>, Error> {
        settings(
            c,
            keys,
            self.translator.code_prefix,
            self.translator.control_plane.settings_remedy,
        )
    }

    /// The error for settings that cannot be used (`<prefix>-2104`).
    pub fn bad_settings(&self, c: &Component, why: impl std::fmt::Display) -> Error {
        bad_settings(
            c,
            self.translator.code_prefix,
            self.translator.control_plane.settings_remedy,
            why,
        )
    }

    /// Checks a component's apiVersion against groups and versions ([`check_api_version`]).
    pub fn check_api_version(
        &self,
        c: &Component,
        groups: &[(&'static str, &'static str, &'static [&'static str])],
    ) -> Result<(&'static str, &'static str), Error> {
        check_api_version(c, groups, self.translator.code_prefix, self.translator.display)
    }

    /// Rejects `c` when the cluster does not serve `kind` in `api_version` ([`ServedKinds::check`]).
    pub fn check_served(
        &self,
        c: &Component,
        api_version: &str,
        kind: &str,
        plural: &str,
        provider: Option<Provider>,
    ) -> Result<(), Error> {
        self.served.borrow_mut().check(c, api_version, kind, plural, provider)
    }

    /// A trait's `namespaces` property ([`Trait::namespaces`]).
    pub fn namespaces(&self, t: &Trait) -> Result<Vec<String>, Error> {
        t.namespaces(self.translator.code_prefix)
    }

    /// The error for a trait whose properties cannot be used ([`Trait::invalid`]).
    pub fn invalid_trait(&self, t: &Trait, why: impl std::fmt::Display) -> Error {
        t.invalid(self.translator.code_prefix, why)
    }

    /// The stages of the translator's operation `key` for this design (its delete flag,
    /// operation id, user and cluster).
    pub fn operation(&self, key: &str, namespace: &str, version: &str, body: &str) -> Result<Vec<Stage>, Error> {
        let op = operation_request(self.request, key, namespace, version, body);
        Ok(self.translator.plan(&op)?.stages)
    }

    /// The component's namespace, else the control plane's.
    fn namespace_of(&self, c: &Component) -> String {
        c.namespace
            .clone()
            .unwrap_or_else(|| self.translator.control_plane.namespace.to_string())
    }

    /// The control-plane install for a component: the control plane's operation with the
    /// component's version and the settings [`ControlPlane::settings`](crate::translator::ControlPlane)
    /// lists as its body. `adjust` may change the body and returns what the summary adds after
    /// "install <version>" (e.g. " with profile minimal").
    pub fn control_plane(
        &self,
        c: &Component,
        adjust: impl FnOnce(&mut Map<String, Value>) -> Result<String, Error>,
    ) -> Result<Expansion, Error> {
        let cp = &self.translator.control_plane;
        let version = self.version(c)?;
        let mut body = self.settings(c, cp.settings)?;
        let more = adjust(&mut body)?;
        let stages = self.operation(cp.operation, &self.namespace_of(c), &version, &settings_body(body))?;
        let shown = if version.is_empty() {
            (self.translator.versions)().first().cloned().unwrap_or_default()
        } else {
            version
        };
        Ok(Expansion::control_plane(
            self.request.delete,
            stages,
            format!("install {shown}{more}"),
        ))
    }

    /// An add-on: its operation with the component's version and the settings the add-on lists.
    pub fn addon(&self, c: &Component, addon: &Addon) -> Result<Expansion, Error> {
        let version = self.version(c)?;
        let body = settings_body(self.settings(c, addon.settings)?);
        let stages = self.operation(addon.operation, &self.namespace_of(c), &version, &body)?;
        Ok(Expansion::addon(self.request.delete, addon.operation, stages))
    }

    /// "install <Mesh> first, or add its component (<Kind>) to the design".
    pub fn default_provider(&self) -> Provider<'static> {
        Provider {
            name: self.translator.display,
            remedy: self.translator.control_plane.install_first,
        }
    }

    /// Plans the design with the translator's hooks.
    pub fn plan(self, hooks: impl Hooks) -> Result<DesignPlan, Error> {
        let t = self.translator;
        let hooks = std::cell::RefCell::new(hooks);
        let mut meshes = 0;
        plan_design_with(
            self.request,
            t.code_prefix,
            t.mesh,
            |c| {
                let mut h = hooks.borrow_mut();
                if c.kind == t.control_plane.kind {
                    meshes += 1;
                    if meshes > 1 {
                        return Err(second_control_plane(c, t.code_prefix, t.display));
                    }
                    return h.control_plane(&self, c);
                }
                if let Some(addon) = t.addon(&c.kind) {
                    return h.addon(&self, c, addon);
                }
                if let Some(r) = h.component(&self, c) {
                    return r;
                }
                if let Some(groups) = known_kind(t.kinds, &c.kind) {
                    let (group, plural) = self.check_api_version(c, groups)?;
                    let (brought, provider) = h.provider(&self, group);
                    if !self.request.delete && !brought {
                        self.check_served(c, &c.api_version, &c.kind, plural, provider)?;
                    }
                    return Expansion::as_given(c, t.code_prefix);
                }
                if is_mesh_or_addon(&c.kind) && c.api_version.is_empty() {
                    return Err(foreign_component(c, t.code_prefix, t.display));
                }
                Expansion::as_given(c, t.code_prefix)
            },
            |tr| hooks.borrow_mut().on_trait(&self, tr),
        )
    }
}

/// Aids for a translator's unit tests of its designs: what Meshery sends, and what a plan applies.
///
/// ```ignore
/// use wasmesh_sdk::design::testing::{applied, design_request, oam_component};
/// let r = design_request(vec![oam_component("Server", "policy.mymesh.io/v1", "web", "shop", json!({"port": 80}))], None);
/// let p = my_translator::design::provision(&r).unwrap();
/// assert_eq!(applied(&p.plan)[0]["spec"]["port"], 80);
/// ```
pub mod testing {
    use serde_json::{Value, json};

    use crate::{ClusterInfo, DesignRequest, Plan, Step};

    /// An OAM Component as ProcessOAM sends it: type `kind`, the object's apiVersion and kind in
    /// the `design.meshmodel.io.k8s.*` annotations (left out when `api_version` is empty, as for
    /// a control plane or an add-on), `settings` as the object's spec; `namespace` "" for none.
    pub fn oam_component(kind: &str, api_version: &str, name: &str, namespace: &str, settings: Value) -> String {
        let mut metadata = json!({"name": name});
        if !namespace.is_empty() {
            metadata["namespace"] = json!(namespace);
        }
        if !api_version.is_empty() {
            metadata["annotations"] = json!({super::OAM_API_VERSION: api_version, super::OAM_KIND: kind});
        }
        json!({"kind": "Component", "metadata": metadata, "spec": {"type": kind, "settings": settings}}).to_string()
    }

    /// A design deploy request with these components and OAM Configuration (traits); set
    /// `delete` on it for the removal.
    pub fn design_request(components: Vec<String>, config: Option<Value>) -> DesignRequest {
        DesignRequest {
            components,
            config: config.map(|c| c.to_string()),
            delete: false,
            operation_id: "op".into(),
            username: "u".into(),
            cluster: ClusterInfo {
                name: "c".into(),
                server: "s".into(),
            },
        }
    }

    /// The objects a plan applies, in the order of its stages and steps.
    pub fn applied(plan: &Plan) -> Vec<Value> {
        plan.stages
            .iter()
            .flat_map(|s| &s.steps)
            .filter_map(|s| match s {
                Step::Apply(o) => Some(serde_json::from_str(o).expect("an applied object is JSON")),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn oam_component_becomes_its_object() {
        let oam = json!({
            "kind": "Component",
            "metadata": {"name": "vs", "namespace": "shop", "labels": {"app": "a"},
                "annotations": {OAM_API_VERSION: "networking.istio.io/v1", OAM_KIND: "VirtualService", "keep": "me"}},
            "spec": {"type": "VirtualService", "settings": {"hosts": ["a"]}}
        });
        let c = parse_component(&oam.to_string(), "T").unwrap();
        assert_eq!(
            c.to_object(),
            json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                   "metadata": {"name": "vs", "namespace": "shop", "labels": {"app": "a"}, "annotations": {"keep": "me"}},
                   "spec": {"hosts": ["a"]}})
        );
    }

    #[test]
    fn settings_of_kinds_without_a_spec_are_their_fields() {
        let cm = oam("ConfigMap", Some("v1"), "cm", Some("shop"), json!({"data": {"k": "v"}}));
        let object = parse_component(&cm.to_string(), "T").unwrap().to_object();
        assert_eq!(object["data"], json!({"k": "v"}));
        assert!(object.get("spec").is_none(), "{object}");
        let empty = oam("Deployment", Some("apps/v1"), "d", None, json!({}));
        let object = parse_component(&empty.to_string(), "T").unwrap().to_object();
        assert!(object.get("spec").is_none(), "an empty spec is no spec: {object}");
    }

    #[test]
    fn meshery_declaration_becomes_its_object() {
        let decl = json!({
            "displayName": "fallback-name",
            "component": {"version": "policy.linkerd.io/v1beta3", "kind": "Server"},
            "model": {"name": "linkerd"},
            "configuration": {"metadata": {"name": "srv", "namespace": "emoji"}, "spec": {"port": 8080}, "data": {"k": "v"}}
        });
        let c = parse_component(&decl.to_string(), "T").unwrap();
        assert_eq!(c.model.as_deref(), Some("linkerd"));
        assert_eq!(c.to_object()["metadata"]["name"], "srv");
        assert_eq!(c.to_object()["spec"]["port"], 8080);
        assert_eq!(c.to_object()["apiVersion"], "policy.linkerd.io/v1beta3");
        assert_eq!(c.to_object()["data"]["k"], "v", "the rest of the configuration is kept");
    }

    #[test]
    fn unusable_entries_say_why() {
        let cases = [
            ("not json", "not JSON"),
            (
                "{\"kind\": \"Component\", \"spec\": {\"type\": \"X\"}, \"metadata\": {\"name\": \"n\"}}",
                "APIVersion",
            ),
            (
                "{\"component\": {\"kind\": \"Server\"}}",
                "component.version is missing",
            ),
            ("{\"something\": 1}", "neither"),
        ];
        for (json, says) in cases {
            let e = parse_component(json, "T").unwrap_err();
            assert_eq!(e.code, "T-2001");
            assert!(e.message.contains(says), "{json}: {}", e.message);
        }
    }

    fn request(components: Vec<Value>, config: Option<Value>, delete: bool) -> DesignRequest {
        DesignRequest {
            components: components.iter().map(Value::to_string).collect(),
            config: config.map(|c| c.to_string()),
            delete,
            operation_id: "op".into(),
            username: "u".into(),
            cluster: crate::ClusterInfo {
                name: "c".into(),
                server: "s".into(),
            },
        }
    }

    fn oam(kind: &str, api_version: Option<&str>, name: &str, ns: Option<&str>, settings: Value) -> Value {
        let mut annotations = Map::new();
        if let Some(v) = api_version {
            annotations.insert(OAM_API_VERSION.into(), v.into());
            annotations.insert(OAM_KIND.into(), kind.into());
        }
        let mut metadata = json!({"name": name, "annotations": annotations});
        if let Some(ns) = ns {
            metadata["namespace"] = ns.into();
        }
        json!({"kind": "Component", "metadata": metadata, "spec": {"type": kind, "settings": settings}})
    }

    /// A design with a control plane, an add-on, a namespace, a mesh object and two traits.
    fn sample(delete: bool) -> DesignRequest {
        request(
            vec![
                oam("DemoAddon", None, "viz", None, json!({})),
                oam(
                    "Server",
                    Some("policy.demo.io/v1"),
                    "web",
                    Some("shop"),
                    json!({"port": 80}),
                ),
                oam("Namespace", Some("v1"), "shop", None, Value::Null),
                oam("DemoMesh", None, "demo", None, json!({"version": "1.2"})),
            ],
            Some(json!({"spec": {"components": [
                {"componentName": "web", "traits": [
                    {"name": "automaticSidecarInjection.Demo", "properties": {"namespaces": ["shop"]}},
                    {"name": "mTLS", "properties": {"namespaces": ["shop"], "policy": "strict"}}]},
                {"componentName": "viz", "traits": [{"name": "unknownTrait"}]}]}})),
            delete,
        )
    }

    fn op_stage(name: &str) -> Stage {
        stage(
            name,
            vec![Step::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}).to_string(),
            )],
        )
    }

    fn plan_sample(delete: bool) -> DesignPlan {
        let r = sample(delete);
        plan_design_with(
            &r,
            "T",
            "demo",
            |c| match c.kind.as_str() {
                "DemoMesh" => Ok(Expansion::Operation {
                    stages: vec![op_stage("crds"), op_stage("control plane")],
                    what: format!("install {}", c.spec["version"].as_str().unwrap()),
                    control_plane: true,
                }),
                "DemoAddon" => Ok(Expansion::Operation {
                    stages: vec![op_stage("viz")],
                    what: "add-on".into(),
                    control_plane: false,
                }),
                _ => Expansion::as_given(c, "T"),
            },
            |t| {
                if t.is("automaticSidecarInjection") {
                    return Some(t.namespaces("T").map(|ns| TraitEffect::annotate_namespaces(&ns, "demo/inject", "on")));
                }
                if t.is("mtls") {
                    return Some(t.namespaces("T").map(|ns| TraitEffect {
                        objects: ns
                            .iter()
                            .map(|n| json!({"apiVersion": "sec/v1", "kind": "Policy", "metadata": {"name": "default", "namespace": n}}))
                            .collect(),
                        namespaces: Vec::new(),
                        what: "strict".into(),
                    }));
                }
                None
            },
        )
        .unwrap()
    }

    fn stage_names(p: &DesignPlan) -> Vec<String> {
        p.plan.stages.iter().map(|s| s.name.clone()).collect()
    }

    #[test]
    fn deploy_orders_control_plane_addons_objects_then_traits() {
        let p = plan_sample(false);
        assert!(p.rejected.is_empty());
        assert_eq!(
            stage_names(&p),
            [
                "DemoMesh \"demo\": crds",
                "DemoMesh \"demo\": control plane",
                "DemoAddon \"viz\": viz",
                "namespaces and CRDs",
                "traits: namespaces",
                "objects",
                "traits: objects",
            ]
        );
        let Step::NamespaceMetadata(change) = &p.plan.stages[4].steps[0] else {
            panic!("a namespace change")
        };
        assert_eq!(change.namespace, "shop");
        assert!(change.create);
        assert_eq!(change.set_annotations, [("demo/inject".to_string(), "on".to_string())]);
        let Step::Apply(server) = &p.plan.stages[5].steps[0] else {
            panic!()
        };
        let server: Value = serde_json::from_str(server).unwrap();
        assert_eq!(server["spec"]["port"], 80);
        assert_eq!(
            p.plan.summary,
            "Design deployed (4 components): DemoAddon \"viz\": add-on; Server \"web\" in \"shop\": apply; \
Namespace \"shop\": apply; DemoMesh \"demo\": install 1.2; \
trait automaticSidecarInjection.Demo of \"web\": annotation demo/inject=on on namespaces shop; \
trait mTLS of \"web\": strict; trait unknownTrait of \"viz\": not applied (the demo translator does not know it)"
        );
    }

    #[test]
    fn delete_is_the_reverse_and_undoes_traits() {
        let p = plan_sample(true);
        assert_eq!(
            stage_names(&p),
            [
                "traits: objects",
                "traits: namespaces",
                "objects",
                "namespaces and CRDs",
                "DemoAddon \"viz\": viz",
                "DemoMesh \"demo\": crds",
                "DemoMesh \"demo\": control plane",
            ]
        );
        assert!(
            matches!(&p.plan.stages[0].steps[0], Step::Delete(r) if r.kind == "Policy" && r.namespace.as_deref() == Some("shop"))
        );
        let Step::NamespaceMetadata(undo) = &p.plan.stages[1].steps[0] else {
            panic!()
        };
        assert!(!undo.create, "undoing never creates a namespace");
        assert_eq!(undo.remove_annotations, ["demo/inject"]);
        assert!(undo.set_annotations.is_empty());
        assert!(
            p.plan.summary.starts_with("Design removed (4 components): "),
            "{}",
            p.plan.summary
        );
        assert!(p.plan.summary.contains("Server \"web\" in \"shop\": delete"));
        assert!(p.plan.summary.contains("trait mTLS of \"web\": undo strict"));
    }

    #[test]
    fn a_rejected_component_fails_alone() {
        let mut r = sample(false);
        r.components.push("{\"nonsense\": 1}".into());
        let p = plan_design_with(
            &r,
            "T",
            "demo",
            |c| {
                if c.kind == "Server" {
                    Err(error("T-9", "wrong group", "c", "r"))
                } else if is_mesh_or_addon(&c.kind) {
                    Ok(Expansion::Objects {
                        objects: vec![],
                        what: "nothing".into(),
                    })
                } else {
                    Expansion::as_given(c, "T")
                }
            },
            |_| None,
        )
        .unwrap();
        let rejected: Vec<_> = p
            .rejected
            .iter()
            .map(|r| (r.index, r.name.as_str(), r.error.code.as_str()))
            .collect();
        assert_eq!(rejected, [(1, "web", "T-9"), (4, "", "T-2001")]);
        assert!(
            p.plan
                .summary
                .starts_with("Design deployed (3 of 5 components, 2 rejected): "),
            "{}",
            p.plan.summary
        );
        let applied: Vec<String> = p
            .plan
            .stages
            .iter()
            .flat_map(|s| &s.steps)
            .filter_map(|s| match s {
                Step::Apply(o) => Some(o.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(applied.len(), 1, "only the namespace: {applied:?}");
    }

    #[test]
    fn a_bad_trait_refuses_the_whole_design() {
        for (props, says) in [
            (json!({}), "namespaces is missing"),
            (json!({"namespaces": []}), "namespaces is empty"),
            (json!({"namespaces": "Bad_Name"}), "not a valid namespace name"),
            (json!({"namespaces": [3]}), "not a name"),
        ] {
            let r = request(
                vec![],
                Some(
                    json!({"spec": {"components": [{"componentName": "x", "traits": [{"name": "automaticSidecarInjection", "properties": props}]}]}}),
                ),
                false,
            );
            let e = plan_design_with(
                &r,
                "T",
                "demo",
                |c| Expansion::as_given(c, "T"),
                |t| Some(t.namespaces("T").map(|ns| TraitEffect::label_namespaces(&ns, "k", "v"))),
            )
            .unwrap_err();
            assert_eq!(e.code, "T-2005");
            assert!(e.message.contains(says), "{}", e.message);
            assert!(
                e.message.contains("trait automaticSidecarInjection of component \"x\""),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn traits_that_disagree_refuse_the_design() {
        let config = json!({"spec": {"components": [
            {"componentName": "a", "traits": [{"name": "inject", "properties": {"namespaces": ["n"], "v": "1"}}]},
            {"componentName": "b", "traits": [{"name": "inject", "properties": {"namespaces": ["n"], "v": "2"}}]}]}});
        let r = request(vec![], Some(config), false);
        let e = plan_design_with(
            &r,
            "T",
            "demo",
            |c| Expansion::as_given(c, "T"),
            |t| {
                Some(
                    t.namespaces("T")
                        .map(|ns| TraitEffect::label_namespaces(&ns, "k", t.string("v").unwrap())),
                )
            },
        )
        .unwrap_err();
        assert_eq!(e.code, "T-2007");
        assert!(e.message.contains("label k of namespace \"n\""), "{}", e.message);
    }

    #[test]
    fn traits_parse_in_every_spelling() {
        let config = json!({"spec": {"components": [
            {"componentName": "a", "traits": [
                {"name": "automaticSidecarInjection", "properties": {"namespaces": ["x", "y", "x"]}},
                {"name": "automaticSidecarInjection.Linkerd", "properties": {"namespaces": "z"}},
                {"name": "mTLS"}]},
            {"componentName": "b", "traits": {"mTLS": {"policy": "strict", "namespaces": ["q"]}}},
            {"componentName": "c"}]}});
        let ts = traits(&config.to_string(), "T").unwrap();
        let names: Vec<_> = ts.iter().map(|t| (t.component.as_str(), t.name.as_str())).collect();
        assert_eq!(
            names,
            [
                ("a", "automaticSidecarInjection"),
                ("a", "automaticSidecarInjection.Linkerd"),
                ("a", "mTLS"),
                ("b", "mTLS")
            ]
        );
        assert!(ts[0].is("automaticSidecarInjection") && ts[1].is("automaticSidecarInjection"));
        assert!(!ts[2].is("automaticSidecarInjection") && ts[2].is("mtls"));
        assert_eq!(ts[0].namespaces("T").unwrap(), ["x", "y"], "duplicates dropped");
        assert_eq!(ts[1].namespaces("T").unwrap(), ["z"]);
        assert_eq!(ts[2].properties, json!({}));
        assert_eq!(ts[3].string("policy"), Some("strict"));
        assert!(traits("", "T").unwrap().is_empty());
        assert!(traits("{}", "T").unwrap().is_empty());
        for bad in [
            "not json",
            "{\"spec\": {\"components\": 3}}",
            "{\"spec\": {\"components\": [{\"traits\": [{}]}]}}",
        ] {
            assert_eq!(traits(bad, "T").unwrap_err().code, "T-2006", "{bad}");
        }
    }

    #[test]
    fn mesh_components_need_no_api_version_and_old_annotations_are_read() {
        let c = parse_component(
            &json!({"kind": "Component", "metadata": {"name": "istio"},
                    "spec": {"type": "IstioMesh", "version": "1.27.3", "settings": {"profile": "demo"}}})
            .to_string(),
            "T",
        )
        .unwrap();
        assert_eq!(
            (c.kind.as_str(), c.api_version.as_str(), c.version.as_deref()),
            ("IstioMesh", "", Some("1.27.3"))
        );
        assert_eq!(Expansion::as_given(&c, "T").unwrap_err().code, "T-2004");
        let old = json!({"kind": "Component", "metadata": {"name": "sp", "annotations": {
            OLD_OAM_API_VERSION: "linkerd.io/v1alpha2", OLD_OAM_KIND: "ServiceProfile"}},
            "spec": {"type": "ServiceProfile.Linkerd", "settings": {"routes": []}}});
        let c = parse_component(&old.to_string(), "T").unwrap();
        assert_eq!(
            (c.kind.as_str(), c.api_version.as_str()),
            ("ServiceProfile", "linkerd.io/v1alpha2")
        );
        assert!(
            c.annotations.is_empty(),
            "the type annotations are not kept on the object"
        );
    }

    #[test]
    fn plan_design_still_rejects_mesh_installs_and_applies_the_rest() {
        let r = sample(false);
        let p = plan_design(&r, "T", "demo");
        let rejected: Vec<_> = p.rejected.iter().map(|r| (r.index, r.error.code.as_str())).collect();
        assert_eq!(rejected, [(0, "T-2004"), (3, "T-2002")]);
        assert_eq!(
            stage_names(&p),
            ["namespaces and CRDs", "objects"],
            "traits are not applied"
        );
        let mut bad_config = r.clone();
        bad_config.config = Some("not json".into());
        assert_eq!(
            stage_names(&plan_design(&bad_config, "T", "demo")),
            ["namespaces and CRDs", "objects"]
        );
    }

    const KINDS: &[(&str, KindGroups)] = &[
        ("Server", &[("policy.demo.io", "servers", &["v1beta1", "v1beta2"])]),
        (
            "Route",
            &[
                ("policy.demo.io", "routes", &["v1"]),
                ("gateway.networking.k8s.io", "httproutes", &["v1"]),
            ],
        ),
    ];

    fn component(kind: &str, api_version: &str, spec: Value) -> Component {
        let decl = json!({"component": {"kind": kind, "version": api_version},
                          "configuration": {"metadata": {"name": "x", "namespace": "shop"}, "spec": spec}});
        parse_component(&decl.to_string(), "T").unwrap()
    }

    #[test]
    fn api_versions_are_checked_against_the_kind_table() {
        assert!(known_kind(KINDS, "Nope").is_none());
        let groups = known_kind(KINDS, "Route").unwrap();
        let c = component("Route", "gateway.networking.k8s.io/v1", Value::Null);
        assert_eq!(
            check_api_version(&c, groups, "T", "Demo").unwrap(),
            ("gateway.networking.k8s.io", "httproutes")
        );
        let e = check_api_version(&component("Route", "other.io/v1", Value::Null), groups, "T", "Demo").unwrap_err();
        assert_eq!(e.code, "T-2101");
        assert_eq!(
            e.message,
            "Route \"x\" names apiVersion \"other.io/v1\", but Demo's Route is in policy.demo.io/v1 or gateway.networking.k8s.io/v1"
        );
        let servers = known_kind(KINDS, "Server").unwrap();
        let e = check_api_version(
            &component("Server", "policy.demo.io/v9", Value::Null),
            servers,
            "T",
            "Demo",
        )
        .unwrap_err();
        assert_eq!(e.code, "T-2102");
        assert_eq!(
            e.message,
            "Server \"x\" names version \"v9\" of policy.demo.io, which Demo does not define for Server"
        );
        assert_eq!(
            e.suggested_remediation,
            "set the component's apiVersion to policy.demo.io/v1beta1"
        );
    }

    #[test]
    fn served_kinds_reject_what_the_cluster_lacks() {
        let mut served = ServedKinds::new("T", "Demo");
        let c = component("Server", "policy.demo.io/v1beta2", Value::Null);
        // Natively nothing can be read: not checked.
        assert!(served.versions("policy.demo.io", "servers").is_none());
        assert!(served.check(&c, &c.api_version, &c.kind, "servers", None).is_ok());

        served.crds.insert("servers.policy.demo.io".into(), Some(vec![]));
        let demo = Provider {
            name: "Demo",
            remedy: "install Demo first",
        };
        let e = served
            .check(&c, &c.api_version, &c.kind, "servers", Some(demo))
            .unwrap_err();
        assert_eq!(e.code, "T-2103");
        assert_eq!(
            e.message,
            "Server \"x\" cannot be applied: the cluster does not serve policy.demo.io Server"
        );
        assert_eq!(
            e.probable_cause,
            "Demo is not installed in the cluster (its CRD servers.policy.demo.io is missing)"
        );
        assert_eq!(e.suggested_remediation, "install Demo first");
        let e = served.check(&c, &c.api_version, &c.kind, "servers", None).unwrap_err();
        assert!(
            e.probable_cause
                .starts_with("the API this kind belongs to is not installed")
        );
        assert_eq!(e.suggested_remediation, "install the CRD servers.policy.demo.io first");

        served.crds.insert(
            "servers.policy.demo.io".into(),
            Some(vec!["v1beta1".into(), "v1alpha1".into()]),
        );
        let e = served.check(&c, &c.api_version, &c.kind, "servers", None).unwrap_err();
        assert_eq!(
            e.message,
            "Server \"x\" cannot be applied: the cluster serves policy.demo.io Server in versions v1beta1, v1alpha1, not v1beta2"
        );
        assert_eq!(
            e.probable_cause,
            "the installed Demo release defines other versions of this kind"
        );
        assert_eq!(
            e.suggested_remediation,
            "set the component's apiVersion to policy.demo.io/v1beta1"
        );
        let ok = component("Server", "policy.demo.io/v1alpha1", Value::Null);
        assert!(served.check(&ok, &ok.api_version, &ok.kind, "servers", None).is_ok());
    }

    #[test]
    fn settings_are_filtered_and_checked() {
        let c = component(
            "DemoMesh",
            "",
            json!({"version": " 1.2 ", "wait": 5, "gone": null, "color": "x"}),
        );
        assert_eq!(settings_version(&c, "T", "fix it").unwrap(), "1.2");
        let picked = settings(&c, &["wait", "gone", "version"], "T", "fix it").unwrap();
        assert_eq!(Value::Object(picked.clone()), json!({"wait": 5, "version": " 1.2 "}));
        assert_eq!(settings_body(picked), r#"{"version":" 1.2 ","wait":5}"#);
        assert_eq!(settings_body(Map::new()), "");
        assert!(
            settings(&component("DemoMesh", "", Value::Null), &["wait"], "T", "r")
                .unwrap()
                .is_empty()
        );

        let e = settings_version(&component("DemoMesh", "", json!({"version": 2})), "T", "fix it").unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str(), e.suggested_remediation.as_str()),
            (
                "T-2104",
                "DemoMesh \"x\" cannot be used: settings.version is 2, not a string",
                "fix it"
            )
        );
        let e = settings(&component("DemoMesh", "", json!([1])), &[], "T", "r").unwrap_err();
        assert_eq!(
            e.message,
            "DemoMesh \"x\" cannot be used: the settings are [1], not an object"
        );
        let oam =
            json!({"kind": "Component", "metadata": {"name": "m"}, "spec": {"type": "DemoMesh", "version": "3.0"}});
        let c = parse_component(&oam.to_string(), "T").unwrap();
        assert_eq!(
            settings_version(&c, "T", "r").unwrap(),
            "3.0",
            "an OAM Component's spec.version"
        );
    }

    #[test]
    fn control_plane_and_addon_expansions_and_errors() {
        let Expansion::Operation {
            what, control_plane, ..
        } = Expansion::control_plane(false, vec![], "install 1.2")
        else {
            panic!()
        };
        assert_eq!((what.as_str(), control_plane), ("install 1.2", true));
        let Expansion::Operation { what, .. } = Expansion::control_plane(true, vec![], "install 1.2") else {
            panic!()
        };
        assert_eq!(what, "uninstall");
        let Expansion::Operation {
            what, control_plane, ..
        } = Expansion::addon(true, "viz-addon", vec![])
        else {
            panic!()
        };
        assert_eq!((what.as_str(), control_plane), ("remove viz-addon", false));

        let c = component("IstioMesh", "", Value::Null);
        let e = second_control_plane(&c, "T", "Istio");
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (
                "T-2105",
                "IstioMesh \"x\" is a second Istio control plane in the design"
            )
        );
        assert_eq!(e.suggested_remediation, "keep one IstioMesh component in the design");
        let c = component("LinkerdMesh", "", Value::Null);
        let e = foreign_component(&c, "T", "Istio");
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("T-2106", "LinkerdMesh \"x\" is not an Istio component")
        );
        assert_eq!(
            e.probable_cause,
            "the Istio adapter deploys IstioMesh and Istio add-ons, not LinkerdMesh"
        );
        assert_eq!(
            foreign_component(&c, "T", "Linkerd").message,
            "LinkerdMesh \"x\" is not a Linkerd component"
        );
    }

    #[test]
    fn testing_aids_build_what_meshery_sends() {
        let c = parse_component(
            &testing::oam_component("Server", "policy.demo.io/v1", "web", "shop", json!({"port": 80})),
            "T",
        )
        .unwrap();
        assert_eq!(
            (c.kind.as_str(), c.api_version.as_str(), c.namespace.as_deref()),
            ("Server", "policy.demo.io/v1", Some("shop"))
        );
        assert!(c.annotations.is_empty());
        let mesh = parse_component(&testing::oam_component("DemoMesh", "", "m", "", json!({})), "T").unwrap();
        assert_eq!((mesh.api_version.as_str(), mesh.namespace), ("", None));
        let r = testing::design_request(
            vec![testing::oam_component("ConfigMap", "v1", "x", "a", Value::Null)],
            None,
        );
        let p = plan_design(&r, "T", "demo");
        let objects = testing::applied(&p.plan);
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0]["kind"], "ConfigMap");
    }
}
