/// What went wrong talking to a cluster, with what a person can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the kubeconfig is not usable: {reason}")]
    InvalidKubeconfig { reason: String },

    #[error("the kubeconfig's API server {server} is not allowed: {reason}")]
    ServerNotAllowed { server: String, reason: String },

    #[error("cannot reach the Kubernetes API server {server}: {reason}")]
    Unreachable { server: String, reason: String },

    #[error("{verb} {what}: the API server {server} sent an answer over {limit} bytes, where the host stops reading")]
    AnswerTooLarge {
        verb: &'static str,
        what: String,
        server: String,
        limit: usize,
    },

    #[error("the cluster {server} does not serve {kind} in {api_version}")]
    UnknownKind {
        server: String,
        api_version: String,
        kind: String,
    },

    #[error("{verb} {what} was refused by the API server: {message} ({code} {reason})")]
    Api {
        verb: &'static str,
        what: String,
        code: u16,
        reason: String,
        message: String,
    },

    #[error("{verb} {what} failed: {reason}")]
    Transport {
        verb: &'static str,
        what: String,
        reason: String,
    },

    #[error("{what} did not become ready: still not {condition} after {seconds} s")]
    WaitTimeout {
        what: String,
        condition: String,
        seconds: u32,
    },

    #[error("object is not valid: {reason}")]
    InvalidObject { reason: String },

    #[error("{what} cannot be created: namespace \"{namespace}\" is being deleted")]
    NamespaceTerminating { what: String, namespace: String },

    #[error("{what} is still being deleted after {seconds} s, so it cannot be created again")]
    StillBeingDeleted { what: String, seconds: u32 },

    #[error("the operation ran out of time: it may take at most {seconds} s")]
    Deadline { seconds: u64 },

    /// A failure that may pass (429, 5xx, a lost connection) that lasted through the retries.
    #[error("{last} ({})", tried(*.attempts))]
    Retried { attempts: u32, last: Box<Error> },
}

