//! `istio`: install or uninstall the Istio control plane, from manifests built in this plugin
//! (nothing is fetched at run time).
//!
//! # Request convention
//! - Version: `request.version`, else `version:` in the custom body, else the newest release this
//!   plugin embeds (see [`versions`]). When both are given, `request.version` wins.
//! - The custom body is empty, a JSON object, or a flat YAML mapping (`key: value` lines). Keys:
//!   - `profile`: `default` (istiod + ingress gateway), `minimal` (istiod only), `demo` (istiod +
//!     ingress and egress gateways, access logs, full trace sampling, small requests) or `ambient`
//!     (istiod for ambient + istio-cni + ztunnel, no gateway). Default: `default`.
//!   - `version`: as above.
//!   - `waitSeconds`: how long to wait for the Deployments and DaemonSets to become available,
//!     1 to 3600 seconds, the range every translator shares (`wasmesh_sdk::options`), default
//!     300. A timeout is a WARN naming what is not ready;
//!     the install itself has succeeded.
//!   - `hub`: the image repository of the control plane and the injected proxies, for a mirror
//!     in an air-gapped cluster (default `docker.io/istio`; no scheme, no tag).
//!   - `autoscale`: `false` leaves out the HorizontalPodAutoscalers (istiod and gateways) that
//!     upstream's profiles create; istiod then runs one replica. Default `true`; they are also
//!     left out, with a WARN, when the cluster does not serve autoscaling/v2 (read: get
//!     APIService `v2.autoscaling`).
//!   Any other key is refused (WASMESH-ISTIO-1105), as is an unknown version or profile (listing
//!   the valid ones), before anything is written. The design module calls [`plan`] with the IstioMesh
//!   component's settings as a JSON body: `{"version": ..., "profile": ...}`.
//! - `request.delete`: uninstall. Whatever profile was installed, the union of what any profile
//!   makes is deleted (absence is tolerated), in reverse order: gateways, ztunnel and istio-cni,
//!   webhooks (before istiod: the injector fails closed), istiod, RBAC, configuration, the
//!   istio-system namespace, the CRDs. User namespaces stay, but deleting the CRDs deletes every
//!   Istio object (VirtualServices, PeerAuthentications, ...) in every namespace with them, as
//!   `istioctl uninstall --purge` does.
//! - Re-installing with another profile deletes what the previous one made and this one does
//!   not (gateways, istio-cni and ztunnel, autoscalers).
//!
//! # What is recorded
//! The istiod Deployment and the `istio` ConfigMap carry the label `app.kubernetes.io/version`
//! (the release, as upstream's charts set it) and the annotation `wasmesh.io/istio-profile`;
//! [`crate::installed::control_plane`] reads them back.
//!
//! # Install order
//! Namespace and CRDs, wait until the CRDs are Established (required), the control plane
//! (RBAC, configuration, istiod, webhooks, istio-cni and ztunnel), the gateways, the deletion of
//! other profiles' objects, then waits for availability that are not required (a timeout
//! becomes a WARN).

mod ambient;
mod crds;
mod gateways;
mod istiod;
pub(crate) mod options;
mod release;

use serde_json::{Map, Value, json};
use wasmesh_sdk::plan::{self, apply, object_ref, stage};
use wasmesh_sdk::{Condition, Error, OperationRequest, Plan, Stage, Step, WaitFor};
#[cfg(target_family = "wasm")]
use wasmesh_sdk::{Level, progress};

pub use options::{Options, Profile};
use release::Release;

use crate::installed::{CONTROL_PLANE_NAMESPACE, PROFILE_ANNOTATION, VERSION_LABEL};

/// The releases this plugin installs, newest first (the first is the default).
pub fn versions() -> Vec<String> {
    let mut names = release::versions();
    names.extend(rendered_versions());
    names
}

/// The version folders of the operator's asset folder this plugin does not embed
/// (`istioctl manifest generate` output, see `wasmesh_sdk::assets`).
fn rendered_versions() -> Vec<String> {
    let embedded = release::versions();
    wasmesh_sdk::assets::versions(crate::errors::IstioError::PREFIX)
        .unwrap_or_default()
        .into_iter()
        .filter(|v| !embedded.contains(v))
        .collect()
}

