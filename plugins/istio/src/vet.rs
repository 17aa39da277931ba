//! `istio-vet`: analyses the running Istio configuration through cluster reads and reports every
//! problem as its own event. The plan has no steps: nothing is written.
//!
//! Which namespaces: the request's namespace only; every namespace when it is empty, "all" or
//! "*". (Meshery's UI sends "default" unless the user picks a namespace, so a user who wants the
//! whole cluster vetted, as the upstream adapter did, picks "all".) System namespaces
//! (kube-system, istio-system, ...) are left out of the workload checks; proxies there
//! (gateways) still count for the version check. Istio configuration (Services, VirtualServices,
//! ServiceEntries) is read from every namespace, because routes and host conflicts cross them.
//!
//! Reads, each kind listed once: the namespace(s), istiod Deployments (app=istiod in
//! istio-system), Mutating/ValidatingWebhookConfigurations, Pods (in scope), Services,
//! VirtualServices and ServiceEntries (networking.istio.io v1, else v1beta1).
//!
//! Checks (codes WASMESH-ISTIO-15xx, the `Vet*` variants of `IstioError`): control plane (1500 not installed, 1501 istiod missing,
//! 1502 istiod not available, 1503 injector webhook missing, 1504 validation webhook missing,
//! 1505 istiod version unknown), sidecar injection (1510 pod without sidecar, 1511 unknown
//! revision), proxy versions (1520), app/version labels (1530, 1531), service port names (1540),
//! service association (1550), VirtualService destinations (1560), VirtualService hosts
//! (1570 mesh, 1571 gateway). A clean check says "no problems found" in an INFO event.

mod association;
mod conflicts;
mod control_plane;
mod labels;
mod model;
mod ports;
mod report;
mod routes;
mod sidecars;
mod snapshot;
mod versions;

use serde_json::Value;
use wasmesh_sdk::{Error, Level, OperationRequest, Plan, cluster};

use crate::installed::{self, CONTROL_PLANE_NAMESPACE};
use report::{Check, namespaces_phrase, tally};
use snapshot::{Context, Scope, Snapshot};

pub fn plan(request: &OperationRequest) -> Result<Plan, Error> {
    if request.delete {
        return Ok(wasmesh_sdk::ops::nothing_to_undo(&request.key));
    }
    let scope = Scope::of(&request.namespace);
    let snap = read(&scope)?;
    let (checks, summary) = run(&scope, &snap);
    for c in &checks {
        emit(c);
    }
    Ok(Plan {
        stages: Vec::new(),
        summary,
    })
}

/// Reads what the checks need, each kind once; stops after the control plane when Istio is absent.
fn read(scope: &Scope) -> Result<Snapshot, Error> {
    let mut snap = Snapshot::default();
    match scope {
        Scope::Namespace(ns) => match cluster::get("v1", "Namespace", None, ns)? {
            Some(n) => snap.namespaces.push(n),
            None => return Err(namespace_missing(ns)),
        },
        Scope::All => snap.namespaces = cluster::list("v1", "Namespace", None, "")?,
    }
    snap.istiods = cluster::list("apps/v1", "Deployment", Some(CONTROL_PLANE_NAMESPACE), "app=istiod")?;
    snap.recorded = installed::control_plane()?;
    if snap.istio_missing() {
        return Ok(snap);
    }
    snap.mutating_webhooks = cluster::list(
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        None,
        "",
    )?;
    snap.validating_webhooks = cluster::list(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        None,
        "",
    )?;
    snap.pods = cluster::list("v1", "Pod", scope.read_namespace(), "")?;
    snap.services = cluster::list("v1", "Service", None, "")?;
    snap.virtual_services = list_istio("VirtualService")?;
    snap.service_entries = list_istio("ServiceEntry")?;
    Ok(snap)
}

/// An Istio networking kind from every namespace: v1 (Istio 1.22 and later), else v1beta1.
/// A kind the cluster does not serve lists as empty.
fn list_istio(kind: &str) -> Result<Vec<Value>, Error> {
    let found = cluster::list("networking.istio.io/v1", kind, None, "")?;
    if !found.is_empty() {
        return Ok(found);
    }
    cluster::list("networking.istio.io/v1beta1", kind, None, "")
}

