//! Some rules amount to more than they say: whoever holds them can make themselves cluster-admin.
//! `wasmesh plugins` names them, and `strict: true` refuses a plugin whose grant holds one unless
//! the operator acknowledged it.

use wasmesh_runtime::types::{KubeRule, NamespaceScope};

use crate::rules::{Grant, key_matches};

/// Namespace labels that decide what pods may do there.
const POD_SECURITY_LABEL: &str = "pod-security.kubernetes.io/enforce";

/// Why `grant` is cluster-admin equivalent: its effective rules, and the namespace labels its
/// granted operations may set.
pub fn of_grant(grant: &Grant) -> Vec<String> {
    let mut out = reasons(&grant.effective());
    let psa = grant.granted_namespace_keys().iter().any(|k| {
        k.labels.iter().any(|d| key_matches(d, POD_SECURITY_LABEL))
            && !k
                .labels
                .iter()
                .filter_map(|d| d.strip_prefix('!'))
                .any(|d| key_matches(d, POD_SECURITY_LABEL))
    });
    if psa {
        out.push(format!(
            "namespace label {POD_SECURITY_LABEL}: lets privileged pods into the namespaces it labels"
        ));
    }
    out
}

/// Writes that let the holder run code or change what the API server does.
const WRITE: &[&str] = &["create", "update", "patch"];

/// (group, resource, verbs, why) that make a grant cluster-admin equivalent.
const DANGEROUS: &[(&str, &str, &[&str], &str)] = &[
    (
        "rbac.authorization.k8s.io",
        "clusterroles",
        &["escalate"],
        "escalate on ClusterRoles: any rule can be given to anyone",
    ),
    (
        "rbac.authorization.k8s.io",
        "roles",
        &["escalate"],
        "escalate on Roles: any rule can be given in a namespace",
    ),
    (
        "rbac.authorization.k8s.io",
        "clusterroles",
        &["bind"],
        "bind on ClusterRoles: cluster-admin can be bound to anyone",
    ),
    ("rbac.authorization.k8s.io", "roles", &["bind"], "bind on Roles"),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        WRITE,
        "mutating webhooks see and change every object they match, Secrets included",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        WRITE,
        "validating webhooks see every object they match, Secrets included",
    ),
    (
        "apiregistration.k8s.io",
        "apiservices",
        WRITE,
        "an APIService takes over an API group, with the callers' credentials",
    ),
    (
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        WRITE,
        "a CRD's conversion webhook sees every object of its kind",
    ),
    (
        "",
        "pods",
        &["create"],
        "a Pod can mount the node's file system (hostPath) and run privileged",
    ),
    (
        "",
        "pods",
        &["patch", "update"],
        "a running Pod's image can be changed: any privileged pod in reach (a CNI's, kube-proxy's) runs \
         other code",
    ),
    (
        "",
        "replicationcontrollers",
        &["create", "patch", "update"],
        "a ReplicationController's pods can mount hostPath and run privileged",
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingadmissionpolicies",
        WRITE,
        "a mutating admission policy changes every object it matches (a pod into a privileged one)",
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingadmissionpolicybindings",
        WRITE,
        "a binding puts any mutating admission policy to work on every object it matches",
    ),
    (
        "apps",
        "deployments",
        &["create", "patch", "update"],
        "a Deployment's pods can mount hostPath and run privileged",
    ),
    (
        "apps",
        "daemonsets",
        &["create", "patch", "update"],
        "a DaemonSet runs a pod, possibly privileged, on every node",
    ),
    (
        "apps",
        "statefulsets",
        &["create", "patch", "update"],
        "a StatefulSet's pods can mount hostPath and run privileged",
    ),
    (
        "apps",
        "replicasets",
        &["create", "patch", "update"],
        "a ReplicaSet's pods can mount hostPath and run privileged",
    ),
    (
        "batch",
        "jobs",
        &["create", "patch", "update"],
        "a Job's pods can mount hostPath and run privileged",
    ),
    (
        "batch",
        "cronjobs",
        &["create", "patch", "update"],
        "a CronJob's pods can mount hostPath and run privileged",
    ),
    (
        "",
        "secrets",
        &["get", "list", "watch"],
        "Secrets hold ServiceAccount tokens of other identities",
    ),
    (
        "",
        "serviceaccounts/token",
        &["create"],
        "tokens for any ServiceAccount in reach",
    ),
    (
        "",
        "nodes/proxy",
        &["get", "create"],
        "the kubelet API runs commands in any pod",
    ),
    (
        "",
        "endpoints",
        WRITE,
        "an Endpoints object sends a Service's traffic (kubernetes.default's, with the callers' tokens) to any \
         address",
    ),
    (
        "discovery.k8s.io",
        "endpointslices",
        WRITE,
        "an EndpointSlice sends a Service's traffic (kubernetes.default's, with the callers' tokens) to any \
         address",
    ),
    (
        "",
        "services",
        &["create", "patch", "update"],
        "a Service's externalIPs take over traffic to any address from every node and pod (CVE-2020-8554), \
         unless admission refuses them",
    ),
    ("", "users", &["impersonate"], "impersonation acts as anyone"),
    (
        "",
        "groups",
        &["impersonate"],
        "impersonation acts as any group, system:masters included",
    ),
    (
        "",
        "serviceaccounts",
        &["impersonate"],
        "impersonation acts as other ServiceAccounts",
    ),
];

