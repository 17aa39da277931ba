//! istiod: the control plane's identity, RBAC, mesh and injection configuration, Service,
//! Deployment, disruption budget, autoscaler and admission webhooks.

use serde_json::{Map, Value, json};

use super::{Context, env, env_field, env_resource, hpa, istio_token_volume, pdb};
use crate::installed::CONTROL_PLANE_NAMESPACE as NS;

/// The injection template istiod renders for every injected pod.
const SIDECAR_TEMPLATE: &str = include_str!("../../assets/install/sidecar-template.yaml");

pub const NAME: &str = "istiod";
const REV: &str = "default";

pub fn objects(cx: &Context) -> Vec<Value> {
    let mut out = vec![
        service_account(cx),
        mesh_config(cx),
        injector_config(cx),
        role(cx),
        role_binding(cx),
    ];
    out.extend(cluster_roles(cx));
    out.push(service(cx));
    out.push(deployment(cx));
    out.push(pdb(NAME, labels(cx), json!({"app": "istiod", "istio": "pilot"})));
    if cx.autoscale {
        out.push(hpa(NAME, labels(cx)));
    }
    out.push(mutating_webhook(cx));
    out.push(validating_webhook(cx));
    out
}

/// The labels upstream's istiod chart sets on its objects.
fn labels(cx: &Context) -> Map<String, Value> {
    cx.labels_with(
        NAME,
        &[
            ("app", "istiod"),
            ("istio", "pilot"),
            ("istio.io/rev", REV),
            ("operator.istio.io/component", "Pilot"),
            ("release", "istio"),
        ],
    )
}

fn meta(cx: &Context, name: &str) -> Value {
    json!({"name": name, "namespace": NS, "labels": labels(cx)})
}

fn service_account(cx: &Context) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(cx, NAME)})
}

/// The mesh configuration (ConfigMap `istio`, key `mesh`).
fn mesh_config(cx: &Context) -> Value {
    // Ambient needs no mesh-wide switch: upstream's ambient profile sets only the HBONE proxy
    // metadata below (and PILOT_ENABLE_AMBIENT on istiod).
    let mut mesh = String::new();
    if cx.profile == super::Profile::Demo {
        mesh.push_str("accessLogFile: /dev/stdout\n");
    }
    mesh.push_str(&format!(
        "defaultConfig:\n  discoveryAddress: istiod.{NS}.svc:15012\n{}\
defaultProviders:\n  metrics:\n  - prometheus\n\
enablePrometheusMerge: true\n\
rootNamespace: {NS}\n\
trustDomain: cluster.local\n",
        if cx.profile.ambient() {
            "  proxyMetadata:\n    ISTIO_META_ENABLE_HBONE: \"true\"\n"
        } else {
            ""
        }
    ));
    if cx.profile == super::Profile::Demo {
        mesh.push_str(
            "extensionProviders:\n- name: otel\n  envoyOtelAls:\n    service: opentelemetry-collector.observability.svc.cluster.local\n    port: 4317\n\
- name: zipkin\n  zipkin:\n    service: zipkin.istio-system.svc.cluster.local\n    port: 9411\n",
        );
    }
    let mut metadata = meta(cx, "istio");
    metadata["annotations"] = Value::Object(cx.record());
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": {"mesh": mesh, "meshNetworks": "networks: {}"},
    })
}

