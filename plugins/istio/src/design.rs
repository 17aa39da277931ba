//! Designs (Provision and ProcessOAM) for Istio.
//!
//! Components:
//! - `IstioMesh`: the control plane, installed (or uninstalled) by the `istio` operation with
//!   `settings.profile` (default, minimal, demo, ambient; default `default`) and
//!   `settings.version` (or an OAM Component's `spec.version`; the newest embedded release when
//!   neither is set); `waitSeconds`, `autoscale` and `hub` are passed on too (see [`INSTALL_OPTIONS`]).
//! - The add-ons, by Meshery's component types: `PrometheusIstioAddon`, `GrafanaIstioAddon`,
//!   `KialiIstioAddon`, `JaegerIstioAddon`, `ZipkinIstioAddon`, run by the `prometheus-addon`,
//!   ... `zipkin-addon` operations.
//! - Every Istio kind is passed through whole (every field kept), after its apiVersion is
//!   checked against [`KINDS`]: VirtualService, DestinationRule, Gateway, ServiceEntry, Sidecar,
//!   WorkloadEntry, WorkloadGroup, EnvoyFilter, ProxyConfig (networking.istio.io),
//!   PeerAuthentication, AuthorizationPolicy, RequestAuthentication (security.istio.io),
//!   Telemetry (telemetry.istio.io), WasmPlugin (extensions.istio.io). A wrong group or an
//!   unknown version rejects that component alone. Without an IstioMesh in the design the
//!   cluster's CRD is read, and a kind it does not serve rejects the component alone too.
//! - A traffic split: a component of kind `TrafficSplit` (apiVersion `split.smi-spec.io/*`)
//!   becomes a VirtualService and a DestinationRule named after the component (see
//!   [`traffic_split`] for its spec). Weights must add up to 100.
//! - Any other component (a plain Kubernetes kind, a kind of another CRD) is applied as given;
//!   the host refuses it when the grant does not allow it. Control-plane or add-on types of other
//!   meshes (`LinkerdMesh`, ...) are rejected.
//!
//! Traits:
//! - `mTLS` `{namespaces: [...], policy: strict | mutual | disable}`: a PeerAuthentication
//!   `default` in each namespace with mode STRICT, PERMISSIVE (`mutual`, also spelled
//!   `permissive`) or DISABLE; deleting the design deletes them.
//! - `automaticSidecarInjection` (also `automaticSidecarInjection.Istio`) `{namespaces: [...]}`:
//!   the namespaces join the mesh as `label-namespace` puts them (`istio-injection=enabled`, or
//!   `istio.io/dataplane-mode=ambient` with the ambient profile), before the design's workloads
//!   are applied; deleting the design removes the label.
//!
//! Error codes WASMESH-ISTIO-2100..2199.

use serde_json::{Map, Value, json};
use wasmesh_sdk::design::{Component, Design, Expansion, Hooks, KindGroups, Provider, Trait, TraitEffect};
use wasmesh_sdk::registry::{self, DesignKind};
use wasmesh_sdk::{DesignPlan, DesignRequest, Error, Step};

use crate::ISTIO;
use crate::errors::IstioError;

const NET: &[&str] = &["v1", "v1beta1", "v1alpha3"];
const SEC: &[&str] = &["v1", "v1beta1"];

