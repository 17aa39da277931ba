//! Native unit tests of a translator (`cargo test` on the host target): a fake cluster whose
//! reads are checked against the manifest as the host checks them, and the progress events the
//! translator reports.
//!
//! A [`Harness`] holds the fake cluster for the test's thread while it lives; the translator's
//! own code reads it through [`cluster`](crate::cluster) and reports through
//! [`progress`](crate::progress) unchanged, with no stubs of its own.
//!
//! ```
//! use wasmesh_sdk::testing::Harness;
//! use wasmesh_sdk::{Level, cluster, progress};
//!
//! const MANIFEST: &str = r#"{"wit": "wasmesh:adapter@0.1.0", "kube": [
//!     {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "namespaces": ["mesh"], "operations": ["check"]}]}"#;
//!
//! let h = Harness::new(MANIFEST, "check", "default").with_yaml(
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mesh-config, namespace: mesh}\ndata: {version: '1.0'}\n",
//! );
//! let cm = cluster::get("v1", "ConfigMap", Some("mesh"), "mesh-config").unwrap().unwrap();
//! assert_eq!(cm["data"]["version"], "1.0");
//! // Not in the manifest for this operation: refused as the host refuses it.
//! let e = cluster::get("v1", "Secret", Some("mesh"), "keys").unwrap_err();
//! assert_eq!(e.code, "WASMESH-CAP-DENIED");
//! progress::report(Level::Info, "mesh 1.0", "");
//! assert_eq!(h.events()[0].summary, "mesh 1.0");
//! ```

use std::cell::RefCell;

use serde_json::Value;

use crate::manifest::schema::{self, KubeRuleJson, NamespacesJson};
use crate::{Error, Level, error};

/// One progress event the translator reported.
#[derive(Debug, Clone)]
pub struct Event {
    pub level: Level,
    pub summary: String,
    pub details: String,
    /// The error of [`progress::report_error`](crate::progress::report_error).
    pub error: Option<Error>,
}

struct State {
    key: String,
    namespace: String,
    rules: Vec<KubeRuleJson>,
    objects: Vec<Value>,
    reads: Vec<String>,
    events: Vec<Event>,
}

thread_local! {
    static CURRENT: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// The fake cluster and progress capture of one test; in force on the test's thread until it
/// is dropped.
pub struct Harness(());

impl Harness {
    /// A fake cluster for operation `key` (`"design"` for designs) requested in `namespace`,
    /// reads checked against the rules `manifest` declares for `key`. It starts empty.
    ///
    /// Panics when the manifest is not valid JSON of the manifest schema.
    pub fn new(manifest: &str, key: &str, namespace: &str) -> Harness {
        let m = schema::parse(manifest.as_bytes()).unwrap_or_else(|e| panic!("invalid manifest: {e}"));
        let rules = m
            .kube
            .into_iter()
            .filter(|r| r.operations.is_empty() || r.operations.iter().any(|o| o == key))
            .collect();
        CURRENT.with(|c| {
            *c.borrow_mut() = Some(State {
                key: key.to_string(),
                namespace: namespace.to_string(),
                rules,
                objects: Vec::new(),
                reads: Vec::new(),
                events: Vec::new(),
            })
        });
        Harness(())
    }

    /// Adds the objects of a YAML (or JSON) body, several documents or a `kind: List`.
    ///
    /// Panics when the body does not parse into Kubernetes objects.
    pub fn with_yaml(self, yaml: &str) -> Harness {
        let objects = crate::yaml::parse_objects(yaml, "WASMESH-TEST").unwrap_or_else(|e| panic!("{}", e.message));
        for o in objects {
            self.add(o);
        }
        self
    }

    /// Adds one object (it replaces one of the same kind, namespace and name).
    pub fn add(&self, object: Value) {
        with(|s| {
            let same = |o: &Value| {
                group_of(o["apiVersion"].as_str().unwrap_or_default())
                    == group_of(object["apiVersion"].as_str().unwrap_or_default())
                    && o["kind"] == object["kind"]
                    && o["metadata"]["namespace"] == object["metadata"]["namespace"]
                    && o["metadata"]["name"] == object["metadata"]["name"]
            };
            s.objects.retain(|o| !same(o));
            s.objects.push(object);
        });
    }

    /// The events reported so far, in order.
    pub fn events(&self) -> Vec<Event> {
        with(|s| s.events.clone())
    }

    /// The reads made so far, as `get <apiVersion> <Kind> <namespace>/<name>` or `list
    /// <apiVersion> <Kind> <namespace or *> <selector>`, refused ones too.
    pub fn reads(&self) -> Vec<String> {
        with(|s| s.reads.clone())
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().take());
    }
}

