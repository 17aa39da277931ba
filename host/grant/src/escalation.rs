//! RBAC objects grant more than the right to write them says. As the API server does for its
//! users, the host lets a plugin write a Role or ClusterRole only with rules it holds itself
//! (or `escalate`), and a binding only to a role whose rules it holds (or `bind`).

use serde_json::Value;
use wasmesh_cluster::{Cluster, ObjectRef, Plan, Step};

use crate::check::Call;
use crate::errors::Result;
use crate::rules::Action;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// ClusterRoles labelled so have their rules copied into an aggregating ClusterRole.
const AGGREGATE_LABEL_PREFIX: &str = "rbac.authorization.k8s.io/aggregate-to-";

/// Where the rules of a role take effect.
#[derive(Clone, Copy)]
enum Reach<'a> {
    /// A Role, or a ClusterRole bound by a RoleBinding: one namespace.
    Namespace(&'a str),
    /// A ClusterRole (it may be bound cluster-wide) or a ClusterRoleBinding.
    Cluster,
}

/// Refusals (message, remedy) for an RBAC object the plugin could use to hold more than its
/// grant; None for any other step.
pub(crate) async fn check_step(
    call: &Call,
    cluster: &Cluster,
    plan: &Plan,
    step: &Step,
    group: &str,
    target: &ObjectRef,
) -> Result<Option<Vec<(String, String)>>> {
    let Step::Apply(object) = step else {
        return Ok(None);
    };
    if group != RBAC_GROUP {
        return Ok(None);
    }
    let reach = match target.namespace.as_deref() {
        Some(ns) => Reach::Namespace(ns),
        None => Reach::Cluster,
    };
    let refusals = match target.kind.as_str() {
        "Role" | "ClusterRole" => {
            let resource = if target.kind == "Role" { "roles" } else { "clusterroles" };
            if holds(call, "escalate", resource, reach, &target.name) {
                return Ok(Some(Vec::new()));
            }
            let escalate = |why: &str| {
                (
                    why.to_string(),
                    format!("grant the plugin the verb escalate on {resource}, or leave it out"),
                )
            };
            let mut out = Vec::new();
            if object.get("aggregationRule").is_some_and(|a| !a.is_null()) {
                out.push(escalate(
                    "it aggregates other ClusterRoles, whose rules the host cannot check",
                ));
            }
            // An aggregate-to label copies this role's rules into another role (edit, admin).
            let labels = object.pointer("/metadata/labels").and_then(Value::as_object);
            if labels.is_some_and(|l| l.keys().any(|k| k.starts_with(AGGREGATE_LABEL_PREFIX))) {
                out.push(escalate(
                    "its aggregate-to label copies its rules into another ClusterRole",
                ));
            }
            // Server-side apply keeps the live rules when the applied object names none: judge
            // the rules the role will have.
            let role = match object.get("rules") {
                Some(_) => Some(object.clone()),
                None => live_role(cluster, &target.kind, &target.name, target.namespace.as_deref()).await?,
            };
            if let Some(role) = role {
                out.extend(uncovered(call, cluster, &role, reach, resource, "escalate").await?);
            }
            out
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            let role_kind = object
                .pointer("/roleRef/kind")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let role_name = object
                .pointer("/roleRef/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let resource = match role_kind {
                "Role" => "roles",
                "ClusterRole" => "clusterroles",
                other => {
                    return Ok(Some(vec![(
                        format!("its roleRef names kind \"{other}\", not Role or ClusterRole"),
                        "refer to a Role or ClusterRole".into(),
                    )]));
                }
            };
            // `bind` on the role, as the API server reads it: a Role in the binding's namespace,
            // a ClusterRole at cluster scope.
            let bind_reach = if role_kind == "Role" { reach } else { Reach::Cluster };
            if holds(call, "bind", resource, bind_reach, role_name) {
                return Ok(Some(Vec::new()));
            }
            // Every version of the role that may be bound counts: the live one and each one the
            // plan applies, in any stage (a stage may never run, or run after the binding).
            let roles = roles_that_may_be_bound(
                cluster,
                plan,
                role_kind,
                role_name,
                target.namespace.as_deref(),
                &call.request_namespace,
            )
            .await?;
            if roles.is_empty() {
                vec![(
                    format!("it binds {role_kind} \"{role_name}\", which neither the plan nor the cluster holds"),
                    format!("apply the {role_kind} first, or grant the plugin the verb bind on {resource}"),
                )]
            } else {
                let mut out = Vec::new();
                for role in &roles {
                    if role.get("aggregationRule").is_some_and(|a| !a.is_null()) {
                        out.push((
                            format!(
                                "it binds {role_kind} \"{role_name}\", which aggregates rules the host cannot check"
                            ),
                            format!("grant the plugin the verb bind on {resource}"),
                        ));
                        continue;
                    }
                    let uncovered = uncovered(call, cluster, role, reach, resource, "bind").await?;
                    out.extend(
                        uncovered
                            .into_iter()
                            .map(|(m, r)| (format!("it binds {role_kind} \"{role_name}\": {m}"), r)),
                    );
                }
                out.dedup_by(|a, b| a.0 == b.0);
                out
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(refusals))
}

/// Whether the grant allows `verb` on the RBAC resource itself (escalate, bind).
fn holds(call: &Call, verb: &str, resource: &str, reach: Reach, name: &str) -> bool {
    let action = Action {
        verb,
        group: RBAC_GROUP,
        resource,
        namespaced: matches!(reach, Reach::Namespace(_)),
        namespace: match reach {
            Reach::Namespace(ns) => Some(ns),
            Reach::Cluster => None,
        },
    };
    call.allows("escalation", &action, name)
}

/// The role a binding refers to, as it is now and as the plan applies it (rules the plan's
/// version leaves out are the live ones). Plan objects count only in the RBAC group itself, not
/// in a look-alike group a CRD of the plan defines.
async fn roles_that_may_be_bound(
    cluster: &Cluster,
    plan: &Plan,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
    default_namespace: &str,
) -> Result<Vec<Value>> {
    let ns = (kind == "Role").then_some(namespace).flatten();
    let live = live_role(cluster, kind, name, ns).await?;
    let mut out: Vec<Value> = live.iter().cloned().collect();
    for step in plan.stages.iter().flat_map(|s| &s.steps) {
        let Step::Apply(o) = step else { continue };
        let t = step.target();
        let group = t.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        // A plan object that names no namespace goes to the request's.
        let same_ns = kind == "ClusterRole" || Some(t.namespace.as_deref().unwrap_or(default_namespace)) == ns;
        if group == RBAC_GROUP && t.kind == kind && t.name == name && same_ns {
            match (o.get("rules"), &live) {
                (None, Some(l)) => out.push(l.clone()),
                _ => out.push(o.clone()),
            }
        }
    }
    Ok(out)
}

/// The role as the cluster holds it now, if it exists.
async fn live_role(cluster: &Cluster, kind: &str, name: &str, namespace: Option<&str>) -> Result<Option<Value>> {
    let resolved = cluster.resolve(&format!("{RBAC_GROUP}/v1"), kind).await?;
    let ns = (kind == "Role").then_some(namespace).flatten();
    Ok(cluster.get_json(&resolved, ns, name).await?)
}

/// The rules of `role` the plugin does not hold where they would take effect.
async fn uncovered(
    call: &Call,
    cluster: &Cluster,
    role: &Value,
    reach: Reach<'_>,
    resource: &str,
    verb_that_would_allow: &str,
) -> Result<Vec<(String, String)>> {
    let remedy = || {
        format!(
            "grant the plugin these rules itself, or the verb {verb_that_would_allow} on {resource} (which makes it cluster-admin equivalent)"
        )
    };
    let mut out = Vec::new();
    let strings = |rule: &Value, field: &str| -> Vec<String> {
        rule.get(field)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    for rule in role.get("rules").and_then(Value::as_array).into_iter().flatten() {
        if !strings(rule, "nonResourceURLs").is_empty() {
            out.push((
                "it grants non-resource URLs, which the plugin's grant cannot hold".to_string(),
                remedy(),
            ));
            continue;
        }
        for group in strings(rule, "apiGroups") {
            for res in strings(rule, "resources") {
                for verb in strings(rule, "verbs") {
                    if !covered(call, cluster, &group, &res, &verb, reach).await? {
                        let g = if group.is_empty() { "core" } else { group.as_str() };
                        let place = match reach {
                            Reach::Namespace(ns) => format!("in namespace {ns}"),
                            Reach::Cluster => "cluster-wide".to_string(),
                        };
                        out.push((
                            format!("it would grant {verb} {res} ({g}) {place}, which the plugin does not hold"),
                            remedy(),
                        ));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Whether the plugin itself may do `verb` on `resource` wherever the role reaches. A wildcard
/// is held only by a wildcard; a cluster-wide rule on a resource whose scope the cluster does not
/// tell must be held both in every namespace and at cluster scope.
async fn covered(
    call: &Call,
    cluster: &Cluster,
    group: &str,
    resource: &str,
    verb: &str,
    reach: Reach<'_>,
) -> Result<bool> {
    // The grant's own matching treats "*" in the action literally: only "*" matches it.
    let allowed = |namespaced: bool, namespace: Option<&str>| {
        let action = Action {
            verb,
            group,
            resource,
            namespaced,
            namespace,
        };
        call.grant.allows(&call.ctx.operation, &action, &call.request_namespace)
    };
    Ok(match reach {
        Reach::Namespace(ns) => allowed(true, Some(ns)),
        Reach::Cluster => match cluster.resource_scope(group, resource).await? {
            Some(true) => allowed(true, None),
            Some(false) => allowed(false, None),
            None => allowed(true, None) && allowed(false, None),
        },
    })
}