/// The Istio kinds checked and passed through: kind, then (group, plural, versions) it may use,
/// the newest version first.
pub const KINDS: &[(&str, KindGroups)] = &[
    ("VirtualService", &[("networking.istio.io", "virtualservices", NET)]),
    ("DestinationRule", &[("networking.istio.io", "destinationrules", NET)]),
    (
        "Gateway",
        &[
            ("networking.istio.io", "gateways", NET),
            ("gateway.networking.k8s.io", "gateways", &["v1", "v1beta1"]),
        ],
    ),
    ("ServiceEntry", &[("networking.istio.io", "serviceentries", NET)]),
    ("Sidecar", &[("networking.istio.io", "sidecars", NET)]),
    ("WorkloadEntry", &[("networking.istio.io", "workloadentries", NET)]),
    ("WorkloadGroup", &[("networking.istio.io", "workloadgroups", NET)]),
    ("EnvoyFilter", &[("networking.istio.io", "envoyfilters", &["v1alpha3"])]),
    ("ProxyConfig", &[("networking.istio.io", "proxyconfigs", &["v1beta1"])]),
    (
        "PeerAuthentication",
        &[("security.istio.io", "peerauthentications", SEC)],
    ),
    (
        "AuthorizationPolicy",
        &[("security.istio.io", "authorizationpolicies", SEC)],
    ),
    (
        "RequestAuthentication",
        &[("security.istio.io", "requestauthentications", SEC)],
    ),
    (
        "Telemetry",
        &[("telemetry.istio.io", "telemetries", &["v1", "v1alpha1"])],
    ),
    ("WasmPlugin", &[("extensions.istio.io", "wasmplugins", &["v1alpha1"])]),
];

/// Settings of an IstioMesh component passed to the install (JSON body).
pub const INSTALL_OPTIONS: &[&str] = &["profile", "version", "waitSeconds", "autoscale", "hub"];

/// Every kind this translator handles in designs, as it registers them with the Meshery server:
/// IstioMesh and the add-ons with the schema of their settings, the kinds of [`KINDS`] with their
/// CRD's schema, and TrafficSplit with the schema [`traffic_split`] reads.
pub fn design_kinds() -> Vec<DesignKind> {
    let versions = crate::install::versions();
    let version = json!({"type": "string", "enum": versions, "default": versions.first(),
        "description": "the Istio release to install"});
    let mut kinds = vec![registry::settings_kind(
        ISTIO.control_plane.kind,
        json!({
            "version": version,
            "profile": {"type": "string", "enum": crate::install::PROFILES, "default": "default"},
            "waitSeconds": {"type": "integer", "minimum": wasmesh_sdk::options::MIN_WAIT_SECONDS,
                "maximum": wasmesh_sdk::options::MAX_WAIT_SECONDS,
                "default": wasmesh_sdk::options::DEFAULT_WAIT_SECONDS, "description": "how long to wait for availability"},
            "autoscale": {"type": "boolean", "default": true,
                "description": "HorizontalPodAutoscalers for istiod and the gateways"},
            "hub": {"type": "string", "description": "image repository of the control plane and proxies (a mirror)"},
        }),
        &[],
    )];
    for addon in ISTIO.addons {
        kinds.push(registry::settings_kind(addon.kind, json!({"version": version}), &[]));
    }
    kinds.extend(registry::kinds_from_crds(KINDS, &crate::install::default_crds()));
    let backend = json!({"type": "object", "required": ["weight"], "properties": {
        "version": {"type": "string", "description": "a version of the service: pods with this version label"},
        "service": {"type": "string", "description": "another Service"},
        "weight": {"type": "integer", "minimum": 0, "maximum": 100}}});
    kinds.push(DesignKind {
        kind: "TrafficSplit".into(),
        api_version: format!("{SPLIT_GROUP}/{}", SPLIT_VERSIONS[0]),
        display_name: registry::display_name("TrafficSplit"),
        namespaced: true,
        schema: json!({"title": "Traffic Split", "type": "object", "properties": {"spec": {
            "type": "object", "required": ["service", "backends"], "properties": {
                "service": {"type": "string", "description": "the Service whose traffic is split"},
                "versionLabel": {"type": "string", "default": "version"},
                "backends": {"type": "array", "items": backend,
                    "description": "weights are whole percentages adding up to 100"}}}}})
        .to_string(),
    });
    kinds
}

/// What the settings of an IstioMesh or add-on component should be, said when they are not.
pub const SETTINGS_REMEDY: &str = "set settings.version to an Istio release such as \"1.27.3\" and settings.profile to default, minimal, demo or ambient";

const SPLIT_GROUP: &str = "split.smi-spec.io";
const SPLIT_VERSIONS: &[&str] = &["v1alpha4", "v1alpha3", "v1alpha2", "v1alpha1"];

