//! Declared rules, the operator's grant, and whether one action is within both for one
//! operation.

use wasmesh_runtime::NamespaceKeys;
use wasmesh_runtime::types::{KubeRule, NamespaceScope};

/// The operation key that stands for designs (Provision and ProcessOAM) in grants and manifests.
pub use wasmesh_runtime::DESIGN_OPERATION;

/// One declared rule and the operations that need it (empty: every operation).
#[derive(Clone, Debug, PartialEq)]
pub struct Declared {
    pub rule: KubeRule,
    pub operations: Vec<String>,
}

impl Declared {
    fn serves(&self, operation: &str) -> bool {
        self.operations.is_empty() || self.operations.iter().any(|o| o == operation)
    }
}

/// What a plugin may do on a cluster: what it declared for each operation, narrowed by what the
/// operator granted. An action is allowed when both allow it, for the operation being run: a
/// rule the manifest ties to `custom` never serves a `linkerd-check` call.
#[derive(Clone, Debug, Default)]
pub struct Grant {
    /// What the plugin declares, for the operations it may run.
    pub declared: Vec<Declared>,
    /// None: the operator granted everything declared.
    pub granted: Option<Vec<KubeRule>>,
    /// The operation keys the operator granted (`design` for Provision/ProcessOAM); None: all.
    pub operations: Option<Vec<String>>,
    /// The namespace label and annotation keys the plugin declares, per operation.
    pub namespace_keys: Vec<NamespaceKeys>,
}

/// Whether a namespace key is a label or an annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataKind {
    Label,
    Annotation,
}

impl std::fmt::Display for MetadataKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MetadataKind::Label => "label",
            MetadataKind::Annotation => "annotation",
        })
    }
}

/// A declared key matches exactly, or as a prefix when it ends in `*`.
pub fn key_matches(declared: &str, key: &str) -> bool {
    match declared.strip_suffix('*') {
        Some(prefix) => key.starts_with(prefix),
        None => declared == key,
    }
}

/// One action, as RBAC would name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    /// Whether the resource is namespaced.
    pub namespaced: bool,
    /// The namespace; None for cluster-scoped objects, or a list across all namespaces.
    pub namespace: Option<&'a str>,
}

impl std::fmt::Display for Action<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() { "core" } else { self.group };
        write!(f, "{} {} ({group})", self.verb, self.resource)?;
        match (self.namespace, self.namespaced) {
            (Some(ns), _) => write!(f, " in namespace {ns}"),
            (None, true) => write!(f, " in all namespaces"),
            (None, false) => write!(f, " at cluster scope"),
        }
    }
}

fn matches(list: &[String], value: &str) -> bool {
    list.iter().any(|x| x == "*" || x == value)
}

fn rules_allow(rules: &[KubeRule], action: &Action, request_namespace: &str) -> bool {
    rules.iter().any(|r| {
        matches(&r.verbs, action.verb)
            && matches(&r.api_groups, action.group)
            && matches(&r.resources, action.resource)
            && match (&r.namespaces, action.namespace) {
                (NamespaceScope::Cluster, _) => !action.namespaced,
                (NamespaceScope::All, _) => action.namespaced,
                (NamespaceScope::Request, Some(ns)) => action.namespaced && ns == request_namespace,
                (NamespaceScope::Listed(list), Some(ns)) => action.namespaced && list.iter().any(|x| x == ns),
                _ => false,
            }
    })
}

impl Grant {
    /// A grant of exactly what the plugin declares; `rule_operations[i]` names the operations
    /// that need rule `i` (missing or empty: every operation).
    pub fn new(declared: Vec<KubeRule>, rule_operations: &[Vec<String>]) -> Self {
        let declared = declared
            .into_iter()
            .enumerate()
            .map(|(i, rule)| Declared {
                rule,
                operations: rule_operations.get(i).cloned().unwrap_or_default(),
            })
            .collect();
        Self {
            declared,
            granted: None,
            operations: None,
            namespace_keys: Vec::new(),
        }
    }

    /// With the namespace metadata keys the manifest declares.
    pub fn with_namespace_keys(mut self, keys: Vec<NamespaceKeys>) -> Self {
        self.namespace_keys = keys;
        self
    }