/// A version this plugin does not embed, from the release's rendered manifests in the asset
/// folder: installed in the same order (namespaces and CRDs, CRDs Established, the rest, then
/// availability of the Deployments and DaemonSets), or uninstalled by deleting what the files
/// name in reverse order. None when `request.version` is embedded or not in the asset folder.
fn rendered(request: &OperationRequest) -> Result<Option<Plan>, Error> {
    let version = request.version.trim();
    if version.is_empty() || release::versions().iter().any(|v| v == version) {
        return Ok(None);
    }
    let Some(objects) = wasmesh_sdk::assets::load(version, crate::errors::IstioError::PREFIX)? else {
        return Ok(None);
    };
    // The body's options (waitSeconds) apply; the version is the asset folder's.
    let options = options::parse(&OperationRequest {
        version: String::new(),
        ..request.clone()
    })?;
    if request.delete {
        return Ok(Some(plan::plan(
            format!("Istio {version} removed (the objects of its rendered manifests)"),
            plan::delete_all(&objects),
        )));
    }
    let mut stages = plan::apply_all(&objects);
    if options.wait_seconds > 0 {
        let waits: Vec<Step> = objects
            .iter()
            .filter(|o| matches!(o["kind"].as_str(), Some("Deployment" | "DaemonSet")))
            .map(|o| {
                wait(
                    o,
                    Condition::ConditionTrue("Available".into()),
                    options.wait_seconds,
                    false,
                )
            })
            .collect();
        if !waits.is_empty() {
            stages.push(stage("availability", waits));
        }
    }
    Ok(Some(plan::plan(
        format!("Istio {version} installed from the operator's rendered manifests"),
        stages,
    )))
}

/// The CRDs of the default release, whose schemas the plugin registers with the Meshery server.
pub fn default_crds() -> Vec<Value> {
    let release = release::default_release();
    let cx = Context {
        release,
        profile: Profile::parse(options::DEFAULT_PROFILE).unwrap_or(Profile::Default),
        autoscale: false,
        hub: release.hub.to_string(),
    };
    crds::objects(&cx)
}

/// The profiles the install offers.
pub use options::PROFILES;

pub fn plan(request: &OperationRequest) -> Result<Plan, Error> {
    if let Some(plan) = rendered(request)? {
        return Ok(plan);
    }
    let mut options = options::parse(request)?;
    if !request.delete && options.autoscale && !autoscaling_served() {
        options.autoscale = false;
        warn(
            "Istio install: no HorizontalPodAutoscalers (the cluster does not serve autoscaling/v2), istiod and \
             the gateways run one replica each; scale them by hand (kubectl scale) if one is not enough",
            "the cluster does not serve autoscaling/v2 (no APIService v2.autoscaling): istiod and the gateways \
             run one replica each instead of autoscaling from 1 to 5",
        );
    }
    Ok(build(&options, request.delete))
}

/// Whether the cluster serves autoscaling/v2: every real API server registers a local APIService
/// per built-in group version. When the read is not possible, upstream's default stands.
#[cfg(target_family = "wasm")]
fn autoscaling_served() -> bool {
    match wasmesh_sdk::cluster::get("apiregistration.k8s.io/v1", "APIService", None, "v2.autoscaling") {
        Ok(found) => found.is_some(),
        Err(_) => true,
    }
}

/// A WARN event for Meshery (on stderr outside the sandbox, where there is no host).
fn warn(summary: &str, details: &str) {
    #[cfg(target_family = "wasm")]
    progress::report(Level::Warn, summary, details);
    #[cfg(not(target_family = "wasm"))]
    eprintln!("WARN {summary}: {details}");
}

/// Outside the sandbox (native unit tests of modules that call [`plan`]) there is no host to ask.
#[cfg(not(target_family = "wasm"))]
fn autoscaling_served() -> bool {
    true
}

