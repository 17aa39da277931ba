//! The observability add-ons: `prometheus-addon`, `grafana-addon`, `kiali-addon`,
//! `jaeger-addon` and `zipkin-addon`.
//!
//! Each add-on is the set of objects Istio's `samples/addons` deploy for the installed release
//! (images and tags, ports, RBAC, configuration, Services), built here from those facts and
//! embedded, so nothing is fetched at run time. They go into `istio-system`, where Istio's own
//! manifests put them and where the other add-ons and Kiali look for them; every Service keeps
//! its upstream type (ClusterIP). Installing needs an installed control plane; removing does not.
//! After the objects are applied the plan waits for each Deployment to become Available, as a
//! non-required wait: an image still being pulled is reported as a warning, not a failure.
//!
//! Jaeger and Zipkin are two tracing back ends behind the same Services (`tracing`, `zipkin`),
//! as upstream has them, so only one of them can be installed at a time; removing one never
//! removes Services the other one serves.
//!
//! The design module calls [`plan`] with a synthetic request whose custom_body holds the
//! component's settings as JSON; the add-ons have no settings of their own, so the body is not
//! read.

mod grafana;
mod jaeger;
mod kiali;
mod prometheus;
mod zipkin;

use serde_json::{Value, json};
use wasmesh_sdk::plan::{apply_all, delete_all, deployments_available, plan as make_plan};
use wasmesh_sdk::{Error, Level, OperationRequest, Plan, cluster, progress};

use crate::errors::IstioError;
use crate::installed::{self, CONTROL_PLANE_NAMESPACE};
use crate::policies::minor_version;

/// Seconds each add-on Deployment gets to become Available before a warning says it is not.
pub const AVAILABLE_TIMEOUT: u32 = 180;

/// One add-on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addon {
    Prometheus,
    Grafana,
    Kiali,
    Jaeger,
    Zipkin,
}

/// Images of the add-ons shipped with one Istio minor release (istio/istio `samples/addons`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release {
    /// "1.27"
    pub istio: &'static str,
    pub prometheus: &'static str,
    pub config_reloader: &'static str,
    pub grafana: &'static str,
    pub kiali: &'static str,
    pub jaeger: &'static str,
    pub zipkin: &'static str,
}

/// Newest first.
pub const RELEASES: &[Release] = &[
    Release {
        istio: "1.28",
        prometheus: "prom/prometheus:v3.5.0",
        config_reloader: "ghcr.io/prometheus-operator/prometheus-config-reloader:v0.85.0",
        grafana: "docker.io/grafana/grafana:12.0.1",
        kiali: "quay.io/kiali/kiali:v2.17",
        jaeger: "docker.io/jaegertracing/all-in-one:1.70.0",
        zipkin: "docker.io/openzipkin/zipkin-slim:2.23.0",
    },
    Release {
        istio: "1.27",
        prometheus: "prom/prometheus:v3.5.0",
        config_reloader: "ghcr.io/prometheus-operator/prometheus-config-reloader:v0.85.0",
        grafana: "docker.io/grafana/grafana:12.0.1",
        kiali: "quay.io/kiali/kiali:v2.12",
        jaeger: "docker.io/jaegertracing/all-in-one:1.70.0",
        zipkin: "docker.io/openzipkin/zipkin-slim:2.23.0",
    },
    // Kiali's tag is the one Kiali documents for Istio 1.26; the other images are the 1.27 set,
    // which runs against 1.26 as well (they depend on Kubernetes and Istio's metric names only).
    Release {
        istio: "1.26",
        prometheus: "prom/prometheus:v3.5.0",
        config_reloader: "ghcr.io/prometheus-operator/prometheus-config-reloader:v0.85.0",
        grafana: "docker.io/grafana/grafana:12.0.1",
        kiali: "quay.io/kiali/kiali:v2.9",
        jaeger: "docker.io/jaegertracing/all-in-one:1.70.0",
        zipkin: "docker.io/openzipkin/zipkin-slim:2.23.0",
    },
];