    /// Whether `operation` may set or remove the namespace label or annotation `key`: a declared
    /// key matches it and no declared exclusion (`!key`, `!prefix*`) does.
    pub fn allows_namespace_key(&self, operation: &str, kind: MetadataKind, key: &str) -> bool {
        if !self.allows_operation(operation) {
            return false;
        }
        let declared: Vec<&String> = self
            .namespace_keys
            .iter()
            .filter(|k| k.operations.is_empty() || k.operations.iter().any(|o| o == operation))
            .flat_map(|k| match kind {
                MetadataKind::Label => &k.labels,
                MetadataKind::Annotation => &k.annotations,
            })
            .collect();
        let excluded = declared
            .iter()
            .filter_map(|d| d.strip_prefix('!'))
            .any(|d| key_matches(d, key));
        !excluded && declared.iter().any(|d| !d.starts_with('!') && key_matches(d, key))
    }

    /// The namespace keys of the operations the operator granted.
    pub fn granted_namespace_keys(&self) -> Vec<&NamespaceKeys> {
        self.namespace_keys
            .iter()
            .filter(|k| k.operations.is_empty() || k.operations.iter().any(|o| self.allows_operation(o)))
            .collect()
    }

    /// Narrowed by the operator's rules (None: everything declared).
    pub fn granting(mut self, granted: Option<Vec<KubeRule>>) -> Self {
        self.granted = granted;
        self
    }

    /// Narrows the grant to some of the plugin's operations: only the declared rules those
    /// operations need stay.
    pub fn for_operations(mut self, operations: Vec<String>) -> Self {
        self.declared
            .retain(|d| d.operations.is_empty() || d.operations.iter().any(|o| operations.contains(o)));
        self.operations = Some(operations);
        self
    }

    /// Whether the operator lets the plugin run this operation (`design` for designs).
    pub fn allows_operation(&self, key: &str) -> bool {
        self.operations.as_ref().is_none_or(|ops| ops.iter().any(|o| o == key))
    }

    /// The declared rules that serve `operation`.
    pub fn declared_for(&self, operation: &str) -> Vec<KubeRule> {
        self.declared
            .iter()
            .filter(|d| d.serves(operation))
            .map(|d| d.rule.clone())
            .collect()
    }

    /// Whether the plugin may take `action` while running `operation` in a request about
    /// `request_namespace`.
    pub fn allows(&self, operation: &str, action: &Action, request_namespace: &str) -> bool {
        self.allows_operation(operation)
            && self
                .declared
                .iter()
                .filter(|d| d.serves(operation))
                .any(|d| rules_allow(std::slice::from_ref(&d.rule), action, request_namespace))
            && self
                .granted
                .as_deref()
                .is_none_or(|g| rules_allow(g, action, request_namespace))
    }

    fn declared_rules(&self) -> Vec<KubeRule> {
        self.declared.iter().map(|d| d.rule.clone()).collect()
    }

    /// The effective grant as rules (for display and RBAC): each declared rule intersected with
    /// each granted one. Where a request-scoped rule meets listed namespaces, the listed
    /// namespaces stand (the host's own check still requires both).
    pub fn effective(&self) -> Vec<KubeRule> {
        let Some(granted) = &self.granted else {
            return self.declared_rules();
        };
        let mut out = Vec::new();
        for d in &self.declared_rules() {
            for g in granted {
                if let Some(r) = intersect(d, g) {
                    if !out.iter().any(|o| same_rule(o, &r)) {
                        out.push(r);
                    }
                }
            }
        }
        out
    }

    /// Declared rules the operator's grant does not fully cover (for strict mode).
    pub fn ungranted(&self) -> Vec<KubeRule> {
        let Some(granted) = &self.granted else {
            return Vec::new();
        };
        self.declared_rules()
            .into_iter()
            .filter(|d| !granted.iter().any(|g| covers(g, d)))
            .collect()
    }
}

fn same_rule(a: &KubeRule, b: &KubeRule) -> bool {
    a.api_groups == b.api_groups && a.resources == b.resources && a.verbs == b.verbs && a.namespaces == b.namespaces
}

fn intersect_list(a: &[String], b: &[String]) -> Option<Vec<String>> {
    let star = |l: &[String]| l.iter().any(|x| x == "*");
    let out: Vec<String> = if star(a) {
        b.to_vec()
    } else if star(b) {
        a.to_vec()
    } else {
        a.iter().filter(|x| b.contains(x)).cloned().collect()
    };
    (!out.is_empty()).then_some(out)
}

fn intersect_scope(a: &NamespaceScope, b: &NamespaceScope) -> Option<NamespaceScope> {
    use NamespaceScope::*;
    match (a, b) {
        (Cluster, Cluster) => Some(Cluster),
        (Cluster, _) | (_, Cluster) => None,
        (All, x) | (x, All) => Some(x.clone()),
        (Request, Request) => Some(Request),
        (Request, Listed(l)) | (Listed(l), Request) => Some(Listed(l.clone())),
        (Listed(x), Listed(y)) => {
            let both: Vec<String> = x.iter().filter(|n| y.contains(n)).cloned().collect();
            (!both.is_empty()).then_some(Listed(both))
        }
    }
}