/// Istio's part of the SDK's design flow: the control plane's profile, TrafficSplit, and the
/// mTLS and injection traits.
struct IstioHooks {
    /// The design installs Istio: its CRDs need no check against the cluster.
    mesh_in_design: bool,
    /// The injection trait follows the mode of the control plane: the design's, or the installed one.
    ambient: bool,
    /// The apiVersion of the mTLS trait's PeerAuthentications.
    security_api: String,
}

impl Hooks for IstioHooks {
    fn control_plane(&mut self, d: &Design, c: &Component) -> Result<Expansion, Error> {
        let version = d.version(c)?;
        d.control_plane(c, |body| {
            if !version.is_empty() {
                body.insert("version".into(), version.clone().into());
            }
            match body.get("profile") {
                None => Ok(" with profile default".into()),
                Some(Value::String(p)) => Ok(format!(" with profile {p}")),
                Some(other) => Err(d.bad_settings(c, format!("settings.profile is {other}, not a string"))),
            }
        })
    }

    fn component(&mut self, d: &Design, c: &Component) -> Option<Result<Expansion, Error>> {
        (c.kind == "TrafficSplit").then(|| {
            d.check_api_version(c, &[(SPLIT_GROUP, "trafficsplits", SPLIT_VERSIONS)])?;
            let (objects, what) = traffic_split(c)?;
            if !d.request.delete && !self.mesh_in_design {
                d.check_served(
                    c,
                    "networking.istio.io/v1",
                    "VirtualService",
                    "virtualservices",
                    provider(d, "networking.istio.io"),
                )?;
            }
            Ok(Expansion::Objects { objects, what })
        })
    }

    fn provider(&self, d: &Design, group: &str) -> (bool, Option<Provider<'static>>) {
        (self.mesh_in_design && group.ends_with(".istio.io"), provider(d, group))
    }

    fn on_trait(&mut self, d: &Design, t: &Trait) -> Option<Result<TraitEffect, Error>> {
        if t.is("mTLS") {
            return Some(mtls(d, t, &self.security_api));
        }
        if t.is("automaticSidecarInjection") {
            return Some(injection(d, t, self.ambient));
        }
        None
    }
}

pub fn provision(request: &DesignRequest) -> Result<DesignPlan, Error> {
    let d = Design::new(&ISTIO, request);
    let mesh = d.control_plane_component();
    let ambient = match mesh {
        Some(m) => m.spec.get("profile").and_then(Value::as_str) == Some("ambient"),
        None if request
            .config
            .as_deref()
            .is_some_and(|c| c.contains("automaticSidecarInjection")) =>
        {
            installed_profile().as_deref() == Some("ambient")
        }
        None => false,
    };
    let security_api = security_api_version(mesh.and_then(|m| d.version(m).ok()).filter(|v| !v.is_empty()));
    let hooks = IstioHooks {
        mesh_in_design: mesh.is_some(),
        ambient,
        security_api,
    };
    d.plan(hooks)
}

/// What installs the CRDs of `group`: Istio for its own groups; for another API (the Gateway
/// API) the SDK's words.
fn provider(d: &Design, group: &str) -> Option<Provider<'static>> {
    group.ends_with(".istio.io").then(|| d.default_provider())
}

/// The installed control plane's profile, when it can be read.
fn installed_profile() -> Option<String> {
    crate::installed::control_plane().ok().flatten().map(|cp| cp.profile)
}

/// `security.istio.io/v1` from Istio 1.22 on (and when the release is unknown), `v1beta1` before.
fn security_api_version(release: Option<String>) -> String {
    let minor = release.as_deref().and_then(|r| {
        let mut parts = r.trim_start_matches('v').split('.');
        Some((parts.next()?.parse::<u32>().ok()?, parts.next()?.parse::<u32>().ok()?))
    });
    match minor {
        Some((1, m)) if m < 22 => "security.istio.io/v1beta1".into(),
        Some((0, _)) => "security.istio.io/v1beta1".into(),
        _ => "security.istio.io/v1".into(),
    }
}

