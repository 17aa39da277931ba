//! Helpers to build plans.

use serde_json::Value;

use crate::{Condition, NamespaceChange, ObjectRef, Plan, Stage, Step, WaitFor};

/// Kinds that have to exist before other objects can use them: applied in a stage of their own.
const FOUNDATION_KINDS: &[&str] = &["Namespace", "CustomResourceDefinition"];

/// Seconds a CRD gets to become Established before the plan fails.
pub const CRD_ESTABLISHED_TIMEOUT: u32 = 60;

pub fn apply(object: &Value) -> Step {
    Step::Apply(object.to_string())
}

/// A reference to the object; `namespace` is None when the object has none (the host puts
/// namespaced objects without one into the request's namespace).
pub fn object_ref(object: &Value) -> ObjectRef {
    let s = |p: &str| object.pointer(p).and_then(Value::as_str).map(str::to_string);
    ObjectRef {
        api_version: s("/apiVersion").unwrap_or_default(),
        kind: s("/kind").unwrap_or_default(),
        namespace: s("/metadata/namespace"),
        name: s("/metadata/name").unwrap_or_default(),
    }
}

pub fn stage(name: impl Into<String>, steps: Vec<Step>) -> Stage {
    Stage {
        name: name.into(),
        steps,
    }
}

/// Applies objects in dependency order: namespaces and CRDs first, then a wait until the CRDs
/// are Established, then everything else in parallel.
pub fn apply_all(objects: &[Value]) -> Vec<Stage> {
    let (foundation, rest): (Vec<&Value>, Vec<&Value>) = objects.iter().partition(|o| is_foundation(o));
    let mut stages = Vec::new();
    if !foundation.is_empty() {
        stages.push(stage(
            "namespaces and CRDs",
            foundation.iter().map(|o| apply(o)).collect(),
        ));
        let waits: Vec<Step> = foundation
            .iter()
            .filter(|o| kind(o) == "CustomResourceDefinition")
            .map(|o| {
                Step::Wait(WaitFor {
                    target: object_ref(o),
                    condition: Condition::ConditionTrue("Established".into()),
                    timeout_seconds: CRD_ESTABLISHED_TIMEOUT,
                    required: true,
                })
            })
            .collect();
        if !waits.is_empty() {
            stages.push(stage("CRDs established", waits));
        }
    }
    if !rest.is_empty() {
        stages.push(stage("objects", rest.iter().map(|o| apply(o)).collect()));
    }
    stages
}

/// Deletes objects in the reverse order of [`apply_all`].
pub fn delete_all(objects: &[Value]) -> Vec<Stage> {
    let (foundation, rest): (Vec<&Value>, Vec<&Value>) = objects.iter().partition(|o| is_foundation(o));
    let mut stages = Vec::new();
    if !rest.is_empty() {
        stages.push(stage(
            "objects",
            rest.iter().map(|o| Step::Delete(object_ref(o))).collect(),
        ));
    }
    if !foundation.is_empty() {
        stages.push(stage(
            "namespaces and CRDs",
            foundation.iter().map(|o| Step::Delete(object_ref(o))).collect(),
        ));
    }
    stages
}

pub fn plan(summary: impl Into<String>, stages: Vec<Stage>) -> Plan {
    Plan {
        stages,
        summary: summary.into(),
    }
}

/// A namespace change that touches nothing yet; fill in what to set or remove.
pub fn namespace_change(namespace: &str, create: bool) -> NamespaceChange {
    NamespaceChange {
        namespace: namespace.to_string(),
        set_labels: Vec::new(),
        remove_labels: Vec::new(),
        set_annotations: Vec::new(),
        remove_annotations: Vec::new(),
        create,
    }
}

/// A stage `namespace` that creates the namespace when it is missing and otherwise leaves it as
/// it is (its labels and annotations untouched): put it first when objects go into a namespace
/// the request names, which may not exist yet.
pub fn create_namespace(namespace: &str) -> Stage {
    stage(
        "namespace",
        vec![Step::NamespaceMetadata(namespace_change(namespace, true))],
    )
}

