//! Linkerd Jaeger (linkerd/linkerd2 `jaeger/charts/linkerd-jaeger`): the jaeger-injector pod
//! webhook (points proxies at the collector), an OpenTelemetry collector and Jaeger all-in-one.
//!
//! stable-2.14 (chart of that release): collector otel/opentelemetry-collector-contrib 0.83.0
//! exporting over Jaeger gRPC, jaegertracing/all-in-one 1.31. edge-25: the collector exports
//! OTLP to Jaeger, whose newer all-in-one receives OTLP itself.
//!
//! Added beyond the chart: a ClusterRole for the collector's k8sattributes processor (it lists
//! pods, namespaces and replicasets to label spans). Left out: the policy.linkerd.io objects,
//! the namespace-metadata Job, PSP bindings.

use serde_json::{Value, json};
use wasmesh_sdk::Error;

use super::{
    Ctx, DeploymentSpec, Line, admin_probes, cluster_role, cluster_role_binding, deployment, labels, map, namespace,
    not_kube_system, pod_webhook, service, service_account, tls_secret,
};

pub const NAMESPACE: &str = "linkerd-jaeger";
const EXT: &str = "jaeger";
const UID: u32 = 2103;

struct Images {
    collector: &'static str,
    collector_command: &'static str,
    jaeger: &'static str,
}

fn images(line: Line) -> Images {
    match line {
        Line::Stable214 => Images {
            collector: "otel/opentelemetry-collector-contrib:0.83.0",
            collector_command: "/otelcol-contrib",
            jaeger: "jaegertracing/all-in-one:1.31",
        },
        Line::Edge25 => Images {
            collector: "otel/opentelemetry-collector-contrib:0.102.1",
            collector_command: "/otelcol-contrib",
            jaeger: "jaegertracing/all-in-one:1.58.0",
        },
    }
}

pub fn objects(ctx: &Ctx) -> Result<Vec<Value>, Error> {
    let ns = NAMESPACE;
    let l = |c: &str| labels(EXT, Some(c));
    let sel = |c: &str| map(&[("linkerd.io/extension", EXT), ("component", c)]);
    let images = images(ctx.line);
    let mut out = vec![namespace(ns, EXT)];

    // Injector
    out.push(cluster_role(
        "linkerd-jaeger-injector",
        l("jaeger-injector"),
        &[(&[""], &["namespaces"], &["get", "list", "watch"])],
    ));
    out.push(cluster_role_binding(
        "linkerd-jaeger-injector",
        l("jaeger-injector"),
        "linkerd-jaeger-injector",
        "jaeger-injector",
        ns,
    ));
    out.push(service_account("jaeger-injector", ns, l("jaeger-injector")));
    let (secret, ca) = tls_secret(
        ctx,
        "jaeger-injector-k8s-tls",
        "jaeger-injector",
        ns,
        l("jaeger-injector"),
    )?;
    out.push(secret);
    out.push(pod_webhook(
        "linkerd-jaeger-injector-webhook-config",
        "jaeger-injector.linkerd.io",
        "jaeger-injector",
        ns,
        l("jaeger-injector"),
        &ca,
        Some(not_kube_system()),
    ));
    out.push(service(
        "jaeger-injector",
        ns,
        l("jaeger-injector"),
        sel("jaeger-injector"),
        &[("jaeger-injector", 443, json!("jaeger-injector"))],
    ));
    let mut injector = json!({
        "name": "jaeger-injector",
        "image": ctx.image("jaeger-webhook"),
        "imagePullPolicy": "IfNotPresent",
        "args": [
            format!("-collector-svc-addr=collector.{ns}:55678"),
            "-collector-svc-account=collector",
            format!("-log-level={}", ctx.log_level),
        ],
        "ports": [
            {"name": "jaeger-injector", "containerPort": 8443},
            {"name": "admin-http", "containerPort": 9995},
        ],
        "securityContext": super::restricted(UID),
        "volumeMounts": [{"name": "tls", "mountPath": "/var/run/linkerd/tls", "readOnly": true}],
    });
    admin_probes(&mut injector, 9995);
    out.push(deployment(
        ctx,
        DeploymentSpec {
            name: "jaeger-injector",
            ns,
            ext: EXT,
            app: "jaeger-injector",
            selector: sel("jaeger-injector"),
            service_account: "jaeger-injector",
            containers: vec![injector],
            volumes: vec![json!({"name": "tls", "secret": {"secretName": "jaeger-injector-k8s-tls"}})],
            annotations: json!({}),
        },
    ));

    // Collector
    out.push(service_account("collector", ns, l("collector")));
    out.push(cluster_role(
        "linkerd-jaeger-collector",
        l("collector"),
        &[
            (&[""], &["pods", "namespaces"], &["get", "list", "watch"]),
            (&["apps"], &["replicasets"], &["get", "list", "watch"]),
        ],
    ));
    out.push(cluster_role_binding(
        "linkerd-jaeger-collector",
        l("collector"),
        "linkerd-jaeger-collector",
        "collector",
        ns,
    ));
    out.push(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "collector-config", "namespace": ns, "labels": l("collector")},
        "data": {"collector-config": collector_config(ctx.line)},
    }));
    out.push(service(
        "collector",
        ns,
        l("collector"),
        sel("collector"),
        &[
            ("otlp", 4317, json!(4317)),
            ("otlp-http", 4318, json!(4318)),
            ("opencensus", 55678, json!(55678)),
            ("zipkin", 9411, json!(9411)),
            ("jaeger-thrift", 14268, json!(14268)),
            ("jaeger-grpc", 14250, json!(14250)),
        ],
    ));
    let collector = json!({
        "name": "ot-collector",
        "image": images.collector,
        "imagePullPolicy": "IfNotPresent",
        "command": [images.collector_command, "--config=/conf/collector-config.yaml"],
        "env": [
            {"name": "GOGC", "value": "80"},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
        ],
        "ports": [
            {"containerPort": 13133},
            {"containerPort": 4317},
            {"containerPort": 4318},
            {"containerPort": 55678},
            {"containerPort": 9411},
            {"containerPort": 14268},
            {"containerPort": 14250},
            {"containerPort": 8888},
        ],
        "livenessProbe": {"httpGet": {"path": "/", "port": 13133}},
        "readinessProbe": {"httpGet": {"path": "/", "port": 13133}},
        "securityContext": {"runAsUser": UID},
        "volumeMounts": [{"name": "collector-config-val", "mountPath": "/conf"}],
    });
    out.push(deployment(
        ctx,
        DeploymentSpec {
            name: "collector",
            ns,
            ext: EXT,
            app: "collector",
            selector: sel("collector"),
            service_account: "collector",
            containers: vec![collector],
            volumes: vec![json!({
                "name": "collector-config-val",
                "configMap": {
                    "name": "collector-config",
                    "items": [{"key": "collector-config", "path": "collector-config.yaml"}],
                },
            })],
            annotations: json!({
                "prometheus.io/path": "/metrics",
                "prometheus.io/port": "8888",
                "prometheus.io/scrape": "true",
            }),
        },
    ));

    // Jaeger all-in-one
    out.push(service_account("jaeger", ns, l("jaeger")));
    let mut ports = vec![
        ("collection", 14268, json!(14268)),
        ("grpc", 14250, json!(14250)),
        ("ui", 16686, json!(16686)),
    ];
    let mut container_ports = vec![
        json!({"name": "admin", "containerPort": 14269}),
        json!({"name": "collection", "containerPort": 14268}),
        json!({"name": "grpc", "containerPort": 14250}),
        json!({"name": "ui", "containerPort": 16686}),
    ];
    if ctx.line == Line::Edge25 {
        ports.push(("otlp", 4317, json!(4317)));
        container_ports.push(json!({"name": "otlp", "containerPort": 4317}));
    }
    out.push(service("jaeger", ns, l("jaeger"), sel("jaeger"), &ports));
    let jaeger = json!({
        "name": "jaeger",
        "image": images.jaeger,
        "imagePullPolicy": "IfNotPresent",
        "args": ["--query.base-path=/jaeger"],
        "ports": container_ports,
        "securityContext": {"runAsUser": UID},
    });
    out.push(deployment(
        ctx,
        DeploymentSpec {
            name: "jaeger",
            ns,
            ext: EXT,
            app: "jaeger",
            selector: sel("jaeger"),
            service_account: "jaeger",
            containers: vec![jaeger],
            volumes: vec![],
            annotations: json!({
                "prometheus.io/path": "/metrics",
                "prometheus.io/port": "14269",
                "prometheus.io/scrape": "true",
            }),
        },
    ));
    Ok(out)
}

