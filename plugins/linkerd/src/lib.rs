//! The Linkerd translator: Meshery operations in, Kubernetes plans out.

mod identity;

use wasmesh_sdk::ops::{self, operation};
use wasmesh_sdk::plan::{namespace_change, plan, stage};
use wasmesh_sdk::{Category, DesignPlan, DesignRequest, Error, Guest, Info, OperationRequest, Plan, Step};

/// What this translator needs, embedded as the component's `wasmesh:manifest` section:
/// namespaces (get, create, patch; the injection operation creates the namespace when missing),
/// and any object, namespaced or cluster-scoped: `custom` and designs apply whatever YAML the
/// user sends. An operator's grant narrows this for a restricted cluster.
const MANIFEST: &str = wasmesh_sdk::manifest!("manifest.json");

/// Error codes of this translator start with this.
const CODE: &str = "WASMESH-LINKERD";
const INJECT_ANNOTATION: &str = "linkerd.io/inject";

struct Linkerd;

impl Guest for Linkerd {
    fn describe() -> Info {
        Info {
            name: "LINKERD".into(),
            mesh: "linkerd".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            mesh_versions: vec!["stable-2.14.10".into()],
            operations: vec![
                operation(
                    "annotate-namespace",
                    "Enable Linkerd proxy injection on the namespace",
                    Category::Configure,
                ),
                operation("custom", "Apply or delete custom Kubernetes YAML", Category::Custom),
            ],
            capabilities: wasmesh_sdk::manifest::capabilities(MANIFEST),
        }
    }

    fn plan(request: OperationRequest) -> Result<Plan, Error> {
        match request.key.as_str() {
            "custom" => ops::custom(&request, CODE),
            "annotate-namespace" => Ok(annotate_namespace(&request)),
            other => Err(ops::unknown_operation(other, CODE)),
        }
    }

    fn provision(request: DesignRequest) -> Result<DesignPlan, Error> {
        Ok(wasmesh_sdk::design::plan_design(&request, CODE, "linkerd"))
    }
}

fn annotate_namespace(request: &OperationRequest) -> Plan {
    let ns = &request.namespace;
    let mut change = namespace_change(ns, !request.delete);
    if request.delete {
        change.remove_annotations.push(INJECT_ANNOTATION.into());
        plan(
            format!("Linkerd proxy injection disabled on namespace {ns}"),
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

wasmesh_sdk::export_translator!(Linkerd);
