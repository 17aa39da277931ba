//! The Linkerd translator: Meshery operations in, Kubernetes plans out.
//!
//! One module per family of operations; this file only dispatches.

mod addons;
mod check;
mod design;
#[cfg(test)]
mod fuzz_tests;
mod identity;
mod install;
mod installed;
mod rotate;
mod samples;

use wasmesh_sdk::ops::{self, operation};
use wasmesh_sdk::plan::{namespace_change, plan, stage};
use wasmesh_sdk::{Category, DesignPlan, DesignRequest, Error, Guest, Info, OperationRequest, Plan, Step};

/// What this translator needs, embedded as the component's `wasmesh:manifest` section.
/// An operator's grant narrows this for a restricted cluster.
const MANIFEST: &str = wasmesh_sdk::manifest!("manifest.json");

/// Error codes of this translator start with this.
const CODE: &str = "WASMESH-LINKERD";
const INJECT_ANNOTATION: &str = "linkerd.io/inject";

struct Linkerd;

impl Guest for Linkerd {
    fn describe() -> Info {
        use Category::*;
        Info {
            name: "LINKERD".into(),
            mesh: "linkerd".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            mesh_versions: install::versions(),
            operations: vec![
                operation("linkerd", "Linkerd service mesh", Install),
                operation(
                    "annotate-namespace",
                    "Enable Linkerd proxy injection on the namespace",
                    Configure,
                ),
                operation("viz-addon", "Linkerd Viz extension (dashboard and metrics)", Configure),
                operation(
                    "jaeger-addon",
                    "Linkerd Jaeger extension (distributed tracing)",
                    Configure,
                ),
                operation("multicluster-addon", "Linkerd Multicluster extension", Configure),
                operation("smi-addon", "Linkerd SMI extension (TrafficSplit)", Configure),
                operation("bookinfo", "Bookinfo application", SampleApplication),
                operation("httpbin", "Httpbin application", SampleApplication),
                operation("imagehub", "Imagehub application", SampleApplication),
                operation("emojivoto", "Emojivoto application", SampleApplication),
                operation(
                    "linkerd-check",
                    "Check the health of the Linkerd installation",
                    Validate,
                ),
                operation(
                    "rotate-identity-issuer",
                    "Rotate the Linkerd identity issuer certificate",
                    Configure,
                ),
                operation("custom", "Apply or delete custom Kubernetes YAML", Custom),
            ],
            capabilities: wasmesh_sdk::manifest::capabilities(MANIFEST),
        }
    }

    fn plan(request: OperationRequest) -> Result<Plan, Error> {
        match request.key.as_str() {
            "linkerd" => install::plan(&request),
            "annotate-namespace" => Ok(annotate_namespace(&request)),
            key @ ("viz-addon" | "jaeger-addon" | "multicluster-addon" | "smi-addon") => addons::plan(key, &request),
            key @ ("bookinfo" | "httpbin" | "imagehub" | "emojivoto") => samples::plan(key, &request),
            "linkerd-check" => check::plan(&request),
            "rotate-identity-issuer" => rotate::plan(&request),
            "custom" => ops::custom(&request, CODE),
            other => Err(ops::unknown_operation(other, CODE)),
        }
    }

    fn provision(request: DesignRequest) -> Result<DesignPlan, Error> {
        design::provision(&request)
    }
}

fn annotate_namespace(request: &OperationRequest) -> Plan {
    let ns = &request.namespace;
    let mut change = namespace_change(ns, !request.delete);
    if request.delete {
        change.remove_annotations.push(INJECT_ANNOTATION.into());
        plan(
            format!("Linkerd proxy injection annotation removed from namespace {ns}"),
            vec![stage("namespace", vec![Step::NamespaceMetadata(change)])],
        )
    } else {
        change
            .set_annotations
            .push((INJECT_ANNOTATION.into(), "enabled".into()));
        plan(
            format!("Linkerd proxy injection enabled on namespace {ns}"),
            vec![stage("namespace", vec![Step::NamespaceMetadata(change)])],
        )
    }
}

impl wasmesh_sdk::registry::Guest for Linkerd {
    fn design_kinds() -> Vec<wasmesh_sdk::registry::DesignKind> {
        design::design_kinds()
    }
}

wasmesh_sdk::export_translator!(Linkerd);
