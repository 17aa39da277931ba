//! Meshed pods without the app and version labels Istio's telemetry and tracing rely on.

use super::model;
use super::report::{Check, IstioError, warn};
use super::snapshot::Context;

/// The label a pod has for `plain` or for its recommended Kubernetes form.
fn has(pod: &serde_json::Value, plain: &str, recommended: &str) -> bool {
    model::label(pod, plain)
        .or_else(|| model::label(pod, recommended))
        .is_some_and(|v| !v.is_empty())
}

pub fn check(ctx: &Context) -> Check {
    let meshed: Vec<_> = ctx.meshed_pods().collect();
    let mut findings = Vec::new();
    for (workload, pods) in model::by_workload(meshed.iter().copied()) {
        let place = match workload.kind.as_str() {
            "Pod" => "the pod".to_string(),
            _ => format!("the pod template of {} {}", workload.kind, workload.name),
        };
        let no_app: Vec<_> = pods
            .iter()
            .copied()
            .filter(|p| !has(p, "app", "app.kubernetes.io/name"))
            .collect();
        if !no_app.is_empty() {
            findings.push(warn(IstioError::VetMissingApp {
                workload: workload.to_string(),
                pods: model::pod_list(&no_app),
                app: workload.name.clone(),
                place: place.clone(),
            }));
        }
        let no_version: Vec<_> = pods
            .iter()
            .copied()
            .filter(|p| !has(p, "version", "app.kubernetes.io/version"))
            .collect();
        if !no_version.is_empty() {
            findings.push(warn(IstioError::VetMissingVersion {
                workload: workload.to_string(),
                pods: model::pod_list(&no_version),
                place,
            }));
        }
    }
    Check::new(
        "app and version labels",
        format!("{} meshed pods", meshed.len()),
        findings,
    )
}
