//! The Istio translator: Meshery operations in, Kubernetes plans out.
//!
//! One module per family of operations; this file only dispatches.

mod addons;
mod design;
mod envoy_filter;
#[cfg(test)]
mod fuzz_tests;
mod install;
mod installed;
mod namespace;
mod policies;
mod samples;
mod vet;

use wasmesh_sdk::ops::{self, operation};
use wasmesh_sdk::{Category, DesignPlan, DesignRequest, Error, Guest, Info, OperationRequest, Plan};

/// What this translator needs, embedded as the component's `wasmesh:manifest` section.
/// An operator's grant narrows this for a restricted cluster.
const MANIFEST: &str = wasmesh_sdk::manifest!("manifest.json");

/// Error codes of this translator start with this.
const CODE: &str = "WASMESH-ISTIO";

struct Istio;

impl Guest for Istio {
    fn describe() -> Info {
        use Category::*;
        Info {
            name: "ISTIO".into(),
            mesh: "istio".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            mesh_versions: install::versions(),
            operations: vec![
                operation("istio", "Istio service mesh", Install),
                operation(
                    "label-namespace",
                    "Enable Istio sidecar injection (or ambient mode) on the namespace",
                    Configure,
                ),
                operation("prometheus-addon", "Add-on: Prometheus", Configure),
                operation("grafana-addon", "Add-on: Grafana", Configure),
                operation("kiali-addon", "Add-on: Kiali", Configure),
                operation("jaeger-addon", "Add-on: Jaeger", Configure),
                operation("zipkin-addon", "Add-on: Zipkin", Configure),
                operation(
                    "strict-mtls-policy-operation",
                    "Policy: mTLS strict in the namespace",
                    Configure,
                ),
                operation(
                    "mutual-mtls-policy-operation",
                    "Policy: mTLS permissive in the namespace",
                    Configure,
                ),
                operation(
                    "disable-mtls-policy-operation",
                    "Policy: mTLS disabled in the namespace",
                    Configure,
                ),
                operation(
                    "deny-all-policy-operation",
                    "Policy: deny all requests in the namespace",
                    Configure,
                ),
                operation("envoy-filter-operation", "Image hub rate-limit filter", Configure),
                operation("bookinfo", "Bookinfo application", SampleApplication),
                operation("httpbin", "Httpbin application", SampleApplication),
                operation("imagehub", "Imagehub application", SampleApplication),
                operation("emojivoto", "Emojivoto application", SampleApplication),
                operation("istio-vet", "Analyse the running Istio configuration", Validate),
                operation("custom", "Apply or delete custom Kubernetes YAML", Custom),
            ],
            capabilities: wasmesh_sdk::manifest::capabilities(MANIFEST),
        }
    }

    fn plan(request: OperationRequest) -> Result<Plan, Error> {
        match request.key.as_str() {
            "istio" => install::plan(&request),
            "label-namespace" => namespace::plan(&request),
            key @ ("prometheus-addon" | "grafana-addon" | "kiali-addon" | "jaeger-addon" | "zipkin-addon") => {
                addons::plan(key, &request)
            }
            key @ ("strict-mtls-policy-operation"
            | "mutual-mtls-policy-operation"
            | "disable-mtls-policy-operation"
            | "deny-all-policy-operation") => policies::plan(key, &request),
            "envoy-filter-operation" => envoy_filter::plan(&request),
            key @ ("bookinfo" | "httpbin" | "imagehub" | "emojivoto") => samples::plan(key, &request),
            "istio-vet" => vet::plan(&request),
            "custom" => ops::custom(&request, CODE),
            other => Err(ops::unknown_operation(other, CODE)),
        }
    }

    fn provision(request: DesignRequest) -> Result<DesignPlan, Error> {
        design::provision(&request)
    }
}

impl wasmesh_sdk::registry::Guest for Istio {
    fn design_kinds() -> Vec<wasmesh_sdk::registry::DesignKind> {
        design::design_kinds()
    }
}

wasmesh_sdk::export_translator!(Istio);
