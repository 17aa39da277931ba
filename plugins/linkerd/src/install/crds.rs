//! The CRDs of the linkerd-crds chart of each release, with our own structural schemas: the main
//! fields of each kind are listed, deep parts keep unknown fields (as the brief allows).

use serde_json::{Value, json};

use super::versions::{Generation, Release};

/// The label upstream puts on everything it installs, which uninstall also looks for.
pub const CONTROL_PLANE_NS_LABEL: &str = "linkerd.io/control-plane-ns";

/// Gateway API CRDs Linkerd may install; they are shared with other projects, so install skips
/// one that exists without our label and uninstall removes only those carrying it.
pub const GATEWAY_CRDS: &[&str] = &[
    "httproutes.gateway.networking.k8s.io",
    "grpcroutes.gateway.networking.k8s.io",
    "tlsroutes.gateway.networking.k8s.io",
    "tcproutes.gateway.networking.k8s.io",
];

/// Every Linkerd-owned CRD any known release installs (uninstall removes them all).
pub const LINKERD_CRDS: &[&str] = &[
    "serviceprofiles.linkerd.io",
    "servers.policy.linkerd.io",
    "serverauthorizations.policy.linkerd.io",
    "authorizationpolicies.policy.linkerd.io",
    "meshtlsauthentications.policy.linkerd.io",
    "networkauthentications.policy.linkerd.io",
    "httproutes.policy.linkerd.io",
    "httplocalratelimitpolicies.policy.linkerd.io",
    "egressnetworks.policy.linkerd.io",
    "externalworkloads.workload.linkerd.io",
];

/// The annotation Kubernetes requires on CRDs of protected groups (`*.k8s.io`, `*.kubernetes.io`).
pub const API_APPROVED: &str = "api-approved.kubernetes.io";

/// The Gateway API's approval, as its CRD bundles of that release carry it.
fn gateway_api_approval(release: &Release) -> &'static str {
    match release.generation {
        Generation::V2_14 => "https://github.com/kubernetes-sigs/gateway-api/pull/1923",
        Generation::V2_18 => "https://github.com/kubernetes-sigs/gateway-api/pull/2466",
    }
}

fn preserve() -> Value {
    json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}
fn string() -> Value {
    json!({"type": "string"})
}
fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}
fn objects() -> Value {
    json!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
}
fn int_or_string() -> Value {
    json!({"x-kubernetes-int-or-string": true})
}
fn target_ref() -> Value {
    json!({"type": "object", "required": ["kind", "name"], "properties": {
        "group": string(), "kind": string(), "name": string(), "namespace": string()}})
}

/// An object schema with a spec of these properties and a free-form status.
fn schema(spec_properties: Value, required: &[&str]) -> Value {
    let mut spec = json!({"type": "object", "properties": spec_properties});
    if !required.is_empty() {
        spec["required"] = json!(required);
    }
    json!({"openAPIV3Schema": {"type": "object", "properties": {"spec": spec, "status": preserve()}}})
}

struct Version {
    name: &'static str,
    storage: bool,
    schema: Value,
    status: bool,
    deprecated: bool,
}

fn v(name: &'static str, storage: bool, schema: &Value) -> Version {
    Version {
        name,
        storage,
        schema: schema.clone(),
        status: false,
        deprecated: false,
    }
}

impl Version {
    fn with_status(mut self) -> Self {
        self.status = true;
        self
    }
    fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }
}

#[allow(clippy::too_many_arguments)]
fn crd(
    release: &Release,
    group: &str,
    plural: &str,
    kind: &str,
    short_names: &[&str],
    categories: &[&str],
    versions: Vec<Version>,
    gateway: bool,
) -> Value {
    let versions: Vec<Value> = versions
        .into_iter()
        .map(|v| {
            let mut o = json!({"name": v.name, "served": true, "storage": v.storage, "schema": v.schema});
            if v.status {
                o["subresources"] = json!({"status": {}});
            }
            if v.deprecated {
                o["deprecated"] = json!(true);
            }
            o
        })
        .collect();
    let mut names = json!({"plural": plural, "singular": kind.to_lowercase(), "kind": kind});
    if !short_names.is_empty() {
        names["shortNames"] = json!(short_names);
    }
    if !categories.is_empty() {
        names["categories"] = json!(categories);
    }
    let mut annotations = json!({"linkerd.io/created-by": super::created_by(release)});
    if gateway {
        // The API server refuses a CRD of a *.k8s.io group without this annotation ("protected
        // groups must have approval annotation"); the value is the Gateway API's approval.
        annotations[API_APPROVED] = json!(gateway_api_approval(release));
        annotations["gateway.networking.k8s.io/bundle-version"] = json!(release.gateway_api_bundle);
        annotations["gateway.networking.k8s.io/channel"] = json!("experimental");
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("{plural}.{group}"),
            "labels": {
                CONTROL_PLANE_NS_LABEL: super::NAMESPACE,
                "app.kubernetes.io/part-of": "Linkerd",
                "app.kubernetes.io/managed-by": "wasmesh",
            },
            "annotations": annotations,
        },
        "spec": {"group": group, "scope": "Namespaced", "names": names, "versions": versions},
    })
}