/// The values istiod hands to the injection templates (`.Values`).
fn injector_values(cx: &Context) -> Value {
    json!({
        "global": {
            "hub": cx.hub,
            "tag": cx.version(),
            "istioNamespace": NS,
            "pilotCertProvider": "istiod",
            "jwtPolicy": "third-party-jwt",
            "logging": {"level": "default:info"},
            "multiCluster": {"clusterName": "", "enabled": false},
            "meshID": "",
            "network": "",
            "proxy": {
                "image": "proxyv2",
                "clusterDomain": "cluster.local",
                "logLevel": "warning",
                "componentLogLevel": "misc:error",
                "statusPort": 15020,
                "includeIPRanges": "*",
                "excludeIPRanges": "",
                "includeInboundPorts": "*",
                "excludeInboundPorts": "",
                "privileged": false,
                "holdApplicationUntilProxyStarts": false,
                "resources": if cx.profile == super::Profile::Demo {
                    json!({"requests": {"cpu": "10m", "memory": "40Mi"}, "limits": {"cpu": "2000m", "memory": "1024Mi"}})
                } else {
                    json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "2000m", "memory": "1024Mi"}})
                },
            },
            "proxy_init": {"image": "proxyv2"},
        },
        "istio_cni": {"enabled": cx.profile.ambient(), "chained": true},
        "revision": "",
        "sidecarInjectorWebhook": {"rewriteAppHTTPProbe": true, "defaultTemplates": [], "templates": {}},
    })
}

/// ConfigMap `istio-sidecar-injector`: `config` (policy and templates) and `values`.
fn injector_config(cx: &Context) -> Value {
    let mut config = String::from(
        "defaultTemplates: [sidecar]\npolicy: enabled\nalwaysInjectSelector: []\nneverInjectSelector: []\ninjectedAnnotations: {}\ntemplates:\n  sidecar: |\n",
    );
    for line in SIDECAR_TEMPLATE.lines() {
        if !line.is_empty() {
            config.push_str("    ");
            config.push_str(line);
        }
        config.push('\n');
    }
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(cx, "istio-sidecar-injector"),
        "data": {
            "config": config,
            "values": serde_json::to_string_pretty(&injector_values(cx)).unwrap_or_default(),
        },
    })
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

const ALL: &[&str] = &["get", "watch", "list", "update", "patch", "create", "delete"];
const READ: &[&str] = &["get", "watch", "list"];