/// The collector's pipeline: OpenCensus and OTLP in (the proxies speak OpenCensus by default),
/// pod and workload attributes added, out to Jaeger.
fn collector_config(line: Line) -> String {
    let exporter = match line {
        Line::Stable214 => "  jaeger:\n    endpoint: jaeger.${POD_NAMESPACE}:14250\n    tls:\n      insecure: true\n",
        Line::Edge25 => "  otlp:\n    endpoint: jaeger.${POD_NAMESPACE}:4317\n    tls:\n      insecure: true\n",
    };
    let exporter_name = match line {
        Line::Stable214 => "jaeger",
        Line::Edge25 => "otlp",
    };
    format!(
        r#"receivers:
  opencensus:
    endpoint: 0.0.0.0:55678
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318
processors:
  batch:
  resource:
    attributes:
    - key: k8s.pod.name
      from_attribute: host.name
      action: insert
    - key: k8s.namespace.name
      from_attribute: linkerd.io/workload-ns
      action: insert
  k8sattributes:
    auth_type: serviceAccount
    pod_association:
    - sources:
      - from: resource_attribute
        name: k8s.pod.name
      - from: resource_attribute
        name: k8s.namespace.name
    extract:
      metadata:
      - k8s.pod.name
      - k8s.pod.uid
      - k8s.deployment.name
      - k8s.node.name
      - k8s.namespace.name
      - k8s.pod.start_time
      - k8s.replicaset.name
      - k8s.replicaset.uid
      - k8s.daemonset.name
      - k8s.daemonset.uid
      - k8s.job.name
      - k8s.job.uid
      - k8s.cronjob.name
      - k8s.statefulset.name
      - k8s.statefulset.uid
      - container.image.name
      - container.image.tag
      - container.id
      - k8s.container.name
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
exporters:
{exporter}service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [opencensus, otlp]
      processors: [resource, k8sattributes, batch]
      exporters: [{exporter_name}]
"#
    )
}
