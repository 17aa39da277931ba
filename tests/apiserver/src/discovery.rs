//! The resource types the server knows (built-ins plus served CRDs) and the discovery documents
//! (/api, /apis, /api/v1, /apis/{group}/{version}) that kube-rs and kubectl read to map kinds to URLs.

use serde_json::{Value, json};
use std::collections::BTreeMap;

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// One served resource (all its versions share one storage).
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub group: String,
    pub versions: Vec<String>,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    pub short_names: Vec<String>,
    /// Whether `.../status` is served (and writes to the main resource leave status alone).
    pub status_subresource: bool,
}

impl ResourceType {
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }
}

/// Group name and plural: the storage identity of a resource type.
pub type GroupResource = (String, String);

#[derive(Debug, Clone, Default)]
pub struct Registry {
    types: BTreeMap<GroupResource, ResourceType>,
}

fn builtin(group: &str, plural: &str, kind: &str, namespaced: bool, short: &[&str], status: bool) -> ResourceType {
    ResourceType {
        group: group.into(),
        versions: vec!["v1".into()],
        plural: plural.into(),
        singular: kind.to_lowercase(),
        kind: kind.into(),
        namespaced,
        verbs: ALL_VERBS.iter().map(|v| v.to_string()).collect(),
        short_names: short.iter().map(|s| s.to_string()).collect(),
        status_subresource: status,
    }
}

impl Registry {
    pub fn with_builtins() -> Self {
        let mut r = Registry::default();
        let create_only = |mut t: ResourceType| {
            t.verbs = vec!["create".into()];
            t
        };
        for t in [
            builtin("", "namespaces", "Namespace", false, &["ns"], true),
            builtin("", "configmaps", "ConfigMap", true, &["cm"], false),
            builtin("", "secrets", "Secret", true, &[], false),
            builtin("", "services", "Service", true, &["svc"], true),
            builtin("", "serviceaccounts", "ServiceAccount", true, &["sa"], false),
            // Pods are stored as given (no scheduler, no kubelet), so analyses of running
            // workloads can be tested with seeded pods.
            builtin("", "pods", "Pod", true, &["po"], true),
            builtin("", "events", "Event", true, &["ev"], false),
            builtin("apps", "deployments", "Deployment", true, &["deploy"], true),
            builtin("apps", "daemonsets", "DaemonSet", true, &["ds"], true),
            builtin("apps", "statefulsets", "StatefulSet", true, &["sts"], true),
            builtin("apps", "replicasets", "ReplicaSet", true, &["rs"], true),
            builtin("batch", "jobs", "Job", true, &[], true),
            builtin("rbac.authorization.k8s.io", "roles", "Role", true, &[], false),
            builtin(
                "rbac.authorization.k8s.io",
                "rolebindings",
                "RoleBinding",
                true,
                &[],
                false,
            ),
            builtin(
                "rbac.authorization.k8s.io",
                "clusterroles",
                "ClusterRole",
                false,
                &[],
                false,
            ),
            builtin(
                "rbac.authorization.k8s.io",
                "clusterrolebindings",
                "ClusterRoleBinding",
                false,
                &[],
                false,
            ),
            builtin(
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
                "MutatingWebhookConfiguration",
                false,
                &[],
                false,
            ),
            builtin(
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
                "ValidatingWebhookConfiguration",
                false,
                &[],
                false,
            ),
            builtin(
                "apiextensions.k8s.io",
                "customresourcedefinitions",
                "CustomResourceDefinition",
                false,
                &["crd", "crds"],
                true,
            ),
            builtin("apiregistration.k8s.io", "apiservices", "APIService", false, &[], true),
            {
                let mut hpa = builtin(
                    "autoscaling",
                    "horizontalpodautoscalers",
                    "HorizontalPodAutoscaler",
                    true,
                    &["hpa"],
                    true,
                );
                hpa.versions = vec!["v2".into()];
                hpa
            },
            builtin(
                "policy",
                "poddisruptionbudgets",
                "PodDisruptionBudget",
                true,
                &["pdb"],
                true,
            ),
            builtin(
                "networking.k8s.io",
                "networkpolicies",
                "NetworkPolicy",
                true,
                &["netpol"],
                false,
            ),
            create_only(builtin(
                "authorization.k8s.io",
                "selfsubjectaccessreviews",
                "SelfSubjectAccessReview",
                false,
                &[],
                false,
            )),
            create_only(builtin(
                "authorization.k8s.io",
                "subjectaccessreviews",
                "SubjectAccessReview",
                false,
                &[],
                false,
            )),
        ] {
            r.insert(t);
        }
        r
    }

    /// Every (group, version) served by a built-in type, as a real API server registers an
    /// APIService for each.
    pub fn group_versions(&self) -> std::collections::BTreeSet<(String, String)> {
        self.types
            .values()
            .flat_map(|t| t.versions.iter().map(|v| (t.group.clone(), v.clone())))
            .collect()
    }

    pub fn insert(&mut self, t: ResourceType) {
        self.types.insert((t.group.clone(), t.plural.clone()), t);
    }

