//! Pods that should run an istio-proxy sidecar but do not, and namespaces that ask for a
//! control plane revision nobody serves.

use super::model::{self, Dataplane, Injection};
use super::report::{Check, IstioError, warn};
use super::snapshot::Context;

pub fn check(ctx: &Context) -> Check {
    let mut findings = Vec::new();
    for ns in &ctx.workload_namespaces {
        let obj = ctx.namespace_objects.get(ns.as_str()).copied();
        if let Injection::Revision(rev) = model::injection(obj)
            && !ctx.revisions.contains(&rev)
        {
            let served: Vec<&str> = ctx.revisions.iter().map(String::as_str).collect();
            findings.push(warn(IstioError::VetUnknownRevision {
                namespace: ns.clone(),
                revision: rev,
                served: served.first().copied().unwrap_or("default").into(),
            }));
        }
    }
    let missing = ctx
        .pods
        .iter()
        .filter(|(_, d)| *d == Dataplane::MissingSidecar)
        .map(|(p, _)| *p);
    for (workload, pods) in model::by_workload(missing) {
        let obj = ctx.namespace_objects.get(workload.namespace.as_str()).copied();
        let why = match model::injection(obj) {
            Injection::Enabled => format!("namespace \"{}\" has istio-injection=enabled", workload.namespace),
            Injection::Revision(rev) => format!("namespace \"{}\" has istio.io/rev={rev}", workload.namespace),
            _ => "the pods ask for injection (sidecar.istio.io/inject=true or istio.io/rev)".into(),
        };
        let restart = match workload.kind.as_str() {
            "Pod" => format!("delete and recreate pod {} (-n {})", workload.name, workload.namespace),
            kind => format!(
                "kubectl rollout restart {}/{} -n {}",
                kind.to_ascii_lowercase(),
                workload.name,
                workload.namespace
            ),
        };
        findings.push(warn(IstioError::VetMissingSidecar {
            workload: workload.to_string(),
            pods: model::pod_list(&pods),
            why,
            restart,
        }));
    }
    let count = |want: Dataplane| ctx.pods.iter().filter(|(_, d)| *d == want).count();
    let skipped = if ctx.skipped_namespaces.is_empty() {
        String::new()
    } else {
        format!(" (system namespaces left out: {})", ctx.skipped_namespaces.join(", "))
    };
    let details = format!(
        "{} pods in {} namespaces{skipped}: {} with a sidecar, {} in ambient mode, {} without a sidecar they should have, {} outside the mesh",
        ctx.pods.len(),
        ctx.workload_namespaces.len(),
        count(Dataplane::Sidecar),
        count(Dataplane::Ambient),
        count(Dataplane::MissingSidecar),
        count(Dataplane::Outside)
    );
    Check::new("sidecar injection", details, findings)
}
