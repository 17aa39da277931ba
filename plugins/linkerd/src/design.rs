//! Designs (Provision and ProcessOAM) for Linkerd.
//!
//! Components:
//! - `LinkerdMesh`: the control plane, installed (or uninstalled) by the `linkerd` operation.
//!   The version is `settings.version` (or an OAM Component's `spec.version`; the translator's
//!   default when neither is set); the other settings listed in [`INSTALL_OPTIONS`] are passed
//!   to the install as its options.
//! - The extensions, by Meshery's component types: `VizLinkerdAddon`, `JaegerLinkerdAddon`,
//!   `MultiClusterLinkerdAddon` (also spelled `MulticlusterLinkerdAddon`) and `SMILinkerdAddon`,
//!   run by the `viz-addon`, `jaeger-addon`, `multicluster-addon` and `smi-addon` operations
//!   (`settings.version` as their version, the settings listed in [`ADDON_OPTIONS`] as options).
//! - Linkerd's own kinds are passed through whole (every field kept), after their apiVersion is
//!   checked against the groups and versions in [`KINDS`]: ServiceProfile (retries, retry
//!   budgets, per-route timeouts), Server, ServerAuthorization, AuthorizationPolicy,
//!   MeshTLSAuthentication, NetworkAuthentication, HTTPRoute (policy.linkerd.io or the Gateway
//!   API's group) and TrafficSplit (split.smi-spec.io, served by the SMI extension). A wrong
//!   group or an unknown version rejects that component alone. When the design does not install
//!   what serves the kind (LinkerdMesh, or SMILinkerdAddon for TrafficSplit), the cluster's CRD
//!   is read and a kind it does not serve rejects the component alone too.
//! - Any other component (a plain Kubernetes kind, or a kind of another CRD) is applied as
//!   given; the host refuses it when the grant does not allow it. Control-plane or add-on types
//!   of other meshes (`IstioMesh`, `GrafanaIstioAddon`, ...) are rejected.
//!
//! Traits: `automaticSidecarInjection` and `automaticSidecarInjection.Linkerd` with
//! `{namespaces: [...]}` annotate each namespace `linkerd.io/inject: enabled` (creating missing
//! ones) before the design's workloads are applied; deleting the design removes the annotation.
//! Other traits (e.g. `mTLS`: Linkerd's mTLS is always on) are reported as not applied.
//!
//! Error codes WASMESH-LINKERD-2100..2199.

use serde_json::json;
use wasmesh_sdk::design::{Design, Hooks, KindGroups, Provider, Trait, TraitEffect};
use wasmesh_sdk::registry::{self, DesignKind};
use wasmesh_sdk::{DesignPlan, DesignRequest, Error};

use crate::LINKERD;

/// The Linkerd kinds checked and passed through: kind, then (group, plural, versions) it may use,
/// the version suggested in errors first (one every supported release serves).
pub const KINDS: &[(&str, KindGroups)] = &[
    (
        "ServiceProfile",
        &[("linkerd.io", "serviceprofiles", &["v1alpha2", "v1alpha1"])],
    ),
    (
        "Server",
        &[(
            "policy.linkerd.io",
            "servers",
            &["v1beta1", "v1beta3", "v1beta2", "v1alpha1"],
        )],
    ),
    (
        "ServerAuthorization",
        &[("policy.linkerd.io", "serverauthorizations", &["v1beta1", "v1alpha1"])],
    ),
    (
        "AuthorizationPolicy",
        &[("policy.linkerd.io", "authorizationpolicies", &["v1alpha1"])],
    ),
    (
        "MeshTLSAuthentication",
        &[("policy.linkerd.io", "meshtlsauthentications", &["v1alpha1"])],
    ),
    (
        "NetworkAuthentication",
        &[("policy.linkerd.io", "networkauthentications", &["v1alpha1"])],
    ),
    (
        "HTTPRoute",
        &[
            (
                "policy.linkerd.io",
                "httproutes",
                &["v1beta3", "v1beta2", "v1beta1", "v1alpha1"],
            ),
            (
                "gateway.networking.k8s.io",
                "httproutes",
                &["v1", "v1beta1", "v1alpha2"],
            ),
        ],
    ),
    (
        "TrafficSplit",
        &[(
            "split.smi-spec.io",
            "trafficsplits",
            &["v1alpha4", "v1alpha3", "v1alpha2", "v1alpha1"],
        )],
    ),
];

/// Settings of a LinkerdMesh component passed to the install as its options (JSON body).
pub const INSTALL_OPTIONS: &[&str] = &["registry", "trustDomain", "waitSeconds"];

/// Settings of an add-on component passed to its operation as options (JSON body).
pub const ADDON_OPTIONS: &[&str] = &["logLevel"];

/// What the settings of a LinkerdMesh or add-on component should be, said when they are not.
pub const SETTINGS_REMEDY: &str =
    "set settings.version to a Linkerd release such as \"stable-2.14.10\" and other settings as an object";