/// The Linkerd CRDs of a release (serving linkerd.io, policy.linkerd.io, workload.linkerd.io).
pub fn linkerd_crds(release: &Release) -> Vec<Value> {
    let v218 = release.generation >= Generation::V2_18;
    let mut out = Vec::new();

    let sp = schema(
        json!({
            "routes": objects(),
            "retryBudget": {"type": "object", "required": ["minRetriesPerSecond", "retryRatio", "ttl"], "properties": {
                "minRetriesPerSecond": {"type": "integer", "format": "int32"},
                "retryRatio": {"type": "number", "format": "float"},
                "ttl": string()}},
            "dstOverrides": {"type": "array", "items": {"type": "object", "required": ["authority", "weight"],
                "properties": {"authority": string(), "weight": int_or_string()}}},
            "opaquePorts": strings(),
        }),
        &["routes"],
    );
    out.push(crd(
        release,
        "linkerd.io",
        "serviceprofiles",
        "ServiceProfile",
        &["sp"],
        &[],
        vec![v("v1alpha1", false, &sp), v("v1alpha2", true, &sp)],
        false,
    ));

    let server_props = json!({
        "podSelector": preserve(),
        "externalWorkloadSelector": preserve(),
        "port": int_or_string(),
        "proxyProtocol": {"type": "string", "enum": ["unknown", "HTTP/1", "HTTP/2", "gRPC", "opaque", "TLS"], "default": "unknown"},
        "accessPolicy": string(),
    });
    let server = schema(server_props, &["port"]);
    let server_versions = if v218 {
        vec![
            v("v1beta1", false, &server).deprecated(),
            v("v1beta2", false, &server),
            v("v1beta3", true, &server),
        ]
    } else {
        vec![v("v1alpha1", false, &server).deprecated(), v("v1beta1", true, &server)]
    };
    out.push(crd(
        release,
        "policy.linkerd.io",
        "servers",
        "Server",
        &["srv"],
        &["policy"],
        server_versions,
        false,
    ));

    let saz = schema(
        json!({"server": {"type": "object", "properties": {"name": string(), "selector": preserve()}}, "client": preserve()}),
        &["server", "client"],
    );
    out.push(crd(
        release,
        "policy.linkerd.io",
        "serverauthorizations",
        "ServerAuthorization",
        &["saz", "serverauthz", "srvauthz"],
        &["policy"],
        vec![v("v1alpha1", false, &saz).deprecated(), v("v1beta1", true, &saz)],
        false,
    ));

    let authz = schema(
        json!({"targetRef": target_ref(), "requiredAuthenticationRefs": {"type": "array", "items": target_ref()}}),
        &["targetRef", "requiredAuthenticationRefs"],
    );
    out.push(crd(
        release,
        "policy.linkerd.io",
        "authorizationpolicies",
        "AuthorizationPolicy",
        &["authzpolicy"],
        &["policy"],
        vec![v("v1alpha1", true, &authz)],
        false,
    ));

    let mtls = schema(json!({"identities": strings(), "identityRefs": objects()}), &[]);
    out.push(crd(
        release,
        "policy.linkerd.io",
        "meshtlsauthentications",
        "MeshTLSAuthentication",
        &["meshtlsauthn"],
        &["policy"],
        vec![v("v1alpha1", true, &mtls)],
        false,
    ));

    let netauthn = schema(
        json!({"networks": {"type": "array", "items": {"type": "object", "required": ["cidr"],
            "properties": {"cidr": string(), "except": strings()}}}}),
        &["networks"],
    );
    out.push(crd(
        release,
        "policy.linkerd.io",
        "networkauthentications",
        "NetworkAuthentication",
        &["netauthn", "networkauthn"],
        &["policy"],
        vec![v("v1alpha1", true, &netauthn)],
        false,
    ));

    let route = route_schema();
    out.push(crd(
        release,
        "policy.linkerd.io",
        "httproutes",
        "HTTPRoute",
        &[],
        &["policy"],
        vec![
            v("v1alpha1", false, &route).with_status().deprecated(),
            v("v1beta1", false, &route).with_status(),
            v("v1beta2", false, &route).with_status(),
            v("v1beta3", true, &route).with_status(),
        ],
        false,
    ));

    if v218 {
        let ew = schema(
            json!({
                "meshTLS": {"type": "object", "required": ["identity", "serverName"], "properties": {"identity": string(), "serverName": string()}},
                "ports": objects(),
                "workloadIPs": objects(),
            }),
            &["meshTLS"],
        );
        out.push(crd(
            release,
            "workload.linkerd.io",
            "externalworkloads",
            "ExternalWorkload",
            &["extwlo", "extwlos"],
            &["external"],
            vec![
                v("v1alpha1", false, &ew).with_status().deprecated(),
                v("v1beta1", true, &ew).with_status(),
            ],
            false,
        ));
        let rl = schema(
            json!({"targetRef": target_ref(), "total": preserve(), "identity": preserve(), "overrides": objects()}),
            &["targetRef"],
        );
        out.push(crd(
            release,
            "policy.linkerd.io",
            "httplocalratelimitpolicies",
            "HTTPLocalRateLimitPolicy",
            &[],
            &["policy"],
            vec![v("v1alpha1", true, &rl).with_status()],
            false,
        ));
        let egress = schema(
            json!({"networks": objects(), "trafficPolicy": {"type": "string", "enum": ["Allow", "Deny"]}}),
            &["trafficPolicy"],
        );
        out.push(crd(
            release,
            "policy.linkerd.io",
            "egressnetworks",
            "EgressNetwork",
            &[],
            &["policy"],
            vec![v("v1alpha1", true, &egress).with_status()],
            false,
        ));
    }
    out
}