/// The mTLS trait: a PeerAuthentication `default` per namespace.
fn mtls(d: &Design, t: &Trait, api_version: &str) -> Result<TraitEffect, Error> {
    let namespaces = d.namespaces(t)?;
    let policy = t.string("policy").unwrap_or_default();
    let mode = match policy.to_ascii_lowercase().as_str() {
        "strict" => "STRICT",
        "mutual" | "permissive" => "PERMISSIVE",
        "disable" | "disabled" => "DISABLE",
        _ => {
            return Err(IstioError::UnknownMtlsPolicy {
                name: t.name.clone(),
                component: t.component.clone(),
                policy: policy.to_string(),
            }
            .into());
        }
    };
    let objects = namespaces
        .iter()
        .map(|ns| {
            json!({
                "apiVersion": api_version,
                "kind": "PeerAuthentication",
                "metadata": {"name": "default", "namespace": ns},
                "spec": {"mtls": {"mode": mode}},
            })
        })
        .collect();
    Ok(TraitEffect {
        objects,
        namespaces: Vec::new(),
        what: format!("PeerAuthentication \"default\" {mode} in {}", namespaces.join(", ")),
    })
}

/// The injection trait: each namespace labelled as `label-namespace` labels it.
fn injection(d: &Design, t: &Trait, ambient: bool) -> Result<TraitEffect, Error> {
    let namespaces = d.namespaces(t)?;
    let mut changes = Vec::new();
    for ns in &namespaces {
        let plan = crate::namespace::build(ns, false, ambient);
        for s in plan.stages.into_iter().flat_map(|s| s.steps) {
            if let Step::NamespaceMetadata(c) = s {
                changes.push(c);
            }
        }
    }
    let label = if ambient {
        "istio.io/dataplane-mode=ambient"
    } else {
        "istio-injection=enabled"
    };
    Ok(TraitEffect {
        objects: Vec::new(),
        namespaces: changes,
        what: format!("label {label} on namespaces {}", namespaces.join(", ")),
    })
}

