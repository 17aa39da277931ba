//! Control plane health: is Istio installed, is istiod available, are its webhooks there.

use serde_json::Value;

use super::model;
use super::report::{Check, IstioError, fail, warn};
use super::snapshot::{Context, Snapshot};
use crate::installed::CONTROL_PLANE_NAMESPACE;

/// The finding when there is no Istio at all: the other checks are not run.
pub fn not_installed(scope_phrase: &str) -> Check {
    Check::new(
        "control plane",
        format!("no istiod Deployment (label app=istiod) in namespace \"{CONTROL_PLANE_NAMESPACE}\""),
        vec![fail(IstioError::VetNotInstalled {
            scope: scope_phrase.into(),
        })],
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
        findings.push(fail(IstioError::VetIstiodMissing {
            recorded: recorded.unwrap_or_default(),
        }));
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
            findings.push(fail(IstioError::VetIstiodUnavailable {
                name: i.name.clone(),
                namespace: i.namespace.clone(),
                ready: i.ready,
                replicas: i.replicas,
            }));
        }
        if i.version.is_none() {
            findings.push(warn(IstioError::VetVersionUnknown {
                name: i.name.clone(),
                namespace: i.namespace.clone(),
            }));
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
        findings.push(fail(IstioError::VetInjectorMissing));
        health.push("no sidecar injector webhook".into());
    } else {
        health.push(format!("sidecar injector webhook {}", injectors.join(", ")));
    }
    if validators.is_empty() {
        findings.push(warn(IstioError::VetValidatorMissing));
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
