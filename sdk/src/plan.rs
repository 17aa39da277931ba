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

fn kind(o: &Value) -> &str {
    o.get("kind").and_then(Value::as_str).unwrap_or_default()
}

fn is_foundation(o: &Value) -> bool {
    FOUNDATION_KINDS.contains(&kind(o))
}
