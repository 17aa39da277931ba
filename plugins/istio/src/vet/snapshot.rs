//! What the analysis reads from the cluster (each kind listed once), and the indexes every check
//! shares, built once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

use super::model::{self, Dataplane};
use crate::installed::ControlPlane;

/// Which namespaces a request vets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace: the request's namespace was empty, "all" or "*".
    All,
    /// Only this namespace (Meshery's UI sends "default" unless the user picks another).
    Namespace(String),
}

impl Scope {
    pub fn of(namespace: &str) -> Scope {
        let ns = namespace.trim();
        if ns.is_empty() || ns == "*" || ns.eq_ignore_ascii_case("all") {
            Scope::All
        } else {
            Scope::Namespace(ns.to_string())
        }
    }

    pub fn contains(&self, namespace: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Namespace(ns) => ns == namespace,
        }
    }

    /// The namespace to read namespaced kinds in: None for every namespace.
    pub fn read_namespace(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Namespace(ns) => Some(ns),
        }
    }
}

/// Everything read from the cluster.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The namespaces in scope (all of them, or the requested one).
    pub namespaces: Vec<Value>,
    /// The pods in scope.
    pub pods: Vec<Value>,
    /// Services of every namespace (routes may cross namespaces).
    pub services: Vec<Value>,
    /// VirtualServices of every namespace (hosts conflict across namespaces).
    pub virtual_services: Vec<Value>,
    /// ServiceEntries of every namespace.
    pub service_entries: Vec<Value>,
    /// istiod Deployments (app=istiod in istio-system).
    pub istiods: Vec<Value>,
    pub mutating_webhooks: Vec<Value>,
    pub validating_webhooks: Vec<Value>,
    /// What the plugin's own install records, if anything.
    pub recorded: Option<ControlPlane>,
}

impl Snapshot {
    /// No istiod and no record of an installation.
    pub fn istio_missing(&self) -> bool {
        self.istiods.is_empty() && self.recorded.is_none()
    }
}

/// One istiod Deployment.
#[derive(Clone, Debug)]
pub struct Istiod {
    pub name: String,
    pub namespace: String,
    pub revision: String,
    /// From the discovery container's image tag (or the recorded install when the image has none).
    pub version: Option<String>,
    pub replicas: i64,
    pub ready: i64,
    pub available: bool,
}

impl Istiod {
    fn read(d: &Value, recorded: Option<&ControlPlane>) -> Istiod {
        let containers = model::items(d, "/spec/template/spec/containers");
        let image = containers
            .iter()
            .find(|c| c["name"] == "discovery")
            .or_else(|| containers.first())
            .and_then(|c| c["image"].as_str())
            .unwrap_or_default();
        let conditions = model::items(d, "/status/conditions");
        Istiod {
            name: model::name(d).into(),
            namespace: model::namespace(d).into(),
            revision: model::label(d, "istio.io/rev")
                .filter(|r| !r.is_empty())
                .unwrap_or("default")
                .into(),
            version: model::image_version(image).or_else(|| recorded.map(|c| c.version.clone())),
            replicas: d.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1),
            ready: d.pointer("/status/readyReplicas").and_then(Value::as_i64).unwrap_or(0),
            available: conditions
                .iter()
                .any(|c| c["type"] == "Available" && c["status"] == "True"),
        }
    }
}

/// Indexes over a snapshot, shared by the checks.
pub struct Context<'a> {
    pub scope: &'a Scope,
    pub snap: &'a Snapshot,
    pub istiods: Vec<Istiod>,
    /// Revisions served by an istiod or named by a revision tag.
    pub revisions: BTreeSet<String>,
    /// Namespace objects by name.
    pub namespace_objects: HashMap<&'a str, &'a Value>,
    /// The namespaces in scope that workload checks look at (system namespaces left out), sorted.
    pub workload_namespaces: Vec<String>,
    /// The namespaces in scope that are system namespaces.
    pub skipped_namespaces: Vec<String>,
    /// Pods of the workload namespaces, with their place in the mesh.
    pub pods: Vec<(&'a Value, Dataplane)>,
    pub services_by_namespace: HashMap<&'a str, Vec<&'a Value>>,
    /// FQDNs of every Service.
    pub service_hosts: HashSet<String>,
    /// Every namespace name the analysis has seen.
    pub known_namespaces: HashSet<String>,
}

