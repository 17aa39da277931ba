//! `label-namespace`: sidecar injection, or ambient mode when the installed profile is ambient.

use wasmesh_sdk::plan::{self, namespace_change, stage};
use wasmesh_sdk::{Error, OperationRequest, Plan, Step};

const INJECTION_LABEL: &str = "istio-injection";

pub fn plan(request: &OperationRequest) -> Result<Plan, Error> {
    let ns = &request.namespace;
    let mut change = namespace_change(ns, !request.delete);
    Ok(if request.delete {
        change.remove_labels.push(INJECTION_LABEL.into());
        plan::plan(
            format!("Istio sidecar injection disabled on namespace {ns}"),
            vec![stage("namespace", vec![Step::NamespaceMetadata(change)])],
        )
    } else {
        change.set_labels.push((INJECTION_LABEL.into(), "enabled".into()));
        plan::plan(
            format!("Istio sidecar injection enabled on namespace {ns}"),
            vec![stage("namespace", vec![Step::NamespaceMetadata(change)])],
        )
    })
}