/// istiod's ClusterRoles and their bindings: the control plane, the Gateway API deployment
/// controller, and the reader role multi-cluster peers use.
fn cluster_roles(cx: &Context) -> Vec<Value> {
    let istio_groups = &[
        "config.istio.io",
        "security.istio.io",
        "networking.istio.io",
        "authentication.istio.io",
        "rbac.istio.io",
        "telemetry.istio.io",
        "extensions.istio.io",
    ];
    let control = vec![
        rule(
            &["admissionregistration.k8s.io"],
            &["mutatingwebhookconfigurations"],
            &["get", "list", "watch", "update", "patch"],
        ),
        rule(
            &["admissionregistration.k8s.io"],
            &["validatingwebhookconfigurations"],
            &["get", "list", "watch", "update"],
        ),
        rule(istio_groups, &["*"], READ),
        rule(&["networking.istio.io"], &["workloadentries"], ALL),
        rule(
            &["networking.istio.io"],
            &["workloadentries/status", "serviceentries/status"],
            ALL,
        ),
        rule(&["security.istio.io"], &["authorizationpolicies/status"], ALL),
        rule(&[""], &["services/status"], ALL),
        rule(&["apiextensions.k8s.io"], &["customresourcedefinitions"], READ),
        rule(&[""], &["pods", "nodes", "services", "namespaces", "endpoints"], READ),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        rule(&["networking.k8s.io"], &["ingresses", "ingressclasses"], READ),
        rule(&["networking.k8s.io"], &["ingresses/status"], &["*"]),
        rule(&[""], &["configmaps"], &["create", "get", "list", "watch", "update"]),
        rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
        rule(&["authorization.k8s.io"], &["subjectaccessreviews"], &["create"]),
        rule(
            &["gateway.networking.k8s.io", "gateway.networking.x-k8s.io"],
            &["*"],
            READ,
        ),
        rule(
            &["gateway.networking.k8s.io"],
            &[
                "backendtlspolicies/status",
                "gatewayclasses/status",
                "gateways/status",
                "grpcroutes/status",
                "httproutes/status",
                "referencegrants/status",
                "tcproutes/status",
                "tlsroutes/status",
                "udproutes/status",
            ],
            &["update", "patch"],
        ),
        rule(
            &["gateway.networking.k8s.io"],
            &["gatewayclasses"],
            &["create", "update", "patch", "delete"],
        ),
        rule(&[""], &["secrets"], READ),
        rule(
            &["multicluster.x-k8s.io"],
            &["serviceexports"],
            &["get", "watch", "list", "create", "delete"],
        ),
        rule(&["multicluster.x-k8s.io"], &["serviceimports"], READ),
    ];
    let gateway_controller = vec![
        rule(&["apps"], &["deployments"], ALL),
        rule(&["autoscaling"], &["horizontalpodautoscalers"], ALL),
        rule(&["policy"], &["poddisruptionbudgets"], ALL),
        rule(&[""], &["services"], ALL),
        rule(&[""], &["serviceaccounts"], ALL),
    ];
    let reader = vec![
        rule(
            &[
                "config.istio.io",
                "security.istio.io",
                "networking.istio.io",
                "authentication.istio.io",
                "rbac.istio.io",
                "telemetry.istio.io",
                "extensions.istio.io",
            ],
            &["*"],
            READ,
        ),
        rule(
            &[""],
            &[
                "endpoints",
                "pods",
                "services",
                "nodes",
                "replicationcontrollers",
                "namespaces",
                "secrets",
            ],
            READ,
        ),
        rule(&["networking.istio.io"], &["workloadentries"], READ),
        rule(
            &["networking.x-k8s.io", "gateway.networking.k8s.io"],
            &["gateways"],
            READ,
        ),
        rule(&["apiextensions.k8s.io"], &["customresourcedefinitions"], READ),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        rule(&["multicluster.x-k8s.io"], &["serviceexports", "serviceimports"], READ),
        rule(&["apps"], &["replicasets"], READ),
        rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
        rule(&["authorization.k8s.io"], &["subjectaccessreviews"], &["create"]),
    ];
    let mut out = Vec::new();
    for (name, rules, account) in [
        (format!("istiod-clusterrole-{NS}"), control, NAME),
        (format!("istiod-gateway-controller-{NS}"), gateway_controller, NAME),
        (
            format!("istio-reader-clusterrole-{NS}"),
            reader,
            "istio-reader-service-account",
        ),
    ] {
        out.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels(cx)},
            "rules": rules,
        }));
        out.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": labels(cx)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": NS}],
        }));
    }
    out.push(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(cx, "istio-reader-service-account"),
    }));
    out
}

fn role(cx: &Context) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(cx, NAME),
        "rules": [
            rule(&["networking.istio.io"], &["gateways"], &["create"]),
            rule(&[""], &["secrets"], &["create", "get", "watch", "list", "update", "delete"]),
            rule(&[""], &["configmaps"], &["delete"]),
            rule(&["coordination.k8s.io"], &["leases"], &["get", "update", "patch", "create"]),
        ],
    })
}

fn role_binding(cx: &Context) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta(cx, NAME),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NS}],
    })
}

fn service(cx: &Context) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(cx, NAME),
        "spec": {
            "ports": [
                {"name": "grpc-xds", "port": 15010, "protocol": "TCP"},
                {"name": "https-dns", "port": 15012, "protocol": "TCP"},
                {"name": "https-webhook", "port": 443, "targetPort": 15017, "protocol": "TCP"},
                {"name": "http-monitoring", "port": 15014, "protocol": "TCP"},
            ],
            "selector": {"app": "istiod", "istio": "pilot"},
        },
    })
}

