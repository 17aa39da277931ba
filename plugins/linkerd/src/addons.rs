//! `viz-addon`, `jaeger-addon`, `multicluster-addon`, `smi-addon`: Linkerd's extensions for the
//! control plane installed in the cluster, each into its own namespace.
//!
//! The objects follow the upstream extension charts (linkerd/linkerd2 `viz/charts`,
//! `jaeger/charts`, `multicluster/charts`; linkerd/linkerd-smi `charts/linkerd-smi`) of the
//! installed release: the Linkerd images carry the installed version as their tag. Serving
//! certificates for webhooks and the tap API service are made here, as Helm's
//! `genSelfSignedCert` makes them in the charts.
//!
//! Left out on purpose (see each module): the charts' namespace-metadata Jobs (the namespace is
//! written directly with its labels and annotations), PodSecurityPolicy bindings, HA options, and
//! the policy.linkerd.io authorization objects (Server, AuthorizationPolicy, ...): without them
//! the extensions' pods fall back to the cluster's default inbound policy, so their pods do not
//! ask for `all-authenticated` either.
//!
//! The request's `custom_body` may be empty or a JSON object of settings (a design's component
//! settings arrive that way); `logLevel` is read, other keys are ignored.
//!
//! What the extensions follow from the installed control plane is read from its `linkerd-config`
//! values (JSON as this adapter writes them, YAML as upstream's installers do), see
//! [`InstalledConfig`]: the identity trust domain (tap, the tap injector and the multicluster
//! gateway name identities in it), the cluster DNS domain, and the registry of the Linkerd
//! images (taken from the recorded controller, proxy or policy-controller image name), so an
//! install from a mirror (`registry: mirror.example.com/l5d`) gets its extensions' Linkerd
//! images (metrics-api, tap, web, jaeger-webhook, smi-adaptor) from that mirror too.
//! Third-party images (Prometheus, the OpenTelemetry collector, Jaeger, the gateway's pause
//! container) stay on their public registries: the install records no mirror for them, and the
//! upstream extension charts take those registries as separate values too.

mod jaeger;
mod multicluster;
mod smi;
mod viz;

use serde_json::{Map, Value, json};
use wasmesh_sdk::plan::{apply_all, deployments_available, object_ref, plan as make_plan, stage};
use wasmesh_sdk::{Condition, Error, OperationRequest, Plan, Step, WaitFor};

use crate::errors::LinkerdError;
use crate::identity::{self, CertFailure, ServingSigner};
use crate::installed::{CONTROL_PLANE_NAMESPACE, version_of};

/// Seconds an extension's Deployment gets to become Available before a WARN says which is not.
pub const READY_TIMEOUT_SECONDS: u32 = 300;
/// Seconds the extension's namespace gets to disappear after a removal.
pub const NAMESPACE_GONE_TIMEOUT_SECONDS: u32 = 120;
/// Registry of the Linkerd images when the control plane recorded none.
pub const REGISTRY: &str = "cr.l5d.io/linkerd";
/// The cluster DNS domain and identity trust domain when the control plane recorded none.
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// Log levels an extension's `logLevel` setting may take.
pub const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];

/// The CRDs the extensions install (the SMI extension's TrafficSplit), whose schemas the plugin
/// registers with the Meshery server.
pub fn crds() -> Vec<Value> {
    vec![smi::trafficsplit_crd()]
}

/// One of the extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addon {
    Viz,
    Jaeger,
    Multicluster,
    Smi,
}

impl Addon {
    pub const ALL: [Addon; 4] = [Addon::Viz, Addon::Jaeger, Addon::Multicluster, Addon::Smi];

    /// The extension's own namespace.
    pub fn namespace(self) -> &'static str {
        match self {
            Addon::Viz => viz::NAMESPACE,
            Addon::Jaeger => jaeger::NAMESPACE,
            Addon::Multicluster => multicluster::NAMESPACE,
            Addon::Smi => smi::NAMESPACE,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Addon::Viz => "Linkerd Viz extension",
            Addon::Jaeger => "Linkerd Jaeger extension",
            Addon::Multicluster => "Linkerd Multicluster extension",
            Addon::Smi => "Linkerd SMI extension",
        }
    }

    /// Every object of the extension, the namespace first.
    pub fn objects(self, ctx: &Ctx) -> Result<Vec<Value>, Error> {
        match self {
            Addon::Viz => viz::objects(ctx),
            Addon::Jaeger => jaeger::objects(ctx),
            Addon::Multicluster => Ok(multicluster::objects(ctx)),
            Addon::Smi => Ok(smi::objects(ctx)),
        }
    }

    /// The version of the extension's own images, when it is not the control plane's.
    fn own_version(self, line: Line) -> Option<&'static str> {
        match self {
            Addon::Smi => Some(smi::version(line)),
            _ => None,
        }
    }
}

