//! Kiali: the mesh console, anonymous access, with the cluster-wide read (and Istio
//! configuration write) rights it needs. Facts (image, ports 20001 and 9090, web root /kiali,
//! probes, security context, mounts, RBAC) from istio/istio `samples/addons/kiali.yaml` (the
//! kiali-server chart as Istio renders it); the configuration is this project's own
//! (assets/addons/kiali/config.yaml).

use serde_json::{Value, json};

use super::{Release, cluster_meta, meta, tag};
use crate::installed::CONTROL_PLANE_NAMESPACE;

const CONFIG: &str = include_str!("../../assets/addons/kiali/config.yaml");

pub fn objects(release: &Release) -> Vec<Value> {
    let version = tag(release.kiali);
    let labels = || {
        json!({
            "app": "kiali",
            "app.kubernetes.io/name": "kiali",
            "app.kubernetes.io/instance": "kiali",
            "version": version,
            "app.kubernetes.io/version": version,
            "app.kubernetes.io/part-of": "kiali",
        })
    };
    let selector = json!({"app.kubernetes.io/name": "kiali", "app.kubernetes.io/instance": "kiali"});
    let mut pod_labels = labels();
    pod_labels["sidecar.istio.io/inject"] = json!("false");
    let read = || json!(["get", "list", "watch"]);
    let read_patch = || json!(["get", "list", "watch", "patch"]);
    let probe = |extra: Value| {
        let mut p = json!({
            "httpGet": {"path": "/kiali/healthz", "port": "api-port", "scheme": "HTTP"},
            "initialDelaySeconds": 5,
            "periodSeconds": 30,
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            p[k] = v.clone();
        }
        p
    };
    vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("kiali", labels())}),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta("kiali", labels()),
            "data": {"config.yaml": CONFIG},
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": cluster_meta("kiali", labels()),
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps", "endpoints", "pods/log"], "verbs": read()},
                {"apiGroups": [""], "resources": ["namespaces", "pods", "replicationcontrollers", "services"],
                 "verbs": read_patch()},
                {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create", "post"]},
                {"apiGroups": ["extensions", "apps"],
                 "resources": ["daemonsets", "deployments", "replicasets", "statefulsets"], "verbs": read_patch()},
                {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": read_patch()},
                {"apiGroups": ["networking.istio.io", "security.istio.io", "extensions.istio.io",
                               "telemetry.istio.io", "gateway.networking.k8s.io"],
                 "resources": ["*"], "verbs": ["get", "list", "watch", "create", "delete", "patch"]},
                {"apiGroups": ["apps.openshift.io"], "resources": ["deploymentconfigs"], "verbs": read_patch()},
                {"apiGroups": ["project.openshift.io"], "resources": ["projects"], "verbs": ["get"]},
                {"apiGroups": ["route.openshift.io"], "resources": ["routes"], "verbs": ["get"]},
                {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
                {"apiGroups": ["oauth.openshift.io"], "resources": ["oauthclients"],
                 "resourceNames": ["kiali-istio-system"], "verbs": ["get"]},
                {"apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingwebhookconfigurations"],
                 "verbs": read()},
            ],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": cluster_meta("kiali", labels()),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kiali"},
            "subjects": [{"kind": "ServiceAccount", "name": "kiali", "namespace": CONTROL_PLANE_NAMESPACE}],
        }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("kiali", labels()),
            "spec": {
                "type": "ClusterIP",
                "ports": [
                    {"name": "http", "appProtocol": "http", "protocol": "TCP", "port": 20001},
                    {"name": "http-metrics", "appProtocol": "http", "protocol": "TCP", "port": 9090},
                ],
                "selector": selector,
            },
        }),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta("kiali", labels()),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
                "template": {
                    "metadata": {
                        "name": "kiali",
                        "labels": pod_labels,
                        "annotations": {
                            "prometheus.io/scrape": "true",
                            "prometheus.io/port": "9090",
                            "kiali.io/dashboards": "go,kiali",
                        },
                    },
                    "spec": {
                        "serviceAccountName": "kiali",
                        "containers": [{
                            "name": "kiali",
                            "image": release.kiali,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["/opt/kiali/kiali", "-config", "/kiali-configuration/config.yaml"],
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                            "securityContext": {
                                "allowPrivilegeEscalation": false,
                                "privileged": false,
                                "readOnlyRootFilesystem": true,
                                "runAsNonRoot": true,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "ports": [
                                {"name": "api-port", "containerPort": 20001},
                                {"name": "http-metrics", "containerPort": 9090},
                            ],
                            "readinessProbe": probe(json!({})),
                            "livenessProbe": probe(json!({})),
                            "startupProbe": probe(json!({"failureThreshold": 6, "initialDelaySeconds": 30,
                                                         "periodSeconds": 10})),
                            "env": [
                                {"name": "ACTIVE_NAMESPACE",
                                 "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                                {"name": "LOG_LEVEL", "value": "info"},
                                {"name": "LOG_FORMAT", "value": "text"},
                                {"name": "LOG_TIME_FIELD_FORMAT", "value": "2006-01-02T15:04:05Z07:00"},
                                {"name": "LOG_SAMPLER_RATE", "value": "1"},
                            ],
                            "volumeMounts": [
                                {"name": "kiali-configuration", "mountPath": "/kiali-configuration"},
                                {"name": "kiali-cert", "mountPath": "/kiali-cert"},
                                {"name": "kiali-secret", "mountPath": "/kiali-secret"},
                                {"name": "kiali-cabundle", "mountPath": "/kiali-cabundle"},
                            ],
                            "resources": {
                                "limits": {"memory": "1Gi"},
                                "requests": {"cpu": "10m", "memory": "64Mi"},
                            },
                        }],
                        "volumes": [
                            {"name": "kiali-configuration", "configMap": {"name": "kiali"}},
                            {"name": "kiali-cert",
                             "secret": {"secretName": "istio.kiali-service-account", "optional": true}},
                            {"name": "kiali-secret", "secret": {"secretName": "kiali", "optional": true}},
                            {"name": "kiali-cabundle", "configMap": {"name": "kiali-cabundle", "optional": true}},
                        ],
                    },
                },
            },
        }),
    ]
}
