//! `envoy-filter-operation`: the image hub's rate limit, in front of its `api` workload.
//!
//! The upstream adapter loaded a WebAssembly rate-limit filter from a file inside the api pod,
//! which had to be fetched and copied there first. Here the same intent is expressed with
//! Envoy's built-in `envoy.filters.http.local_ratelimit` HTTP filter, patched in by an
//! EnvoyFilter on the api workload's inbound listener: every Istio proxy already contains it,
//! so nobody (neither this translator nor the proxy nor an OCI registry) downloads anything,
//! and it works in an air-gapped cluster. A WasmPlugin would need an OCI image the proxies pull
//! at run time; that is why it is not used.
//!
//! The bucket holds [`MAX_TOKENS`] requests and is refilled every [`FILL_INTERVAL`]; requests
//! over the limit get HTTP 429 and the `x-local-rate-limit: true` response header.
//! EnvoyFilter has one API version, `networking.istio.io/v1alpha3`, in every supported release.

use serde_json::{Value, json};
use wasmesh_samples::App;
use wasmesh_sdk::plan::{apply, object_ref, plan as make_plan, stage};
use wasmesh_sdk::{Error, Level, OperationRequest, Plan, Step, cluster, progress};

use crate::errors::IstioError;
use crate::installed;

/// Name of the EnvoyFilter in the request namespace.
pub const NAME: &str = "imagehub-rate-limit";
/// Requests the bucket holds (and the burst a client may send).
pub const MAX_TOKENS: u32 = 10;
/// How often the bucket is refilled to [`MAX_TOKENS`].
pub const FILL_INTERVAL: &str = "60s";
/// The image hub workload the filter protects.
const API_SERVICE: &str = "api";

pub fn plan(request: &OperationRequest) -> Result<Plan, Error> {
    let namespace = request.namespace.trim();
    if namespace.is_empty() {
        return Err(IstioError::FilterNamespace.into());
    }
    let object = filter(namespace, api_port());
    if request.delete {
        return Ok(make_plan(
            format!("Image hub rate-limit filter removed from namespace {namespace}"),
            vec![stage("envoy filter", vec![Step::Delete(object_ref(&object))])],
        ));
    }
    let control_plane = installed::control_plane()?;
    if control_plane.is_none() {
        return Err(IstioError::FilterWithoutMesh.into());
    }
    if control_plane.is_some_and(|cp| cp.profile == "ambient") {
        // The filter patches the api pod's own Envoy (SIDECAR_INBOUND); ambient pods have none.
        progress::report(
            Level::Warn,
            &format!(
                "The image hub rate limit needs a sidecar on the api pods in namespace {namespace}: label the \
                 namespace istio-injection=enabled (or the pods sidecar.istio.io/inject=true) and restart them"
            ),
            "Istio runs with the ambient profile: pods in ambient mode have no Envoy of their own, so the filter \
             only takes effect on api pods that carry an istio-proxy sidecar (label their namespace with \
             istio-injection=enabled, or their pods with sidecar.istio.io/inject=true, and restart them)",
        );
    }
    let selector = format!("app={API_SERVICE}");
    if cluster::list("apps/v1", "Deployment", Some(namespace), &selector)?.is_empty() {
        progress::report(
            Level::Warn,
            &format!(
                "The image hub api is not deployed in namespace {namespace}: the rate limit takes effect once it is; \
                 deploy it with the \"imagehub\" operation"
            ),
            "the rate-limit filter is applied anyway and takes effect once the image hub's api workload \
             (label app=api) runs there with an Istio proxy; deploy it with the \"imagehub\" operation",
        );
    }
    Ok(make_plan(
        format!(
            "Image hub rate-limit filter applied in namespace {namespace}: at most {MAX_TOKENS} requests per \
             {FILL_INTERVAL} to the api workload, then HTTP 429"
        ),
        vec![stage("envoy filter", vec![apply(&object)])],
    ))
}

/// The port of the image hub's api Service, from the shared sample objects.
pub fn api_port() -> u64 {
    App::Imagehub
        .objects()
        .iter()
        .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == API_SERVICE)
        .and_then(|s| s.pointer("/spec/ports/0/port").and_then(Value::as_u64))
        .unwrap_or(9091)
}

/// The EnvoyFilter: a local rate limit before the router on the api workload's inbound port.
pub fn filter(namespace: &str, port: u64) -> Value {
    let percent = |key: &str| {
        json!({
            "runtime_key": key,
            "default_value": {"numerator": 100, "denominator": "HUNDRED"},
        })
    };
    json!({
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {
            "name": NAME,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "wasmesh", "app": "imagehub"},
        },
        "spec": {
            "workloadSelector": {"labels": {"app": API_SERVICE}},
            "configPatches": [{
                "applyTo": "HTTP_FILTER",
                "match": {
                    "context": "SIDECAR_INBOUND",
                    "listener": {
                        "portNumber": port,
                        "filterChain": {
                            "filter": {
                                "name": "envoy.filters.network.http_connection_manager",
                                "subFilter": {"name": "envoy.filters.http.router"},
                            },
                        },
                    },
                },
                "patch": {
                    "operation": "INSERT_BEFORE",
                    "value": {
                        "name": "envoy.filters.http.local_ratelimit",
                        "typed_config": {
                            "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
                            "type_url": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                            "value": {
                                "stat_prefix": "imagehub_api_rate_limiter",
                                "token_bucket": {
                                    "max_tokens": MAX_TOKENS,
                                    "tokens_per_fill": MAX_TOKENS,
                                    "fill_interval": FILL_INTERVAL,
                                },
                                "filter_enabled": percent("local_rate_limit_enabled"),
                                "filter_enforced": percent("local_rate_limit_enforced"),
                                "response_headers_to_add": [{
                                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                                    "header": {"key": "x-local-rate-limit", "value": "true"},
                                }],
                            },
                        },
                    },
                },
            }],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_targets_the_image_hub_api_inbound_port() {
        assert_eq!(api_port(), 9091, "the api Service port of the shared image hub objects");
        let f = filter("hub", api_port());
        assert_eq!(f["metadata"]["namespace"], "hub");
        assert_eq!(f["spec"]["workloadSelector"]["labels"]["app"], "api");
        let patch = &f["spec"]["configPatches"][0];
        assert_eq!(patch["match"]["context"], "SIDECAR_INBOUND");
        assert_eq!(patch["match"]["listener"]["portNumber"], 9091);
        assert_eq!(patch["patch"]["operation"], "INSERT_BEFORE");
        let value = &patch["patch"]["value"];
        assert_eq!(value["name"], "envoy.filters.http.local_ratelimit");
        assert!(
            value["typed_config"]["type_url"]
                .as_str()
                .unwrap()
                .ends_with("local_ratelimit.v3.LocalRateLimit")
        );
        let bucket = &value["typed_config"]["value"]["token_bucket"];
        assert_eq!(bucket["max_tokens"], MAX_TOKENS);
        assert_eq!(bucket["fill_interval"], FILL_INTERVAL);
        // Nothing is fetched: no wasm code source, no image.
        let text = f.to_string();
        assert!(
            !text.contains("http.wasm") && !text.contains("vm_config") && !text.contains("oci://"),
            "{text}"
        );
    }
}
