//! Linkerd Viz (linkerd/linkerd2 `viz/charts/linkerd-viz`): metrics-api, tap (an aggregated API
//! service, v1alpha1.tap.linkerd.io), tap-injector (a pod webhook), the web dashboard and the
//! bundled Prometheus (included: the dashboard and `linkerd viz stat` read their metrics from
//! it). Grafana is not bundled upstream since 2.12 and is not here either.
//!
//! Left out: the policy.linkerd.io objects (Servers, AuthorizationPolicies,
//! MeshTLSAuthentications, NetworkAuthentications, HTTPRoutes), the ServiceProfiles of the
//! extension's own services, the namespace-metadata Job, PSP bindings, PDBs and ingress.

use serde_json::{Value, json};
use wasmesh_sdk::Error;

use super::{
    Ctx, DeploymentSpec, Line, admin_probes, cluster_role, cluster_role_binding, deployment, labels, map, namespace,
    pod_webhook, restricted, rules_json, service, service_account, tls_secret,
};
use crate::installed::CONTROL_PLANE_NAMESPACE;

pub const NAMESPACE: &str = "linkerd-viz";
const EXT: &str = "viz";
const UID: u32 = 2103;

fn prometheus_image(line: Line) -> &'static str {
    match line {
        Line::Stable214 => "prom/prometheus:v2.48.0",
        Line::Edge25 => "prom/prometheus:v2.55.1",
    }
}