fn intersect(a: &KubeRule, b: &KubeRule) -> Option<KubeRule> {
    Some(KubeRule {
        api_groups: intersect_list(&a.api_groups, &b.api_groups)?,
        resources: intersect_list(&a.resources, &b.resources)?,
        verbs: intersect_list(&a.verbs, &b.verbs)?,
        namespaces: intersect_scope(&a.namespaces, &b.namespaces)?,
    })
}

/// Whether rule `g` allows everything rule `d` does.
fn covers(g: &KubeRule, d: &KubeRule) -> bool {
    use NamespaceScope::*;
    let list = |g: &[String], d: &[String]| g.iter().any(|x| x == "*") || d.iter().all(|x| g.contains(x));
    let scope = match (&g.namespaces, &d.namespaces) {
        (Cluster, Cluster) | (All, All) | (All, Request) | (All, Listed(_)) | (Request, Request) => true,
        (Listed(g), Listed(d)) => d.iter().all(|n| g.contains(n)),
        _ => false,
    };
    scope && list(&g.api_groups, &d.api_groups) && list(&g.resources, &d.resources) && list(&g.verbs, &d.verbs)
}

/// A rule from string slices (tests and tables).
pub fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], namespaces: NamespaceScope) -> KubeRule {
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
    KubeRule {
        api_groups: v(groups),
        resources: v(resources),
        verbs: v(verbs),
        namespaces,
    }
}

/// A rule in one line, as logs and `wasmesh plugins` show it.
pub fn describe_rule(r: &KubeRule) -> String {
    let scope = match &r.namespaces {
        NamespaceScope::Cluster => "at cluster scope".to_string(),
        NamespaceScope::Request => "in the request's namespace".to_string(),
        NamespaceScope::All => "in all namespaces".to_string(),
        NamespaceScope::Listed(l) => format!("in namespaces {}", l.join(", ")),
    };
    let groups: Vec<&str> = r
        .api_groups
        .iter()
        .map(|g| if g.is_empty() { "core" } else { g.as_str() })
        .collect();
    format!(
        "{} {} ({}) {scope}",
        r.verbs.join(","),
        r.resources.join(","),
        groups.join(",")
    )
}

