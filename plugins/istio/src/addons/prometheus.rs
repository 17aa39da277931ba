//! Prometheus: one server with a config-reloader beside it, allowed to read what it scrapes.
//! Facts from istio/istio `samples/addons/prometheus.yaml` (the prometheus community chart as
//! Istio renders it): labels, port 9090, arguments, probes, security context, RBAC.

use serde_json::{Value, json};

use super::{Release, cluster_meta, meta, tag};
use crate::installed::CONTROL_PLANE_NAMESPACE;

const SCRAPE_CONFIG: &str = include_str!("../../assets/addons/prometheus/prometheus.yml");

pub fn objects(release: &Release) -> Vec<Value> {
    let labels = || {
        json!({
            "app.kubernetes.io/component": "server",
            "app.kubernetes.io/name": "prometheus",
            "app.kubernetes.io/instance": "prometheus",
            "app.kubernetes.io/version": tag(release.prometheus),
            "app.kubernetes.io/part-of": "prometheus",
        })
    };
    let selector = json!({
        "app.kubernetes.io/component": "server",
        "app.kubernetes.io/name": "prometheus",
        "app.kubernetes.io/instance": "prometheus",
    });
    let mut pod_labels = labels();
    pod_labels["sidecar.istio.io/inject"] = json!("false");
    let read = json!(["get", "list", "watch"]);
    vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("prometheus", labels())}),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta("prometheus", labels()),
            "data": {
                "prometheus.yml": SCRAPE_CONFIG,
                "recording_rules.yml": "{}\n",
                "alerting_rules.yml": "{}\n",
            },
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": cluster_meta("prometheus", labels()),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["nodes", "nodes/proxy", "nodes/metrics", "services", "endpoints", "pods",
                                  "ingresses", "configmaps"],
                    "verbs": read,
                },
                {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status", "ingresses"], "verbs": read},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
                {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
            ],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": cluster_meta("prometheus", labels()),
            "subjects": [{"kind": "ServiceAccount", "name": "prometheus", "namespace": CONTROL_PLANE_NAMESPACE}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "prometheus"},
        }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("prometheus", labels()),
            "spec": {
                "type": "ClusterIP",
                "ports": [{"name": "http", "port": 9090, "protocol": "TCP", "targetPort": 9090}],
                "selector": selector,
                "sessionAffinity": "None",
            },
        }),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta("prometheus", labels()),
            "spec": {
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "serviceAccountName": "prometheus",
                        "enableServiceLinks": true,
                        "terminationGracePeriodSeconds": 300,
                        "securityContext": {
                            "runAsUser": 65534, "runAsNonRoot": true, "runAsGroup": 65534, "fsGroup": 65534,
                        },
                        "containers": [
                            {
                                "name": "prometheus-server-configmap-reload",
                                "image": release.config_reloader,
                                "imagePullPolicy": "IfNotPresent",
                                "args": [
                                    "--watched-dir=/etc/config",
                                    "--listen-address=0.0.0.0:8080",
                                    "--reload-url=http://127.0.0.1:9090/-/reload",
                                ],
                                "ports": [{"containerPort": 8080, "name": "metrics"}],
                                "livenessProbe": {
                                    "httpGet": {"path": "/healthz", "port": "metrics", "scheme": "HTTP"},
                                    "initialDelaySeconds": 2, "periodSeconds": 10,
                                },
                                "readinessProbe": {
                                    "httpGet": {"path": "/healthz", "port": "metrics", "scheme": "HTTP"},
                                    "periodSeconds": 10,
                                },
                                "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/config", "readOnly": true}],
                            },
                            {
                                "name": "prometheus-server",
                                "image": release.prometheus,
                                "imagePullPolicy": "IfNotPresent",
                                "args": [
                                    "--storage.tsdb.retention.time=15d",
                                    "--config.file=/etc/config/prometheus.yml",
                                    "--storage.tsdb.path=/data",
                                    "--web.console.libraries=/etc/prometheus/console_libraries",
                                    "--web.console.templates=/etc/prometheus/consoles",
                                    "--web.enable-lifecycle",
                                ],
                                "ports": [{"containerPort": 9090}],
                                "readinessProbe": {
                                    "httpGet": {"path": "/-/ready", "port": 9090, "scheme": "HTTP"},
                                    "initialDelaySeconds": 0, "periodSeconds": 5, "timeoutSeconds": 4,
                                    "failureThreshold": 3, "successThreshold": 1,
                                },
                                "livenessProbe": {
                                    "httpGet": {"path": "/-/healthy", "port": 9090, "scheme": "HTTP"},
                                    "initialDelaySeconds": 30, "periodSeconds": 15, "timeoutSeconds": 10,
                                    "failureThreshold": 3, "successThreshold": 1,
                                },
                                "volumeMounts": [
                                    {"name": "config-volume", "mountPath": "/etc/config"},
                                    {"name": "storage-volume", "mountPath": "/data", "subPath": ""},
                                ],
                            },
                        ],
                        "volumes": [
                            {"name": "config-volume", "configMap": {"name": "prometheus"}},
                            {"name": "storage-volume", "emptyDir": {}},
                        ],
                    },
                },
            },
        }),
    ]
}