/// The release lines the extensions are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    /// stable-2.14.x
    Stable214,
    /// edge-25.x.y
    Edge25,
}

/// What the installed control plane recorded in its `linkerd-config` ConfigMap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledConfig {
    /// The release (e.g. "stable-2.14.10"), "unknown" when the ConfigMap does not say.
    pub version: String,
    /// `identityTrustDomain`.
    pub trust_domain: String,
    /// `clusterDomain`.
    pub cluster_domain: String,
    /// Registry and path of the Linkerd images, without the image name (e.g.
    /// "mirror.example.com/l5d"): `controllerImage` without its "/controller", else
    /// `proxy.image.name` without "/proxy", else `policyController.image.name` without
    /// "/policy-controller".
    pub registry: String,
}

impl Default for InstalledConfig {
    fn default() -> Self {
        InstalledConfig {
            version: "unknown".into(),
            trust_domain: CLUSTER_DOMAIN.into(),
            cluster_domain: CLUSTER_DOMAIN.into(),
            registry: REGISTRY.into(),
        }
    }
}

impl InstalledConfig {
    /// Reads the control plane's `linkerd-config` (one ConfigMap, as
    /// [`crate::installed::control_plane`] does); None when Linkerd is not installed.
    pub fn read() -> Result<Option<InstalledConfig>, Error> {
        let config = wasmesh_sdk::cluster::get("v1", "ConfigMap", Some(CONTROL_PLANE_NAMESPACE), "linkerd-config")?;
        Ok(config.as_ref().map(InstalledConfig::of))
    }

    /// What a linkerd-config ConfigMap says; the defaults for what it does not say or says in a
    /// form that cannot be used (a value that is not a DNS name, an image name of another shape).
    pub fn of(config_map: &Value) -> InstalledConfig {
        let mut out = InstalledConfig {
            version: version_of(config_map).unwrap_or_else(|| "unknown".into()),
            ..InstalledConfig::default()
        };
        let Some(values) = config_map.pointer("/data/values").and_then(Value::as_str) else {
            return out;
        };
        let values: Value = match serde_json::from_str(values) {
            Ok(v) => v,
            Err(_) => match wasmesh_sdk::yaml::parse_mapping(values) {
                Ok(m) => Value::Object(m),
                Err(_) => return out,
            },
        };
        let text = |pointer: &str| values.pointer(pointer).and_then(Value::as_str).map(str::trim);
        if let Some(td) = text("/identityTrustDomain").filter(|d| wasmesh_sdk::options::is_dns_name(d)) {
            out.trust_domain = td.to_string();
        }
        if let Some(cd) = text("/clusterDomain").filter(|d| wasmesh_sdk::options::is_dns_name(d)) {
            out.cluster_domain = cd.to_string();
        }
        let recorded = [
            ("/controllerImage", "/controller"),
            ("/proxy/image/name", "/proxy"),
            ("/policyController/image/name", "/policy-controller"),
        ];
        if let Some(registry) = recorded.iter().find_map(|(pointer, image)| {
            text(pointer)
                .and_then(|name| name.strip_suffix(image))
                .filter(|r| is_registry(r))
        }) {
            out.registry = registry.to_string();
        }
        out
    }
}

/// A registry host with an optional port and path, without scheme, tag or digest.
fn is_registry(s: &str) -> bool {
    !s.is_empty()
        && !s.contains("://")
        && !s.contains('@')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/:".contains(&b))
        && s.split('/').all(|part| !part.is_empty())
        && s.split('/').skip(1).all(|part| !part.contains(':'))
}

/// What the objects are built for.
pub struct Ctx {
    pub line: Line,
    /// The installed control plane's version, the tag of the Linkerd images (e.g. "stable-2.14.10").
    pub version: String,
    pub log_level: String,
    /// Seconds since the epoch, to date serving certificates; None builds the objects without
    /// certificates (to name them for a removal).
    pub now: Option<u64>,
    /// The mesh identities' trust domain, e.g. "cluster.local".
    pub trust_domain: String,
    /// The cluster DNS domain, e.g. "cluster.local".
    pub cluster_domain: String,
    /// Registry and path of the Linkerd images, e.g. "cr.l5d.io/linkerd".
    pub registry: String,
}