pub fn objects(ctx: &Ctx) -> Result<Vec<Value>, Error> {
    let ns = NAMESPACE;
    let l = |c: &str| labels(EXT, Some(c));
    let sel = |c: &str| map(&[("linkerd.io/extension", EXT), ("component", c)]);
    let common_args = |extra: &[String]| -> Vec<String> {
        let mut args = extra.to_vec();
        args.push(format!("-log-level={}", ctx.log_level));
        args.push("-log-format=plain".into());
        args
    };
    let read = &["list", "get", "watch"][..];
    let workloads: (&[&str], &[&str], &[&str]) = (
        &["extensions", "apps"],
        &["daemonsets", "deployments", "replicasets", "statefulsets"],
        read,
    );
    let jobs: (&[&str], &[&str], &[&str]) = (&["extensions", "batch"], &["cronjobs", "jobs"], read);
    let cluster_domain = ctx.cluster_domain.as_str();
    let mut out = vec![namespace(ns, EXT)];

    // Metrics API
    out.push(cluster_role(
        "linkerd-linkerd-viz-metrics-api",
        l("metrics-api"),
        &[
            workloads,
            jobs,
            (
                &[""],
                &["pods", "endpoints", "services", "replicationcontrollers", "namespaces"],
                read,
            ),
            (&["linkerd.io"], &["serviceprofiles"], read),
        ],
    ));
    out.push(cluster_role_binding(
        "linkerd-linkerd-viz-metrics-api",
        l("metrics-api"),
        "linkerd-linkerd-viz-metrics-api",
        "metrics-api",
        ns,
    ));
    out.push(service_account("metrics-api", ns, l("metrics-api")));
    out.push(service(
        "metrics-api",
        ns,
        l("metrics-api"),
        sel("metrics-api"),
        &[("http", 8085, json!(8085))],
    ));
    let mut metrics = json!({
        "name": "metrics-api",
        "image": ctx.image("metrics-api"),
        "imagePullPolicy": "IfNotPresent",
        "args": common_args(&[
            format!("-controller-namespace={CONTROL_PLANE_NAMESPACE}"),
            format!("-cluster-domain={cluster_domain}"),
            format!("-prometheus-url=http://prometheus.{ns}.svc.{cluster_domain}:9090"),
        ]),
        "ports": [{"name": "http", "containerPort": 8085}, {"name": "admin-http", "containerPort": 9995}],
        "securityContext": restricted(UID),
    });
    admin_probes(&mut metrics, 9995);
    out.push(deployment(
        ctx,
        DeploymentSpec {
            name: "metrics-api",
            ns,
            ext: EXT,
            app: "metrics-api",
            selector: sel("metrics-api"),
            service_account: "metrics-api",
            containers: vec![metrics],
            volumes: vec![],
            annotations: json!({}),
        },
    ));

    // Prometheus
    out.push(cluster_role(
        "linkerd-linkerd-viz-prometheus",
        l("prometheus"),
        &[(&[""], &["nodes", "nodes/proxy", "pods"], &["get", "list", "watch"])],
    ));
    out.push(cluster_role_binding(
        "linkerd-linkerd-viz-prometheus",
        l("prometheus"),
        "linkerd-linkerd-viz-prometheus",
        "prometheus",
        ns,
    ));
    out.push(service_account("prometheus", ns, l("prometheus")));
    out.push(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "prometheus-config",
            "namespace": ns,
            "labels": l("prometheus"),
            "annotations": {"linkerd.io/created-by": ctx.created_by()},
        },
        "data": {"prometheus.yml": prometheus_config()},
    }));
    out.push(service(
        "prometheus",
        ns,
        l("prometheus"),
        sel("prometheus"),
        &[("admin-http", 9090, json!(9090))],
    ));
    let prometheus = json!({
        "name": "prometheus",
        "image": prometheus_image(ctx.line),
        "imagePullPolicy": "IfNotPresent",
        "args": [
            format!("--log.level={}", prometheus_log_level(&ctx.log_level)),
            "--log.format=logfmt",
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/data",
            "--storage.tsdb.retention.time=6h",
        ],
        "ports": [{"name": "admin-http", "containerPort": 9090}],
        "livenessProbe": {"httpGet": {"path": "/-/healthy", "port": 9090}, "initialDelaySeconds": 30, "timeoutSeconds": 30},
        "readinessProbe": {"httpGet": {"path": "/-/ready", "port": 9090}, "initialDelaySeconds": 30, "timeoutSeconds": 30},
        "securityContext": restricted(65534),
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "prometheus-config", "mountPath": "/etc/prometheus/prometheus.yml", "subPath": "prometheus.yml", "readOnly": true},
        ],
    });
    out.push(deployment(
        ctx,
        DeploymentSpec {
            name: "prometheus",
            ns,
            ext: EXT,
            app: "prometheus",
            selector: sel("prometheus"),
            service_account: "prometheus",
            containers: vec![prometheus],
            volumes: vec![
                json!({"name": "data", "emptyDir": {}}),
                json!({"name": "prometheus-config", "configMap": {"name": "prometheus-config"}}),
            ],
            annotations: json!({}),
        },
    ));

    // Tap: an aggregated API (tap.linkerd.io) the API server reaches over TLS.
    out.push(cluster_role(
        "linkerd-linkerd-viz-tap",
        l("tap"),
        &[
            (
                &[""],
                &["pods", "services", "replicationcontrollers", "namespaces", "nodes"],
                read,
            ),
            workloads,
            jobs,
        ],
    ));
    out.push(cluster_role(
        "linkerd-linkerd-viz-tap-admin",
        l("tap"),
        &[
            (&[""], &["namespaces"], &["list"]),
            (&["tap.linkerd.io"], &["*"], &["watch"]),
        ],
    ));
    out.push(cluster_role_binding(
        "linkerd-linkerd-viz-tap",
        l("tap"),
        "linkerd-linkerd-viz-tap",
        "tap",
        ns,
    ));
    out.push(cluster_role_binding(
        "linkerd-linkerd-viz-tap-auth-delegator",
        l("tap"),
        "system:auth-delegator",
        "tap",
        ns,
    ));
    out.push(service_account("tap", ns, l("tap")));
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "linkerd-linkerd-viz-tap-auth-reader", "namespace": "kube-system", "labels": l("tap")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "extension-apiserver-authentication-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "tap", "namespace": ns}],
    }));
    let (tap_secret, tap_ca) = tls_secret(ctx, "tap-k8s-tls", "tap", ns, l("tap"))?;
    out.push(tap_secret);
    out.push(json!({
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": "v1alpha1.tap.linkerd.io", "labels": l("tap")},
        "spec": {
            "group": "tap.linkerd.io",
            "version": "v1alpha1",
            "groupPriorityMinimum": 1000,
            "versionPriority": 100,
            "service": {"name": "tap", "namespace": ns},
            "caBundle": tap_ca,
        },
    }));
    out.push(service(
        "tap",
        ns,
        l("tap"),
        sel("tap"),
        &[("grpc", 8088, json!(8088)), ("apiserver", 443, json!("apiserver"))],
    ));
    let mut tap = json!({
        "name": "tap",
        "image": ctx.image("tap"),
        "imagePullPolicy": "IfNotPresent",
        "args": common_args(&[
            "api".into(),
            format!("-api-namespace={CONTROL_PLANE_NAMESPACE}"),
            format!("-identity-trust-domain={}", ctx.trust_domain),
        ]),
        "ports": [
            {"name": "grpc", "containerPort": 8088},
            {"name": "apiserver", "containerPort": 8089},
            {"name": "admin", "containerPort": 9998},
        ],
        "securityContext": restricted(UID),
        "volumeMounts": [{"name": "tls", "mountPath": "/var/run/linkerd/tls", "readOnly": true}],
    });
    admin_probes(&mut tap, 9998);
    out.push(deployment(
        ctx,
        DeploymentSpec {
            name: "tap",
            ns,
            ext: EXT,
            app: "tap",
            selector: sel("tap"),
            service_account: "tap",
            containers: vec![tap],
            volumes: vec![json!({"name": "tls", "secret": {"secretName": "tap-k8s-tls"}})],
            annotations: json!({"config.alpha.linkerd.io/proxy-wait-before-exit-seconds": "0"}),
        },
    ));

    // Tap injector: adds the tap annotations to new meshed pods.
    out.push(cluster_role(
        "linkerd-tap-injector",
        l("tap-injector"),
        &[(&[""], &["namespaces"], &["get", "list", "watch"])],
    ));
    out.push(cluster_role_binding(
        "linkerd-tap-injector",
        l("tap-injector"),
        "linkerd-tap-injector",
        "tap-injector",
        ns,
    ));
    out.push(service_account("tap-injector", ns, l("tap-injector")));
    let (injector_secret, injector_ca) =
        tls_secret(ctx, "tap-injector-k8s-tls", "tap-injector", ns, l("tap-injector"))?;
    out.push(injector_secret);
    out.push(pod_webhook(
        "linkerd-tap-injector-webhook-config",
        "tap-injector.linkerd.io",
        "tap-injector",
        ns,
        l("tap-injector"),
        &injector_ca,
        None,
    ));
    out.push(service(
        "tap-injector",
        ns,
        l("tap-injector"),
        sel("tap-injector"),
        &[("tap-injector", 443, json!("tap-injector"))],
    ));
    let mut injector = json!({
        "name": "tap-injector",
        "image": ctx.image("tap"),
        "imagePullPolicy": "IfNotPresent",
        "args": common_args(&[
            "injector".into(),
            format!("-tap-service-name={}", ctx.identity("tap", ns)),
        ]),
        "ports": [
            {"name": "tap-injector", "containerPort": 8443},
            {"name": "admin-http", "containerPort": 9995},
        ],
        "securityContext": restricted(UID),
        "volumeMounts": [{"name": "tls", "mountPath": "/var/run/linkerd/tls", "readOnly": true}],
    });
    admin_probes(&mut injector, 9995);
    out.push(deployment(
        ctx,
        DeploymentSpec {
            name: "tap-injector",
            ns,
            ext: EXT,
            app: "tap-injector",
            selector: sel("tap-injector"),
            service_account: "tap-injector",
            containers: vec![injector],
            volumes: vec![json!({"name": "tls", "secret": {"secretName": "tap-injector-k8s-tls"}})],
            annotations: json!({}),
        },
    ));

    // Web dashboard
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "web", "namespace": CONTROL_PLANE_NAMESPACE, "labels": l("web")},
        "rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["linkerd-config"]},
            {"apiGroups": [""], "resources": ["namespaces", "configmaps"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["serviceaccounts", "pods"], "verbs": ["list"]},
            {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
        ],
    }));
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "web", "namespace": CONTROL_PLANE_NAMESPACE, "labels": l("web")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "web"},
        "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": ns}],
    }));
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "linkerd-linkerd-viz-web-check", "labels": l("web")},
        "rules": rules_json(&[
            (&["rbac.authorization.k8s.io"], &["clusterroles", "clusterrolebindings"], &["list"]),
            (&["apiextensions.k8s.io"], &["customresourcedefinitions"], &["list"]),
            (
                &["admissionregistration.k8s.io"],
                &["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
                &["list"],
            ),
            (&["linkerd.io"], &["serviceprofiles"], &["list"]),
            (&["apiregistration.k8s.io"], &["apiservices"], &["get"]),
        ]),
    }));
    out.push(cluster_role_binding(
        "linkerd-linkerd-viz-web-check",
        l("web"),
        "linkerd-linkerd-viz-web-check",
        "web",
        ns,
    ));
    out.push(cluster_role_binding(
        "linkerd-linkerd-viz-web-admin",
        l("web"),
        "linkerd-linkerd-viz-tap-admin",
        "web",
        ns,
    ));
    out.push(cluster_role(
        "linkerd-linkerd-viz-web-api",
        l("web"),
        &[(&[""], &["namespaces"], &["list"])],
    ));
    out.push(cluster_role_binding(
        "linkerd-linkerd-viz-web-api",
        l("web"),
        "linkerd-linkerd-viz-web-api",
        "web",
        ns,
    ));
    out.push(service_account("web", ns, l("web")));
    out.push(service(
        "web",
        ns,
        l("web"),
        sel("web"),
        &[("http", 8084, json!(8084)), ("admin-http", 9994, json!(9994))],
    ));
    let host = format!(
        r"^(localhost|127\.0\.0\.1|web\.{ns}\.svc\.{}|web\.{ns}\.svc|\[::1\])(:\d+)?$",
        cluster_domain.replace('.', r"\.")
    );
    let mut web = json!({
        "name": "web",
        "image": ctx.image("web"),
        "imagePullPolicy": "IfNotPresent",
        "args": common_args(&[
            format!("-linkerd-metrics-api-addr=metrics-api.{ns}.svc.{cluster_domain}:8085"),
            format!("-cluster-domain={cluster_domain}"),
            format!("-controller-namespace={CONTROL_PLANE_NAMESPACE}"),
            format!("-enforced-host={host}"),
        ]),
        "ports": [{"name": "http", "containerPort": 8084}, {"name": "admin-http", "containerPort": 9994}],
        "securityContext": restricted(UID),
    });
    admin_probes(&mut web, 9994);
    out.push(deployment(
        ctx,
        DeploymentSpec {
            name: "web",
            ns,
            ext: EXT,
            app: "web",
            selector: sel("web"),
            service_account: "web",
            containers: vec![web],
            volumes: vec![],
            annotations: json!({}),
        },
    ));
    Ok(out)
}

