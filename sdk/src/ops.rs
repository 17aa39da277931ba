//! Operations every translator offers the same way.

use crate::plan::{apply_all, delete_all, plan};
use crate::yaml::parse_objects;
use crate::{Error, OperationRequest, Plan};

/// `custom`: apply the YAML of custom_body, or delete it with delete_op. Objects without a
/// namespace go to the request's namespace (the host decides which kinds are namespaced).
pub fn custom(request: &OperationRequest, code_prefix: &str) -> Result<Plan, Error> {
    let objects = parse_objects(&request.custom_body, code_prefix)?;
    let n = objects.len();
    Ok(if request.delete {
        plan(format!("Custom YAML removed ({n} objects)"), delete_all(&objects))
    } else {
        plan(format!("Custom YAML applied ({n} objects)"), apply_all(&objects))
    })
}

/// The undo of an operation that only reads the cluster (a check): nothing is done. The summary
/// says "removed", the word by which the Meshery server records an undo as an undeploy.
pub fn nothing_to_undo(key: &str) -> Plan {
    plan(
        format!("{key} only reads the cluster: nothing to undo, nothing removed"),
        Vec::new(),
    )
}

/// The error for an operation key the translator does not offer.
pub fn unknown_operation(key: &str, code_prefix: &str) -> Error {
    crate::error(
        format!("{code_prefix}-1000"),
        format!("unknown operation \"{key}\""),
        "the Meshery server sent an operation key this adapter does not offer",
        "pick one of the operations listed by SupportedOperations (refresh the adapter in Meshery)",
    )
}

/// An operation as SupportedOperations lists it.
pub fn operation(key: &str, description: &str, category: crate::Category) -> crate::Operation {
    crate::Operation {
        key: key.into(),
        description: description.into(),
        category,
    }
}

/// One RBAC-shaped rule of a translator's declared capabilities.
pub fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], namespaces: crate::NamespaceScope) -> crate::KubeRule {
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
    crate::KubeRule {
        api_groups: v(groups),
        resources: v(resources),
        verbs: v(verbs),
        namespaces,
    }
}