impl<'a> Context<'a> {
    pub fn new(scope: &'a Scope, snap: &'a Snapshot) -> Context<'a> {
        let istiods: Vec<Istiod> = snap
            .istiods
            .iter()
            .map(|d| Istiod::read(d, snap.recorded.as_ref()))
            .collect();
        let mut revisions: BTreeSet<String> = istiods.iter().map(|i| i.revision.clone()).collect();
        revisions.extend(
            snap.mutating_webhooks
                .iter()
                .filter_map(|w| model::label(w, "istio.io/tag"))
                .map(str::to_string),
        );
        let namespace_objects: HashMap<&str, &Value> = snap.namespaces.iter().map(|n| (model::name(n), n)).collect();
        let (mut skipped_namespaces, mut workload_namespaces): (Vec<String>, Vec<String>) = snap
            .namespaces
            .iter()
            .map(|n| model::name(n).to_string())
            .partition(|n| model::is_system_namespace(n));
        workload_namespaces.sort();
        skipped_namespaces.sort();
        let workload: HashSet<&str> = workload_namespaces.iter().map(String::as_str).collect();
        let pods = snap
            .pods
            .iter()
            .filter(|p| workload.contains(model::namespace(p)))
            .map(|p| {
                let ns = namespace_objects.get(model::namespace(p)).copied();
                (p, model::dataplane(p, ns))
            })
            .collect();
        let mut services_by_namespace: HashMap<&str, Vec<&Value>> = HashMap::new();
        let mut service_hosts = HashSet::new();
        let mut known_namespaces: HashSet<String> = namespace_objects.keys().map(|n| n.to_string()).collect();
        for s in &snap.services {
            services_by_namespace.entry(model::namespace(s)).or_default().push(s);
            service_hosts.insert(model::service_fqdn(model::name(s), model::namespace(s)));
            known_namespaces.insert(model::namespace(s).to_string());
        }
        for o in snap.virtual_services.iter().chain(&snap.service_entries) {
            known_namespaces.insert(model::namespace(o).to_string());
        }
        Context {
            scope,
            snap,
            istiods,
            revisions,
            namespace_objects,
            workload_namespaces,
            skipped_namespaces,
            pods,
            services_by_namespace,
            service_hosts,
            known_namespaces,
        }
    }

    pub fn is_namespace(&self, name: &str) -> bool {
        self.known_namespaces.contains(name)
    }

    /// The fully qualified form of a host written in `namespace`.
    pub fn canonical_host(&self, host: &str, namespace: &str) -> String {
        model::canonical_host(host, namespace, &|n| self.is_namespace(n))
    }

    /// Control plane versions by revision (only those known).
    pub fn versions_by_revision(&self) -> BTreeMap<String, String> {
        self.istiods
            .iter()
            .filter_map(|i| Some((i.revision.clone(), i.version.clone()?)))
            .collect()
    }

    /// Pods in the mesh (sidecar or ambient) in the workload namespaces.
    pub fn meshed_pods(&self) -> impl Iterator<Item = &'a Value> + '_ {
        self.pods
            .iter()
            .filter(|(_, d)| matches!(d, Dataplane::Sidecar | Dataplane::Ambient))
            .map(|(p, _)| *p)
    }

    /// Workload namespaces that take part in the mesh: labelled for injection or ambient, or
    /// holding pods that are (or should be) in the mesh.
    pub fn mesh_namespaces(&self) -> BTreeSet<&str> {
        let mut set: BTreeSet<&str> = self
            .workload_namespaces
            .iter()
            .map(String::as_str)
            .filter(|n| {
                let obj = self.namespace_objects.get(n).copied();
                model::ambient_namespace(obj)
                    || matches!(
                        model::injection(obj),
                        model::Injection::Enabled | model::Injection::Revision(_)
                    )
            })
            .collect();
        set.extend(
            self.pods
                .iter()
                .filter(|(_, d)| *d != Dataplane::Outside)
                .map(|(p, _)| model::namespace(p)),
        );
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_namespace_semantics() {
        assert_eq!(Scope::of(""), Scope::All);
        assert_eq!(Scope::of("  "), Scope::All);
        assert_eq!(Scope::of("all"), Scope::All);
        assert_eq!(Scope::of("ALL"), Scope::All);
        assert_eq!(Scope::of("*"), Scope::All);
        assert_eq!(Scope::of("default"), Scope::Namespace("default".into()));
        assert_eq!(Scope::of(" bookinfo "), Scope::Namespace("bookinfo".into()));
        assert!(Scope::All.contains("x"));
        assert!(!Scope::of("a").contains("b"));
        assert_eq!(Scope::of("a").read_namespace(), Some("a"));
        assert_eq!(Scope::All.read_namespace(), None);
    }
}
