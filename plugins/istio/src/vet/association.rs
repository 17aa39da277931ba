//! Meshed pods that no Service selects: the mesh routes and authorises by Service.

use super::model;
use super::report::{Check, IstioError, warn};
use super::snapshot::Context;

pub fn check(ctx: &Context) -> Check {
    let meshed: Vec<_> = ctx.meshed_pods().collect();
    let orphans = meshed.iter().copied().filter(|pod| {
        let labels = pod.pointer("/metadata/labels").and_then(|l| l.as_object());
        !ctx.services_by_namespace
            .get(model::namespace(pod))
            .into_iter()
            .flatten()
            .any(|s| model::selector_matches(s.pointer("/spec/selector").and_then(|v| v.as_object()), labels))
    });
    let findings = model::by_workload(orphans)
        .into_iter()
        .map(|(workload, pods)| {
            let hint = pods[0]
                .pointer("/metadata/labels")
                .and_then(|l| l.get("app"))
                .and_then(|v| v.as_str())
                .map(|app| format!(" (e.g. app: {app})"))
                .unwrap_or_default();
            warn(IstioError::VetNoService {
                pods: model::pod_list(&pods),
                namespace: workload.namespace.clone(),
                workload: workload.to_string(),
                hint,
            })
        })
        .collect();
    Check::new("service association", format!("{} meshed pods", meshed.len()), findings)
}
