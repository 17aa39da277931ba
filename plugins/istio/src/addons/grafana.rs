//! Grafana: anonymous admin access, Prometheus (and Loki, as upstream) as data sources, and two
//! dashboard folders provisioned from ConfigMaps: `istio` (the control plane) and
//! `istio-services` (mesh, service and workload views). Facts (image, port 3000, environment,
//! probes, mounts, provisioning paths) from istio/istio `samples/addons/grafana.yaml`; the
//! dashboards themselves are this project's own (assets/addons/grafana).

use serde_json::{Value, json};

use super::{Release, meta, tag};

const GRAFANA_INI: &str = "[analytics]\ncheck_for_updates = false\n[log]\nmode = console\n[paths]\n\
data = /var/lib/grafana/\nlogs = /var/log/grafana\nplugins = /var/lib/grafana/plugins\n\
provisioning = /etc/grafana/provisioning\n[server]\ndomain = ''\n";

const DATASOURCES: &str = "apiVersion: 1\ndatasources:\n\
- name: Prometheus\n  type: prometheus\n  orgId: 1\n  access: proxy\n  url: http://prometheus:9090\n  isDefault: true\n  editable: true\n  jsonData:\n    timeInterval: 15s\n\
- name: Loki\n  type: loki\n  orgId: 1\n  access: proxy\n  url: http://loki:3100\n  isDefault: false\n  editable: true\n  jsonData:\n    timeInterval: 5s\n";

const DASHBOARD_PROVIDERS: &str = "apiVersion: 1\nproviders:\n\
- name: istio\n  orgId: 1\n  folder: istio\n  type: file\n  disableDeletion: false\n  options:\n    path: /var/lib/grafana/dashboards/istio\n\
- name: istio-services\n  orgId: 1\n  folder: istio\n  type: file\n  disableDeletion: false\n  options:\n    path: /var/lib/grafana/dashboards/istio-services\n";

const CONTROL_PLANE: &str = include_str!("../../assets/addons/grafana/istio-control-plane-dashboard.json");
const MESH: &str = include_str!("../../assets/addons/grafana/istio-mesh-dashboard.json");
const SERVICE: &str = include_str!("../../assets/addons/grafana/istio-service-dashboard.json");
const WORKLOAD: &str = include_str!("../../assets/addons/grafana/istio-workload-dashboard.json");

pub fn objects(release: &Release) -> Vec<Value> {
    let labels = || {
        json!({
            "app.kubernetes.io/name": "grafana",
            "app.kubernetes.io/instance": "grafana",
            "app.kubernetes.io/version": tag(release.grafana),
        })
    };
    let selector = json!({"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "grafana"});
    let mut pod_labels = labels();
    pod_labels["sidecar.istio.io/inject"] = json!("false");
    let env = |name: &str, value: &str| json!({"name": name, "value": value});
    vec![
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "automountServiceAccountToken": false,
            "metadata": meta("grafana", labels()),
        }),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta("grafana", labels()),
            "data": {
                "grafana.ini": GRAFANA_INI,
                "datasources.yaml": DATASOURCES,
                "dashboardproviders.yaml": DASHBOARD_PROVIDERS,
            },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta("istio-grafana-dashboards", json!({"app.kubernetes.io/name": "grafana"})),
            "data": {"istio-control-plane-dashboard.json": CONTROL_PLANE},
        }),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta("istio-services-grafana-dashboards", json!({"app.kubernetes.io/name": "grafana"})),
            "data": {
                "istio-mesh-dashboard.json": MESH,
                "istio-service-dashboard.json": SERVICE,
                "istio-workload-dashboard.json": WORKLOAD,
            },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("grafana", labels()),
            "spec": {
                "type": "ClusterIP",
                "ports": [{"name": "service", "port": 3000, "protocol": "TCP", "targetPort": 3000}],
                "selector": selector,
            },
        }),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta("grafana", labels()),
            "spec": {
                "replicas": 1,
                "revisionHistoryLimit": 10,
                "strategy": {"type": "RollingUpdate"},
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {
                        "labels": pod_labels,
                        "annotations": {"kubectl.kubernetes.io/default-container": "grafana"},
                    },
                    "spec": {
                        "serviceAccountName": "grafana",
                        "automountServiceAccountToken": true,
                        "enableServiceLinks": true,
                        "containers": [{
                            "name": "grafana",
                            "image": release.grafana,
                            "imagePullPolicy": "IfNotPresent",
                            "securityContext": {
                                "allowPrivilegeEscalation": false,
                                "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "volumeMounts": [
                                {"name": "config", "mountPath": "/etc/grafana/grafana.ini", "subPath": "grafana.ini"},
                                {"name": "storage", "mountPath": "/var/lib/grafana"},
                                {"name": "dashboards-istio", "mountPath": "/var/lib/grafana/dashboards/istio"},
                                {"name": "dashboards-istio-services",
                                 "mountPath": "/var/lib/grafana/dashboards/istio-services"},
                                {"name": "config", "subPath": "datasources.yaml",
                                 "mountPath": "/etc/grafana/provisioning/datasources/datasources.yaml"},
                                {"name": "config", "subPath": "dashboardproviders.yaml",
                                 "mountPath": "/etc/grafana/provisioning/dashboards/dashboardproviders.yaml"},
                            ],
                            "ports": [
                                {"name": "grafana", "containerPort": 3000, "protocol": "TCP"},
                                {"name": "gossip-tcp", "containerPort": 9094, "protocol": "TCP"},
                                {"name": "gossip-udp", "containerPort": 9094, "protocol": "UDP"},
                            ],
                            "env": [
                                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                                env("GF_PATHS_DATA", "/var/lib/grafana/"),
                                env("GF_PATHS_LOGS", "/var/log/grafana"),
                                env("GF_PATHS_PLUGINS", "/var/lib/grafana/plugins"),
                                env("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning"),
                                env("GF_AUTH_ANONYMOUS_ENABLED", "true"),
                                env("GF_AUTH_ANONYMOUS_ORG_ROLE", "Admin"),
                                env("GF_AUTH_BASIC_ENABLED", "false"),
                                env("GF_SECURITY_ADMIN_PASSWORD", "admin"),
                                env("GF_SECURITY_ADMIN_USER", "admin"),
                            ],
                            "livenessProbe": {
                                "httpGet": {"path": "/api/health", "port": 3000},
                                "failureThreshold": 10, "initialDelaySeconds": 60, "timeoutSeconds": 30,
                            },
                            "readinessProbe": {"httpGet": {"path": "/api/health", "port": 3000}},
                        }],
                        "volumes": [
                            {"name": "config", "configMap": {"name": "grafana"}},
                            {"name": "dashboards-istio", "configMap": {"name": "istio-grafana-dashboards"}},
                            {"name": "dashboards-istio-services",
                             "configMap": {"name": "istio-services-grafana-dashboards"}},
                            {"name": "storage", "emptyDir": {}},
                        ],
                    },
                },
            },
        }),
    ]
}
