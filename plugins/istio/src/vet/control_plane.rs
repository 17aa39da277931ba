//! Control plane health: is Istio installed, is istiod available, are its webhooks there.

use serde_json::Value;

use super::model;
use super::report::{Check, fail, warn};
use super::snapshot::{Context, Snapshot};
use crate::installed::CONTROL_PLANE_NAMESPACE;

pub const NOT_INSTALLED: u16 = 1500;
pub const ISTIOD_MISSING: u16 = 1501;
pub const ISTIOD_UNAVAILABLE: u16 = 1502;
pub const INJECTOR_MISSING: u16 = 1503;
pub const VALIDATOR_MISSING: u16 = 1504;
pub const VERSION_UNKNOWN: u16 = 1505;

/// The finding when there is no Istio at all: the other checks are not run.
pub fn not_installed(scope_phrase: &str) -> Check {
    Check::new(
        "control plane",
        format!("no istiod Deployment (label app=istiod) in namespace \"{CONTROL_PLANE_NAMESPACE}\""),
        vec![fail(
            NOT_INSTALLED,
            format!(
                "Istio is not installed: there is no istiod Deployment in namespace \"{CONTROL_PLANE_NAMESPACE}\", so {scope_phrase} cannot be vetted"
            ),
            "the Istio control plane was never installed in this cluster, was removed, or runs in another namespace",
            "install Istio (Meshery operation \"Istio service mesh\", or istioctl install --set profile=minimal), then run istio-vet again".into(),
        )],
    )
}

/// A MutatingWebhookConfiguration that injects Istio sidecars.
pub fn is_injector(w: &Value) -> bool {
    let name = model::name(w);
    name.starts_with("istio-sidecar-injector")
        || name.starts_with("istio-revision-tag-")
        || model::items(w, "/webhooks").iter().any(|h| {
            h["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("sidecar-injector.istio.io"))
        })
}

/// A ValidatingWebhookConfiguration that validates Istio configuration.
pub fn is_validator(w: &Value) -> bool {
    let name = model::name(w);
    name.starts_with("istio-validator")
        || name == "istiod-default-validator"
        || model::items(w, "/webhooks")
            .iter()
            .any(|h| h["name"].as_str().is_some_and(|n| n.ends_with("validation.istio.io")))
}

pub fn check(ctx: &Context) -> Check {
    let snap: &Snapshot = ctx.snap;
    let mut findings = Vec::new();
    let mut health = Vec::new();
    if ctx.istiods.is_empty() {
        let recorded = snap.recorded.as_ref().map(|c| format!("{} ({})", c.version, c.profile));
        findings.push(fail(
            ISTIOD_MISSING,
            format!(
                "Istio {} is recorded as installed, but there is no istiod Deployment in namespace \"{CONTROL_PLANE_NAMESPACE}\"",
                recorded.unwrap_or_default()
            ),
            "istiod was deleted, or the installation did not finish",
            "install Istio again (Meshery operation \"Istio service mesh\") to restore istiod".into(),
        ));
        health.push("no istiod Deployment".to_string());
    }
    for i in &ctx.istiods {
        let version = i.version.as_deref().unwrap_or("of unknown version");
        health.push(format!(
            "istiod {version} (revision {}) {}: {}/{} replicas ready",
            i.revision,
            if i.available { "available" } else { "NOT available" },
            i.ready,
            i.replicas
        ));
        if !i.available || i.replicas == 0 {
            findings.push(fail(
                ISTIOD_UNAVAILABLE,
                format!(
                    "istiod Deployment \"{}\" in namespace \"{}\" is not available ({} of {} replicas ready)",
                    i.name, i.namespace, i.ready, i.replicas
                ),
                "istiod pods are not ready: still starting, crash-looping, unschedulable, or scaled to zero",
                format!(
                    "look at the pods (kubectl -n {ns} get pods -l app=istiod; kubectl -n {ns} logs deploy/{name}) and fix what keeps them from becoming ready; proxies get no configuration and new pods no sidecar meanwhile",
                    ns = i.namespace,
                    name = i.name
                ),
            ));
        }
        if i.version.is_none() {
            findings.push(warn(
                VERSION_UNKNOWN,
                format!(
                    "the version of istiod Deployment \"{}\" in namespace \"{}\" is unknown: its image has no tag",
                    i.name, i.namespace
                ),
                "the image is referenced by digest only, so proxy versions cannot be compared with it",
                "reference the pilot image with its version tag (e.g. docker.io/istio/pilot:<version>, optionally followed by @sha256:...)".into(),
            ));
        }
    }
    let injectors: Vec<&str> = snap
        .mutating_webhooks
        .iter()
        .filter(|w| is_injector(w))
        .map(model::name)
        .collect();
    let validators: Vec<&str> = snap
        .validating_webhooks
        .iter()
        .filter(|w| is_validator(w))
        .map(model::name)
        .collect();
    if injectors.is_empty() {
        findings.push(fail(
            INJECTOR_MISSING,
            "the Istio sidecar injector webhook is missing: there is no MutatingWebhookConfiguration istio-sidecar-injector".into(),
            "the webhook was deleted or never installed, so no new pod gets an istio-proxy sidecar",
            "install Istio again (Meshery operation \"Istio service mesh\") to restore the MutatingWebhookConfiguration istio-sidecar-injector".into(),
        ));
        health.push("no sidecar injector webhook".into());
    } else {
        health.push(format!("sidecar injector webhook {}", injectors.join(", ")));
    }
    if validators.is_empty() {
        findings.push(warn(
            VALIDATOR_MISSING,
            format!(
                "the Istio validation webhook is missing: there is no ValidatingWebhookConfiguration istio-validator-{CONTROL_PLANE_NAMESPACE}"
            ),
            "the webhook was deleted or never installed, so invalid Istio configuration is accepted and only fails later in the proxies",
            format!(
                "install Istio again (Meshery operation \"Istio service mesh\") to restore the ValidatingWebhookConfiguration istio-validator-{CONTROL_PLANE_NAMESPACE}"
            ),
        ));
        health.push("no validation webhook".into());
    } else {
        health.push(format!("validation webhook {}", validators.join(", ")));
    }
    if let Some(c) = &snap.recorded {
        health.push(format!("installed profile {}", c.profile));
    }
    Check {
        always_inform: true,
        ..Check::new("control plane", health.join("; "), findings)
    }
}