/// An operation request as the host sends it: `key` in `namespace` with `custom_body`, to
/// deploy (set `delete` on it for the undo).
pub fn request(key: &str, namespace: &str, custom_body: &str) -> crate::OperationRequest {
    crate::OperationRequest {
        key: key.into(),
        namespace: namespace.into(),
        version: String::new(),
        custom_body: custom_body.into(),
        delete: false,
        operation_id: "op".into(),
        username: "u".into(),
        cluster: crate::ClusterInfo {
            name: "c".into(),
            server: "s".into(),
        },
    }
}

fn with<T>(f: impl FnOnce(&mut State) -> T) -> T {
    CURRENT.with(|c| f(c.borrow_mut().as_mut().expect("the harness is dropped")))
}

fn no_cluster() -> Error {
    error(
        "WASMESH-SDK-0002",
        "there is no cluster to read: natively a translator reads the fake cluster of a wasmesh_sdk::testing::Harness",
        "a unit test reached a cluster read without a harness",
        "create a Harness (with the objects the code reads) at the start of the test",
    )
}

/// `""` for the core group ("v1"), else the part before the slash.
fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The resource (plural) of a kind, as the API server names most of them.
fn plural(kind: &str) -> String {
    let k = kind.to_ascii_lowercase();
    if k == "endpoints" {
        return k;
    }
    if let Some(stem) = k.strip_suffix('y').filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u'])) {
        return format!("{stem}ies");
    }
    if k.ends_with('s') || k.ends_with('x') || k.ends_with("ch") || k.ends_with("sh") {
        return format!("{k}es");
    }
    format!("{k}s")
}

/// Checks a read as the host does: a rule declared for the operation allows the verb on the
/// resource in that namespace.
fn check(s: &State, verb: &str, api_version: &str, kind: &str, namespace: Option<&str>) -> Result<(), Error> {
    let group = group_of(api_version);
    let resource = plural(kind);
    let allowed = s.rules.iter().any(|r| {
        let has = |list: &[String], x: &str| list.iter().any(|v| v == "*" || v == x);
        has(&r.api_groups, group)
            && has(&r.resources, &resource)
            && has(&r.verbs, verb)
            && match (&r.namespaces, namespace) {
                (NamespacesJson::All, _) => true,
                (NamespacesJson::Cluster, None) => true,
                (NamespacesJson::Request, Some(ns)) => ns == s.namespace,
                (NamespacesJson::Listed(names), Some(ns)) => names.iter().any(|n| n == ns),
                _ => false,
            }
    });
    if allowed {
        return Ok(());
    }
    let place = namespace.map_or("cluster-wide".to_string(), |ns| format!("in namespace {ns}"));
    Err(error(
        "WASMESH-CAP-DENIED",
        format!(
            "{verb} {resource}.{group} {place} is not allowed for operation {}",
            s.key
        ),
        "the action is outside the capabilities granted to this plugin",
        format!(
            "declare a rule for {verb} on {resource} for operation {} in manifest.json",
            s.key
        ),
    ))
}

fn matches_selector(o: &Value, selector: &str) -> bool {
    let labels = &o["metadata"]["labels"];
    selector
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                labels[k.trim()].as_str() != Some(v.trim())
            } else if let Some((k, v)) = term.split_once('=') {
                labels[k.trim().trim_end_matches('=')].as_str() == Some(v.trim())
            } else if let Some(k) = term.strip_prefix('!') {
                labels.get(k).is_none()
            } else {
                labels.get(term).is_some()
            }
        })
}

fn same_kind(o: &Value, api_version: &str, kind: &str) -> bool {
    // The API server serves every version of a kind: the group and kind decide.
    o["kind"] == kind && group_of(o["apiVersion"].as_str().unwrap_or_default()) == group_of(api_version)
}

pub(crate) fn get(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Result<Option<String>, Error> {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        let s = c.as_mut().ok_or_else(no_cluster)?;
        s.reads.push(format!(
            "get {api_version} {kind} {}/{name}",
            namespace.unwrap_or_default()
        ));
        check(s, "get", api_version, kind, namespace)?;
        Ok(s.objects
            .iter()
            .find(|o| {
                same_kind(o, api_version, kind)
                    && o["metadata"]["namespace"].as_str() == namespace
                    && o["metadata"]["name"] == name
            })
            .map(Value::to_string))
    })
}

