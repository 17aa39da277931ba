//! Istio's CustomResourceDefinitions: every kind of the networking, security, telemetry and
//! extensions groups, served in the versions upstream serves, each with its own structural schema
//! that names the main fields of the spec (deep parts keep unknown fields) and a status
//! subresource.

use serde_json::{Map, Value, json};

use super::Context;

/// A field of a spec: its name and shape.
#[derive(Clone, Copy)]
enum F {
    /// A string.
    S(&'static str),
    /// A list of strings.
    Strings(&'static str),
    /// A list of objects.
    Objects(&'static str),
    /// An object (deep: unknown fields kept).
    Object(&'static str),
    /// A string-to-string map.
    Map(&'static str),
    /// An integer.
    Int(&'static str),
}

struct Crd {
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    short: &'static [&'static str],
    categories: &'static [&'static str],
    /// Served versions; the first is the storage version.
    versions: &'static [&'static str],
    fields: &'static [F],
}

use F::*;

const NET: &[&str] = &["istio-io", "networking-istio-io"];
const SEC: &[&str] = &["istio-io", "security-istio-io"];
const NET_VERSIONS: &[&str] = &["v1alpha3", "v1beta1", "v1"];
const SEC_VERSIONS: &[&str] = &["v1beta1", "v1"];
const POLICY_TARGETS: [F; 3] = [Object("selector"), Object("targetRef"), Objects("targetRefs")];

const CRDS: &[Crd] = &[
    Crd {
        group: "networking.istio.io",
        kind: "VirtualService",
        plural: "virtualservices",
        short: &["vs"],
        categories: NET,
        versions: NET_VERSIONS,
        fields: &[
            Strings("hosts"),
            Strings("gateways"),
            Objects("http"),
            Objects("tls"),
            Objects("tcp"),
            Strings("exportTo"),
        ],
    },
    Crd {
        group: "networking.istio.io",
        kind: "DestinationRule",
        plural: "destinationrules",
        short: &["dr"],
        categories: NET,
        versions: NET_VERSIONS,
        fields: &[
            S("host"),
            Object("trafficPolicy"),
            Objects("subsets"),
            Strings("exportTo"),
            Object("workloadSelector"),
        ],
    },
    Crd {
        group: "networking.istio.io",
        kind: "Gateway",
        plural: "gateways",
        short: &["gw"],
        categories: NET,
        versions: NET_VERSIONS,
        fields: &[Map("selector"), Objects("servers")],
    },
    Crd {
        group: "networking.istio.io",
        kind: "ServiceEntry",
        plural: "serviceentries",
        short: &["se"],
        categories: NET,
        versions: NET_VERSIONS,
        fields: &[
            Strings("hosts"),
            Strings("addresses"),
            Objects("ports"),
            S("location"),
            S("resolution"),
            Objects("endpoints"),
            Object("workloadSelector"),
            Strings("exportTo"),
            Strings("subjectAltNames"),
        ],
    },
    Crd {
        group: "networking.istio.io",
        kind: "Sidecar",
        plural: "sidecars",
        short: &[],
        categories: NET,
        versions: NET_VERSIONS,
        fields: &[
            Object("workloadSelector"),
            Objects("ingress"),
            Objects("egress"),
            Object("inboundConnectionPool"),
            Object("outboundTrafficPolicy"),
        ],
    },
    Crd {
        group: "networking.istio.io",
        kind: "WorkloadEntry",
        plural: "workloadentries",
        short: &["we"],
        categories: NET,
        versions: NET_VERSIONS,
        fields: &[
            S("address"),
            Object("ports"),
            Map("labels"),
            S("network"),
            S("locality"),
            Int("weight"),
            S("serviceAccount"),
        ],
    },
    Crd {
        group: "networking.istio.io",
        kind: "WorkloadGroup",
        plural: "workloadgroups",
        short: &["wg"],
        categories: NET,
        versions: NET_VERSIONS,
        fields: &[Object("metadata"), Object("template"), Object("probe")],
    },
    Crd {
        group: "networking.istio.io",
        kind: "EnvoyFilter",
        plural: "envoyfilters",
        short: &[],
        categories: NET,
        versions: &["v1alpha3"],
        fields: &[
            Object("workloadSelector"),
            Objects("targetRefs"),
            Objects("configPatches"),
            Int("priority"),
        ],
    },
    Crd {
        group: "networking.istio.io",
        kind: "ProxyConfig",
        plural: "proxyconfigs",
        short: &[],
        categories: NET,
        versions: &["v1beta1"],
        fields: &[
            Object("selector"),
            Int("concurrency"),
            Map("environmentVariables"),
            Object("image"),
        ],
    },
    Crd {
        group: "security.istio.io",
        kind: "PeerAuthentication",
        plural: "peerauthentications",
        short: &["pa"],
        categories: SEC,
        versions: SEC_VERSIONS,
        fields: &[
            POLICY_TARGETS[0],
            POLICY_TARGETS[1],
            POLICY_TARGETS[2],
            Object("mtls"),
            Object("portLevelMtls"),
        ],
    },
    Crd {
        group: "security.istio.io",
        kind: "AuthorizationPolicy",
        plural: "authorizationpolicies",
        short: &["ap"],
        categories: SEC,
        versions: SEC_VERSIONS,
        fields: &[
            POLICY_TARGETS[0],
            POLICY_TARGETS[1],
            POLICY_TARGETS[2],
            Objects("rules"),
            S("action"),
            Object("provider"),
        ],
    },
    Crd {
        group: "security.istio.io",
        kind: "RequestAuthentication",
        plural: "requestauthentications",
        short: &["ra"],
        categories: SEC,
        versions: SEC_VERSIONS,
        fields: &[
            POLICY_TARGETS[0],
            POLICY_TARGETS[1],
            POLICY_TARGETS[2],
            Objects("jwtRules"),
        ],
    },
    Crd {
        group: "telemetry.istio.io",
        kind: "Telemetry",
        plural: "telemetries",
        short: &["telemetry"],
        categories: &["istio-io", "telemetry-istio-io"],
        versions: &["v1alpha1", "v1"],
        fields: &[
            POLICY_TARGETS[0],
            POLICY_TARGETS[1],
            POLICY_TARGETS[2],
            Objects("tracing"),
            Objects("metrics"),
            Objects("accessLogging"),
        ],
    },
    Crd {
        group: "extensions.istio.io",
        kind: "WasmPlugin",
        plural: "wasmplugins",
        short: &[],
        categories: &["istio-io", "extensions-istio-io"],
        versions: &["v1alpha1"],
        fields: &[
            POLICY_TARGETS[0],
            POLICY_TARGETS[1],
            POLICY_TARGETS[2],
            S("url"),
            S("sha256"),
            S("imagePullPolicy"),
            S("imagePullSecret"),
            Object("pluginConfig"),
            S("pluginName"),
            S("phase"),
            Int("priority"),
            S("failStrategy"),
            Object("vmConfig"),
            Objects("match"),
            S("type"),
        ],
    },
];

/// Every Istio CRD, labelled for this release.
pub fn objects(cx: &Context) -> Vec<Value> {
    CRDS.iter().map(|c| crd(c, cx)).collect()
}

/// `<plural>.<group>` of every CRD.
#[cfg(test)]
pub fn names() -> Vec<String> {
    CRDS.iter().map(|c| format!("{}.{}", c.plural, c.group)).collect()
}

fn crd(c: &Crd, cx: &Context) -> Value {
    let mut properties = Map::new();
    for f in c.fields {
        let (name, schema) = match *f {
            S(n) => (n, json!({"type": "string"})),
            Strings(n) => (n, json!({"type": "array", "items": {"type": "string"}})),
            Objects(n) => (
                n,
                json!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}),
            ),
            Object(n) => (
                n,
                json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            ),
            Map(n) => (n, json!({"type": "object", "additionalProperties": {"type": "string"}})),
            Int(n) => (n, json!({"type": "integer", "format": "int32"})),
        };
        properties.insert(name.into(), schema);
    }
    let schema = json!({
        "openAPIV3Schema": {
            "type": "object",
            "description": format!("{} configuration (Istio {}).", c.kind, c.group),
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": properties,
                    // Fields of newer or older API revisions are kept, not pruned.
                    "x-kubernetes-preserve-unknown-fields": true,
                },
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            },
        }
    });
    let versions: Vec<Value> = c
        .versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({
                "name": v,
                "served": true,
                "storage": i == 0,
                "schema": schema,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
            })
        })
        .collect();
    let mut labels = cx.labels("istio-base");
    labels.insert("app".into(), "istio-pilot".into());
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{}.{}", c.plural, c.group), "labels": labels},
        "spec": {
            "group": c.group,
            "names": {
                "kind": c.kind,
                "listKind": format!("{}List", c.kind),
                "plural": c.plural,
                "singular": c.kind.to_ascii_lowercase(),
                "shortNames": c.short,
                "categories": c.categories,
            },
            "scope": "Namespaced",
            "versions": versions,
        }
    })
}