fn route_schema() -> Value {
    schema(
        json!({"parentRefs": objects(), "hostnames": strings(), "rules": objects()}),
        &[],
    )
}

/// The Gateway API CRDs the release's linkerd-crds chart installs.
pub fn gateway_crds(release: &Release) -> Vec<Value> {
    let route = route_schema();
    let gateway_crd = |plural, kind, versions| {
        crd(
            release,
            "gateway.networking.k8s.io",
            plural,
            kind,
            &[],
            &["gateway-api"],
            versions,
            true,
        )
    };
    let served = |versions: &[(&'static str, bool)]| -> Vec<Version> {
        versions
            .iter()
            .map(|(name, storage)| v(name, *storage, &route).with_status())
            .collect()
    };
    match release.generation {
        Generation::V2_14 => vec![gateway_crd(
            "httproutes",
            "HTTPRoute",
            served(&[("v1alpha2", false), ("v1beta1", true)]),
        )],
        Generation::V2_18 => vec![
            gateway_crd("httproutes", "HTTPRoute", served(&[("v1", true), ("v1beta1", false)])),
            gateway_crd("grpcroutes", "GRPCRoute", served(&[("v1", true), ("v1alpha2", false)])),
            gateway_crd("tlsroutes", "TLSRoute", served(&[("v1alpha2", true)])),
            gateway_crd("tcproutes", "TCPRoute", served(&[("v1alpha2", true)])),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::super::versions::RELEASES;
    use super::*;

    #[test]
    fn every_crd_is_named_listed_and_has_exactly_one_storage_version() {
        for r in RELEASES {
            for c in linkerd_crds(r).iter().chain(gateway_crds(r).iter()) {
                let name = c["metadata"]["name"].as_str().unwrap();
                let spec = &c["spec"];
                assert_eq!(
                    name,
                    format!(
                        "{}.{}",
                        spec["names"]["plural"].as_str().unwrap(),
                        spec["group"].as_str().unwrap()
                    )
                );
                assert!(LINKERD_CRDS.contains(&name) || GATEWAY_CRDS.contains(&name), "{name}");
                // A real API server refuses a *.k8s.io CRD without the approval annotation.
                let group = spec["group"].as_str().unwrap();
                if group.ends_with(".k8s.io") || group.ends_with(".kubernetes.io") {
                    let approval = c["metadata"]["annotations"][API_APPROVED].as_str().unwrap_or_default();
                    assert!(approval.starts_with("https://"), "{} {name}: {approval:?}", r.name);
                }
                let storage = spec["versions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|v| v["storage"] == true)
                    .count();
                assert_eq!(storage, 1, "{} {name}", r.name);
            }
        }
    }

    #[test]
    fn later_release_adds_kinds() {
        let names = |r: &Release| -> Vec<String> {
            linkerd_crds(r)
                .iter()
                .chain(gateway_crds(r).iter())
                .map(|c| c["metadata"]["name"].as_str().unwrap().to_string())
                .collect()
        };
        let (old, new) = (names(&RELEASES[0]), names(&RELEASES[1]));
        assert!(
            !old.iter()
                .any(|n| n.starts_with("externalworkloads") || n.starts_with("grpcroutes"))
        );
        for n in [
            "externalworkloads.workload.linkerd.io",
            "egressnetworks.policy.linkerd.io",
            "grpcroutes.gateway.networking.k8s.io",
        ] {
            assert!(new.iter().any(|x| x == n), "{n}");
        }
    }
}