/// The group of TrafficSplit, served by the SMI extension rather than by the control plane.
const SMI_GROUP: &str = "split.smi-spec.io";

/// Every kind this translator handles in designs, as it registers them with the Meshery server:
/// LinkerdMesh and the add-ons with the schema of their settings, the kinds of [`KINDS`] with
/// their CRD's schema.
pub fn design_kinds() -> Vec<DesignKind> {
    let versions = crate::install::versions();
    let version = json!({"type": "string", "enum": versions, "default": versions.first(),
        "description": "the Linkerd release to install"});
    let mut kinds = vec![registry::settings_kind(
        LINKERD.control_plane.kind,
        json!({
            "version": version,
            "registry": {"type": "string", "default": "cr.l5d.io/linkerd",
                "description": "image registry of the Linkerd images (a mirror for air-gapped clusters)"},
            "trustDomain": {"type": "string", "default": "cluster.local",
                "description": "identity trust domain of the mesh"},
            "waitSeconds": {"type": "integer", "minimum": wasmesh_sdk::options::MIN_WAIT_SECONDS,
                "maximum": wasmesh_sdk::options::MAX_WAIT_SECONDS, "default": wasmesh_sdk::options::DEFAULT_WAIT_SECONDS,
                "description": "how long to wait for the control plane to become available"},
        }),
        &[],
    )];
    for addon in LINKERD.addons {
        kinds.push(registry::settings_kind(
            addon.kind,
            json!({
                "version": version,
                "logLevel": {"type": "string", "enum": crate::addons::LOG_LEVELS, "default": "info"},
            }),
            &[],
        ));
    }
    let mut crds = crate::install::default_crds();
    crds.extend(crate::addons::crds());
    kinds.extend(registry::kinds_from_crds(KINDS, &crds));
    kinds
}

/// Linkerd's part of the SDK's design flow: TrafficSplit's CRD comes with the SMI extension,
/// and the injection trait annotates namespaces.
struct LinkerdHooks;

impl Hooks for LinkerdHooks {
    fn provider(&self, d: &Design, group: &str) -> (bool, Option<Provider<'static>>) {
        if group != SMI_GROUP {
            return (d.brings(LINKERD.control_plane.kind), Some(d.default_provider()));
        }
        let smi = Provider {
            name: "the Linkerd SMI extension",
            remedy: "install the Linkerd SMI extension first, or add its component (SMILinkerdAddon) to the design",
        };
        (d.brings("SMILinkerdAddon"), Some(smi))
    }

    fn on_trait(&mut self, d: &Design, t: &Trait) -> Option<Result<TraitEffect, Error>> {
        t.is("automaticSidecarInjection").then(|| {
            Ok(TraitEffect::annotate_namespaces(
                &d.namespaces(t)?,
                crate::INJECT_ANNOTATION,
                "enabled",
            ))
        })
    }
}