fn tried(attempts: u32) -> String {
    match attempts {
        1 => "tried once: no time was left for a retry".into(),
        n => format!("tried {n} times"),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every code of this crate, with what it says: `wasmesh plugins --codes` lists them, and a test
/// of the `wasmesh` crate fails on a `WASMESH-` code in this crate's sources that is not here.
pub const CODES: &[(&str, &str)] = &[
    ("WASMESH-CLUSTER-1001", "the kubeconfig is not usable"),
    ("WASMESH-CLUSTER-1002", "the Kubernetes API server cannot be reached"),
    (
        "WASMESH-CLUSTER-1003",
        "the cluster does not serve the kind in that apiVersion",
    ),
    (
        "WASMESH-CLUSTER-1004",
        "the API server refused the request: forbidden (403)",
    ),
    (
        "WASMESH-CLUSTER-1005",
        "the API server refused the object as invalid (400, 422)",
    ),
    (
        "WASMESH-CLUSTER-1006",
        "another field manager owns a field the object sets (409)",
    ),
    ("WASMESH-CLUSTER-1007", "the API server could not carry out the request"),
    (
        "WASMESH-CLUSTER-1008",
        "the request to the API server failed on the way",
    ),
    ("WASMESH-CLUSTER-1009", "an object did not become ready in time"),
    (
        "WASMESH-CLUSTER-1010",
        "an object misses apiVersion, kind or name, or names them wrongly",
    ),
    ("WASMESH-CLUSTER-1011", "the API server refused the credentials (401)"),
    (
        "WASMESH-CLUSTER-1012",
        "the namespace or a parent object does not exist (404)",
    ),
    ("WASMESH-CLUSTER-1013", "the object's namespace is being deleted"),
    (
        "WASMESH-CLUSTER-1014",
        "the object is still being deleted, so it cannot be created again",
    ),
    ("WASMESH-CLUSTER-1015", "the operation ran out of time"),
    (
        "WASMESH-CLUSTER-1016",
        "an apply took fields over from another field manager (a warning)",
    ),
    (
        "WASMESH-CLUSTER-1017",
        "the kubeconfig's API server is not allowed by the host's configuration",
    ),
    (
        "WASMESH-CLUSTER-1018",
        "the API server's answer passed the host's bound (64 MiB, or one watch event that long)",
    ),
];

/// A wait that ran out: an error when the wait is required, a WARN step report when it is not.
pub const NOT_READY_CODE: &str = "WASMESH-CLUSTER-1009";
/// The WARN of an apply that took fields over from kubectl or a controller.
pub const FIELDS_TAKEN_OVER_CODE: &str = "WASMESH-CLUSTER-1016";

fn clip(text: &str) -> String {
    const MAX: usize = 1024;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} [truncated]", &text[..end])
}

/// Whether an error is a Status an API server wrote: kube's stand-in for an unparsable body says
/// "Failed to parse error data", and an API server always sets `status: Failure`.
pub(crate) fn is_api_status(s: &kube::core::Status) -> bool {
    s.status == Some(kube::core::response::StatusSummary::Failure) && s.reason != "Failed to parse error data"
}

impl Error {
    pub(crate) fn from_kube(verb: &'static str, what: String, server: &str, e: kube::Error) -> Self {
        match e {
            // kube makes a Status of any error body it cannot parse as one (reason "Failed to
            // parse error data"). That body comes from whatever answered (a proxy, a web server
            // the kubeconfig pointed at, a secret-holding endpoint): it is not shown.
            kube::Error::Api(s) if !is_api_status(&s) => Error::Api {
                verb,
                what,
                code: s.code,
                reason: "NotAStatus".into(),
                message: format!(
                    "the server answered HTTP {} with a body that is not a Kubernetes Status (not shown); it may not be a Kubernetes API server",
                    s.code
                ),
            },
            kube::Error::Api(s) => Error::Api {
                verb,
                what,
                code: s.code,
                reason: clip(&s.reason),
                // An API server's message names the object; keep events small all the same.
                message: clip(&s.message),
            },
            e if crate::bound::too_large(&e).is_some() => Error::AnswerTooLarge {
                verb,
                what,
                server: server.to_string(),
                limit: crate::bound::too_large(&e).map_or(0, |t| t.limit),
            },
            kube::Error::HyperError(_) | kube::Error::Service(_) => Error::Unreachable {
                server: server.to_string(),
                reason: format!("{e}"),
            },
            other => Error::Transport {
                verb,
                what,
                reason: other.to_string(),
            },
        }
    }

    /// Stable code for Meshery's error events.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidKubeconfig { .. } => "WASMESH-CLUSTER-1001",
            Error::ServerNotAllowed { .. } => "WASMESH-CLUSTER-1017",
            Error::Unreachable { .. } => "WASMESH-CLUSTER-1002",
            Error::AnswerTooLarge { .. } => "WASMESH-CLUSTER-1018",
            Error::UnknownKind { .. } => "WASMESH-CLUSTER-1003",
            Error::Api { code: 403, .. } => "WASMESH-CLUSTER-1004",
            Error::Api { code: 422, .. } | Error::Api { code: 400, .. } => "WASMESH-CLUSTER-1005",
            Error::Api { code: 409, .. } => "WASMESH-CLUSTER-1006",
            Error::Api { code: 401, .. } => "WASMESH-CLUSTER-1011",
            Error::Api { code: 404, .. } => "WASMESH-CLUSTER-1012",
            Error::Api { .. } => "WASMESH-CLUSTER-1007",
            Error::Transport { .. } => "WASMESH-CLUSTER-1008",
            Error::WaitTimeout { .. } => NOT_READY_CODE,
            Error::InvalidObject { .. } => "WASMESH-CLUSTER-1010",
            Error::NamespaceTerminating { .. } => "WASMESH-CLUSTER-1013",
            Error::StillBeingDeleted { .. } => "WASMESH-CLUSTER-1014",
            Error::Deadline { .. } => "WASMESH-CLUSTER-1015",
            Error::Retried { last, .. } => last.code(),
        }
    }

    pub fn probable_cause(&self) -> String {
        match self {
            Error::Retried { last, .. } => format!(
                "{}; the failure lasted through every retry",
                last.probable_cause()
            ),
            Error::InvalidKubeconfig { .. } => {
                "the kubeconfig Meshery sent is empty, not YAML, or has no usable context, cluster or user".into()
            }
            Error::ServerNotAllowed { .. } => {
                "the kubeconfig names an API server the host's configuration does not let it reach: plain http, a proxy, or an address outside allowed_api_servers".into()
            }
            Error::Unreachable { .. } => {
                "the API server is down, the address is wrong, or a network policy blocks the adapter".into()
            }
            Error::AnswerTooLarge { .. } => {
                "the read asks for more than the host takes in at once (very many objects of one kind), or the \
                 kubeconfig's server is not a Kubernetes API server"
                    .into()
            }
            Error::UnknownKind { kind, .. } => {
                format!("no CustomResourceDefinition or built-in API serves {kind} on this cluster")
            }
            Error::Api { code: 403, .. } => "the adapter's identity lacks the RBAC permission for this".into(),
            Error::Api { code: 401, .. } => "the kubeconfig's credentials are expired or wrong".into(),
            Error::Api { code: 422, .. } | Error::Api { code: 400, .. } => {
                "the object does not pass the API server's validation".into()
            }
            Error::Api { code: 409, .. } => "another field manager owns a field this object sets".into(),
            Error::Api { code: 404, .. } => "the namespace or a parent object does not exist".into(),
            Error::Api { .. } | Error::Transport { .. } => "the API server could not carry out the request".into(),
            Error::WaitTimeout { .. } => "the workload or resource is still starting, or is failing".into(),
            Error::InvalidObject { .. } => {
                "the object misses apiVersion, kind or metadata.name, or names a type or object in a form Kubernetes does not accept".into()
            }
            Error::Deadline { .. } => {
                "the plan's waits and writes took longer than one operation may (limits.operation_timeout_seconds)".into()
            }
            Error::NamespaceTerminating { namespace, .. } => format!(
                "namespace \"{namespace}\" was deleted (by an uninstall or by hand) and the cluster is still removing what \
                 it holds; Kubernetes refuses new objects in it until it is gone"
            ),
            Error::StillBeingDeleted { .. } => {
                "it, or objects in it, carry finalizers that nobody removes, or an API the cluster's controllers \
                 must list is unavailable"
                    .into()
            }
        }
    }

    pub fn suggested_remediation(&self) -> String {
        match self {
            Error::Retried { last, .. } => format!(
                "{}; what was applied stays, so running the operation again once the API server answers finishes it",
                last.suggested_remediation()
            ),
            Error::InvalidKubeconfig { .. } => {
                "upload a valid kubeconfig for this cluster in Meshery (Settings > Environment)".into()
            }
            Error::ServerNotAllowed { .. } => {
                "use a kubeconfig whose server is an https address of the cluster (no proxy-url); if the cluster is \
                 legitimate, ask the operator to add it to allowed_api_servers in the host configuration"
                    .into()
            }
            Error::Unreachable { server, .. } => {
                format!(
                    "check that {server} is reachable from the adapter and the kubeconfig's server address is right"
                )
            }
            Error::AnswerTooLarge { server, .. } => format!(
                "narrow the read to a namespace or a label selector, and check that {server} is the cluster's API server"
            ),
            Error::UnknownKind { kind, api_version, .. } => {
                format!("install the CRD that defines {kind} ({api_version}) or the mesh that provides it, then retry")
            }
            Error::Api { code: 403, .. } => {
                "grant the permission to the adapter's ServiceAccount (see `wasmesh rbac`), then retry".into()
            }
            Error::Api { code: 401, .. } => "refresh the cluster's credentials in Meshery".into(),
            Error::Api { code: 422, .. } | Error::Api { code: 400, .. } => {
                "fix the fields the message names and run the operation again".into()
            }
            Error::Api { code: 409, .. } => "remove the conflicting field or let wasmesh manage the object".into(),
            Error::Api { code: 404, .. } => "create the namespace first or apply the objects it depends on".into(),
            Error::Api { .. } | Error::Transport { .. } => "check the API server's health and retry".into(),
            Error::WaitTimeout { .. } => {
                "inspect the object's events and pods (kubectl describe), then retry the operation".into()
            }
            Error::InvalidObject { .. } => {
                "give every object a valid apiVersion (group/version), kind and metadata.name".into()
            }
            Error::Deadline { .. } => {
                "run the operation again (what was applied stays), or raise limits.operation_timeout_seconds".into()
            }
            Error::NamespaceTerminating { namespace, .. } => {
                format!("wait until `kubectl get namespace {namespace}` answers NotFound, then run the operation again")
            }
            Error::StillBeingDeleted { .. } => {
                "`kubectl get` the object with -o yaml: status.conditions name what remains; remove the stuck \
                 finalizers or the unavailable APIService, then run the operation again"
                    .into()
            }
        }
    }
}