/// A traffic split: a component of kind `TrafficSplit` (apiVersion `split.smi-spec.io/*`) whose
/// spec is
///
/// ```yaml
/// service: reviews          # the Service whose traffic is split (host of the VirtualService)
/// versionLabel: version     # optional: the pod label that tells versions apart (default "version")
/// backends:                 # or `versions`; weights are whole percentages adding up to 100
///   - version: v1           # a version of `service`: pods labelled version=v1 (a subset)
///     weight: 80
///   - service: reviews-next # or another Service, as SMI backends name them
///     weight: 20
/// ```
///
/// becomes a VirtualService `<name>` routing `service` by weight, and, when a backend names a
/// version, a DestinationRule `<name>` with one subset per version, both in the component's
/// namespace and with its labels and annotations.
pub fn traffic_split(c: &Component) -> Result<(Vec<Value>, String), Error> {
    let bad = |why: String| -> Error {
        IstioError::BadTrafficSplit {
            name: c.name.clone(),
            why,
        }
        .into()
    };
    let spec = &c.spec;
    let service = spec
        .get("service")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("spec.service is missing".into()))?;
    let label = match spec.get("versionLabel") {
        None | Some(Value::Null) => "version",
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        Some(other) => return Err(bad(format!("versionLabel is {other}, not a label name"))),
    };
    let backends = spec
        .get("backends")
        .or_else(|| spec.get("versions"))
        .and_then(Value::as_array)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| bad("spec.backends lists no backend".into()))?;

    let mut routes = Vec::new();
    let mut subsets: Vec<Value> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut total = 0u64;
    let mut shown = Vec::new();
    for (i, b) in backends.iter().enumerate() {
        let text = |k: &str| {
            b.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let weight = weight(b.get("weight")).ok_or_else(|| {
            bad(format!(
                "backend {} has weight {}, not a whole number from 0 to 100",
                i + 1,
                b.get("weight").unwrap_or(&Value::Null)
            ))
        })?;
        total += weight;
        let (destination, key) = match (text("version"), text("service")) {
            (Some(v), s) if s.is_none_or(|s| s == service) => {
                let subset = subset_name(v);
                if !wasmesh_sdk::plan::is_namespace_name(&subset) {
                    return Err(bad(format!(
                        "backend {} names version \"{}\", which gives no subset name Istio accepts (letters, digits and '-', at most 63)",
                        i + 1,
                        v.escape_debug()
                    )));
                }
                // Two versions that differ only in punctuation ("1.0", "1-0") must not share a
                // subset: the routes of one would reach the pods of the other.
                match subsets.iter().find(|x| x["name"] == subset) {
                    None => subsets.push(json!({"name": subset, "labels": {label: v}})),
                    Some(x) if x["labels"][label] == v => {}
                    Some(x) => {
                        return Err(bad(format!(
                            "versions \"{}\" and \"{}\" would share the subset name \"{subset}\"",
                            x["labels"][label].as_str().unwrap_or_default().escape_debug(),
                            v.escape_debug()
                        )));
                    }
                }
                (json!({"host": service, "subset": subset}), format!("{service} {v}"))
            }
            (Some(_), s) => {
                let s = s.unwrap_or_default();
                return Err(bad(format!(
                    "backend {} names version and service \"{s}\": a version belongs to spec.service \"{service}\"",
                    i + 1
                )));
            }
            (None, Some(s)) => (json!({"host": s}), s.to_string()),
            (None, None) => return Err(bad(format!("backend {} names neither a version nor a service", i + 1))),
        };
        if seen.contains(&key) {
            return Err(bad(format!("backend {} repeats {key}", i + 1)));
        }
        shown.push(format!("{key} {weight}%"));
        seen.push(key);
        routes.push(json!({"destination": destination, "weight": weight}));
    }
    if total != 100 {
        return Err(IstioError::SplitWeights {
            name: c.name.clone(),
            total,
        }
        .into());
    }
    let metadata = |kind: &str| {
        let mut m = Map::new();
        m.insert("name".into(), c.name.clone().into());
        if let Some(ns) = &c.namespace {
            m.insert("namespace".into(), ns.clone().into());
        }
        if !c.labels.is_empty() {
            m.insert("labels".into(), Value::Object(c.labels.clone()));
        }
        if !c.annotations.is_empty() {
            m.insert("annotations".into(), Value::Object(c.annotations.clone()));
        }
        json!({"apiVersion": "networking.istio.io/v1", "kind": kind, "metadata": m})
    };
    let mut vs = metadata("VirtualService");
    vs["spec"] = json!({"hosts": [service], "http": [{"route": routes}]});
    let mut objects = vec![vs];
    let mut what = "VirtualService".to_string();
    if !subsets.is_empty() {
        let mut dr = metadata("DestinationRule");
        dr["spec"] = json!({"host": service, "subsets": subsets});
        objects.push(dr);
        what.push_str(" and DestinationRule");
    }
    Ok((objects, format!("{what}: {}", shown.join(", "))))
}

/// A whole percentage 0..=100 (a number, or a string of digits as SMI v1alpha1 allows).
fn weight(v: Option<&Value>) -> Option<u64> {
    let w = match v? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (w <= 100).then_some(w)
}

