//! A plugin's effective grant, and the check every cluster read and plan step goes through.

use wasmesh_runtime::types::{KubeRule, NamespaceScope};

/// What a plugin may do on a cluster: RBAC-shaped rules.
#[derive(Clone, Debug, Default)]
pub struct Grant {
    pub rules: Vec<KubeRule>,
}

/// One action, as RBAC would name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    /// None for cluster-scoped objects, or a list across all namespaces.
    pub namespace: Option<&'a str>,
}

impl std::fmt::Display for Action<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            "core"
        } else {
            self.group
        };
        write!(f, "{} {} ({group})", self.verb, self.resource)?;
        match self.namespace {
            Some(ns) => write!(f, " in namespace {ns}"),
            None => write!(f, " at cluster scope"),
        }
    }
}

fn matches(list: &[String], value: &str) -> bool {
    list.iter().any(|x| x == "*" || x == value)
}

impl Grant {
    pub fn new(rules: Vec<KubeRule>) -> Self {
        Self { rules }
    }

    /// Whether some rule allows `action` for a request about `request_namespace`.
    pub fn allows(&self, action: &Action, request_namespace: &str) -> bool {
        self.rules.iter().any(|r| {
            matches(&r.verbs, action.verb)
                && matches(&r.api_groups, action.group)
                && matches(&r.resources, action.resource)
                && match (&r.namespaces, action.namespace) {
                    (NamespaceScope::Cluster, None) => true,
                    (NamespaceScope::All, _) => true,
                    (NamespaceScope::Request, Some(ns)) => ns == request_namespace,
                    (NamespaceScope::Listed(list), Some(ns)) => list.iter().any(|x| x == ns),
                    _ => false,
                }
        })
    }
}

/// How an operator would grant an action that was refused.
pub fn how_to_grant(action: &Action) -> String {
    let scope = match action.namespace {
        Some(ns) => format!("namespace {ns}"),
        None => "cluster scope".into(),
    };
    format!(
        "grant the plugin a rule with apiGroups [\"{}\"], resources [\"{}\"], verbs [\"{}\"] at {scope} in the wasmesh config, or change the request so it stays within the plugin's grant",
        action.group, action.resource, action.verb
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        groups: &[&str],
        resources: &[&str],
        verbs: &[&str],
        namespaces: NamespaceScope,
    ) -> KubeRule {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
        KubeRule {
            api_groups: v(groups),
            resources: v(resources),
            verbs: v(verbs),
            namespaces,
        }
    }

    fn act<'a>(
        verb: &'a str,
        group: &'a str,
        resource: &'a str,
        namespace: Option<&'a str>,
    ) -> Action<'a> {
        Action {
            verb,
            group,
            resource,
            namespace,
        }
    }

    #[test]
    fn scopes() {
        let g = Grant::new(vec![
            rule(
                &[""],
                &["namespaces"],
                &["get", "patch"],
                NamespaceScope::Cluster,
            ),
            rule(&["*"], &["*"], &["patch"], NamespaceScope::Request),
            rule(
                &["apps"],
                &["deployments"],
                &["get"],
                NamespaceScope::Listed(vec!["linkerd".into()]),
            ),
        ]);
        let cases = [
            (act("patch", "", "namespaces", None), true),
            (act("delete", "", "namespaces", None), false),
            (act("patch", "", "configmaps", Some("team")), true),
            (act("patch", "", "configmaps", Some("other")), false),
            // A request-scoped rule never reaches cluster-scoped objects.
            (
                act("patch", "rbac.authorization.k8s.io", "clusterroles", None),
                false,
            ),
            (act("get", "apps", "deployments", Some("linkerd")), true),
            (act("get", "apps", "deployments", Some("team")), false),
            (act("get", "", "secrets", Some("team")), false),
        ];
        for (action, want) in cases {
            assert_eq!(g.allows(&action, "team"), want, "{action}");
        }
    }
}