pub fn provision(request: &DesignRequest) -> Result<DesignPlan, Error> {
    Design::new(&LINKERD, request).plan(LinkerdHooks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use wasmesh_sdk::Step;
    use wasmesh_sdk::design::testing::applied;
    use wasmesh_sdk::design::testing::{design_request as request, oam_component as oam};

    fn service_profile() -> Value {
        json!({"routes": [{"name": "GET /api", "condition": {"method": "GET", "pathRegex": "/api"},
                           "isRetryable": true, "timeout": "300ms"}],
               "retryBudget": {"retryRatio": 0.2, "minRetriesPerSecond": 10, "ttl": "10s"}})
    }

    #[test]
    fn every_design_kind_is_registered_with_a_schema() {
        let kinds = design_kinds();
        let names: Vec<&str> = kinds.iter().map(|k| k.kind.as_str()).collect();
        let mut want = vec!["LinkerdMesh"];
        want.extend(LINKERD.addons.iter().map(|a| a.kind));
        want.extend(KINDS.iter().map(|(k, _)| *k));
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
        let ts = kinds.iter().find(|k| k.kind == "TrafficSplit").unwrap();
        assert_eq!(ts.api_version, "split.smi-spec.io/v1alpha2");
        let sp = kinds.iter().find(|k| k.kind == "ServiceProfile").unwrap();
        assert_eq!(sp.api_version, "linkerd.io/v1alpha2");
        assert!(sp.schema.contains("retryBudget"));
    }

    #[test]
    fn linkerd_kinds_pass_through_whole() {
        let r = request(
            vec![
                oam(
                    "ServiceProfile",
                    "linkerd.io/v1alpha2",
                    "web.emoji.svc.cluster.local",
                    "emoji",
                    service_profile(),
                ),
                oam(
                    "Server",
                    "policy.linkerd.io/v1beta1",
                    "web",
                    "emoji",
                    json!({"port": "http", "podSelector": {"matchLabels": {"app": "web"}}}),
                ),
                oam(
                    "HTTPRoute",
                    "gateway.networking.k8s.io/v1beta1",
                    "r",
                    "emoji",
                    json!({"parentRefs": []}),
                ),
                oam("ConfigMap", "v1", "plain", "emoji", Value::Null),
            ],
            None,
        );
        let p = provision(&r).unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        let objects = applied(&p.plan);
        assert_eq!(
            objects[0]["spec"],
            service_profile(),
            "retries, budgets and timeouts kept"
        );
        assert_eq!(objects[1]["spec"]["podSelector"]["matchLabels"]["app"], "web");
        assert_eq!(objects.len(), 4);
        assert!(
            p.plan.summary.contains("Server \"web\" in \"emoji\": apply"),
            "{}",
            p.plan.summary
        );
    }

    #[test]
    fn a_wrong_group_or_version_rejects_the_component_alone() {
        let r = request(
            vec![
                oam("Server", "policy.istio.io/v1beta1", "bad-group", "emoji", json!({})),
                oam("ServiceProfile", "linkerd.io/v9", "bad-version", "emoji", json!({})),
                oam("Server", "policy.linkerd.io/v1beta1", "good", "emoji", json!({})),
                oam("IstioMesh", "", "istio", "istio-system", json!({})),
            ],
            None,
        );
        let p = provision(&r).unwrap();
        let rejected: Vec<_> = p
            .rejected
            .iter()
            .map(|r| (r.index, r.name.as_str(), r.error.code.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [
                (0, "bad-group", "WASMESH-LINKERD-2101"),
                (1, "bad-version", "WASMESH-LINKERD-2102"),
                (3, "istio", "WASMESH-LINKERD-2106"),
            ]
        );
        assert!(
            p.rejected[0].error.message.contains("policy.linkerd.io/v1beta1"),
            "{}",
            p.rejected[0].error.message
        );
        assert_eq!(applied(&p.plan).len(), 1);
    }

    #[test]
    fn injection_trait_in_both_spellings_annotates_namespaces() {
        let config = json!({"spec": {"components": [
            {"componentName": "web", "traits": [
                {"name": "automaticSidecarInjection.Linkerd", "properties": {"namespaces": ["emoji"]}},
                {"name": "automaticSidecarInjection", "properties": {"namespaces": ["books"]}},
                {"name": "mTLS", "properties": {"namespaces": ["emoji"], "policy": "strict"}}]}]}});
        let mut r = request(
            vec![oam("Server", "policy.linkerd.io/v1beta1", "web", "emoji", json!({}))],
            Some(config),
        );
        let p = provision(&r).unwrap();
        let changes: Vec<_> = p
            .plan
            .stages
            .iter()
            .flat_map(|s| &s.steps)
            .filter_map(|s| match s {
                Step::NamespaceMetadata(c) => Some((c.namespace.clone(), c.set_annotations.clone(), c.create)),
                _ => None,
            })
            .collect();
        let enabled = vec![("linkerd.io/inject".to_string(), "enabled".to_string())];
        assert_eq!(
            changes,
            [("books".into(), enabled.clone(), true), ("emoji".into(), enabled, true)]
        );
        assert!(
            p.plan.summary.contains("trait mTLS of \"web\": not applied"),
            "{}",
            p.plan.summary
        );

        r.delete = true;
        let p = provision(&r).unwrap();
        let Step::NamespaceMetadata(undo) = &p.plan.stages[0].steps[0] else {
            panic!("undo first: {:?}", p.plan.stages[0])
        };
        assert_eq!(undo.remove_annotations, ["linkerd.io/inject"]);
        assert!(!undo.create);
    }

    #[test]
    fn mesh_settings_are_checked_and_filtered() {
        let mesh = |settings: Value| request(vec![oam("LinkerdMesh", "", "l", "linkerd", settings)], None);
        let p = provision(&mesh(json!({"version": 2}))).unwrap();
        assert_eq!(p.rejected[0].error.code, "WASMESH-LINKERD-2104");
        // The install's options refuse an unknown key (1103) before a bad value (1104): "color"
        // was left out and waitSeconds passed on.
        let r = mesh(json!({"version": "stable-2.14.10", "waitSeconds": 0, "color": "x"}));
        let p = provision(&r).unwrap();
        assert_eq!(p.rejected[0].error.code, "WASMESH-LINKERD-1104", "{:?}", p.rejected);
        assert!(p.rejected[0].error.message.contains("waitSeconds"));
    }

    #[test]
    fn a_linkerd_mesh_component_plans_the_install_reading_the_cluster_as_designs_may() {
        let h = wasmesh_sdk::testing::Harness::new(LINKERD.manifest, "design", "default");
        let r = request(
            vec![oam(
                "LinkerdMesh",
                "",
                "l",
                "linkerd",
                json!({"version": "stable-2.14.10"}),
            )],
            None,
        );
        let p = provision(&r).unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert!(
            p.plan
                .summary
                .contains("LinkerdMesh \"l\" in \"linkerd\": install stable-2.14.10"),
            "{}",
            p.plan.summary
        );
        assert!(
            applied(&p.plan)
                .iter()
                .any(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "linkerd-destination")
        );
        assert!(!h.reads().is_empty(), "the install reads what is installed");
    }
}