/// A stage `name` that waits until each Deployment among `objects` is Available, for at most
/// `timeout_seconds` each, as non-required waits: a Deployment still pulling its image when the
/// time is up becomes a WARN event naming it, not a failure of the operation (what was applied
/// stays). None when `objects` hold no Deployment. Put it after the stages that apply them:
///
/// ```ignore
/// let mut stages = apply_all(&objects);
/// stages.extend(deployments_available("deployments available", &objects, 300));
/// ```
pub fn deployments_available(name: impl Into<String>, objects: &[Value], timeout_seconds: u32) -> Option<Stage> {
    let waits: Vec<Step> = objects
        .iter()
        .filter(|o| kind(o) == "Deployment")
        .map(|o| {
            Step::Wait(WaitFor {
                target: object_ref(o),
                condition: Condition::ConditionTrue("Available".into()),
                timeout_seconds,
                required: false,
            })
        })
        .collect();
    (!waits.is_empty()).then(|| stage(name, waits))
}

/// The error for an operation that needs the mesh's control plane when it is not installed
/// (`<prefix>-1005`, one of the SDK's numbers): "`refused`: <mesh> is not installed in this
/// cluster", with `cause` (what was looked for and why it is needed) and the remedy to run the
/// translator's install operation (its control plane's) first.
pub fn mesh_not_installed(
    translator: &crate::translator::Translator,
    refused: impl std::fmt::Display,
    cause: impl Into<String>,
) -> crate::Error {
    let mesh = translator.display;
    crate::error(
        translator.code(1005),
        format!("{refused}: {mesh} is not installed in this cluster"),
        cause,
        format!(
            "install {mesh} first (the \"{}\" operation), then run this operation again",
            translator.control_plane.operation
        ),
    )
}

/// Whether `name` can name a namespace: a lowercase RFC 1123 label (letters, digits and '-',
/// neither first nor last) of at most 63 characters. Check a namespace the request names before
/// planning into it, so that a bad name is a clear error and nothing is written.
pub fn is_namespace_name(name: &str) -> bool {
    !name.contains('.') && crate::options::is_dns_name(name)
}

fn kind(o: &Value) -> &str {
    o.get("kind").and_then(Value::as_str).unwrap_or_default()
}

fn is_foundation(o: &Value) -> bool {
    FOUNDATION_KINDS.contains(&kind(o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn waits_for_each_deployment_and_nothing_else() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "db", "namespace": "shop"}}),
        ];
        let s = deployments_available("web available", &objects, 90).unwrap();
        assert_eq!(s.name, "web available");
        let waited: Vec<_> = s
            .steps
            .iter()
            .map(|step| match step {
                Step::Wait(w) => {
                    assert!(!w.required, "a slow image is a warning, not a failure");
                    assert_eq!(w.timeout_seconds, 90);
                    assert!(matches!(&w.condition, Condition::ConditionTrue(c) if c == "Available"));
                    (w.target.kind.as_str(), w.target.name.as_str())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(waited, [("Deployment", "web"), ("Deployment", "db")]);
        assert!(deployments_available("x", &objects[..1], 90).is_none());
    }

    #[test]
    fn namespace_names() {
        for good in ["default", "a", "shop-1", "0a", &"a".repeat(63)] {
            assert!(is_namespace_name(good), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a.b", "a/b", "a b", "é", &"a".repeat(64)] {
            assert!(!is_namespace_name(bad), "{bad}");
        }
    }

    #[test]
    fn create_namespace_only_creates() {
        let s = create_namespace("shop");
        let [Step::NamespaceMetadata(c)] = s.steps.as_slice() else {
            panic!("{s:?}")
        };
        assert_eq!((c.namespace.as_str(), c.create), ("shop", true));
        assert!(c.set_labels.is_empty() && c.set_annotations.is_empty());
        assert!(c.remove_labels.is_empty() && c.remove_annotations.is_empty());
    }

    #[test]
    fn mesh_not_installed_names_the_install_operation() {
        let e = mesh_not_installed(
            &crate::translator::tests::DEMO,
            "the add-on cannot be installed",
            "no control plane",
        );
        assert_eq!(e.code, "WASMESH-DEMO-1005");
        assert_eq!(
            e.message,
            "the add-on cannot be installed: Demo is not installed in this cluster"
        );
        assert_eq!(
            e.suggested_remediation,
            "install Demo first (the \"demo\" operation), then run this operation again"
        );
    }
}