impl Ctx {
    /// A Linkerd image of the installed version.
    pub fn image(&self, name: &str) -> String {
        self.image_tagged(name, &self.version)
    }

    /// A Linkerd image with its own tag (an extension versioned on its own).
    pub fn image_tagged(&self, name: &str, tag: &str) -> String {
        format!("{}/{name}:{tag}", self.registry)
    }

    /// The mesh identity of a ServiceAccount, as the identity controller issues it.
    pub fn identity(&self, service_account: &str, namespace: &str) -> String {
        format!(
            "{service_account}.{namespace}.serviceaccount.identity.{CONTROL_PLANE_NAMESPACE}.{}",
            self.trust_domain
        )
    }

    /// `linkerd.io/created-by`, as upstream annotates what its installers write.
    pub fn created_by(&self) -> String {
        format!("linkerd/wasmesh {}", self.version)
    }
}

/// The release line of an installed version, e.g. "stable-2.14.10" or "edge-25.4.4".
pub fn line_of(version: &str) -> Option<Line> {
    let numbered = |rest: &str, parts: usize| {
        let p: Vec<&str> = rest.split('.').collect();
        p.len() == parts && p.iter().all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    if let Some(patch) = version.strip_prefix("stable-2.14.") {
        return numbered(patch, 1).then_some(Line::Stable214);
    }
    if let Some(rest) = version.strip_prefix("edge-25.") {
        return numbered(rest, 2).then_some(Line::Edge25);
    }
    None
}

pub fn plan(addon: Addon, request: &OperationRequest) -> Result<Plan, Error> {
    let log_level = settings(&request.custom_body)?;
    if request.delete {
        return Ok(removal(addon, &log_level));
    }
    let installed = InstalledConfig::read()?.ok_or(LinkerdError::NoControlPlane { addon: addon.title() })?;
    let line = line_of(&installed.version).ok_or_else(|| LinkerdError::NoExtensionsFor {
        addon: addon.title(),
        version: installed.version.clone(),
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let ctx = Ctx {
        line,
        version: installed.version.clone(),
        log_level,
        now: Some(now),
        trust_domain: installed.trust_domain.clone(),
        cluster_domain: installed.cluster_domain.clone(),
        registry: installed.registry.clone(),
    };
    let objects = addon.objects(&ctx)?;
    let mut stages = apply_all(&objects);
    stages.extend(deployments_available(
        "deployments available",
        &objects,
        READY_TIMEOUT_SECONDS,
    ));
    let version = match addon.own_version(line) {
        Some(own) => format!("{own} (for Linkerd {})", installed.version),
        None => installed.version.clone(),
    };
    Ok(make_plan(
        format!(
            "{} {version} installed in namespace {}",
            addon.title(),
            addon.namespace()
        ),
        stages,
    ))
}

/// Removes the extension: its webhooks and API services first (so the API server stops calling
/// them), then its other objects, then its namespace and CRDs. Absent objects are fine, so a
/// removal works whether or not the extension (or Linkerd) is installed.
fn removal(addon: Addon, log_level: &str) -> Plan {
    let line = InstalledConfig::read()
        .ok()
        .flatten()
        .and_then(|cp| line_of(&cp.version))
        .unwrap_or(Line::Stable214);
    let defaults = InstalledConfig::default();
    let ctx = Ctx {
        line,
        version: String::new(),
        log_level: log_level.to_string(),
        now: None,
        trust_domain: defaults.trust_domain,
        cluster_domain: defaults.cluster_domain,
        registry: defaults.registry,
    };
    // Built without certificates, so this cannot fail.
    let objects = addon.objects(&ctx).unwrap_or_default();
    let kind = |o: &Value| o["kind"].as_str().unwrap_or_default().to_string();
    let is_front = |o: &Value| {
        matches!(
            kind(o).as_str(),
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" | "APIService"
        )
    };
    let is_last = |o: &Value| matches!(kind(o).as_str(), "Namespace" | "CustomResourceDefinition");
    let delete = |pred: &dyn Fn(&Value) -> bool| -> Vec<Step> {
        objects
            .iter()
            .filter(|o| pred(o))
            .map(|o| Step::Delete(object_ref(o)))
            .collect()
    };
    let mut stages = Vec::new();
    for (name, steps) in [
        ("webhooks and API services", delete(&|o| is_front(o))),
        ("objects", delete(&|o| !is_front(o) && !is_last(o))),
        ("namespace and CRDs", delete(&|o| is_last(o))),
    ] {
        if !steps.is_empty() {
            stages.push(stage(name, steps));
        }
    }
    stages.push(stage(
        "namespace gone",
        vec![Step::Wait(WaitFor {
            target: wasmesh_sdk::ObjectRef {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespace: None,
                name: addon.namespace().into(),
            },
            condition: Condition::Deleted,
            timeout_seconds: NAMESPACE_GONE_TIMEOUT_SECONDS,
            required: false,
        })],
    ));
    make_plan(
        format!("{} removed (namespace {})", addon.title(), addon.namespace()),
        stages,
    )
}

/// The log level from the settings body: empty, `null` or a mapping (YAML or JSON, as the
/// README promises for every option body) whose optional `logLevel` is one of trace, debug,
/// info, warn, error.
pub(crate) fn settings(body: &str) -> Result<String, Error> {
    let default = || Ok("info".to_string());
    let map = wasmesh_sdk::yaml::parse_mapping(body).map_err(|why| LinkerdError::AddonSettings { why })?;
    match map.get("logLevel") {
        None | Some(Value::Null) => default(),
        Some(Value::String(l)) if LOG_LEVELS.contains(&l.as_str()) => Ok(l.clone()),
        Some(other) => Err(LinkerdError::LogLevel {
            given: other.to_string(),
        }
        .into()),
    }
}

// Builders shared by the extensions. Every namespaced object names its namespace.

/// A JSON object from string pairs.
pub(crate) fn map(pairs: &[(&str, &str)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect::<Map<_, _>>(),
    )
}

/// `linkerd.io/extension: <ext>`, plus `component: <component>` when given.
pub(crate) fn labels(ext: &str, component: Option<&str>) -> Value {
    match component {
        Some(c) => map(&[("linkerd.io/extension", ext), ("component", c)]),
        None => map(&[("linkerd.io/extension", ext)]),
    }
}

/// The extension's namespace, with proxy injection on for its pods.
pub(crate) fn namespace(name: &str, ext: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {"linkerd.io/extension": ext, "pod-security.kubernetes.io/enforce": "privileged"},
            "annotations": {"linkerd.io/inject": "enabled"},
        },
    })
}

