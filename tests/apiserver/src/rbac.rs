//! RBAC evaluation over the Role/ClusterRole/RoleBinding/ClusterRoleBinding objects in storage,
//! used for every request by a non-system:masters identity, for impersonation, and for access reviews.

use crate::storage::State;
use serde_json::Value;

const RBAC: &str = "rbac.authorization.k8s.io";

/// An authenticated (or impersonated) identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    /// The identity of a ServiceAccount token, with the groups the real token authenticator adds.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        UserInfo {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }

    pub fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
}

/// What a request wants to do, in RBAC terms.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    /// None for cluster-scoped requests.
    pub namespace: Option<String>,
}

impl Attributes {
    /// `deployments/status` or `deployments`.
    pub fn resource_path(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }

    /// `User "u" cannot get resource "configmaps" in API group "" in the namespace "ns"`.
    pub fn deny_reason(&self, user: &str) -> String {
        let scope = match &self.namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        format!(
            "User \"{user}\" cannot {} resource \"{}\" in API group \"{}\" {scope}",
            self.verb,
            self.resource_path(),
            self.group
        )
    }
}

/// Whether `user` may do `attrs`, given the RBAC objects currently stored.
pub fn allowed(state: &State, user: &UserInfo, attrs: &Attributes) -> bool {
    if user.is_master() {
        return true;
    }
    // The default system:basic-user binding: everyone may ask what they themselves may do.
    if attrs.verb == "create" && attrs.group == "authorization.k8s.io" && attrs.resource == "selfsubjectaccessreviews" {
        return true;
    }
    let rules_allow = |role_kind: &str, role_name: &str, role_ns: &str| -> bool {
        let (plural, ns) = if role_kind == "ClusterRole" {
            ("clusterroles", "")
        } else {
            ("roles", role_ns)
        };
        state
            .list(RBAC, plural, Some(ns))
            .filter(|(k, _)| k.name == role_name)
            .filter_map(|(_, role)| role.get("rules").and_then(Value::as_array))
            .flatten()
            .any(|rule| rule_matches(rule, attrs))
    };
    let cluster_wide = state.list(RBAC, "clusterrolebindings", Some("")).any(|(_, binding)| {
        binds(binding, user, "")
            && role_ref(binding).is_some_and(|(kind, name)| kind == "ClusterRole" && rules_allow(kind, name, ""))
    });
    if cluster_wide {
        return true;
    }
    let Some(ns) = &attrs.namespace else {
        return false;
    };
    state.list(RBAC, "rolebindings", Some(ns)).any(|(_, binding)| {
        binds(binding, user, ns) && role_ref(binding).is_some_and(|(kind, name)| rules_allow(kind, name, ns))
    })
}

fn role_ref(binding: &Value) -> Option<(&str, &str)> {
    let r = binding.get("roleRef")?;
    Some((r.get("kind")?.as_str()?, r.get("name")?.as_str()?))
}

/// Whether one of the binding's subjects is `user`.
fn binds(binding: &Value, user: &UserInfo, binding_ns: &str) -> bool {
    let Some(subjects) = binding.get("subjects").and_then(Value::as_array) else {
        return false;
    };
    subjects.iter().any(|s| {
        let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
        match s.get("kind").and_then(Value::as_str) {
            Some("ServiceAccount") => {
                let ns = s.get("namespace").and_then(Value::as_str).unwrap_or(binding_ns);
                user.name == format!("system:serviceaccount:{ns}:{name}")
            }
            Some("User") => user.name == name,
            Some("Group") => user.groups.iter().any(|g| g == name),
            _ => false,
        }
    })
}

fn strings(rule: &Value, field: &str) -> Vec<String> {
    rule.get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn rule_matches(rule: &Value, attrs: &Attributes) -> bool {
    let verbs = strings(rule, "verbs");
    if !verbs.iter().any(|v| v == "*" || *v == attrs.verb) {
        return false;
    }
    let groups = strings(rule, "apiGroups");
    if !groups.iter().any(|g| g == "*" || *g == attrs.group) {
        return false;
    }
    let wanted = attrs.resource_path();
    let resources = strings(rule, "resources");
    let resource_ok = resources.iter().any(|r| {
        r == "*"
            || *r == wanted
            || (!attrs.subresource.is_empty() && *r == format!("*/{}", attrs.subresource))
            || (!attrs.subresource.is_empty() && *r == format!("{}/*", attrs.resource))
    });
    if !resource_ok {
        return false;
    }
    let names = strings(rule, "resourceNames");
    names.is_empty() || names.contains(&attrs.name)
}