impl Addon {
    pub const ALL: [Addon; 5] = [
        Addon::Prometheus,
        Addon::Grafana,
        Addon::Kiali,
        Addon::Jaeger,
        Addon::Zipkin,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Addon::Prometheus => "Prometheus",
            Addon::Grafana => "Grafana",
            Addon::Kiali => "Kiali",
            Addon::Jaeger => "Jaeger",
            Addon::Zipkin => "Zipkin",
        }
    }

    /// The add-on's Deployment in istio-system (one each).
    pub fn deployment(self) -> &'static str {
        match self {
            Addon::Prometheus => "prometheus",
            Addon::Grafana => "grafana",
            Addon::Kiali => "kiali",
            Addon::Jaeger => "jaeger",
            Addon::Zipkin => "zipkin",
        }
    }

    pub fn image(self, release: &Release) -> &'static str {
        match self {
            Addon::Prometheus => release.prometheus,
            Addon::Grafana => release.grafana,
            Addon::Kiali => release.kiali,
            Addon::Jaeger => release.jaeger,
            Addon::Zipkin => release.zipkin,
        }
    }

    /// Every object of the add-on, namespaced ones in istio-system.
    pub fn objects(self, release: &Release) -> Vec<Value> {
        match self {
            Addon::Prometheus => prometheus::objects(release),
            Addon::Grafana => grafana::objects(release),
            Addon::Kiali => kiali::objects(release),
            Addon::Jaeger => jaeger::objects(release),
            Addon::Zipkin => zipkin::objects(release),
        }
    }

    /// The other tracing back end, which shares Services with this one.
    fn rival(self) -> Option<Addon> {
        match self {
            Addon::Jaeger => Some(Addon::Zipkin),
            Addon::Zipkin => Some(Addon::Jaeger),
            _ => None,
        }
    }
}

/// Services Jaeger and Zipkin both define (upstream names them the same).
pub const SHARED_TRACING_SERVICES: [&str; 2] = ["tracing", "zipkin"];

/// The add-on set for an installed release: the same minor release, else the newest set not
/// newer than it, else the oldest known. The flag says whether the release matched exactly.
pub fn release_for(version: &str) -> (&'static Release, bool) {
    let wanted = minor_version(version);
    let minor = |r: &Release| minor_version(r.istio);
    if let Some(r) = RELEASES.iter().find(|r| wanted.is_some() && minor(r) == wanted) {
        return (r, true);
    }
    let fallback = RELEASES
        .iter()
        .find(|r| wanted.is_some() && minor(r) <= wanted)
        .unwrap_or(&RELEASES[RELEASES.len() - 1]);
    (fallback, false)
}

pub fn plan(addon: Addon, request: &OperationRequest) -> Result<Plan, Error> {
    let control_plane = installed::control_plane()?;
    if request.delete {
        let version = control_plane.as_ref().map(|c| c.version.as_str()).unwrap_or("");
        return remove(addon, release_for(version).0);
    }
    let Some(control_plane) = control_plane else {
        return Err(IstioError::AddonWithoutMesh { addon: addon.title() }.into());
    };
    if let Some(rival) = addon.rival()
        && deployment_exists(rival.deployment())?
    {
        return Err(IstioError::RivalAddon {
            addon: addon.title(),
            rival: rival.title(),
            services: SHARED_TRACING_SERVICES.join(" and "),
        }
        .into());
    }
    let (release, exact) = release_for(&control_plane.version);
    if !exact {
        progress::report(
            Level::Warn,
            &format!(
                "No {} add-on set is known for Istio {}; using the one of Istio {}: check that the add-on works, \
                 or install a known Istio release ({})",
                addon.title(),
                control_plane.version,
                release.istio,
                RELEASES.iter().map(|r| r.istio).collect::<Vec<_>>().join(", ")
            ),
            &format!(
                "known add-on sets: {}",
                RELEASES.iter().map(|r| r.istio).collect::<Vec<_>>().join(", ")
            ),
        );
    }
    Ok(install_plan(addon, release))
}

