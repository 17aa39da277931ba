//! Linkerd Multicluster (linkerd/linkerd2 `multicluster/charts/linkerd-multicluster`): the Link
//! CRD, the multicluster gateway (a pause container whose injected proxy runs in gateway
//! mode, behind a LoadBalancer Service) and the default ServiceAccount a linked cluster's
//! service mirror uses to read this one (with its long-lived token Secret).
//!
//! Left out: the gateway's policy.linkerd.io Server and AuthorizationPolicy, the
//! namespace-metadata Job, PSP bindings, PDBs; on edge-25 also the local service mirror
//! (federated services) and per-link controllers, which `linkerd multicluster link` adds.

use serde_json::{Value, json};

use super::{
    Ctx, DeploymentSpec, Line, cluster_role, cluster_role_binding, deployment, labels, map, namespace, service_account,
};

pub const NAMESPACE: &str = "linkerd-multicluster";
const EXT: &str = "multicluster";
const GATEWAY: &str = "linkerd-gateway";
const GATEWAY_PORT: u16 = 4143;
const PROBE_PORT: u16 = 4191;
const REMOTE_ACCESS: &str = "linkerd-service-mirror-remote-access-default";
const PAUSE_IMAGE: &str = "gcr.io/google_containers/pause:3.2";

pub fn objects(ctx: &Ctx) -> Vec<Value> {
    let ns = NAMESPACE;
    let l = labels(EXT, None);
    let mut out = vec![namespace(ns, EXT), link_crd(ctx.line)];

    // Gateway
    out.push(service_account(GATEWAY, ns, l.clone()));
    let selector = map(&[("linkerd.io/extension", EXT), ("app", GATEWAY)]);
    let mut gateway = deployment(
        ctx,
        DeploymentSpec {
            name: GATEWAY,
            ns,
            ext: EXT,
            app: "gateway",
            selector: selector.clone(),
            service_account: GATEWAY,
            containers: vec![json!({"name": "pause", "image": PAUSE_IMAGE})],
            volumes: vec![],
            annotations: json!({
                "config.linkerd.io/proxy-require-identity-inbound-ports": GATEWAY_PORT.to_string(),
                "config.linkerd.io/enable-gateway": "true",
            }),
        },
    );
    gateway["metadata"]["labels"]["linkerd.io/control-plane-component"] = json!("gateway");
    out.push(gateway);
    out.push(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": GATEWAY,
            "namespace": ns,
            "labels": l,
            "annotations": {
                "mirror.linkerd.io/gateway-identity": ctx.identity(GATEWAY, ns),
                "mirror.linkerd.io/probe-period": "3",
                "mirror.linkerd.io/probe-path": "/ready",
                "mirror.linkerd.io/multicluster-gateway": "true",
                "linkerd.io/control-plane-component": "gateway",
                "linkerd.io/created-by": ctx.created_by(),
            },
        },
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": GATEWAY},
            "ports": [
                {"name": "mc-gateway", "port": GATEWAY_PORT, "protocol": "TCP"},
                {"name": "mc-probe", "port": PROBE_PORT, "protocol": "TCP"},
            ],
        },
    }));

    // What a linked cluster's service mirror may read here.
    let read = &["list", "get", "watch"][..];
    let mut remote = cluster_role(
        REMOTE_ACCESS,
        l.clone(),
        &[
            (&["apps"], &["replicasets"], read),
            (&["batch"], &["jobs"], read),
            (&[""], &["pods", "endpoints", "services"], read),
            (&["discovery.k8s.io"], &["endpointslices"], read),
            (&["policy.linkerd.io"], &["servers"], read),
            (&[""], &["events"], &["create", "patch"]),
        ],
    );
    remote["rules"].as_array_mut().expect("rules").push(json!({
        "apiGroups": [""],
        "resources": ["configmaps"],
        "verbs": ["get"],
        "resourceNames": ["linkerd-config"],
    }));
    out.push(remote);
    out.push(service_account(REMOTE_ACCESS, ns, l.clone()));
    out.push(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/service-account-token",
        "metadata": {
            "name": format!("{REMOTE_ACCESS}-token"),
            "namespace": ns,
            "labels": l,
            "annotations": {
                "kubernetes.io/service-account.name": REMOTE_ACCESS,
                "linkerd.io/created-by": ctx.created_by(),
            },
        },
    }));
    out.push(cluster_role_binding(REMOTE_ACCESS, l, REMOTE_ACCESS, REMOTE_ACCESS, ns));
    out
}

/// A label selector's schema (matchLabels and matchExpressions).
fn selector_schema(description: &str) -> Value {
    json!({
        "description": description,
        "type": "object",
        "properties": {
            "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
            "matchExpressions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {"type": "string"},
                        "operator": {"type": "string", "enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                        "values": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    })
}

/// links.multicluster.linkerd.io: v1alpha1 on stable-2.14; edge-25 serves v1alpha1 to
/// v1alpha3 and stores v1alpha3. The main fields are listed; later versions' additions are kept.
fn link_crd(line: Line) -> Value {
    let string = |d: &str| json!({"type": "string", "description": d});
    let spec = json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "clusterCredentialsSecret": string("Kubernetes secret of target cluster"),
            "gatewayAddress": string("Gateway address of target cluster"),
            "gatewayIdentity": string("Gateway Identity FQDN"),
            "gatewayPort": string("Gateway Port"),
            "probeSpec": {
                "type": "object",
                "description": "Spec for gateway health probe",
                "properties": {
                    "failureThreshold": string("Minimum consecutive failures for the probe to be considered failed"),
                    "path": string("Path of remote gateway health endpoint"),
                    "period": string("Interval in between probe requests"),
                    "port": string("Port of remote gateway health endpoint"),
                    "timeout": string("Probe request timeout"),
                },
            },
            "selector": selector_schema("Selector for Services to mirror through the gateway"),
            "remoteDiscoverySelector": selector_schema("Selector for Services to mirror in remote discovery mode"),
            "federatedServiceSelector": selector_schema("Selector for Services to join federated services"),
            "targetClusterName": string("Name of target cluster to link to"),
            "targetClusterDomain": string("Domain name of target cluster to link to"),
            "targetClusterLinkerdNamespace": string("Namespace of the Linkerd control plane on the target cluster"),
        },
    });
    let version = |name: &str, storage: bool| {
        json!({
            "name": name,
            "served": true,
            "storage": storage,
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "spec": spec,
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                },
            }},
        })
    };
    let versions = match line {
        Line::Stable214 => vec![version("v1alpha1", true)],
        Line::Edge25 => vec![
            version("v1alpha1", false),
            version("v1alpha2", false),
            version("v1alpha3", true),
        ],
    };
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "links.multicluster.linkerd.io", "labels": labels(EXT, None)},
        "spec": {
            "group": "multicluster.linkerd.io",
            "scope": "Namespaced",
            "names": {"plural": "links", "singular": "link", "kind": "Link", "listKind": "LinkList"},
            "versions": versions,
        },
    })
}
