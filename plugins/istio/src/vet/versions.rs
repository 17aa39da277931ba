//! Proxies whose version differs from their control plane's (istio-proxy image tag against the
//! istiod image tag). Gateways in system namespaces are proxies too, so they are included.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::model::{self, Workload};
use super::report::{Check, IstioError, warn};
use super::snapshot::Context;

pub fn check(ctx: &Context) -> Check {
    let by_revision = ctx.versions_by_revision();
    let all_versions: BTreeSet<String> = by_revision.values().cloned().collect();
    let mut proxies = 0;
    let mut unknown = 0;
    // (workload, proxy version, expected) -> pods
    let mut mismatched: BTreeMap<(Workload, String, String), Vec<&Value>> = BTreeMap::new();
    for pod in &ctx.snap.pods {
        let Some(proxy) = model::proxy_container(pod) else {
            continue;
        };
        proxies += 1;
        let Some(version) = proxy["image"].as_str().and_then(model::image_version) else {
            unknown += 1;
            continue;
        };
        if all_versions.is_empty() {
            continue;
        }
        let expected = match model::proxy_revision(pod).and_then(|r| by_revision.get(&r).map(|v| (r, v))) {
            Some((rev, v)) if *v != version => Some(format!("{v} (revision {rev})")),
            Some(_) => None,
            None if !all_versions.contains(&version) => Some(model::join(&all_versions)),
            None => None,
        };
        if let Some(expected) = expected {
            mismatched
                .entry((model::workload_of(pod), version, expected))
                .or_default()
                .push(pod);
        }
    }
    let findings = mismatched
        .into_iter()
        .map(|((workload, version, expected), pods)| {
            let restart = match workload.kind.as_str() {
                "Pod" => format!("delete and recreate pod {}", workload.name),
                kind => format!(
                    "kubectl rollout restart {}/{} -n {}",
                    kind.to_ascii_lowercase(),
                    workload.name,
                    workload.namespace
                ),
            };
            warn(IstioError::VetVersionMismatch {
                workload: workload.to_string(),
                version,
                pods: model::pod_list(&pods),
                expected,
                restart,
            })
        })
        .collect();
    let details = if all_versions.is_empty() {
        format!("{proxies} proxies; the control plane's version is unknown, nothing to compare with")
    } else {
        format!(
            "{proxies} proxies compared with istiod {}{}",
            model::join(&all_versions),
            if unknown > 0 {
                format!(" ({unknown} referenced by digest only, not compared)")
            } else {
                String::new()
            }
        )
    };
    Check::new("proxy versions", details, findings)
}
