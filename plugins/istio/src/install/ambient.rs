//! Ambient mode's node agents: istio-cni (sets up the traffic redirection of ambient pods) and
//! ztunnel (the per-node proxy), with their identities and RBAC.

use serde_json::{Map, Value, json};

use super::{Context, env, env_field, env_resource, istio_token_volume};
use crate::installed::CONTROL_PLANE_NAMESPACE as NS;

pub const CNI: &str = "istio-cni";
pub const CNI_DAEMONSET: &str = "istio-cni-node";
pub const ZTUNNEL: &str = "ztunnel";

pub fn objects(cx: &Context) -> Vec<Value> {
    let mut out = cni(cx);
    out.extend(ztunnel(cx));
    out
}

fn cni_labels(cx: &Context) -> Map<String, Value> {
    cx.labels_with(
        CNI,
        &[
            ("app", CNI),
            ("istio.io/rev", "default"),
            ("operator.istio.io/component", "Cni"),
            ("release", "istio-cni"),
        ],
    )
}

fn cni(cx: &Context) -> Vec<Value> {
    let labels = cni_labels(cx);
    let meta = |name: &str| json!({"name": name, "namespace": NS, "labels": labels});
    let cluster_meta = |name: &str| json!({"name": name, "labels": labels});
    let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| json!({"apiGroups": groups, "resources": resources, "verbs": verbs});
    let mut out = vec![json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(CNI)})];
    for (name, rules) in [
        (
            CNI.to_string(),
            vec![rule(&[""], &["pods", "nodes", "namespaces"], &["get", "list", "watch"])],
        ),
        (
            format!("{CNI}-repair-role"),
            vec![
                rule(&[""], &["events"], &["create", "patch"]),
                rule(&[""], &["pods"], &["watch", "get", "list"]),
            ],
        ),
        (
            format!("{CNI}-ambient"),
            vec![rule(&[""], &["pods/status"], &["patch", "update"])],
        ),
    ] {
        let binding = if name.ends_with("-repair-role") {
            format!("{CNI}-repair-rolebinding")
        } else {
            name.clone()
        };
        out.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": cluster_meta(&name),
            "rules": rules,
        }));
        out.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": cluster_meta(&binding),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": CNI, "namespace": NS}],
        }));
    }
    // The agent reads its settings from this ConfigMap as environment variables.
    let selector = "- podSelector:\n    matchLabels: {istio.io/dataplane-mode: ambient}\n\
- podSelector:\n    matchExpressions:\n    - {key: istio.io/dataplane-mode, operator: NotIn, values: [none]}\n  \
namespaceSelector:\n    matchLabels: {istio.io/dataplane-mode: ambient}\n";
    out.push(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(&format!("{CNI}-config")),
        "data": {
            "CURRENT_AGENT_VERSION": cx.version(),
            "AMBIENT_ENABLED": "true",
            "AMBIENT_ENABLEMENT_SELECTOR": selector,
            "AMBIENT_DNS_CAPTURE": "true",
            "AMBIENT_IPV6": "true",
            "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP": "false",
            "CHAINED_CNI_PLUGIN": "true",
            "EXCLUDE_NAMESPACES": "kube-system",
            "REPAIR_ENABLED": "true",
            "REPAIR_LABEL_PODS": "false",
            "REPAIR_DELETE_PODS": "false",
            "REPAIR_REPAIR_PODS": "true",
            "REPAIR_INIT_CONTAINER_NAME": "istio-validation",
            "REPAIR_BROKEN_POD_LABEL_KEY": "cni.istio.io/uninitialized",
            "REPAIR_BROKEN_POD_LABEL_VALUE": "true",
        },
    }));
    let mut ds_labels = labels.clone();
    ds_labels.insert("k8s-app".into(), CNI_DAEMONSET.into());
    let host = |name: &str, path: &str, kind: Option<&str>| {
        let mut v = json!({"name": name, "hostPath": {"path": path}});
        if let Some(k) = kind {
            v["hostPath"]["type"] = json!(k);
        }
        v
    };
    out.push(json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": CNI_DAEMONSET, "namespace": NS, "labels": ds_labels},
        "spec": {
            "selector": {"matchLabels": {"k8s-app": CNI_DAEMONSET}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {
                    "labels": {
                        "k8s-app": CNI_DAEMONSET,
                        "sidecar.istio.io/inject": "false",
                        "istio.io/dataplane-mode": "none",
                        "app.kubernetes.io/name": CNI,
                        "app.kubernetes.io/part-of": "istio",
                        "app.kubernetes.io/version": cx.version(),
                    },
                    "annotations": {
                        "sidecar.istio.io/inject": "false",
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": "15014",
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "tolerations": [
                        {"effect": "NoSchedule", "operator": "Exists"},
                        {"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"effect": "NoExecute", "operator": "Exists"},
                    ],
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": CNI,
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{
                        "name": "install-cni",
                        "image": cx.image("install-cni"),
                        "command": ["install-cni"],
                        "args": ["--log_output_level=info"],
                        "ports": [{"containerPort": 15014, "name": "metrics", "protocol": "TCP"}],
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8000}},
                        "securityContext": {
                            "privileged": false,
                            "runAsGroup": 0,
                            "runAsUser": 0,
                            "runAsNonRoot": false,
                            "capabilities": {
                                "drop": ["ALL"],
                                "add": ["NET_ADMIN", "NET_RAW", "SYS_PTRACE", "SYS_ADMIN", "DAC_OVERRIDE"],
                            },
                        },
                        "envFrom": [{"configMapRef": {"name": format!("{CNI}-config")}}],
                        "env": [
                            env_field("REPAIR_NODE_NAME", "spec.nodeName"),
                            env("REPAIR_RUN_AS_DAEMON", "true"),
                            env("REPAIR_SIDECAR_ANNOTATION", "sidecar.istio.io/status"),
                            env("ALLOW_SWITCH_TO_HOST_NS", "true"),
                            env_field("NODE_NAME", "spec.nodeName"),
                            env_resource("GOMEMLIMIT", "limits.memory"),
                            env_resource("GOMAXPROCS", "limits.cpu"),
                            env_field("POD_NAME", "metadata.name"),
                            env_field("POD_NAMESPACE", "metadata.namespace"),
                        ],
                        "volumeMounts": [
                            {"mountPath": "/host/opt/cni/bin", "name": "cni-bin-dir"},
                            {"mountPath": "/host/proc", "name": "cni-host-procfs", "readOnly": true},
                            {"mountPath": "/host/etc/cni/net.d", "name": "cni-net-dir"},
                            {"mountPath": "/var/run/istio-cni", "name": "cni-socket-dir"},
                            {"mountPath": "/host/var/run/netns", "mountPropagation": "HostToContainer", "name": "cni-netns-dir"},
                            {"mountPath": "/var/run/ztunnel", "name": "cni-ztunnel-sock-dir"},
                        ],
                        "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}},
                    }],
                    "volumes": [
                        host("cni-bin-dir", "/opt/cni/bin", None),
                        host("cni-host-procfs", "/proc", Some("Directory")),
                        host("cni-ztunnel-sock-dir", "/var/run/ztunnel", Some("DirectoryOrCreate")),
                        host("cni-net-dir", "/etc/cni/net.d", None),
                        host("cni-socket-dir", "/var/run/istio-cni", None),
                        host("cni-netns-dir", "/var/run/netns", Some("DirectoryOrCreate")),
                    ],
                },
            },
        },
    }));
    out
}