/// The plan for parsed options (pure: no cluster reads).
pub fn build(options: &Options, delete: bool) -> Plan {
    if delete {
        return plan::plan(
            format!("Istio control plane removed from {CONTROL_PLANE_NAMESPACE}"),
            uninstall_stages(),
        );
    }
    let cx = Context::from(options);
    let mut stages = Vec::new();

    let mut foundation = vec![namespace(&cx)];
    foundation.extend(crds::objects(&cx));
    stages.push(stage("namespace and CRDs", foundation.iter().map(apply).collect()));
    stages.push(stage(
        "CRDs established",
        foundation
            .iter()
            .filter(|o| o["kind"] == "CustomResourceDefinition")
            .map(|o| {
                wait(
                    o,
                    Condition::ConditionTrue("Established".into()),
                    plan::CRD_ESTABLISHED_TIMEOUT,
                    true,
                )
            })
            .collect(),
    ));

    let mut control_plane = istiod::objects(&cx);
    if cx.profile.ambient() {
        control_plane.extend(ambient::objects(&cx));
    }
    stages.push(stage("control plane", control_plane.iter().map(apply).collect()));

    let gateways = gateways::objects(&cx);
    if !gateways.is_empty() {
        stages.push(stage("gateways", gateways.iter().map(apply).collect()));
    }

    // Re-installing with another profile (or without autoscaling) must not leave the previous
    // one's gateways, istio-cni, ztunnel or autoscalers running: whatever another setting makes
    // and this one does not is deleted (absent objects are fine, so a fresh install pays a few
    // lookups).
    let kept: std::collections::HashSet<_> = control_plane.iter().chain(&gateways).map(key).collect();
    let others: Vec<Step> = every_profiles_objects()
        .iter()
        .filter(|o| !kept.contains(&key(o)))
        .map(|o| Step::Delete(object_ref(o)))
        .collect();
    if !others.is_empty() {
        stages.push(stage("other profiles' objects", others));
    }

    if options.wait_seconds > 0 {
        let workloads: Vec<Step> = control_plane
            .iter()
            .chain(&gateways)
            // The host judges a DaemonSet Available once rolled out (it has no such condition).
            .filter(|o| matches!(o["kind"].as_str(), Some("Deployment" | "DaemonSet")))
            .map(|o| {
                wait(
                    o,
                    Condition::ConditionTrue("Available".into()),
                    options.wait_seconds,
                    false,
                )
            })
            .collect();
        stages.push(stage("availability", workloads));
    }

    plan::plan(
        format!(
            "Istio {} installed with the {} profile in {CONTROL_PLANE_NAMESPACE}",
            cx.release.version,
            cx.profile.name()
        ),
        stages,
    )
}

/// (kind, namespace, name) of an object.
fn key(o: &Value) -> (String, Option<String>, String) {
    let r = object_ref(o);
    (r.kind, r.namespace, r.name)
}

/// The control-plane objects (not the CRDs and namespace) of every profile, with autoscaling.
fn every_profiles_objects() -> Vec<Value> {
    let mut all = Vec::new();
    for profile in [Profile::Demo, Profile::Ambient] {
        let cx = Context {
            release: release::default_release(),
            profile,
            autoscale: true,
            hub: String::new(),
        };
        all.extend(gateways::objects(&cx));
        all.extend(ambient::objects(&cx));
        all.extend(istiod::objects(&cx));
    }
    all
}

/// Every object any profile makes, deleted in the reverse order of installation.
fn uninstall_stages() -> Vec<Stage> {
    let all = every_profiles_objects();
    let cx = Context {
        release: release::default_release(),
        profile: Profile::Default,
        autoscale: true,
        hub: String::new(),
    };

    let mut seen = std::collections::HashSet::new();
    let mut groups: [Vec<Step>; 6] = Default::default();
    for o in &all {
        let r = object_ref(o);
        if !seen.insert((r.kind.clone(), r.namespace.clone(), r.name.clone())) {
            continue;
        }
        let name = r.name.as_str();
        let group = if name.starts_with("istio-ingressgateway") || name.starts_with("istio-egressgateway") {
            0
        } else if name.starts_with("ztunnel") || name.starts_with("istio-cni") {
            1
        } else {
            match r.kind.as_str() {
                // The webhooks go before istiod: the injector fails closed, so a webhook left
                // without istiod behind it would refuse every pod of an injected namespace.
                "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => 2,
                "Deployment" | "Service" | "PodDisruptionBudget" | "HorizontalPodAutoscaler" => 3,
                "ServiceAccount" | "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding" => 4,
                _ => 5,
            }
        };
        groups[group].push(Step::Delete(r));
    }
    let names = [
        "gateways",
        "ztunnel and istio-cni",
        "webhooks",
        "istiod",
        "RBAC",
        "configuration",
    ];
    let mut stages: Vec<Stage> = names
        .iter()
        .zip(groups)
        .filter(|(_, steps)| !steps.is_empty())
        .map(|(name, steps)| stage(*name, steps))
        .collect();
    stages.push(stage("namespace", vec![Step::Delete(object_ref(&namespace(&cx)))]));
    stages.push(stage(
        "CRDs",
        crds::objects(&cx).iter().map(|o| Step::Delete(object_ref(o))).collect(),
    ));
    stages
}