/// A subset name Istio accepts for a version ("1.0" becomes "1-0").
fn subset_name(version: &str) -> String {
    let s: String = version
        .to_ascii_lowercase()
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect();
    s.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmesh_sdk::design::testing::applied;
    use wasmesh_sdk::design::testing::{design_request as request, oam_component as oam};

    fn split(backends: Value) -> Component {
        wasmesh_sdk::design::parse_component(
            &oam(
                "TrafficSplit",
                "split.smi-spec.io/v1alpha2",
                "reviews-split",
                "shop",
                json!({"service": "reviews", "backends": backends}),
            ),
            ISTIO.code_prefix,
        )
        .unwrap()
    }

    #[test]
    fn every_design_kind_is_registered_with_a_schema() {
        let kinds = design_kinds();
        let names: Vec<&str> = kinds.iter().map(|k| k.kind.as_str()).collect();
        let mut want = vec!["IstioMesh"];
        want.extend(ISTIO.addons.iter().map(|a| a.kind));
        want.extend(KINDS.iter().map(|(k, _)| *k));
        want.push("TrafficSplit");
        assert_eq!(names, want);
        for k in &kinds {
            let schema: Value = serde_json::from_str(&k.schema).unwrap();
            assert_eq!(schema["type"], "object", "{}", k.kind);
            assert!(
                schema["properties"].as_object().is_some_and(|p| !p.is_empty()),
                "{}",
                k.kind
            );
        }
        let vs = kinds.iter().find(|k| k.kind == "VirtualService").unwrap();
        assert_eq!(vs.api_version, "networking.istio.io/v1");
        assert!(vs.schema.contains("gateways"));
    }

    #[test]
    fn every_istio_kind_passes_through_whole() {
        let spec = json!({"deep": {"list": [1, {"x": "y"}], "keep": true}});
        let components: Vec<String> = KINDS
            .iter()
            .map(|(kind, groups)| {
                let (g, _, v) = groups[0];
                oam(
                    kind,
                    &format!("{g}/{}", v[0]),
                    &kind.to_lowercase(),
                    "shop",
                    spec.clone(),
                )
            })
            .collect();
        let p = provision(&request(components, None)).unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        let objects = applied(&p.plan);
        assert_eq!(objects.len(), KINDS.len());
        for o in &objects {
            assert_eq!(o["spec"], spec, "{}", o["kind"]);
            assert_eq!(o["metadata"]["namespace"], "shop");
        }
    }

    #[test]
    fn wrong_group_and_version_are_rejected_alone() {
        let p = provision(&request(
            vec![
                oam(
                    "AuthorizationPolicy",
                    "policy.linkerd.io/v1alpha1",
                    "a",
                    "shop",
                    json!({}),
                ),
                oam("EnvoyFilter", "networking.istio.io/v1", "e", "shop", json!({})),
                oam("TrafficSplit", "example.com/v1", "t", "shop", json!({})),
                oam("VirtualService", "networking.istio.io/v1beta1", "ok", "shop", json!({})),
                oam("LinkerdMesh", "", "l", "linkerd", json!({})),
            ],
            None,
        ))
        .unwrap();
        let rejected: Vec<_> = p.rejected.iter().map(|r| (r.index, r.error.code.as_str())).collect();
        assert_eq!(
            rejected,
            [
                (0, "WASMESH-ISTIO-2101"),
                (1, "WASMESH-ISTIO-2102"),
                (2, "WASMESH-ISTIO-2101"),
                (4, "WASMESH-ISTIO-2106")
            ]
        );
        assert!(p.rejected[0].error.message.contains("security.istio.io/v1"));
        assert_eq!(applied(&p.plan).len(), 1);
    }

    #[test]
    fn traffic_split_becomes_a_virtual_service_and_subsets() {
        let (objects, what) = traffic_split(&split(json!([
            {"version": "v1", "weight": 80}, {"version": "2.0", "weight": "15"}, {"service": "reviews-next", "weight": 5}
        ])))
        .unwrap();
        assert_eq!(objects[0]["kind"], "VirtualService");
        assert_eq!(
            objects[0]["metadata"],
            json!({"name": "reviews-split", "namespace": "shop"})
        );
        assert_eq!(
            objects[0]["spec"],
            json!({"hosts": ["reviews"], "http": [{"route": [
                {"destination": {"host": "reviews", "subset": "v1"}, "weight": 80},
                {"destination": {"host": "reviews", "subset": "2-0"}, "weight": 15},
                {"destination": {"host": "reviews-next"}, "weight": 5}]}]})
        );
        assert_eq!(
            objects[1]["spec"],
            json!({"host": "reviews", "subsets": [
                {"name": "v1", "labels": {"version": "v1"}}, {"name": "2-0", "labels": {"version": "2.0"}}]})
        );
        assert_eq!(
            what,
            "VirtualService and DestinationRule: reviews v1 80%, reviews 2.0 15%, reviews-next 5%"
        );
    }

    #[test]
    fn traffic_split_weights_must_add_up_to_100() {
        let e = traffic_split(&split(
            json!([{"version": "v1", "weight": 50}, {"version": "v2", "weight": 30}]),
        ))
        .unwrap_err();
        assert_eq!(e.code, "WASMESH-ISTIO-2111");
        assert!(e.message.contains("adding up to 80, not 100"), "{}", e.message);
        for (backends, says) in [
            (json!([]), "no backend"),
            (json!([{"version": "v1", "weight": 101}]), "not a whole number"),
            (json!([{"version": "v1", "weight": -1}]), "not a whole number"),
            (json!([{"weight": 100}]), "neither a version nor a service"),
            (
                json!([{"version": "v1", "weight": 50}, {"version": "v1", "weight": 50}]),
                "repeats",
            ),
        ] {
            let e = traffic_split(&split(backends)).unwrap_err();
            assert_eq!(e.code, "WASMESH-ISTIO-2110");
            assert!(e.message.contains(says), "{}", e.message);
        }
    }

    #[test]
    fn mtls_and_injection_traits() {
        let config = json!({"spec": {"components": [{"componentName": "vs", "traits": [
            {"name": "mTLS", "properties": {"namespaces": ["a", "b"], "policy": "mutual"}},
            {"name": "automaticSidecarInjection", "properties": {"namespaces": ["a"]}}]}]}});
        let mut r = request(vec![], Some(config.clone()));
        let p = provision(&r).unwrap();
        let objects = applied(&p.plan);
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[1]["apiVersion"], "security.istio.io/v1");
        assert_eq!(objects[1]["metadata"], json!({"name": "default", "namespace": "b"}));
        assert_eq!(objects[1]["spec"], json!({"mtls": {"mode": "PERMISSIVE"}}));
        let labels: Vec<_> = p
            .plan
            .stages
            .iter()
            .flat_map(|s| &s.steps)
            .filter_map(|s| match s {
                Step::NamespaceMetadata(c) => Some((c.namespace.clone(), c.set_labels.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            labels,
            [(
                "a".to_string(),
                vec![("istio-injection".to_string(), "enabled".to_string())]
            )]
        );

        r.delete = true;
        let p = provision(&r).unwrap();
        assert!(applied(&p.plan).is_empty());
        assert!(
            p.plan.stages[0]
                .steps
                .iter()
                .all(|s| matches!(s, Step::Delete(d) if d.kind == "PeerAuthentication"))
        );

        let bad = json!({"spec": {"components": [{"componentName": "vs", "traits": [
            {"name": "mTLS", "properties": {"namespaces": ["a"], "policy": "sometimes"}}]}]}});
        let e = provision(&request(vec![], Some(bad))).unwrap_err();
        assert_eq!(e.code, "WASMESH-ISTIO-2120");
    }

    #[test]
    fn istio_mesh_installs_with_its_profile_first() {
        let r = request(
            vec![
                oam(
                    "VirtualService",
                    "networking.istio.io/v1",
                    "vs",
                    "shop",
                    json!({"hosts": ["a"]}),
                ),
                oam(
                    "IstioMesh",
                    "",
                    "istio",
                    "istio-system",
                    json!({"profile": "minimal", "version": "1.26.3", "color": 1}),
                ),
            ],
            None,
        );
        let p = provision(&r).unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert!(
            p.plan.stages[0]
                .name
                .starts_with("IstioMesh \"istio\" in \"istio-system\": ")
        );
        assert_eq!(p.plan.stages.last().unwrap().name, "objects");
        assert!(
            p.plan
                .summary
                .contains("IstioMesh \"istio\" in \"istio-system\": install 1.26.3 with profile minimal"),
            "{}",
            p.plan.summary
        );
        let istiod = applied(&p.plan)
            .into_iter()
            .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "istiod")
            .expect("istiod");
        assert_eq!(istiod["metadata"]["labels"]["app.kubernetes.io/version"], "1.26.3");
        assert_eq!(security_api_version(Some("1.21.0".into())), "security.istio.io/v1beta1");
    }
}