fn namespace_missing(ns: &str) -> Error {
    crate::errors::IstioError::VetNamespaceMissing { namespace: ns.into() }.into()
}

/// Runs every check on what was read; returns the checks and the plan's summary.
fn run(scope: &Scope, snap: &Snapshot) -> (Vec<Check>, String) {
    let ctx = Context::new(scope, snap);
    let place = match scope {
        Scope::Namespace(ns) if ctx.workload_namespaces.is_empty() => {
            format!("namespace \"{ns}\" (a system namespace: workload checks skipped)")
        }
        Scope::Namespace(ns) => format!("namespace \"{ns}\""),
        Scope::All => namespaces_phrase(&ctx.workload_namespaces),
    };
    if snap.istio_missing() {
        let checks = vec![control_plane::not_installed(&place)];
        let summary = format!("istio-vet: Istio is not installed: {} in {place}", tally(&checks));
        return (checks, summary);
    }
    let checks = vec![
        control_plane::check(&ctx),
        sidecars::check(&ctx),
        versions::check(&ctx),
        labels::check(&ctx),
        ports::check(&ctx),
        association::check(&ctx),
        routes::check(&ctx),
        conflicts::check(&ctx),
    ];
    let versions: std::collections::BTreeSet<String> = ctx.versions_by_revision().into_values().collect();
    let control = if versions.is_empty() {
        String::new()
    } else {
        format!("; control plane: istiod {}", model::join(&versions))
    };
    let summary = format!("istio-vet: {} in {place}{control}", tally(&checks));
    (checks, summary)
}

fn emit(check: &Check) {
    check.report("istio-vet");
}

#[cfg(test)]
mod tests {
    //! The checks end to end on snapshots, natively (the e2e tests run them through the host).

    use super::*;
    use serde_json::json;

    const V: &str = "1.27.3";

    fn namespace(name: &str, labels: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
    }