fn deployment(cx: &Context) -> Value {
    let demo = cx.profile == super::Profile::Demo;
    let mut env_vars = vec![
        env("REVISION", REV),
        env("PILOT_CERT_PROVIDER", "istiod"),
        env_field("POD_NAME", "metadata.name"),
        env_field("POD_NAMESPACE", "metadata.namespace"),
        env_field("SERVICE_ACCOUNT", "spec.serviceAccountName"),
        env("KUBECONFIG", "/var/run/secrets/remote/config"),
        env("PILOT_TRACE_SAMPLING", if demo { "100" } else { "1" }),
        env("PILOT_ENABLE_ANALYSIS", "false"),
        env("CLUSTER_ID", "Kubernetes"),
        env_resource("GOMEMLIMIT", "limits.memory"),
        env_resource("GOMAXPROCS", "limits.cpu"),
        env("PLATFORM", ""),
    ];
    if cx.profile.ambient() {
        env_vars.push(env("PILOT_ENABLE_AMBIENT", "true"));
        env_vars.push(env("CA_TRUSTED_NODE_ACCOUNTS", &format!("{NS}/ztunnel")));
    }
    let resources = if demo {
        json!({"requests": {"cpu": "10m", "memory": "100Mi"}})
    } else {
        json!({"requests": {"cpu": "500m", "memory": "2048Mi"}})
    };
    let pod_labels = json!({
        "app": "istiod",
        "istio.io/rev": REV,
        "install.operator.istio.io/owning-resource": "unknown",
        "sidecar.istio.io/inject": "false",
        "operator.istio.io/component": "Pilot",
        "istio": "pilot",
        "istio.io/dataplane-mode": "none",
        "app.kubernetes.io/name": NAME,
        "app.kubernetes.io/part-of": "istio",
        "app.kubernetes.io/version": cx.version(),
    });
    let mut spec = json!({
        "strategy": {"rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "25%"}},
        "selector": {"matchLabels": {"istio": "pilot"}},
        "template": {
            "metadata": {
                "labels": pod_labels,
                "annotations": {
                    "prometheus.io/port": "15014",
                    "prometheus.io/scrape": "true",
                    "sidecar.istio.io/inject": "false",
                },
            },
            "spec": {
                "tolerations": [{"key": "cni.istio.io/not-ready", "operator": "Exists"}],
                "serviceAccountName": NAME,
                "containers": [{
                    "name": "discovery",
                    "image": cx.image("pilot"),
                    "args": [
                        "discovery",
                        "--monitoringAddr=:15014",
                        "--log_output_level=default:info",
                        "--domain",
                        "cluster.local",
                        "--keepaliveMaxServerConnectionAge",
                        "30m",
                    ],
                    "ports": [
                        {"containerPort": 8080, "protocol": "TCP", "name": "http-debug"},
                        {"containerPort": 15010, "protocol": "TCP", "name": "grpc-xds"},
                        {"containerPort": 15012, "protocol": "TCP", "name": "tls-xds"},
                        {"containerPort": 15017, "protocol": "TCP", "name": "https-webhooks"},
                        {"containerPort": 15014, "protocol": "TCP", "name": "http-monitoring"},
                    ],
                    "readinessProbe": {
                        "httpGet": {"path": "/ready", "port": 8080},
                        "initialDelaySeconds": 1,
                        "periodSeconds": 3,
                        "timeoutSeconds": 5,
                    },
                    "env": env_vars,
                    "resources": resources,
                    "securityContext": {
                        "allowPrivilegeEscalation": false,
                        "readOnlyRootFilesystem": true,
                        "runAsNonRoot": true,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "volumeMounts": [
                        {"name": "istio-token", "mountPath": "/var/run/secrets/tokens", "readOnly": true},
                        {"name": "local-certs", "mountPath": "/var/run/secrets/istio-dns"},
                        {"name": "cacerts", "mountPath": "/etc/cacerts", "readOnly": true},
                        {"name": "istio-kubeconfig", "mountPath": "/var/run/secrets/remote", "readOnly": true},
                        {"name": "istio-csr-dns-cert", "mountPath": "/var/run/secrets/istiod/tls", "readOnly": true},
                        {"name": "istio-csr-ca-configmap", "mountPath": "/var/run/secrets/istiod/ca", "readOnly": true},
                    ],
                }],
                "volumes": [
                    {"name": "local-certs", "emptyDir": {"medium": "Memory"}},
                    istio_token_volume(),
                    {"name": "cacerts", "secret": {"secretName": "cacerts", "optional": true}},
                    {"name": "istio-kubeconfig", "secret": {"secretName": "istio-kubeconfig", "optional": true}},
                    {"name": "istio-csr-dns-cert", "secret": {"secretName": "istiod-tls", "optional": true}},
                    {"name": "istio-csr-ca-configmap", "configMap": {"name": "istio-ca-root-cert", "defaultMode": 420, "optional": true}},
                ],
            },
        },
    });
    if !cx.autoscale {
        spec["replicas"] = json!(1);
    }
    let mut metadata = meta(cx, NAME);
    metadata["annotations"] = Value::Object(cx.record());
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec})
}