    pub fn remove(&mut self, group: &str, plural: &str) -> Option<ResourceType> {
        self.types.remove(&(group.to_string(), plural.to_string()))
    }

    /// The type served at /apis/{group}/{version}/{plural}, if that version is served.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .get(&(group.to_string(), plural.to_string()))
            .filter(|t| t.versions.iter().any(|v| v == version))
    }

    /// Group name → served versions (first one preferred), for all non-core groups.
    fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in self.types.values().filter(|t| !t.group.is_empty()) {
            let versions = groups.entry(t.group.clone()).or_default();
            for v in &t.versions {
                if !versions.contains(v) {
                    versions.push(v.clone());
                }
            }
        }
        groups
    }

    /// `/api`
    pub fn core_versions(&self, server_address: &str) -> Value {
        json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        })
    }

    /// `/apis`
    pub fn group_list(&self) -> Value {
        let groups: Vec<Value> = self
            .groups()
            .into_iter()
            .map(|(name, versions)| {
                let vs: Vec<Value> = versions
                    .iter()
                    .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
                    .collect();
                json!({"name": name, "versions": vs, "preferredVersion": vs[0].clone()})
            })
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    /// `/apis/{group}`
    pub fn group(&self, group: &str) -> Option<Value> {
        let versions = self.groups().remove(group)?;
        let vs: Vec<Value> = versions
            .iter()
            .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
            .collect();
        Some(
            json!({"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": vs, "preferredVersion": vs[0].clone()}),
        )
    }

    /// `/api/v1` or `/apis/{group}/{version}`; None when nothing is served there.
    pub fn resource_list(&self, group: &str, version: &str) -> Option<Value> {
        let mut resources = Vec::new();
        for t in self
            .types
            .values()
            .filter(|t| t.group == group && t.versions.iter().any(|v| v == version))
        {
            let mut r = json!({
                "name": t.plural,
                "singularName": t.singular,
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": t.verbs,
            });
            if !t.short_names.is_empty() {
                r["shortNames"] = json!(t.short_names);
            }
            resources.push(r);
            if t.status_subresource {
                resources.push(json!({
                    "name": format!("{}/status", t.plural),
                    "singularName": "",
                    "namespaced": t.namespaced,
                    "kind": t.kind,
                    "verbs": ["get", "patch", "update"],
                }));
            }
        }
        if resources.is_empty() {
            return None;
        }
        let gv = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
    }
}

impl Registry {
    /// `/openapi/v3`: where each group version's document is.
    pub fn openapi_v3_root(&self) -> Value {
        let paths: serde_json::Map<String, Value> = self
            .group_versions()
            .into_iter()
            .map(|(g, v)| {
                let path = if g.is_empty() {
                    format!("api/{v}")
                } else {
                    format!("apis/{g}/{v}")
                };
                let url = json!({"serverRelativeURL": format!("/openapi/v3/{path}")});
                (path, url)
            })
            .collect();
        json!({"paths": paths})
    }

    /// `/openapi/v3/apis/{group}/{version}`: only what kubectl reads before an apply, a PATCH
    /// per kind that takes `fieldValidation`, so it leaves the field checks to the server (as it
    /// does with a real one) instead of failing to find a schema.
    pub fn openapi_v3(&self, group: &str, version: &str) -> Option<Value> {
        let prefix = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let mut paths = serde_json::Map::new();
        for t in self
            .types
            .values()
            .filter(|t| t.group == group && t.versions.iter().any(|v| v == version))
        {
            let scope = if t.namespaced { "/namespaces/{namespace}" } else { "" };
            paths.insert(
                format!("{prefix}{scope}/{}/{{name}}", t.plural),
                json!({"patch": {
                    "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": t.kind},
                    "parameters": [
                        {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                        {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                        {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                        {"name": "force", "in": "query", "schema": {"type": "boolean"}},
                    ],
                    "responses": {"200": {"description": "OK"}},
                }}),
            );
        }
        (!paths.is_empty())
            .then(|| json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.35.0"}, "paths": paths}))
    }
}

/// Reads a CustomResourceDefinition into the type it serves (None when it is malformed or serves nothing).
pub fn type_from_crd(crd: &Value) -> Option<ResourceType> {
    let spec = crd.get("spec")?;
    let names = spec.get("names")?;
    let kind = names.get("kind")?.as_str()?.to_string();
    let versions: Vec<&Value> = spec
        .get("versions")?
        .as_array()?
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(true))
        .collect();
    if versions.is_empty() {
        return None;
    }
    Some(ResourceType {
        group: spec.get("group")?.as_str()?.to_string(),
        versions: versions
            .iter()
            .filter_map(|v| v.get("name")?.as_str().map(String::from))
            .collect(),
        plural: names.get("plural")?.as_str()?.to_string(),
        singular: names
            .get("singular")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| kind.to_lowercase()),
        namespaced: spec.get("scope").and_then(Value::as_str) != Some("Cluster"),
        verbs: ALL_VERBS.iter().map(|v| v.to_string()).collect(),
        short_names: names
            .get("shortNames")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
            .unwrap_or_default(),
        status_subresource: versions.iter().any(|v| v.pointer("/subresources/status").is_some()),
        kind,
    })
}