pub(crate) fn service_account(name: &str, ns: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
    })
}

/// A ClusterRole; `rules` are (apiGroups, resources, verbs).
pub(crate) fn cluster_role(name: &str, labels: Value, rules: &[(&[&str], &[&str], &[&str])]) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels},
        "rules": rules_json(rules),
    })
}

pub(crate) fn rules_json(rules: &[(&[&str], &[&str], &[&str])]) -> Value {
    Value::Array(
        rules
            .iter()
            .map(|(g, r, v)| json!({"apiGroups": g, "resources": r, "verbs": v}))
            .collect(),
    )
}

/// A ClusterRoleBinding of `role` (a ClusterRole) to the ServiceAccount `sa` of `ns`.
pub(crate) fn cluster_role_binding(name: &str, labels: Value, role: &str, sa: &str, ns: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
    })
}

/// A ClusterIP Service selecting `selector`; ports are (name, port, targetPort).
pub(crate) fn service(name: &str, ns: &str, labels: Value, selector: Value, ports: &[(&str, u16, Value)]) -> Value {
    let ports: Vec<Value> = ports
        .iter()
        .map(|(n, p, t)| json!({"name": n, "port": p, "targetPort": t, "protocol": "TCP"}))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"type": "ClusterIP", "selector": selector, "ports": ports},
    })
}

/// The restricted container security context the Linkerd extensions use.
pub(crate) fn restricted(uid: u32) -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "runAsUser": uid,
        "runAsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

/// `/ping` liveness and `/ready` readiness on an admin port, as Linkerd's Go components serve.
pub(crate) fn admin_probes(container: &mut Value, port: u16) {
    container["livenessProbe"] = json!({"httpGet": {"path": "/ping", "port": port}, "initialDelaySeconds": 10});
    container["readinessProbe"] = json!({"httpGet": {"path": "/ready", "port": port}, "failureThreshold": 7});
}