pub(crate) fn list(
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    selector: &str,
) -> Result<Vec<String>, Error> {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        let s = c.as_mut().ok_or_else(no_cluster)?;
        s.reads.push(format!(
            "list {api_version} {kind} {} {selector}",
            namespace.unwrap_or("*")
        ));
        check(s, "list", api_version, kind, namespace)?;
        Ok(s.objects
            .iter()
            .filter(|o| {
                same_kind(o, api_version, kind)
                    && namespace.is_none_or(|ns| o["metadata"]["namespace"].as_str() == Some(ns))
                    && matches_selector(o, selector)
            })
            .map(Value::to_string)
            .collect())
    })
}

pub(crate) fn report(level: Level, summary: &str, details: &str, error: Option<&Error>) {
    CURRENT.with(|c| {
        if let Some(s) = c.borrow_mut().as_mut() {
            s.events.push(Event {
                level,
                summary: summary.to_string(),
                details: details.to_string(),
                error: error.cloned(),
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster;

    const MANIFEST: &str = r#"{"wit": "wasmesh:adapter@0.1.0", "kube": [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"], "namespaces": ["mesh"], "operations": ["check"]},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"], "namespaces": "cluster", "operations": ["check"]},
        {"apiGroups": ["policy.example.io"], "resources": ["policies"], "verbs": ["list"], "namespaces": "request", "operations": ["check"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "namespaces": "all", "operations": ["other"]}
    ]}"#;

    const OBJECTS: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: cp, namespace: mesh, labels: {app: cp, tier: control}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: mesh, labels: {app: web}}
---
apiVersion: v1
kind: Namespace
metadata: {name: mesh}
---
apiVersion: policy.example.io/v1
kind: Policy
metadata: {name: p, namespace: shop}
";

    #[test]
    fn reads_find_objects_by_group_kind_namespace_name_and_labels() {
        let h = Harness::new(MANIFEST, "check", "shop").with_yaml(OBJECTS);
        let cp = cluster::get("apps/v1", "Deployment", Some("mesh"), "cp")
            .unwrap()
            .unwrap();
        assert_eq!(cp["metadata"]["labels"]["tier"], "control");
        assert!(
            cluster::get("apps/v1", "Deployment", Some("mesh"), "gone")
                .unwrap()
                .is_none()
        );
        let names = |v: Vec<Value>| {
            v.iter()
                .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(cluster::list("apps/v1", "Deployment", Some("mesh"), "").unwrap()),
            ["cp", "web"]
        );
        assert_eq!(
            names(cluster::list("apps/v1", "Deployment", Some("mesh"), "app=web").unwrap()),
            ["web"]
        );
        assert_eq!(
            names(cluster::list("apps/v1", "Deployment", Some("mesh"), "app!=web,tier").unwrap()),
            ["cp"]
        );
        assert_eq!(names(cluster::list("v1", "Namespace", None, "").unwrap()), ["mesh"]);
        assert_eq!(
            names(cluster::list("policy.example.io/v1beta1", "Policy", Some("shop"), "").unwrap()),
            ["p"]
        );
        assert_eq!(h.reads().len(), 7);
    }

    #[test]
    fn reads_outside_the_operations_rules_are_refused() {
        let _h = Harness::new(MANIFEST, "check", "shop").with_yaml(OBJECTS);
        for (verb, api, kind, ns) in [
            ("get", "apps/v1", "Deployment", Some("default")),
            ("get", "v1", "Secret", Some("mesh")),
            ("get", "v1", "Namespace", None),
            ("list", "policy.example.io/v1", "Policy", Some("other")),
            ("list", "apps/v1", "Deployment", None),
        ] {
            let e = match verb {
                "get" => cluster::get(api, kind, ns, "x").unwrap_err(),
                _ => cluster::list(api, kind, ns, "").unwrap_err(),
            };
            assert_eq!(e.code, "WASMESH-CAP-DENIED", "{verb} {kind} {ns:?}");
        }
    }

    #[test]
    fn without_a_harness_reads_fail_and_progress_is_kept_with_one() {
        assert_eq!(
            cluster::get("v1", "Namespace", None, "a").unwrap_err().code,
            "WASMESH-SDK-0002"
        );
        let h = Harness::new(MANIFEST, "check", "shop");
        crate::progress::report_error(Level::Warn, &error("X-1", "m", "c", "r"));
        let e = &h.events()[0];
        assert_eq!((e.level, e.summary.as_str()), (Level::Warn, "m"));
        assert_eq!(e.error.as_ref().unwrap().code, "X-1");
        assert_eq!(plural("NetworkPolicy"), "networkpolicies");
        assert_eq!(plural("Ingress"), "ingresses");
        assert_eq!(plural("Gateway"), "gateways");
    }
}
