//! Meshed pods without the app and version labels Istio's telemetry and tracing rely on.

use super::model;
use super::report::{Check, warn};
use super::snapshot::Context;

pub const MISSING_APP: u16 = 1530;
pub const MISSING_VERSION: u16 = 1531;

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
            findings.push(warn(
                MISSING_APP,
                format!("{workload} has meshed pods without an app label ({})", model::pod_list(&no_app)),
                "Istio names the workload in metrics, traces and Kiali by the app (or app.kubernetes.io/name) label; without it telemetry is hard to attribute",
                format!("add an app label (e.g. app: {}) to {place}", workload.name),
            ));
        }
        let no_version: Vec<_> = pods
            .iter()
            .copied()
            .filter(|p| !has(p, "version", "app.kubernetes.io/version"))
            .collect();
        if !no_version.is_empty() {
            findings.push(warn(
                MISSING_VERSION,
                format!("{workload} has meshed pods without a version label ({})", model::pod_list(&no_version)),
                "Istio reports the workload version from the version (or app.kubernetes.io/version) label; routing by subset and versioned telemetry need it",
                format!("add a version label (e.g. version: v1) to {place}"),
            ));
        }
    }
    Check::new(
        "app and version labels",
        format!("{} meshed pods", meshed.len()),
        findings,
    )
}