/// ztunnel needs no Kubernetes API rights of its own (it learns everything from istiod over
/// xDS): upstream gives it a ServiceAccount, whose token istiod trusts for node proxies
/// (`CA_TRUSTED_NODE_ACCOUNTS`), and no ClusterRole outside OpenShift.
fn ztunnel(cx: &Context) -> Vec<Value> {
    let labels = cx.labels_with(ZTUNNEL, &[("app", ZTUNNEL), ("release", "ztunnel")]);
    let istiod = format!("istiod.{NS}.svc:15012");
    vec![
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": ZTUNNEL, "namespace": NS, "labels": labels},
        }),
        json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": ZTUNNEL, "namespace": NS, "labels": labels},
            "spec": {
                "updateStrategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "selector": {"matchLabels": {"app": ZTUNNEL}},
                "template": {
                    "metadata": {
                        "labels": {
                            "sidecar.istio.io/inject": "false",
                            "istio.io/dataplane-mode": "none",
                            "app": ZTUNNEL,
                            "app.kubernetes.io/name": ZTUNNEL,
                            "app.kubernetes.io/part-of": "istio",
                            "app.kubernetes.io/version": cx.version(),
                        },
                        "annotations": {
                            "sidecar.istio.io/inject": "false",
                            "prometheus.io/port": "15020",
                            "prometheus.io/scrape": "true",
                        },
                    },
                    "spec": {
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                        "serviceAccountName": ZTUNNEL,
                        "tolerations": [
                            {"effect": "NoSchedule", "operator": "Exists"},
                            {"key": "CriticalAddonsOnly", "operator": "Exists"},
                            {"effect": "NoExecute", "operator": "Exists"},
                        ],
                        "containers": [{
                            "name": "istio-proxy",
                            "image": cx.image("ztunnel"),
                            "ports": [{"containerPort": 15020, "name": "ztunnel-stats", "protocol": "TCP"}],
                            "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}},
                            "securityContext": {
                                "allowPrivilegeEscalation": true,
                                "privileged": false,
                                "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "SYS_ADMIN", "NET_RAW"]},
                                "readOnlyRootFilesystem": true,
                                "runAsGroup": 1337,
                                "runAsNonRoot": false,
                                "runAsUser": 0,
                            },
                            "readinessProbe": {"httpGet": {"port": 15021, "path": "/healthz/ready"}},
                            "args": ["proxy", "ztunnel"],
                            "env": [
                                env("CA_ADDRESS", &istiod),
                                env("XDS_ADDRESS", &istiod),
                                env("RUST_LOG", "info"),
                                env("RUST_BACKTRACE", "1"),
                                env("ISTIO_META_CLUSTER_ID", "Kubernetes"),
                                env("INPOD_ENABLED", "true"),
                                env("TERMINATION_GRACE_PERIOD_SECONDS", "30"),
                                env_field("POD_NAME", "metadata.name"),
                                env_field("POD_NAMESPACE", "metadata.namespace"),
                                env_field("NODE_NAME", "spec.nodeName"),
                                env_field("INSTANCE_IP", "status.podIP"),
                                env_field("SERVICE_ACCOUNT", "spec.serviceAccountName"),
                                env("ISTIO_META_ENABLE_HBONE", "true"),
                                env_resource("ZTUNNEL_CPU_LIMIT", "limits.cpu"),
                            ],
                            "volumeMounts": [
                                {"mountPath": "/var/run/secrets/istio", "name": "istiod-ca-cert"},
                                {"mountPath": "/var/run/secrets/tokens", "name": "istio-token"},
                                {"mountPath": "/var/run/ztunnel", "name": "cni-ztunnel-sock-dir"},
                                {"mountPath": "/tmp", "name": "tmp"},
                            ],
                        }],
                        "priorityClassName": "system-node-critical",
                        "terminationGracePeriodSeconds": 30,
                        "volumes": [
                            istio_token_volume(),
                            {"name": "istiod-ca-cert", "configMap": {"name": "istio-ca-root-cert"}},
                            {"name": "cni-ztunnel-sock-dir", "hostPath": {"path": "/var/run/ztunnel", "type": "DirectoryOrCreate"}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
        }),
    ]
}
