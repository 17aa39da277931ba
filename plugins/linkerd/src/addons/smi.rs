//! Linkerd SMI (linkerd/linkerd-smi `charts/linkerd-smi`): the TrafficSplit CRD
//! (split.smi-spec.io) and the smi-adaptor, which turns TrafficSplits into ServiceProfiles.
//! linkerd-smi is versioned on its own: v0.2.5 goes with stable-2.14, v0.2.7 with edge-25.
//!
//! Left out: the namespace-metadata Job.

use serde_json::{Value, json};

use super::{
    Ctx, DeploymentSpec, Line, cluster_role, cluster_role_binding, deployment, labels, map, namespace, service_account,
};

pub const NAMESPACE: &str = "linkerd-smi";
const EXT: &str = "smi";
const ADAPTOR: &str = "smi-adaptor";

/// The linkerd-smi release for a Linkerd release line.
pub fn version(line: Line) -> &'static str {
    match line {
        Line::Stable214 => "v0.2.5",
        Line::Edge25 => "v0.2.7",
    }
}

pub fn objects(ctx: &Ctx) -> Vec<Value> {
    let ns = NAMESPACE;
    let l = labels(EXT, Some(ADAPTOR));
    let selector = map(&[("linkerd.io/extension", EXT), ("component", ADAPTOR)]);
    let read = &["list", "get", "watch"][..];
    let mut adaptor = deployment(
        ctx,
        DeploymentSpec {
            name: ADAPTOR,
            ns,
            ext: EXT,
            app: ADAPTOR,
            selector,
            service_account: ADAPTOR,
            containers: vec![json!({
                "name": ADAPTOR,
                "image": ctx.image_tagged("smi-adaptor", version(ctx.line)),
                "imagePullPolicy": "IfNotPresent",
                "args": [ADAPTOR, format!("-cluster-domain={}", ctx.cluster_domain)],
                "ports": [{"name": "admin-http", "containerPort": 9999}],
                "securityContext": super::restricted(2103),
            })],
            volumes: vec![],
            annotations: json!({}),
        },
    );
    adaptor["metadata"]["labels"]["app.kubernetes.io/version"] = json!(version(ctx.line));
    vec![
        namespace(ns, EXT),
        trafficsplit_crd(),
        cluster_role(
            ADAPTOR,
            l.clone(),
            &[
                (
                    &["linkerd.io"],
                    &["serviceprofiles"],
                    &["list", "get", "watch", "create", "update"],
                ),
                (&["split.smi-spec.io"], &["trafficsplits"], read),
            ],
        ),
        cluster_role_binding(ADAPTOR, l.clone(), ADAPTOR, ADAPTOR, ns),
        service_account(ADAPTOR, ns, l),
        adaptor,
    ]
}

/// trafficsplits.split.smi-spec.io, v1alpha1 (stored) and v1alpha2, as the extension ships it.
pub fn trafficsplit_crd() -> Value {
    let version = |name: &str, storage: bool, weight: Value| {
        json!({
            "name": name,
            "served": true,
            "storage": storage,
            "additionalPrinterColumns": [{
                "name": "Service",
                "type": "string",
                "description": "The apex service of this split.",
                "jsonPath": ".spec.service",
            }],
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {
                    "type": "object",
                    "required": ["service", "backends"],
                    "properties": {
                        "service": {"type": "string", "description": "The apex service of this split."},
                        "backends": {
                            "type": "array",
                            "description": "The backend services of this split.",
                            "items": {
                                "type": "object",
                                "required": ["service", "weight"],
                                "properties": {
                                    "service": {"type": "string", "description": "Name of the Kubernetes service."},
                                    "weight": weight,
                                },
                            },
                        },
                    },
                }},
            }},
        })
    };
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "trafficsplits.split.smi-spec.io", "labels": labels(EXT, None)},
        "spec": {
            "group": "split.smi-spec.io",
            "scope": "Namespaced",
            "names": {
                "kind": "TrafficSplit",
                "listKind": "TrafficSplitList",
                "plural": "trafficsplits",
                "singular": "trafficsplit",
                "shortNames": ["ts"],
            },
            "versions": [
                version("v1alpha1", true, json!({
                    "description": "Traffic weight value of this backend.",
                    "x-kubernetes-int-or-string": true,
                })),
                version("v1alpha2", false, json!({
                    "description": "Traffic weight value of this backend.",
                    "type": "number",
                })),
            ],
        },
    })
}