/// The injector: four webhooks, as upstream's default revision has them, so a pod is injected
/// when its namespace says `istio-injection=enabled` or `istio.io/rev=default`, or the pod itself
/// says `sidecar.istio.io/inject=true`, and never when the pod says `false`.
fn mutating_webhook(cx: &Context) -> Value {
    let expr = |key: &str, op: &str, values: &[&str]| {
        let mut e = json!({"key": key, "operator": op});
        if !values.is_empty() {
            e["values"] = json!(values);
        }
        e
    };
    let not_false = expr("sidecar.istio.io/inject", "NotIn", &["false"]);
    let webhook = |name: &str, namespace: Vec<Value>, object: Vec<Value>| {
        json!({
            "name": name,
            "clientConfig": {"service": {"name": NAME, "namespace": NS, "path": "/inject", "port": 443}},
            "sideEffects": "None",
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
            "failurePolicy": "Fail",
            "reinvocationPolicy": "Never",
            "admissionReviewVersions": ["v1beta1", "v1"],
            "namespaceSelector": {"matchExpressions": namespace},
            "objectSelector": {"matchExpressions": object},
        })
    };
    let mut labels = labels(cx);
    labels.insert("app".into(), "sidecar-injector".into());
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "istio-sidecar-injector", "labels": labels},
        "webhooks": [
            webhook(
                "rev.namespace.sidecar-injector.istio.io",
                vec![expr("istio.io/rev", "In", &[REV]), expr("istio-injection", "DoesNotExist", &[])],
                vec![not_false.clone()],
            ),
            webhook(
                "rev.object.sidecar-injector.istio.io",
                vec![expr("istio.io/rev", "DoesNotExist", &[]), expr("istio-injection", "DoesNotExist", &[])],
                vec![not_false.clone(), expr("istio.io/rev", "In", &[REV])],
            ),
            webhook(
                "namespace.sidecar-injector.istio.io",
                vec![expr("istio-injection", "In", &["enabled"])],
                vec![not_false.clone()],
            ),
            webhook(
                "object.sidecar-injector.istio.io",
                vec![expr("istio-injection", "DoesNotExist", &[]), expr("istio.io/rev", "DoesNotExist", &[])],
                vec![expr("sidecar.istio.io/inject", "In", &["true"]), expr("istio.io/rev", "DoesNotExist", &[])],
            ),
        ],
    })
}

/// Validation of Istio configuration. It fails open (`Ignore`) as upstream installs it; istiod
/// switches it to `Fail` and patches in the CA bundle once its webhook serves.
fn validating_webhook(cx: &Context) -> Value {
    let webhook = |name: &str, selector: Value| {
        json!({
            "name": name,
            "clientConfig": {"service": {"name": NAME, "namespace": NS, "path": "/validate", "port": 443}},
            "rules": [{
                "operations": ["CREATE", "UPDATE"],
                "apiGroups": ["security.istio.io", "networking.istio.io", "telemetry.istio.io", "extensions.istio.io"],
                "apiVersions": ["*"],
                "resources": ["*"],
            }],
            "failurePolicy": "Ignore",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1beta1", "v1"],
            "objectSelector": {"matchExpressions": [selector]},
        })
    };
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": format!("istio-validator-{NS}"), "labels": labels(cx)},
        "webhooks": [
            webhook("rev.validation.istio.io", json!({"key": "istio.io/rev", "operator": "In", "values": [REV]})),
            webhook("validation.istio.io", json!({"key": "istio.io/rev", "operator": "DoesNotExist"})),
        ],
    })
}
