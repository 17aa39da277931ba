//! Meshed pods that no Service selects: the mesh routes and authorises by Service.

use super::model;
use super::report::{Check, warn};
use super::snapshot::Context;

pub const NO_SERVICE: u16 = 1550;

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
            warn(
                NO_SERVICE,
                format!("{workload} matches no Service ({})", model::pod_list(&pods)),
                "no Service in the namespace selects these pods' labels; Istio routes, balances and authorises traffic per Service, so the mesh sends them nothing",
                format!(
                    "create a Service in namespace {} whose selector matches the pods' labels{hint}, or fix the selector of the Service meant for them",
                    workload.namespace
                ),
            )
        })
        .collect();
    Check::new("service association", format!("{} meshed pods", meshed.len()), findings)
}