/// What a Deployment differs in.
pub(crate) struct DeploymentSpec<'a> {
    pub name: &'a str,
    pub ns: &'a str,
    /// `linkerd.io/extension` value.
    pub ext: &'a str,
    /// `app.kubernetes.io/name`.
    pub app: &'a str,
    /// The pod labels, also the selector.
    pub selector: Value,
    pub service_account: &'a str,
    pub containers: Vec<Value>,
    pub volumes: Vec<Value>,
    /// Extra pod annotations.
    pub annotations: Value,
}

pub(crate) fn deployment(ctx: &Ctx, spec: DeploymentSpec<'_>) -> Value {
    let mut meta_labels = spec.selector.clone();
    for (k, v) in [
        ("linkerd.io/extension", spec.ext),
        ("app.kubernetes.io/name", spec.app),
        ("app.kubernetes.io/part-of", "Linkerd"),
        ("app.kubernetes.io/version", ctx.version.as_str()),
    ] {
        meta_labels[k] = json!(v);
    }
    let mut annotations = json!({
        "linkerd.io/created-by": ctx.created_by(),
        "linkerd.io/inject": "enabled",
        "config.linkerd.io/proxy-await": "enabled",
        "cluster-autoscaler.kubernetes.io/safe-to-evict": "true",
    });
    if let Some(extra) = spec.annotations.as_object() {
        for (k, v) in extra {
            annotations[k] = v.clone();
        }
    }
    let mut pod = json!({
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "serviceAccountName": spec.service_account,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": spec.containers,
    });
    if !spec.volumes.is_empty() {
        pod["volumes"] = Value::Array(spec.volumes);
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": spec.name,
            "namespace": spec.ns,
            "labels": meta_labels,
            "annotations": {"linkerd.io/created-by": ctx.created_by()},
        },
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": spec.selector},
            "template": {
                "metadata": {"labels": spec.selector, "annotations": annotations},
                "spec": pod,
            },
        },
    })
}

/// Days an extension's serving certificate is valid (the upstream charts use 365).
pub const SERVING_CERT_DAYS: u64 = 365;

/// The kubernetes.io/tls Secret of a webhook or API service served by `service` in `ns`, and
/// the base64 caBundle that trusts it: a self-signed certificate for `<service>.<ns>.svc` (and
/// that name in the cluster domain), as the upstream charts make it with Helm's
/// `genSelfSignedCert`. Without a clock (a removal) both are left empty.
pub(crate) fn tls_secret(
    ctx: &Ctx,
    name: &str,
    service: &str,
    ns: &str,
    labels: Value,
) -> Result<(Value, String), Error> {
    let (crt, key, ca) = match ctx.now {
        Some(now) => {
            let host = format!("{service}.{ns}.svc");
            let names = [host.as_str(), &format!("{host}.{}", ctx.cluster_domain)];
            let c =
                identity::serving_cert(&names, ServingSigner::SelfSigned, now, SERVING_CERT_DAYS).map_err(
                    |f| match f {
                        CertFailure::Random(reason) => LinkerdError::NoRandom { reason },
                        CertFailure::Build(reason) => LinkerdError::ServingCert {
                            host: host.clone(),
                            reason,
                        },
                    },
                )?;
            let crt = identity::base64_encode(c.cert_pem.as_bytes());
            (
                crt,
                identity::base64_encode(c.key_pem.as_bytes()),
                identity::base64_encode(c.ca_pem.as_bytes()),
            )
        }
        None => (String::new(), String::new(), String::new()),
    };
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": labels,
            "annotations": {"linkerd.io/created-by": ctx.created_by()},
        },
        "data": {"tls.crt": crt, "tls.key": key},
    });
    Ok((secret, ca))
}

/// A pod-injecting MutatingWebhookConfiguration calling `service` in `ns` at `/`.
pub(crate) fn pod_webhook(
    name: &str,
    webhook: &str,
    service: &str,
    ns: &str,
    labels: Value,
    ca_bundle: &str,
    namespace_selector: Option<Value>,
) -> Value {
    let mut hook = json!({
        "name": webhook,
        "clientConfig": {
            "service": {"name": service, "namespace": ns, "path": "/"},
            "caBundle": ca_bundle,
        },
        "failurePolicy": "Ignore",
        "admissionReviewVersions": ["v1", "v1beta1"],
        "reinvocationPolicy": "IfNeeded",
        "rules": [{
            "operations": ["CREATE"],
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": ["pods"],
        }],
        "sideEffects": "None",
    });
    if let Some(sel) = namespace_selector {
        hook["namespaceSelector"] = sel;
    }
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name, "labels": labels},
        "webhooks": [hook],
    })
}

