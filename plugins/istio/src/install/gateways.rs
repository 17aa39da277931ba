//! The ingress and egress gateways of the default and demo profiles: Envoy in router mode
//! (`proxyv2`), each with its ServiceAccount, SDS Role, Service, disruption budget and autoscaler.

use serde_json::{Value, json};

use super::{Context, Profile, env, env_field, env_resource, hpa, istio_token_volume, pdb};
use crate::installed::CONTROL_PLANE_NAMESPACE as NS;

pub const INGRESS: &str = "istio-ingressgateway";
pub const EGRESS: &str = "istio-egressgateway";

struct Gateway {
    name: &'static str,
    /// The `istio` label gateways are selected by (Gateway.spec.selector).
    istio: &'static str,
    component: &'static str,
    service_type: &'static str,
}

pub fn objects(cx: &Context) -> Vec<Value> {
    let mut out = Vec::new();
    if cx.profile.ingress_gateway() {
        out.extend(gateway(
            cx,
            &Gateway {
                name: INGRESS,
                istio: "ingressgateway",
                component: "IngressGateways",
                // Upstream's profiles expose the ingress gateway through a load balancer.
                service_type: "LoadBalancer",
            },
        ));
    }
    if cx.profile.egress_gateway() {
        out.extend(gateway(
            cx,
            &Gateway {
                name: EGRESS,
                istio: "egressgateway",
                component: "EgressGateways",
                service_type: "ClusterIP",
            },
        ));
    }
    out
}