/// Prometheus spells its levels like Linkerd but has no "trace".
fn prometheus_log_level(level: &str) -> &str {
    if level == "trace" { "debug" } else { level }
}

/// Scrapes the control plane, the extensions, every meshed proxy and the nodes' cAdvisor, as
/// the upstream chart's configuration does.
fn prometheus_config() -> String {
    let cp = CONTROL_PLANE_NAMESPACE;
    format!(
        r#"global:
  evaluation_interval: 10s
  scrape_interval: 10s
  scrape_timeout: 10s

rule_files:
- /etc/prometheus/*_rules.yml
- /etc/prometheus/*_rules.yaml

scrape_configs:
- job_name: 'prometheus'
  static_configs:
  - targets: ['localhost:9090']

- job_name: 'kubernetes-nodes-cadvisor'
  scheme: https
  tls_config:
    ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    insecure_skip_verify: true
  bearer_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token
  kubernetes_sd_configs:
  - role: node
  relabel_configs:
  - action: labelmap
    regex: __meta_kubernetes_node_label_(.+)
  - target_label: __address__
    replacement: kubernetes.default.svc:443
  - source_labels: [__meta_kubernetes_node_name]
    regex: (.+)
    target_label: __metrics_path__
    replacement: /api/v1/nodes/$1/proxy/metrics/cadvisor
  metric_relabel_configs:
  - source_labels: [__name__]
    regex: '(container|machine)_(cpu|memory|network|fs)_(.+)'
    action: keep
  - source_labels: [__name__]
    regex: 'container_memory_failures_total'
    action: drop

- job_name: 'linkerd-controller'
  kubernetes_sd_configs:
  - role: pod
    namespaces:
      names:
      - '{cp}'
      - '{NAMESPACE}'
  relabel_configs:
  - source_labels:
    - __meta_kubernetes_pod_container_port_name
    action: keep
    regex: admin-http
  - source_labels: [__meta_kubernetes_pod_container_name]
    action: replace
    target_label: component

- job_name: 'linkerd-multicluster-controller'
  kubernetes_sd_configs:
  - role: pod
  relabel_configs:
  - source_labels:
    - __meta_kubernetes_pod_label_component
    - __meta_kubernetes_pod_container_port_name
    action: keep
    regex: (linkerd-service-mirror|controller);admin-http$
  - source_labels: [__meta_kubernetes_pod_container_name]
    action: replace
    target_label: component

- job_name: 'linkerd-proxy'
  kubernetes_sd_configs:
  - role: pod
  relabel_configs:
  - source_labels:
    - __meta_kubernetes_pod_container_name
    - __meta_kubernetes_pod_container_port_name
    - __meta_kubernetes_pod_label_linkerd_io_control_plane_ns
    action: keep
    regex: ^linkerd-proxy;linkerd-admin;{cp}$
  - source_labels: [__meta_kubernetes_namespace]
    action: replace
    target_label: namespace
  - source_labels: [__meta_kubernetes_pod_name]
    action: replace
    target_label: pod
  - source_labels: [__meta_kubernetes_pod_label_linkerd_io_proxy_job]
    action: replace
    target_label: k8s_job
  - action: labeldrop
    regex: __meta_kubernetes_pod_label_linkerd_io_proxy_job
  - action: labelmap
    regex: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)
  - action: labeldrop
    regex: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)
  - action: labelmap
    regex: __meta_kubernetes_pod_label_linkerd_io_(.+)
  - action: labelmap
    regex: __meta_kubernetes_pod_label_(.+)
    replacement: __tmp_pod_label_$1
  - action: labelmap
    regex: __tmp_pod_label_linkerd_io_(.+)
    replacement: __tmp_pod_label_$1
  - action: labeldrop
    regex: __tmp_pod_label_linkerd_io_(.+)
  - action: labelmap
    regex: __tmp_pod_label_(.+)
"#
    )
}
