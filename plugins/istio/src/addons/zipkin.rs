//! Zipkin with in-memory storage. Facts from istio/istio `samples/addons/extras/zipkin.yaml`:
//! the `tracing` Service (80 to the UI on 9411) and the `zipkin` Service (9411), the same names
//! Jaeger's manifest uses, so either back end receives Istio's traces unchanged.

use serde_json::{Value, json};

use super::{Release, meta};

pub fn objects(release: &Release) -> Vec<Value> {
    let app = || json!({"app": "zipkin"});
    vec![
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta("zipkin", app()),
            "spec": {
                "selector": {"matchLabels": app()},
                "template": {
                    "metadata": {
                        "labels": {"app": "zipkin", "sidecar.istio.io/inject": "false"},
                    },
                    "spec": {
                        "containers": [{
                            "name": "zipkin",
                            "image": release.zipkin,
                            "env": [{"name": "STORAGE_METHOD", "value": "mem"}],
                            "readinessProbe": {
                                "httpGet": {"path": "/health", "port": 9411},
                                "initialDelaySeconds": 5,
                                "periodSeconds": 5,
                            },
                        }],
                    },
                },
            },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("tracing", app()),
            "spec": {
                "type": "ClusterIP",
                "ports": [{"name": "http-query", "port": 80, "protocol": "TCP", "targetPort": 9411}],
                "selector": app(),
            },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("zipkin", json!({"name": "zipkin"})),
            "spec": {
                "type": "ClusterIP",
                "ports": [{"name": "http-query", "port": 9411, "targetPort": 9411}],
                "selector": app(),
            },
        }),
    ]
}