/// How an operator would grant an action that was refused.
pub fn how_to_grant(action: &Action) -> String {
    let scope = match (action.namespace, action.namespaced) {
        (Some(ns), _) => format!("namespace {ns}"),
        (None, true) => "all namespaces (namespaces: all)".into(),
        (None, false) => "cluster scope (namespaces: cluster)".into(),
    };
    format!(
        "grant the plugin a rule with apiGroups [\"{}\"], resources [\"{}\"], verbs [\"{}\"] at {scope} in the wasmesh config, or change the request so it stays within the plugin's grant",
        action.group, action.resource, action.verb
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act<'a>(verb: &'a str, group: &'a str, resource: &'a str, namespace: Option<&'a str>) -> Action<'a> {
        // In these tables only namespaces and clusterroles are cluster-scoped.
        let namespaced = !matches!(resource, "namespaces" | "clusterroles");
        Action {
            verb,
            group,
            resource,
            namespaced,
            namespace,
        }
    }

    #[test]
    fn an_operation_grant_keeps_only_the_rules_those_operations_need() {
        let declared = vec![
            rule(&[""], &["namespaces"], &["get"], NamespaceScope::Cluster),
            rule(&["apps"], &["deployments"], &["create"], NamespaceScope::All),
            rule(&["*"], &["*"], &["create"], NamespaceScope::All),
        ];
        let rule_operations = vec![
            vec![],
            vec!["install".to_string(), "check".to_string()],
            vec!["custom".to_string()],
        ];
        let g = Grant::new(declared, &rule_operations).for_operations(vec!["check".into()]);
        assert_eq!(
            g.declared.len(),
            2,
            "the shared rule and check's rule stay: {:?}",
            g.declared
        );
        assert!(g.allows("check", &act("create", "apps", "deployments", Some("x")), "x"));
        assert!(
            !g.allows("check", &act("create", "", "configmaps", Some("x")), "x"),
            "custom's wildcard rule went with custom"
        );
        assert!(g.allows_operation("check"));
        assert!(!g.allows_operation("custom"));
        assert!(
            Grant::new(vec![], &[]).allows_operation("anything"),
            "no operation grant: all"
        );
    }

    #[test]
    fn granted_narrows_declared() {
        let declared = vec![
            rule(&["*"], &["*"], &["get", "patch", "delete"], NamespaceScope::All),
            rule(&[""], &["namespaces"], &["get", "patch"], NamespaceScope::Cluster),
        ];
        let granted = vec![rule(
            &[""],
            &["configmaps", "secrets"],
            &["get", "patch"],
            NamespaceScope::Listed(vec!["team".into()]),
        )];
        let g = Grant::new(declared, &[]).granting(Some(granted));
        let cases = [
            (act("patch", "", "configmaps", Some("team")), true),
            (act("delete", "", "configmaps", Some("team")), false),
            (act("patch", "", "configmaps", Some("other")), false),
            (act("patch", "", "namespaces", None), false),
        ];
        for (action, want) in cases {
            assert_eq!(g.allows("op", &action, "whatever"), want, "{action}");
        }
        // A list across all namespaces needs an all-namespaces rule on both sides.
        let all = Grant::new(vec![rule(&[""], &["configmaps"], &["list"], NamespaceScope::All)], &[]);
        assert!(all.allows("op", &act("list", "", "configmaps", None), "team"));
        let request_only = Grant::new(
            vec![rule(&[""], &["configmaps"], &["list"], NamespaceScope::Request)],
            &[],
        );
        assert!(!request_only.allows("op", &act("list", "", "configmaps", None), "team"));
        // An all-namespaces rule never reaches cluster-scoped resources.
        assert!(!all.allows("op", &act("list", "", "namespaces", None), "team"));
        assert_eq!(
            g.effective(),
            vec![rule(
                &[""],
                &["configmaps", "secrets"],
                &["get", "patch"],
                NamespaceScope::Listed(vec!["team".into()])
            )]
        );
        assert_eq!(g.ungranted().len(), 2, "neither declared rule is fully granted");
        assert!(Grant::new(g.effective(), &[]).ungranted().is_empty());
        let declared = g.declared_rules();
        let everything = Grant::new(declared.clone(), &[]).granting(Some(vec![
            rule(&["*"], &["*"], &["*"], NamespaceScope::All),
            rule(&["*"], &["*"], &["*"], NamespaceScope::Cluster),
        ]));
        assert!(everything.ungranted().is_empty());
        assert_eq!(everything.effective(), declared);
    }

    #[test]
    fn scopes() {
        let g = Grant::new(
            vec![
                rule(&[""], &["namespaces"], &["get", "patch"], NamespaceScope::Cluster),
                rule(&["*"], &["*"], &["patch"], NamespaceScope::Request),
                rule(
                    &["apps"],
                    &["deployments"],
                    &["get"],
                    NamespaceScope::Listed(vec!["linkerd".into()]),
                ),
            ],
            &[],
        );
        let cases = [
            (act("patch", "", "namespaces", None), true),
            (act("delete", "", "namespaces", None), false),
            (act("patch", "", "configmaps", Some("team")), true),
            (act("patch", "", "configmaps", Some("other")), false),
            // A request-scoped rule never reaches cluster-scoped objects.
            (act("patch", "rbac.authorization.k8s.io", "clusterroles", None), false),
            (act("get", "apps", "deployments", Some("linkerd")), true),
            (act("get", "apps", "deployments", Some("team")), false),
            (act("get", "", "secrets", Some("team")), false),
        ];
        for (action, want) in cases {
            assert_eq!(g.allows("op", &action, "team"), want, "{action}");
        }
    }

    #[test]
    fn each_call_is_checked_against_its_own_operations_rules() {
        let declared = vec![
            rule(&["apps"], &["deployments"], &["get"], NamespaceScope::All),
            rule(&["*"], &["*"], &["*"], NamespaceScope::All),
        ];
        let rule_operations = vec![vec!["check".to_string()], vec!["custom".to_string()]];
        // No operation grant at all: still, check runs with check's rules only.
        let g = Grant::new(declared, &rule_operations);
        let secret = act("get", "", "secrets", Some("x"));
        assert!(
            !g.allows("check", &secret, "x"),
            "custom's wildcard must not serve check"
        );
        assert!(g.allows("custom", &secret, "x"));
        assert!(g.allows("check", &act("get", "apps", "deployments", Some("x")), "x"));
        assert!(!g.allows("design", &secret, "x"), "design declares nothing here");
        let narrowed = g.for_operations(vec!["check".into()]);
        assert!(
            !narrowed.allows("custom", &secret, "x"),
            "an operation not granted allows nothing"
        );
    }
}