/// Objects in kube-system that the cluster itself trusts: (resource, why). Writing them is
/// cluster-admin equivalent only where a rule reaches kube-system.
const KUBE_SYSTEM: &[(&str, &str)] = &[
    (
        "configmaps",
        "kube-system's ConfigMaps are trusted by the cluster: aws-auth maps cloud identities to \
         system:masters, coredns's Corefile answers the cluster's DNS",
    ),
    (
        "secrets",
        "a bootstrap-token Secret in kube-system lets whoever holds its token join the cluster as a node",
    ),
];

fn has(list: &[String], value: &str) -> bool {
    list.iter().any(|x| x == "*" || x == value)
}

/// Why a grant of `rules` is cluster-admin equivalent; empty when it is not.
pub fn reasons(rules: &[KubeRule]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rules {
        let scope = match &r.namespaces {
            NamespaceScope::Cluster => "at cluster scope".to_string(),
            NamespaceScope::All => "in all namespaces".to_string(),
            NamespaceScope::Request => "in the request's namespace".to_string(),
            NamespaceScope::Listed(l) => format!("in namespaces {}", l.join(", ")),
        };
        if has(&r.api_groups, "*") && has(&r.resources, "*") && has(&r.verbs, "*") {
            push(&mut out, format!("every verb on every resource {scope}"));
        }
        for (group, resource, verbs, why) in DANGEROUS {
            if has(&r.api_groups, group)
                && has(&r.resources, resource)
                && verbs.iter().any(|v| has(&r.verbs, v))
                && reaches(&r.namespaces, resource)
            {
                push(&mut out, format!("{} {resource} {scope}: {why}", verbs.join("/")));
            }
        }
        let kube_system = match &r.namespaces {
            NamespaceScope::Cluster => false,
            // A request may name kube-system.
            NamespaceScope::All | NamespaceScope::Request => true,
            NamespaceScope::Listed(l) => l.iter().any(|n| n == "kube-system"),
        };
        for (resource, why) in KUBE_SYSTEM {
            if kube_system
                && has(&r.api_groups, "")
                && has(&r.resources, resource)
                && WRITE.iter().any(|v| has(&r.verbs, v))
            {
                push(&mut out, format!("{} {resource} {scope}: {why}", WRITE.join("/")));
            }
        }
    }
    out
}

