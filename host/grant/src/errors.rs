/// Why the grant refused a read or a plan, with what a person can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A read through the `cluster` import.
    #[error("plugin {plugin} may not {action}")]
    ReadDenied {
        plugin: String,
        action: String,
        remedy: String,
    },

    /// Steps of a plan outside the grant; the whole plan is refused.
    #[error("the plan needs {} action(s) outside plugin {plugin}'s grant; nothing was changed", refused.len())]
    PlanDenied { plugin: String, refused: Vec<Refusal> },

    #[error("the plan defines {kind} in {api_version} twice, differently")]
    DuplicateKind { api_version: String, kind: String },

    /// The cluster could not say what a step is about (discovery, a bad name): nothing ran.
    #[error(transparent)]
    Cluster(#[from] wasmesh_cluster::Error),
}

/// One refused action of a plan.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Where in the plan, what and why: `stage "x" step 3: apply Role "r": ...`.
    pub message: String,
    pub remedy: String,
    /// Which kind of rule refused it, a fixed word for counting (metrics): see [`Error::denial_rules`].
    pub rule: &'static str,
}

/// A verb on a resource that no granted rule allows.
pub const RULE_KUBE: &str = "kube_rule";
/// A Role, ClusterRole or binding beyond the plugin's own rights (escalate, bind).
pub const RULE_RBAC_ESCALATION: &str = "rbac_escalation";
/// A namespace label or annotation the manifest does not declare for the operation.
pub const RULE_NAMESPACE_METADATA: &str = "namespace_metadata";

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error code of a refused capability.
pub const CAP_DENIED: &str = "WASMESH-CAP-DENIED";

/// Every code of this crate, with what it says (see `wasmesh_cluster::CODES`).
pub const CODES: &[(&str, &str)] = &[
    (
        "WASMESH-CAP-DENIED",
        "a read or a plan needs an action outside the plugin's grant; nothing was changed",
    ),
    ("WASMESH-HOST-1008", "the plan defines a kind twice, differently"),
];

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::ReadDenied { .. } | Error::PlanDenied { .. } => CAP_DENIED,
            Error::DuplicateKind { .. } => "WASMESH-HOST-1008",
            Error::Cluster(e) => e.code(),
        }
    }

    pub fn probable_cause(&self) -> String {
        match self {
            Error::ReadDenied { .. } => "the action is outside the capabilities granted to this plugin".into(),
            Error::PlanDenied { plugin, refused } => format!(
                "plugin {plugin}'s effective grant does not allow it: {}",
                refused.first().map_or("", |r| r.message.as_str())
            ),
            Error::DuplicateKind { .. } => "two CustomResourceDefinitions in one plan define the same kind".into(),
            Error::Cluster(e) => e.probable_cause(),
        }
    }

    pub fn suggested_remediation(&self) -> String {
        match self {
            Error::ReadDenied { remedy, .. } => remedy.clone(),
            Error::PlanDenied { refused, .. } => refused.first().map(|r| r.remedy.clone()).unwrap_or_default(),
            Error::DuplicateKind { .. } => "keep one definition of each kind in the YAML or design".into(),
            Error::Cluster(e) => e.suggested_remediation(),
        }
    }

    /// The rule behind each refused action (empty for errors that are not refusals).
    pub fn denial_rules(&self) -> Vec<&'static str> {
        match self {
            Error::ReadDenied { .. } => vec![RULE_KUBE],
            Error::PlanDenied { refused, .. } => refused.iter().map(|r| r.rule).collect(),
            _ => Vec::new(),
        }
    }

    /// One line per refused action (empty for other errors).
    pub fn details(&self) -> String {
        match self {
            Error::PlanDenied { refused, .. } => refused
                .iter()
                .map(|r| r.message.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        }
    }
}