fn gateway(cx: &Context, g: &Gateway) -> Vec<Value> {
    let labels = cx.labels_with(
        g.name,
        &[
            ("app", g.name),
            ("istio", g.istio),
            ("istio.io/rev", "default"),
            ("operator.istio.io/component", g.component),
            ("release", "istio"),
        ],
    );
    let selector = json!({"app": g.name, "istio": g.istio});
    let meta = |name: &str| json!({"name": name, "namespace": NS, "labels": labels});
    let account = format!("{}-service-account", g.name);
    let sds = format!("{}-sds", g.name);
    let demo = cx.profile == Profile::Demo;

    let mut ports = vec![
        json!({"name": "status-port", "port": 15021, "targetPort": 15021, "protocol": "TCP"}),
        json!({"name": "http2", "port": 80, "targetPort": 8080, "protocol": "TCP"}),
        json!({"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}),
    ];
    if g.service_type != "LoadBalancer" {
        ports.remove(0); // the egress gateway's health port stays inside the cluster
    }
    let container_ports = vec![
        json!({"containerPort": 15021, "protocol": "TCP"}),
        json!({"containerPort": 8080, "protocol": "TCP"}),
        json!({"containerPort": 8443, "protocol": "TCP"}),
        json!({"containerPort": 15090, "protocol": "TCP", "name": "http-envoy-prom"}),
    ];
    let resources = if demo {
        json!({"requests": {"cpu": "10m", "memory": "40Mi"}, "limits": {"cpu": "2000m", "memory": "1024Mi"}})
    } else {
        json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "2000m", "memory": "1024Mi"}})
    };

    let mut pod_labels = selector.clone();
    for (k, v) in [
        ("sidecar.istio.io/inject", "false"),
        ("service.istio.io/canonical-name", g.name),
        ("service.istio.io/canonical-revision", "latest"),
        ("istio.io/rev", "default"),
        ("operator.istio.io/component", g.component),
        ("app.kubernetes.io/name", g.name),
        ("app.kubernetes.io/part-of", "istio"),
        ("app.kubernetes.io/version", cx.version()),
    ] {
        pod_labels[k] = json!(v);
    }
    let mut deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(g.name),
        "spec": {
            "selector": {"matchLabels": selector},
            "strategy": {"rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    "annotations": {
                        "prometheus.io/port": "15020",
                        "prometheus.io/scrape": "true",
                        "prometheus.io/path": "/stats/prometheus",
                        "sidecar.istio.io/inject": "false",
                    },
                },
                "spec": {
                    "securityContext": {"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]},
                    "serviceAccountName": account,
                    "containers": [{
                        "name": "istio-proxy",
                        "image": cx.image("proxyv2"),
                        "ports": container_ports,
                        "args": [
                            "proxy",
                            "router",
                            "--domain",
                            "$(POD_NAMESPACE).svc.cluster.local",
                            "--proxyLogLevel=warning",
                            "--proxyComponentLogLevel=misc:error",
                            "--log_output_level=default:info",
                        ],
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "capabilities": {"drop": ["ALL"]},
                            "privileged": false,
                            "readOnlyRootFilesystem": true,
                            "runAsUser": 1337,
                            "runAsGroup": 1337,
                            "runAsNonRoot": true,
                        },
                        "readinessProbe": {
                            "failureThreshold": 30,
                            "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                            "initialDelaySeconds": 1,
                            "periodSeconds": 2,
                            "successThreshold": 1,
                            "timeoutSeconds": 1,
                        },
                        "resources": resources,
                        "env": [
                            env("PILOT_CERT_PROVIDER", "istiod"),
                            env("CA_ADDR", &format!("istiod.{NS}.svc:15012")),
                            env_field("NODE_NAME", "spec.nodeName"),
                            env_field("POD_NAME", "metadata.name"),
                            env_field("POD_NAMESPACE", "metadata.namespace"),
                            env_field("INSTANCE_IP", "status.podIP"),
                            env_field("HOST_IP", "status.hostIP"),
                            env_resource("ISTIO_CPU_LIMIT", "limits.cpu"),
                            env_field("SERVICE_ACCOUNT", "spec.serviceAccountName"),
                            env("ISTIO_META_WORKLOAD_NAME", g.name),
                            env("ISTIO_META_OWNER", &format!("kubernetes://apis/apps/v1/namespaces/{NS}/deployments/{}", g.name)),
                            env("ISTIO_META_MESH_ID", "cluster.local"),
                            env("TRUST_DOMAIN", "cluster.local"),
                            env("ISTIO_META_UNPRIVILEGED_POD", "true"),
                            env("ISTIO_META_CLUSTER_ID", "Kubernetes"),
                            env_field("ISTIO_META_NODE_NAME", "spec.nodeName"),
                        ],
                        "volumeMounts": [
                            {"name": "workload-socket", "mountPath": "/var/run/secrets/workload-spiffe-uds"},
                            {"name": "credential-socket", "mountPath": "/var/run/secrets/credential-uds"},
                            {"name": "workload-certs", "mountPath": "/var/run/secrets/workload-spiffe-credentials"},
                            {"name": "istio-envoy", "mountPath": "/etc/istio/proxy"},
                            {"name": "config-volume", "mountPath": "/etc/istio/config"},
                            {"name": "istiod-ca-cert", "mountPath": "/var/run/secrets/istio"},
                            {"name": "istio-token", "mountPath": "/var/run/secrets/tokens", "readOnly": true},
                            {"name": "istio-data", "mountPath": "/var/lib/istio/data"},
                            {"name": "podinfo", "mountPath": "/etc/istio/pod"},
                        ],
                    }],
                    "volumes": [
                        {"name": "workload-socket", "emptyDir": {}},
                        {"name": "credential-socket", "emptyDir": {}},
                        {"name": "workload-certs", "emptyDir": {}},
                        {"name": "istiod-ca-cert", "configMap": {"name": "istio-ca-root-cert"}},
                        {"name": "podinfo", "downwardAPI": {"items": [
                            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                            {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
                        ]}},
                        {"name": "istio-envoy", "emptyDir": {}},
                        {"name": "istio-data", "emptyDir": {}},
                        istio_token_volume(),
                        {"name": "config-volume", "configMap": {"name": "istio", "optional": true}},
                    ],
                },
            },
        },
    });
    if !cx.autoscale {
        deployment["spec"]["replicas"] = json!(1);
    }

    let mut out = vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(&account)}),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(&sds),
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(&sds),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sds},
            "subjects": [{"kind": "ServiceAccount", "name": account}],
        }),
        deployment,
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(g.name),
            "spec": {"type": g.service_type, "selector": selector, "ports": ports},
        }),
        pdb(g.name, labels.clone(), selector.clone()),
    ];
    if cx.autoscale {
        out.push(hpa(g.name, labels.clone()));
    }
    out
}
