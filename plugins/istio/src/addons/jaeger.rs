//! Jaeger all-in-one: collector, query UI under /jaeger and badger storage in one pod. Facts from
//! istio/istio `samples/addons/jaeger.yaml`: the `tracing` Service (80 to the UI's 16686, and
//! 16685 gRPC query), the `zipkin` Service (9411, which Istio's default tracer sends to) and
//! `jaeger-collector` (Jaeger Thrift 14268, gRPC 14250, Zipkin 9411, OTLP 4317 and 4318).

use serde_json::{Value, json};

use super::{Release, meta};

pub fn objects(release: &Release) -> Vec<Value> {
    let app = || json!({"app": "jaeger"});
    let env = |name: &str, value: &str| json!({"name": name, "value": value});
    let probe = || json!({"httpGet": {"path": "/", "port": 14269}});
    vec![
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta("jaeger", app()),
            "spec": {
                "selector": {"matchLabels": app()},
                "template": {
                    "metadata": {
                        "labels": {"app": "jaeger", "sidecar.istio.io/inject": "false"},
                        "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "14269"},
                    },
                    "spec": {
                        "containers": [{
                            "name": "jaeger",
                            "image": release.jaeger,
                            "env": [
                                env("BADGER_EPHEMERAL", "false"),
                                env("SPAN_STORAGE_TYPE", "badger"),
                                env("BADGER_DIRECTORY_VALUE", "/badger/data"),
                                env("BADGER_DIRECTORY_KEY", "/badger/key"),
                                env("COLLECTOR_ZIPKIN_HOST_PORT", ":9411"),
                                env("MEMORY_MAX_TRACES", "50000"),
                                env("QUERY_BASE_PATH", "/jaeger"),
                            ],
                            "livenessProbe": probe(),
                            "readinessProbe": probe(),
                            "volumeMounts": [{"name": "data", "mountPath": "/badger"}],
                            "resources": {"requests": {"cpu": "10m"}},
                        }],
                        "volumes": [{"name": "data", "emptyDir": {}}],
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
                "ports": [
                    {"name": "http-query", "port": 80, "protocol": "TCP", "targetPort": 16686},
                    {"name": "grpc-query", "port": 16685, "protocol": "TCP", "targetPort": 16685},
                ],
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
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("jaeger-collector", app()),
            "spec": {
                "type": "ClusterIP",
                "ports": [
                    {"name": "jaeger-collector-http", "port": 14268, "targetPort": 14268, "protocol": "TCP"},
                    {"name": "jaeger-collector-grpc", "port": 14250, "targetPort": 14250, "protocol": "TCP"},
                    {"name": "http-zipkin", "port": 9411, "targetPort": 9411},
                    {"name": "grpc-otel", "port": 4317},
                    {"name": "http-otel", "port": 4318},
                ],
                "selector": app(),
            },
        }),
    ]
}