/// Whether a rule's scope reaches the resource at all: cluster-scoped resources only from a
/// cluster rule, namespaced ones from any other.
fn reaches(scope: &NamespaceScope, resource: &str) -> bool {
    let cluster_scoped = matches!(
        resource,
        "clusterroles"
            | "mutatingwebhookconfigurations"
            | "validatingwebhookconfigurations"
            | "mutatingadmissionpolicies"
            | "mutatingadmissionpolicybindings"
            | "apiservices"
            | "customresourcedefinitions"
            | "namespaces"
            | "nodes/proxy"
            | "users"
            | "groups"
    );
    matches!(scope, NamespaceScope::Cluster) == cluster_scoped
}

fn push(out: &mut Vec<String>, reason: String) {
    if !out.contains(&reason) {
        out.push(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::rule;

    #[test]
    fn disguised_cluster_admin_grants_are_named() {
        let narrow = [
            rule(
                &[""],
                &["configmaps"],
                &["get", "list", "create", "patch", "delete"],
                NamespaceScope::Listed(vec!["demo".into()]),
            ),
            rule(&["apps"], &["deployments"], &["get", "list"], NamespaceScope::All),
            rule(&[""], &["namespaces"], &["get"], NamespaceScope::Cluster),
        ];
        assert!(reasons(&narrow).is_empty(), "{:?}", reasons(&narrow));
        let cases = [
            rule(&["*"], &["*"], &["*"], NamespaceScope::All),
            rule(
                &["rbac.authorization.k8s.io"],
                &["clusterroles"],
                &["bind"],
                NamespaceScope::Cluster,
            ),
            rule(
                &["admissionregistration.k8s.io"],
                &["mutatingwebhookconfigurations"],
                &["create"],
                NamespaceScope::Cluster,
            ),
            rule(
                &["apiregistration.k8s.io"],
                &["apiservices"],
                &["patch"],
                NamespaceScope::Cluster,
            ),
            rule(
                &["apiextensions.k8s.io"],
                &["customresourcedefinitions"],
                &["create"],
                NamespaceScope::Cluster,
            ),
            rule(&[""], &["pods"], &["create"], NamespaceScope::Request),
            rule(&[""], &["secrets"], &["list"], NamespaceScope::All),
            rule(&[""], &["users", "groups"], &["impersonate"], NamespaceScope::Cluster),
            rule(
                &[""],
                &["endpoints"],
                &["patch"],
                NamespaceScope::Listed(vec!["default".into()]),
            ),
            rule(
                &["discovery.k8s.io"],
                &["endpointslices"],
                &["create"],
                NamespaceScope::Request,
            ),
            rule(&[""], &["services"], &["create"], NamespaceScope::Request),
            rule(
                &[""],
                &["configmaps"],
                &["patch"],
                NamespaceScope::Listed(vec!["kube-system".into()]),
            ),
            rule(&[""], &["configmaps"], &["create"], NamespaceScope::Request),
            rule(&[""], &["secrets"], &["create"], NamespaceScope::All),
        ];
        for r in cases {
            assert!(!reasons(std::slice::from_ref(&r)).is_empty(), "{r:?}");
        }
        // A namespaced wildcard rule does not reach cluster-scoped webhooks.
        let ns_only = rule(
            &["admissionregistration.k8s.io"],
            &["*"],
            &["create"],
            NamespaceScope::All,
        );
        assert!(reasons(&[ns_only]).is_empty());
        // kube-system's ConfigMaps and Secrets matter only where a rule reaches kube-system.
        let elsewhere = [
            rule(
                &[""],
                &["configmaps", "secrets"],
                &["create", "patch"],
                NamespaceScope::Listed(vec!["linkerd".into()]),
            ),
            rule(
                &[""],
                &["configmaps"],
                &["get"],
                NamespaceScope::Listed(vec!["kube-system".into()]),
            ),
        ];
        assert!(reasons(&elsewhere).is_empty(), "{:?}", reasons(&elsewhere));
    }
}