/// The selector that keeps a webhook away from kube-system.
pub(crate) fn not_kube_system() -> Value {
    json!({"matchExpressions": [{
        "key": "kubernetes.io/metadata.name",
        "operator": "NotIn",
        "values": ["kube-system"],
    }]})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(line: Line, version: &str) -> Ctx {
        Ctx {
            line,
            version: version.into(),
            log_level: "info".into(),
            now: Some(1_767_323_045),
            trust_domain: CLUSTER_DOMAIN.into(),
            cluster_domain: CLUSTER_DOMAIN.into(),
            registry: REGISTRY.into(),
        }
    }

    fn name(o: &Value) -> &str {
        o["metadata"]["name"].as_str().unwrap()
    }

    #[test]
    fn release_lines() {
        assert_eq!(line_of("stable-2.14.10"), Some(Line::Stable214));
        assert_eq!(line_of("stable-2.14.0"), Some(Line::Stable214));
        assert_eq!(line_of("edge-25.4.4"), Some(Line::Edge25));
        for bad in [
            "",
            "stable-2.13.7",
            "stable-2.14",
            "stable-2.14.",
            "stable-2.14.1x",
            "edge-24.11.8",
            "edge-25.4",
            "edge-25.4.4.1",
            "2.14.10",
        ] {
            assert_eq!(line_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_bodies() {
        assert_eq!(settings("").unwrap(), "info");
        assert_eq!(settings("  null ").unwrap(), "info");
        assert_eq!(settings("{}").unwrap(), "info");
        assert_eq!(settings(r#"{"logLevel":"debug","other":1}"#).unwrap(), "debug");
        assert_eq!(settings("[1]").unwrap_err().code, "WASMESH-LINKERD-1203");
        assert_eq!(
            settings("logLevel: debug").unwrap(),
            "debug",
            "YAML, as the README says"
        );
        assert_eq!(settings("# settings\nlogLevel: warn\n").unwrap(), "warn");
        assert_eq!(settings("logLevel: [x").unwrap_err().code, "WASMESH-LINKERD-1203");
        assert_eq!(settings("just words").unwrap_err().code, "WASMESH-LINKERD-1203");
        assert_eq!(
            settings(r#"{"logLevel":"loud"}"#).unwrap_err().code,
            "WASMESH-LINKERD-1204"
        );
        assert_eq!(settings(r#"{"logLevel":3}"#).unwrap_err().code, "WASMESH-LINKERD-1204");
    }

    #[test]
    fn every_addon_is_complete_in_its_namespace() {
        for (line, version) in [(Line::Stable214, "stable-2.14.10"), (Line::Edge25, "edge-25.4.4")] {
            let c = ctx(line, version);
            for addon in Addon::ALL {
                let objects = addon.objects(&c).unwrap();
                assert_eq!(objects[0]["kind"], "Namespace", "{addon:?}");
                assert_eq!(name(&objects[0]), addon.namespace());
                let ext = objects[0]["metadata"]["labels"]["linkerd.io/extension"]
                    .as_str()
                    .unwrap();
                let mut seen = std::collections::HashSet::new();
                for o in &objects {
                    for f in ["/apiVersion", "/kind", "/metadata/name"] {
                        assert!(
                            o.pointer(f).and_then(Value::as_str).is_some_and(|s| !s.is_empty()),
                            "{o}"
                        );
                    }
                    assert!(seen.insert(format!("{}/{}/{}", o["kind"], o["metadata"]["namespace"], name(o))));
                    assert_eq!(o["metadata"]["labels"]["linkerd.io/extension"], ext, "{addon:?}: {o}");
                    let cluster_scoped = matches!(
                        o["kind"].as_str().unwrap(),
                        "Namespace"
                            | "ClusterRole"
                            | "ClusterRoleBinding"
                            | "CustomResourceDefinition"
                            | "MutatingWebhookConfiguration"
                            | "APIService"
                    );
                    let ns = o["metadata"]["namespace"].as_str();
                    if cluster_scoped {
                        assert_eq!(ns, None, "{o}");
                    } else {
                        assert!(
                            ns == Some(addon.namespace()) || o["kind"].as_str().unwrap().starts_with("Role"),
                            "{addon:?}: {o}"
                        );
                    }
                    if o["kind"] == "Deployment" {
                        let pod = &o["spec"]["template"];
                        let sel = o["spec"]["selector"]["matchLabels"].as_object().unwrap();
                        for (k, v) in sel {
                            assert_eq!(&pod["metadata"]["labels"][k], v);
                        }
                        for c in pod["spec"]["containers"].as_array().unwrap() {
                            let image = c["image"].as_str().unwrap();
                            assert!(image.contains(':'), "{image}");
                            if image.starts_with(REGISTRY) && !image.contains("smi-adaptor") {
                                assert!(image.ends_with(&format!(":{version}")), "{image}");
                            }
                        }
                        let sa = pod["spec"]["serviceAccountName"].as_str().unwrap();
                        assert!(
                            objects.iter().any(|s| s["kind"] == "ServiceAccount" && name(s) == sa),
                            "{addon:?}: no ServiceAccount {sa}"
                        );
                    }
                    if o["kind"] == "Service" {
                        let sel = o["spec"]["selector"].as_object().unwrap();
                        assert!(
                            objects.iter().any(|d| d["kind"] == "Deployment"
                                && sel
                                    .iter()
                                    .all(|(k, v)| &d["spec"]["template"]["metadata"]["labels"][k] == v)),
                            "{addon:?}: Service {} selects no pods",
                            name(o)
                        );
                    }
                    if o["kind"] == "ClusterRoleBinding" || o["kind"] == "RoleBinding" {
                        for s in o["subjects"].as_array().unwrap() {
                            if s["namespace"] == addon.namespace() {
                                let sa = s["name"].as_str().unwrap();
                                assert!(
                                    objects.iter().any(|x| x["kind"] == "ServiceAccount" && name(x) == sa),
                                    "{addon:?}: binding {} names unknown account {sa}",
                                    name(o)
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn webhooks_trust_the_certificate_in_their_secret() {
        let c = ctx(Line::Stable214, "stable-2.14.10");
        for (addon, secret, front) in [
            (
                Addon::Jaeger,
                "jaeger-injector-k8s-tls",
                "linkerd-jaeger-injector-webhook-config",
            ),
            (
                Addon::Viz,
                "tap-injector-k8s-tls",
                "linkerd-tap-injector-webhook-config",
            ),
            (Addon::Viz, "tap-k8s-tls", "v1alpha1.tap.linkerd.io"),
        ] {
            let objects = addon.objects(&c).unwrap();
            let s = objects.iter().find(|o| name(o) == secret).unwrap();
            let f = objects.iter().find(|o| name(o) == front).unwrap();
            let ca = f
                .pointer("/webhooks/0/clientConfig/caBundle")
                .or_else(|| f.pointer("/spec/caBundle"))
                .unwrap();
            assert!(!ca.as_str().unwrap().is_empty());
            assert_eq!(&s["data"]["tls.crt"], ca, "{front}");
            assert!(!s["data"]["tls.key"].as_str().unwrap().is_empty());
        }
    }

    #[test]
    fn removal_objects_need_no_certificates_and_keep_the_names() {
        let with = ctx(Line::Edge25, "edge-25.4.4");
        let without = Ctx {
            now: None,
            ..ctx(Line::Edge25, "edge-25.4.4")
        };
        for addon in Addon::ALL {
            let a: Vec<String> = addon
                .objects(&with)
                .unwrap()
                .iter()
                .map(|o| format!("{}/{}", o["kind"], name(o)))
                .collect();
            let b: Vec<String> = addon
                .objects(&without)
                .unwrap()
                .iter()
                .map(|o| format!("{}/{}", o["kind"], name(o)))
                .collect();
            assert_eq!(a, b);
            // Both lines have the same objects by name, so a removal finds them all.
            let stable: Vec<String> = addon
                .objects(&ctx(Line::Stable214, "stable-2.14.10"))
                .unwrap()
                .iter()
                .map(|o| format!("{}/{}", o["kind"], name(o)))
                .collect();
            assert_eq!(a, stable, "{addon:?}");
        }
    }

    #[test]
    fn log_level_reaches_the_components() {
        let mut c = ctx(Line::Stable214, "stable-2.14.10");
        c.log_level = "debug".into();
        let objects = Addon::Viz.objects(&c).unwrap();
        let metrics = objects
            .iter()
            .find(|o| o["kind"] == "Deployment" && name(o) == "metrics-api")
            .unwrap();
        let args = metrics["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap();
        assert!(args.iter().any(|a| a == "-log-level=debug"));
    }

    #[test]
    fn installed_config_from_our_json_and_upstream_yaml_values() {
        let ours = json!({
            "metadata": {"annotations": {"linkerd.io/created-by": "wasmesh/linkerd-0.1.0 edge-25.4.4"}},
            "data": {"values": json!({
                "identityTrustDomain": "mesh.example.com",
                "clusterDomain": "cluster.local",
                "controllerImage": "mirror.example.com:5000/l5d/controller",
                "proxy": {"image": {"name": "mirror.example.com:5000/l5d/proxy"}},
            }).to_string()},
        });
        assert_eq!(
            InstalledConfig::of(&ours),
            InstalledConfig {
                version: "edge-25.4.4".into(),
                trust_domain: "mesh.example.com".into(),
                cluster_domain: "cluster.local".into(),
                registry: "mirror.example.com:5000/l5d".into(),
            }
        );
        let upstream = json!({"data": {"values": "clusterDomain: k8s.internal\n\
            identityTrustDomain: td.example\nlinkerdVersion: stable-2.14.10\n\
            proxy:\n  image:\n    name: registry.corp/linkerd/proxy\n    version: \"\"\n"}});
        assert_eq!(
            InstalledConfig::of(&upstream),
            InstalledConfig {
                version: "stable-2.14.10".into(),
                trust_domain: "td.example".into(),
                cluster_domain: "k8s.internal".into(),
                registry: "registry.corp/linkerd".into(),
            }
        );
        // Nothing recorded, or nothing usable: the defaults.
        for cm in [
            json!({"metadata": {"name": "linkerd-config"}}),
            json!({"data": {"values": "{not json: ["}}),
            json!({"data": {"values": json!({
                "identityTrustDomain": "Not A Domain",
                "clusterDomain": "",
                "controllerImage": "https://x.io/linkerd/controller",
                "proxy": {"image": {"name": "x.io/linkerd/proxy:v1"}},
                "policyController": {"image": {"name": "x.io/other/policy"}},
            }).to_string()}}),
        ] {
            let got = InstalledConfig::of(&cm);
            assert_eq!(
                (
                    got.trust_domain.as_str(),
                    got.cluster_domain.as_str(),
                    got.registry.as_str()
                ),
                (CLUSTER_DOMAIN, CLUSTER_DOMAIN, REGISTRY),
                "{cm}"
            );
        }
    }

    #[test]
    fn trust_domain_and_registry_of_the_install_reach_the_extensions() {
        for (line, version) in [(Line::Stable214, "stable-2.14.10"), (Line::Edge25, "edge-25.4.4")] {
            let c = Ctx {
                trust_domain: "mesh.example.com".into(),
                registry: "mirror.example.com/l5d".into(),
                ..ctx(line, version)
            };
            let viz = Addon::Viz.objects(&c).unwrap();
            let args = |deployment: &str| -> Vec<String> {
                let d = viz
                    .iter()
                    .find(|o| o["kind"] == "Deployment" && name(o) == deployment)
                    .unwrap();
                serde_json::from_value(d["spec"]["template"]["spec"]["containers"][0]["args"].clone()).unwrap()
            };
            assert!(args("tap").contains(&"-identity-trust-domain=mesh.example.com".to_string()));
            assert!(args("tap-injector").contains(
                &"-tap-service-name=tap.linkerd-viz.serviceaccount.identity.linkerd.mesh.example.com".into()
            ));
            let mc = Addon::Multicluster.objects(&c).unwrap();
            let gateway = mc.iter().find(|o| o["kind"] == "Service").unwrap();
            assert_eq!(
                gateway["metadata"]["annotations"]["mirror.linkerd.io/gateway-identity"],
                "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.mesh.example.com"
            );
            for addon in Addon::ALL {
                let all = addon.objects(&c).unwrap();
                let text = serde_json::to_string(&all).unwrap();
                assert!(!text.contains("identity.linkerd.cluster.local"), "{addon:?}");
                assert!(
                    !text.contains("cr.l5d.io"),
                    "{addon:?}: the mirror replaces cr.l5d.io/linkerd"
                );
                for d in all.iter().filter(|o| o["kind"] == "Deployment") {
                    for ctr in d["spec"]["template"]["spec"]["containers"].as_array().unwrap() {
                        let image = ctr["image"].as_str().unwrap();
                        let third_party = ["prom/", "otel/", "jaegertracing/", "gcr.io/google_containers/"];
                        assert!(
                            image.starts_with("mirror.example.com/l5d/")
                                || third_party.iter().any(|p| image.starts_with(p)),
                            "{addon:?}: {image}"
                        );
                    }
                }
            }
        }
    }
}