/// Apply every object, then wait (not required) for the Deployment to become Available.
pub fn install_plan(addon: Addon, release: &Release) -> Plan {
    let objects = addon.objects(release);
    let mut stages = apply_all(&objects);
    stages.extend(deployments_available(
        format!("{} available", addon.title()),
        &objects,
        AVAILABLE_TIMEOUT,
    ));
    make_plan(
        format!(
            "{} add-on installed in {CONTROL_PLANE_NAMESPACE} ({}, for Istio {})",
            addon.title(),
            addon.image(release),
            release.istio
        ),
        stages,
    )
}

fn remove(addon: Addon, release: &Release) -> Result<Plan, Error> {
    let mut objects = addon.objects(release);
    let mut kept = Vec::new();
    if let Some(rival) = addon.rival()
        && deployment_exists(rival.deployment())?
    {
        objects.retain(|o| {
            let shared = o["kind"] == "Service"
                && SHARED_TRACING_SERVICES.contains(&o["metadata"]["name"].as_str().unwrap_or_default());
            if shared {
                kept.push(o["metadata"]["name"].as_str().unwrap_or_default().to_string());
            }
            !shared
        });
    }
    let mut summary = format!("{} add-on removed from {CONTROL_PLANE_NAMESPACE}", addon.title());
    if !kept.is_empty() {
        summary.push_str(&format!(
            " (Services {} kept: the {} add-on serves them)",
            kept.join(", "),
            addon.rival().map(Addon::title).unwrap_or_default()
        ));
    }
    Ok(make_plan(summary, delete_all(&objects)))
}

fn deployment_exists(name: &str) -> Result<bool, Error> {
    Ok(cluster::get("apps/v1", "Deployment", Some(CONTROL_PLANE_NAMESPACE), name)?.is_some())
}

/// Metadata of a namespaced add-on object in istio-system.
fn meta(name: &str, labels: Value) -> Value {
    let mut labels = labels;
    labels["app.kubernetes.io/managed-by"] = json!("wasmesh");
    json!({"name": name, "namespace": CONTROL_PLANE_NAMESPACE, "labels": labels})
}

/// Metadata of a cluster-scoped add-on object.
fn cluster_meta(name: &str, labels: Value) -> Value {
    let mut labels = labels;
    labels["app.kubernetes.io/managed-by"] = json!("wasmesh");
    json!({"name": name, "labels": labels})
}