    fn pod(ns: &str, name: &str, labels: Value, proxy: Option<&str>) -> Value {
        let mut containers = vec![json!({"name": "app", "image": "example/app:1"})];
        if let Some(v) = proxy {
            containers.push(json!({"name": "istio-proxy", "image": format!("docker.io/istio/proxyv2:{v}")}));
        }
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": ns, "labels": labels},
               "spec": {"containers": containers}, "status": {"phase": "Running"}})
    }

    fn service(ns: &str, name: &str, selector: Value, ports: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
               "spec": {"selector": selector, "ports": ports}})
    }

    fn vs(ns: &str, name: &str, hosts: Value, gateways: Value, dest: &str) -> Value {
        json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
               "metadata": {"name": name, "namespace": ns},
               "spec": {"hosts": hosts, "gateways": gateways,
                        "http": [{"route": [{"destination": {"host": dest}}]}]}})
    }

    fn istiod(version: &str, available: bool) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "istiod", "namespace": "istio-system",
                            "labels": {"app": "istiod", "istio.io/rev": "default", "istio": "pilot"}},
               "spec": {"replicas": 1, "template": {"spec": {"containers": [
                   {"name": "discovery", "image": format!("docker.io/istio/pilot:{version}")}]}}},
               "status": {"readyReplicas": if available { 1 } else { 0 },
                          "conditions": [{"type": "Available", "status": if available { "True" } else { "False" }}]}})
    }

    /// A clean mesh in namespace "shop": sidecars, matching versions, labels, named ports,
    /// services, a route to an existing host and one to a ServiceEntry host.
    fn clean() -> Snapshot {
        let labels = json!({"app": "web", "version": "v1"});
        Snapshot {
            namespaces: vec![
                namespace("shop", json!({"istio-injection": "enabled"})),
                namespace("istio-system", json!({})),
                namespace("plain", json!({})),
            ],
            pods: vec![
                pod("shop", "web-1", labels.clone(), Some(V)),
                pod("shop", "web-2", labels, Some(V)),
                pod("plain", "loner", json!({}), None),
                pod("istio-system", "istiod-abc", json!({"app": "istiod"}), None),
            ],
            services: vec![
                service(
                    "shop",
                    "web",
                    json!({"app": "web"}),
                    json!([{"port": 80, "name": "http-web"}]),
                ),
                service(
                    "plain",
                    "raw",
                    json!({"app": "loner"}),
                    json!([{"port": 80, "name": "web"}]),
                ),
            ],
            virtual_services: vec![
                vs("shop", "web", json!(["web"]), json!([]), "web"),
                vs("shop", "ext", json!(["api.example.com"]), json!([]), "api.example.com"),
            ],
            service_entries: vec![json!({"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
                "metadata": {"name": "api", "namespace": "shop"}, "spec": {"hosts": ["*.example.com"]}})],
            istiods: vec![istiod(V, true)],
            mutating_webhooks: vec![json!({"metadata": {"name": "istio-sidecar-injector",
                "labels": {"istio.io/rev": "default"}},
                "webhooks": [{"name": "namespace.sidecar-injector.istio.io"}]})],
            validating_webhooks: vec![json!({"metadata": {"name": "istio-validator-istio-system"},
                "webhooks": [{"name": "rev.validation.istio.io"}]})],
            recorded: None,
        }
    }

    fn codes(checks: &[Check]) -> Vec<String> {
        checks
            .iter()
            .flat_map(|c| &c.findings)
            .filter_map(|f| f.code().map(str::to_string))
            .collect()
    }

    fn messages(checks: &[Check]) -> String {
        checks
            .iter()
            .flat_map(|c| &c.findings)
            .map(|f| f.summary.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_clean_mesh_has_no_findings() {
        for scope in [Scope::All, Scope::of("shop")] {
            let (checks, summary) = run(&scope, &clean());
            assert!(codes(&checks).is_empty(), "{scope:?}: {}", messages(&checks));
            assert_eq!(checks.len(), 8);
            assert!(
                summary.starts_with("istio-vet: 0 findings (0 errors, 0 warnings) in "),
                "{summary}"
            );
            assert!(summary.ends_with("; control plane: istiod 1.27.3"), "{summary}");
        }
        let (_, summary) = run(&Scope::All, &clean());
        assert!(summary.contains("in namespaces plain, shop"), "{summary}");
    }

    #[test]
    fn not_installed_is_one_error() {
        let snap = Snapshot {
            namespaces: vec![namespace("default", json!({}))],
            ..Snapshot::default()
        };
        let (checks, summary) = run(&Scope::of("default"), &snap);
        assert_eq!(codes(&checks), ["WASMESH-ISTIO-1500"]);
        assert_eq!(checks[0].findings[0].level, Level::Error);
        assert!(summary.contains("Istio is not installed"), "{summary}");
        assert!(summary.contains("1 finding (1 error, 0 warnings)"), "{summary}");
    }

    #[test]
    fn control_plane_problems() {
        let mut snap = clean();
        snap.istiods = vec![istiod(V, false)];
        snap.mutating_webhooks.clear();
        snap.validating_webhooks.clear();
        let (checks, _) = run(&Scope::All, &snap);
        assert_eq!(
            codes(&checks),
            ["WASMESH-ISTIO-1502", "WASMESH-ISTIO-1503", "WASMESH-ISTIO-1504"]
        );
        assert!(
            messages(&checks).contains("istiod Deployment \"istiod\" in namespace \"istio-system\" is not available")
        );
        // Recorded as installed, istiod gone.
        let mut snap = clean();
        snap.istiods.clear();
        snap.recorded = Some(installed::ControlPlane {
            version: V.into(),
            profile: "minimal".into(),
        });
        let (checks, _) = run(&Scope::All, &snap);
        assert!(codes(&checks).contains(&"WASMESH-ISTIO-1501".to_string()));
        // By digest only: version unknown.
        let mut snap = clean();
        snap.istiods[0]["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!("docker.io/istio/pilot@sha256:00ff");
        let (checks, _) = run(&Scope::All, &snap);
        assert_eq!(codes(&checks), ["WASMESH-ISTIO-1505"]);
    }

    #[test]
    fn missing_sidecars_and_unknown_revisions() {
        let mut snap = clean();
        snap.pods.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "cart-5d8f-x1", "namespace": "shop",
                         "labels": {"app": "web", "version": "v1", "pod-template-hash": "5d8f"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "cart-5d8f", "controller": true}]},
            "spec": {"containers": [{"name": "app", "image": "a:1"}]}, "status": {"phase": "Running"}}));
        snap.namespaces
            .push(namespace("canary", json!({"istio.io/rev": "canary"})));
        snap.namespaces
            .push(namespace("amb", json!({"istio.io/dataplane-mode": "ambient"})));
        snap.pods
            .push(pod("amb", "ambient-1", json!({"app": "web", "version": "v1"}), None));
        snap.services.push(service(
            "amb",
            "web",
            json!({"app": "web"}),
            json!([{"port": 80, "name": "http"}]),
        ));
        let (checks, _) = run(&Scope::All, &snap);
        assert_eq!(codes(&checks), ["WASMESH-ISTIO-1511", "WASMESH-ISTIO-1510"]);
        let text = messages(&checks);
        assert!(
            text.contains(
                "Deployment \"cart\" in namespace \"shop\" runs without the istio-proxy sidecar (pod \"cart-5d8f-x1\")"
            ),
            "{text}"
        );
        assert!(
            text.contains("namespace \"canary\" selects Istio revision \"canary\""),
            "{text}"
        );
        // A revision tag makes it known.
        snap.mutating_webhooks
            .push(json!({"metadata": {"name": "istio-revision-tag-canary", "labels": {"istio.io/tag": "canary"}}}));
        let (checks, _) = run(&Scope::All, &snap);
        assert_eq!(codes(&checks), ["WASMESH-ISTIO-1510"]);
    }

    #[test]
    fn proxy_versions_against_istiod() {
        let mut snap = clean();
        snap.pods[1] = pod("shop", "web-2", json!({"app": "web", "version": "v1"}), Some("1.26.1"));
        // A gateway in a system namespace counts, a digest-only proxy is not compared.
        snap.pods
            .push(pod("istio-system", "gw", json!({"app": "gw"}), Some("1.25.0")));
        let mut digest = pod("shop", "web-3", json!({"app": "web", "version": "v1"}), Some(V));
        digest["spec"]["containers"][1]["image"] = json!("docker.io/istio/proxyv2@sha256:00ff");
        snap.pods.push(digest);
        let (checks, _) = run(&Scope::All, &snap);
        assert_eq!(codes(&checks), ["WASMESH-ISTIO-1520", "WASMESH-ISTIO-1520"]);
        let text = messages(&checks);
        assert!(text.contains("Pod \"web-2\" in namespace \"shop\" runs istio-proxy 1.26.1 (pod \"web-2\") but the control plane is istiod 1.27.3"), "{text}");
        assert!(
            text.contains("Pod \"gw\" in namespace \"istio-system\" runs istio-proxy 1.25.0"),
            "{text}"
        );
        // The pod's revision decides which istiod it is compared with.
        let mut snap = clean();
        let mut canary = istiod("1.28.0", true);
        canary["metadata"]["name"] = json!("istiod-canary");
        canary["metadata"]["labels"]["istio.io/rev"] = json!("canary");
        snap.istiods.push(canary);
        snap.pods[0]["metadata"]["labels"]["istio.io/rev"] = json!("canary");
        let (checks, _) = run(&Scope::All, &snap);
        assert_eq!(codes(&checks), ["WASMESH-ISTIO-1520"]);
        assert!(messages(&checks).contains("istiod 1.28.0 (revision canary)"));
    }

    #[test]
    fn labels_ports_and_association() {
        let mut snap = clean();
        snap.pods.push(pod("shop", "nolabels", json!({"role": "x"}), Some(V)));
        snap.services.push(service(
            "shop",
            "db",
            json!({"app": "db"}),
            json!([{"port": 5432, "name": "postgres"}, {"port": 80, "name": "http"}, {"port": 81}]),
        ));
        let (checks, _) = run(&Scope::of("shop"), &snap);
        assert_eq!(
            codes(&checks),
            [
                "WASMESH-ISTIO-1530",
                "WASMESH-ISTIO-1531",
                "WASMESH-ISTIO-1540",
                "WASMESH-ISTIO-1550"
            ]
        );
        let text = messages(&checks);
        assert!(
            text.contains("Pod \"nolabels\" in namespace \"shop\" has meshed pods without an app label"),
            "{text}"
        );
        assert!(text.contains("Service \"db\" in namespace \"shop\" does not declare the protocol of port 5432 (named \"postgres\"), port 81 (unnamed)"), "{text}");
        assert!(
            text.contains("Pod \"nolabels\" in namespace \"shop\" matches no Service"),
            "{text}"
        );
        // The unnamed port of a Service outside the mesh is not reported.
        assert!(!text.contains("\"raw\""), "{text}");
    }

    #[test]
    fn dangling_routes() {
        let mut snap = clean();
        snap.namespaces.push(namespace("other", json!({})));
        snap.services.push(service(
            "other",
            "ratings",
            json!({"app": "r"}),
            json!([{"port": 80, "name": "http"}]),
        ));
        for (name, dest) in [
            ("short", "web"),
            ("dotted", "ratings.other"),
            ("svc", "ratings.other.svc"),
            ("fqdn", "ratings.other.svc.cluster.local"),
            ("entry", "pay.example.com"),
            ("gone", "reviews"),
            ("gone-fqdn", "reviews.other.svc.cluster.local"),
            ("external", "api.example.org"),
        ] {
            snap.virtual_services
                .push(vs("shop", name, json!([format!("{name}.test")]), json!([]), dest));
        }
        let (checks, _) = run(&Scope::of("shop"), &snap);
        assert_eq!(codes(&checks), ["WASMESH-ISTIO-1560"; 3]);
        let text = messages(&checks);
        for (name, host) in [
            ("gone", "reviews"),
            ("gone-fqdn", "reviews.other.svc.cluster.local"),
            ("external", "api.example.org"),
        ] {
            assert!(
                text.contains(&format!(
                    "VirtualService \"{name}\" in namespace \"shop\" routes to host \"{host}\""
                )),
                "{text}"
            );
        }
        // Mirrors and tcp routes count too.
        let mut snap = clean();
        snap.virtual_services[0]["spec"]["http"][0]["mirror"] = json!({"host": "shadow"});
        snap.virtual_services[0]["spec"]["tcp"] = json!([{"route": [{"destination": {"host": "db"}}]}]);
        let (checks, _) = run(&Scope::of("shop"), &snap);
        assert_eq!(codes(&checks), ["WASMESH-ISTIO-1560"; 2]);
        // Out of scope: a VirtualService in another namespace is not checked.
        let (checks, _) = run(&Scope::of("plain"), &snap);
        assert!(codes(&checks).is_empty(), "{}", messages(&checks));
    }

    #[test]
    fn conflicting_hosts() {
        let mut snap = clean();
        snap.virtual_services.push(vs(
            "shop",
            "web-too",
            json!(["web.shop.svc.cluster.local"]),
            json!(["mesh"]),
            "web",
        ));
        snap.virtual_services
            .push(vs("shop", "edge-a", json!(["shop.example.com"]), json!(["gw"]), "web"));
        snap.virtual_services.push(vs(
            "shop",
            "edge-b",
            json!(["shop.example.com"]),
            json!(["shop/gw"]),
            "web",
        ));
        // Same host on different gateways, or private to different namespaces: no conflict.
        snap.virtual_services.push(vs(
            "shop",
            "edge-c",
            json!(["shop.example.com"]),
            json!(["other/gw"]),
            "web",
        ));
        let mut private_a = vs("plain", "p", json!(["x.example.com"]), json!([]), "web.shop");
        private_a["spec"]["exportTo"] = json!(["."]);
        let mut private_b = vs("shop", "p", json!(["x.example.com"]), json!([]), "web");
        private_b["spec"]["exportTo"] = json!(["."]);
        snap.virtual_services.extend([private_a, private_b]);
        let (checks, _) = run(&Scope::All, &snap);
        let mut got = codes(&checks);
        got.sort();
        assert_eq!(got, ["WASMESH-ISTIO-1570", "WASMESH-ISTIO-1571"]);
        let text = messages(&checks);
        assert!(text.contains("VirtualServices \"web\" (namespace \"shop\") and \"web-too\" (namespace \"shop\") all define host \"web.shop.svc.cluster.local\" for the mesh"), "{text}");
        assert!(text.contains("\"edge-a\" (namespace \"shop\") and \"edge-b\" (namespace \"shop\") all define host \"shop.example.com\" on gateway shop/gw"), "{text}");
        let error = checks
            .iter()
            .flat_map(|c| &c.findings)
            .find(|f| f.code().is_some_and(|c| c.ends_with("1570")))
            .unwrap();
        assert_eq!(error.level, Level::Error);
    }

    #[test]
    fn system_namespace_requested() {
        let mut snap = clean();
        snap.namespaces = vec![namespace("istio-system", json!({}))];
        snap.pods = vec![pod("istio-system", "istiod-abc", json!({"app": "istiod"}), None)];
        let (checks, summary) = run(&Scope::of("istio-system"), &snap);
        assert!(codes(&checks).is_empty());
        assert!(
            summary.contains("a system namespace: workload checks skipped"),
            "{summary}"
        );
    }

    #[test]
    fn events_per_check_are_bounded() {
        let many = Check::new(
            "service port names",
            "d",
            (0..250)
                .map(|i| {
                    report::warn(crate::errors::IstioError::VetUnnamedPort {
                        service: format!("m{i}"),
                        namespace: "n".into(),
                        ports: "p".into(),
                    })
                })
                .collect(),
        );
        let out = many.events("istio-vet");
        assert_eq!(out.len(), wasmesh_sdk::checks::MAX_EVENTS_PER_CHECK + 1);
        assert_eq!(
            out.last().unwrap().summary,
            "istio-vet: service port names: 150 more findings not shown one by one (250 in all); fix the ones \
             shown and run istio-vet again to see the rest"
        );
        let clean = Check::new("x", "looked at 3", Vec::new());
        let e = clean.events("istio-vet");
        assert_eq!(
            (e.len(), e[0].summary.as_str(), e[0].details.as_str()),
            (1, "istio-vet: x: no problems found", "looked at 3")
        );
        let cp = Check {
            always_inform: true,
            ..Check::new(
                "control plane",
                "istiod",
                vec![report::fail(crate::errors::IstioError::VetInjectorMissing)],
            )
        };
        let e = cp.events("istio-vet");
        assert_eq!(
            e.iter().map(|f| (f.level, f.code())).collect::<Vec<_>>(),
            [(Level::Info, None), (Level::Error, Some("WASMESH-ISTIO-1503"))]
        );
    }

    #[test]
    fn hundreds_of_pods_stay_bounded() {
        // 300 pods of one Deployment without sidecars: one finding, not 300.
        let mut snap = clean();
        for i in 0..300 {
            snap.pods.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("bulk-7c-{i}"), "namespace": "shop",
                             "labels": {"app": "bulk", "version": "v1", "pod-template-hash": "7c"},
                             "ownerReferences": [{"kind": "ReplicaSet", "name": "bulk-7c", "controller": true}]},
                "spec": {"containers": [{"name": "app", "image": "a:1"}]}, "status": {"phase": "Running"}}));
        }
        let (checks, _) = run(&Scope::All, &snap);
        assert_eq!(codes(&checks), ["WASMESH-ISTIO-1510"]);
        assert!(messages(&checks).contains("300 pods: bulk-7c-0"));
    }
}