fn wait(o: &Value, condition: Condition, timeout_seconds: u32, required: bool) -> Step {
    Step::Wait(WaitFor {
        target: object_ref(o),
        condition,
        timeout_seconds,
        required,
    })
}

fn namespace(cx: &Context) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": CONTROL_PLANE_NAMESPACE, "labels": cx.labels("istio-system")},
    })
}

/// What every builder needs to know.
pub struct Context {
    pub release: &'static Release,
    pub profile: Profile,
    pub autoscale: bool,
    /// Where the images come from: the release's hub, or the `hub` option (a mirror).
    pub hub: String,
}

impl From<&Options> for Context {
    fn from(o: &Options) -> Self {
        Context {
            release: o.release,
            profile: o.profile,
            autoscale: o.autoscale,
            hub: o.hub.clone().unwrap_or_else(|| o.release.hub.to_string()),
        }
    }
}

impl Context {
    /// The labels upstream's charts put on everything (`istio.labels`), naming this installer.
    pub fn labels(&self, name: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("app.kubernetes.io/name".into(), name.into());
        m.insert("app.kubernetes.io/part-of".into(), "istio".into());
        m.insert(VERSION_LABEL.into(), self.release.version.into());
        m.insert("app.kubernetes.io/managed-by".into(), "wasmesh".into());
        m.insert("app.kubernetes.io/instance".into(), "istio".into());
        m
    }

    /// Labels plus more, as `{"key": "value"}` pairs.
    pub fn labels_with(&self, name: &str, more: &[(&str, &str)]) -> Map<String, Value> {
        let mut m = self.labels(name);
        for (k, v) in more {
            m.insert((*k).into(), (*v).into());
        }
        m
    }

    /// What installed::control_plane() reads back.
    pub fn record(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(PROFILE_ANNOTATION.into(), self.profile.name().into());
        m
    }

    /// `<hub>/<name>:<version>`, e.g. docker.io/istio/pilot:1.27.3.
    pub fn image(&self, name: &str) -> String {
        format!("{}/{name}:{}", self.hub, self.release.version)
    }

    pub fn version(&self) -> &'static str {
        self.release.version
    }
}

/// `{fieldRef: {fieldPath}}` environment variable.
pub fn env_field(name: &str, path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}})
}

pub fn env(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

pub fn env_resource(name: &str, resource: &str) -> Value {
    json!({"name": name, "valueFrom": {"resourceFieldRef": {"resource": resource, "divisor": "1"}}})
}

/// The projected service account token istio components present to istiod.
pub fn istio_token_volume() -> Value {
    json!({"name": "istio-token", "projected": {"sources": [
        {"serviceAccountToken": {"audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}
    ]}})
}

pub fn hpa(name: &str, labels: Map<String, Value>) -> Value {
    json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": CONTROL_PLANE_NAMESPACE, "labels": labels},
        "spec": {
            "minReplicas": 1,
            "maxReplicas": 5,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}],
        },
    })
}

pub fn pdb(name: &str, labels: Map<String, Value>, selector: Value) -> Value {
    json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": CONTROL_PLANE_NAMESPACE, "labels": labels},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}},
    })
}

#[cfg(test)]
mod tests;
