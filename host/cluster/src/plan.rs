//! The plan model the executor runs: the host's mirror of the WIT plan, with objects parsed.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} \"{}\"", self.kind, self.name)?;
        if let Some(ns) = &self.namespace {
            write!(f, " in namespace \"{ns}\"")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NamespaceChange {
    pub namespace: String,
    pub set_labels: Vec<(String, String)>,
    pub remove_labels: Vec<String>,
    pub set_annotations: Vec<(String, String)>,
    pub remove_annotations: Vec<String>,
    pub create: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Exists,
    Deleted,
    ConditionTrue(String),
}

/// The state a wait asks for, as a word that reads after "not" ("still not Available after 300 s").
impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Condition::Exists => f.write_str("created"),
            Condition::Deleted => f.write_str("deleted"),
            Condition::ConditionTrue(c) => f.write_str(c),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct WaitFor {
    pub target: ObjectRef,
    pub condition: Condition,
    pub timeout_seconds: u32,
    pub required: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A full object (apiVersion, kind, metadata.name checked by the caller).
    Apply(Value),
    Delete(ObjectRef),
    NamespaceMetadata(NamespaceChange),
    Wait(WaitFor),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub name: String,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Plan {
    pub stages: Vec<Stage>,
    pub summary: String,
    /// (apiVersion, kind) pairs the cluster did not serve when the plan was checked. Their
    /// delete and wait steps were not checked against a resource, so they never reach the
    /// cluster, even if the kind appears meanwhile: deletes report absent, waits not ready.
    pub unresolved: std::collections::HashSet<(String, String)>,
}

impl Step {
    /// The object this step is about, with the namespace it will really use.
    pub fn target(&self) -> ObjectRef {
        match self {
            Step::Apply(o) => {
                let s = |p: &str| o.pointer(p).and_then(Value::as_str).map(str::to_string);
                ObjectRef {
                    api_version: s("/apiVersion").unwrap_or_default(),
                    kind: s("/kind").unwrap_or_default(),
                    namespace: s("/metadata/namespace"),
                    name: s("/metadata/name").unwrap_or_default(),
                }
            }
            Step::Delete(r) => r.clone(),
            Step::NamespaceMetadata(c) => ObjectRef {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespace: None,
                name: c.namespace.clone(),
            },
            Step::Wait(w) => w.target.clone(),
        }
    }
}