/// The tag of an image reference ("prom/prometheus:v3.5.0" -> "v3.5.0").
fn tag(image: &str) -> &str {
    image.rsplit_once(':').map(|(_, t)| t).unwrap_or("latest")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmesh_sdk::{Condition, Step};

    fn by_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
        objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    #[test]
    fn releases_match_by_minor_and_fall_back() {
        assert_eq!(release_for("1.27.3"), (&RELEASES[1], true));
        assert_eq!(release_for("1.28.0").0.istio, "1.28");
        let (r, exact) = release_for("1.29.1");
        assert_eq!(
            (r.istio, exact),
            ("1.28", false),
            "newest not newer than the installed one"
        );
        assert_eq!(release_for("1.26.3").0.kiali, "quay.io/kiali/kiali:v2.9");
        let (r, exact) = release_for("1.20.0");
        assert_eq!((r.istio, exact), ("1.26", false), "the oldest known when all are newer");
        assert!(!release_for("").1);
    }

    #[test]
    fn every_addon_lives_in_istio_system_with_clusterip_services() {
        for release in RELEASES {
            for a in Addon::ALL {
                let objects = a.objects(release);
                let deployments = by_kind(&objects, "Deployment");
                assert_eq!(deployments.len(), 1, "{a:?}");
                assert_eq!(deployments[0]["metadata"]["name"], a.deployment());
                let images: Vec<_> = deployments[0]["spec"]["template"]["spec"]["containers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["image"].as_str().unwrap())
                    .collect();
                assert!(images.contains(&a.image(release)), "{a:?}: {images:?}");
                assert_eq!(
                    deployments[0]["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"], "false",
                    "{a:?}: add-ons run outside the mesh, as upstream"
                );
                let services = by_kind(&objects, "Service");
                assert!(!services.is_empty(), "{a:?}");
                for o in &objects {
                    let scoped = matches!(o["kind"].as_str(), Some("ClusterRole" | "ClusterRoleBinding"));
                    if scoped {
                        assert!(o["metadata"]["namespace"].is_null(), "{o}");
                    } else {
                        assert_eq!(o["metadata"]["namespace"], "istio-system", "{o}");
                    }
                }
                for s in services {
                    let t = s["spec"]["type"].as_str().unwrap_or("ClusterIP");
                    assert_eq!(t, "ClusterIP", "{a:?}: {s}");
                    let selector = s["spec"]["selector"].as_object().unwrap();
                    let pod_labels = &deployments[0]["spec"]["template"]["metadata"]["labels"];
                    for (k, v) in selector {
                        assert_eq!(
                            &pod_labels[k], v,
                            "{a:?}: Service {} selects the pods",
                            s["metadata"]["name"]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn upstream_ports_and_names() {
        let r = &RELEASES[1];
        let port = |a: Addon, svc: &str| -> Vec<u64> {
            a.objects(r)
                .iter()
                .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == svc)
                .unwrap_or_else(|| panic!("{a:?} has Service {svc}"))["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["port"].as_u64().unwrap())
                .collect()
        };
        assert_eq!(port(Addon::Prometheus, "prometheus"), [9090]);
        assert_eq!(port(Addon::Grafana, "grafana"), [3000]);
        assert_eq!(port(Addon::Kiali, "kiali"), [20001, 9090]);
        assert_eq!(port(Addon::Jaeger, "tracing"), [80, 16685]);
        assert_eq!(port(Addon::Jaeger, "zipkin"), [9411]);
        assert_eq!(
            port(Addon::Jaeger, "jaeger-collector"),
            [14268, 14250, 9411, 4317, 4318]
        );
        assert_eq!(port(Addon::Zipkin, "tracing"), [80]);
        assert_eq!(port(Addon::Zipkin, "zipkin"), [9411]);
    }

    #[test]
    fn configuration_is_embedded() {
        let r = &RELEASES[1];
        let cm = |a: Addon, name: &str| -> Value {
            a.objects(r)
                .into_iter()
                .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name)
                .unwrap_or_else(|| panic!("{a:?} has ConfigMap {name}"))
        };
        let prom = cm(Addon::Prometheus, "prometheus");
        assert!(
            prom["data"]["prometheus.yml"]
                .as_str()
                .unwrap()
                .contains("job_name: kubernetes-pods")
        );
        let graf = cm(Addon::Grafana, "grafana");
        assert!(
            graf["data"]["datasources.yaml"]
                .as_str()
                .unwrap()
                .contains("url: http://prometheus:9090")
        );
        let providers = graf["data"]["dashboardproviders.yaml"].as_str().unwrap();
        assert!(
            providers.contains("/var/lib/grafana/dashboards/istio-services"),
            "{providers}"
        );
        for (name, files) in [
            ("istio-grafana-dashboards", vec!["istio-control-plane-dashboard.json"]),
            (
                "istio-services-grafana-dashboards",
                vec![
                    "istio-mesh-dashboard.json",
                    "istio-service-dashboard.json",
                    "istio-workload-dashboard.json",
                ],
            ),
        ] {
            let data = cm(Addon::Grafana, name)["data"].clone();
            for f in files {
                let dash: Value = serde_json::from_str(data[f].as_str().unwrap()).unwrap();
                assert!(dash["panels"].as_array().is_some_and(|p| p.len() > 3), "{f}");
            }
        }
        let kiali = cm(Addon::Kiali, "kiali");
        let config = kiali["data"]["config.yaml"].as_str().unwrap();
        assert!(config.contains("istio_namespace: istio-system") && config.contains("port: 20001"));
    }

    #[test]
    fn install_waits_for_the_deployment_without_requiring_it() {
        let plan = install_plan(Addon::Grafana, &RELEASES[1]);
        let last = plan.stages.last().unwrap();
        match &last.steps[..] {
            [Step::Wait(w)] => {
                assert_eq!(w.target.kind, "Deployment");
                assert_eq!(w.target.name, "grafana");
                assert!(!w.required);
                assert!(matches!(&w.condition, Condition::ConditionTrue(c) if c == "Available"));
            }
            other => panic!("{other:?}"),
        }
        assert!(plan.summary.contains("grafana:12.0.1"), "{}", plan.summary);
    }
}
