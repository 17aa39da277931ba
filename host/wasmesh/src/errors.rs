/// Errors of the host itself (configuration, start-up, serving).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),

    #[error("plugin {name}: cannot read {path}: {source}")]
    ReadPlugin {
        name: String,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Runtime(#[from] wasmesh_runtime::Error),

    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },

    /// `wasmesh deploy` was asked for manifests that could not run; the message says what to change.
    #[error("wasmesh deploy: {0}")]
    Deploy(String),

    /// `wasmesh inspect` was given a file the host cannot serve: what it is, and what to do.
    #[error("{}: {what}; {remedy}", .file.display())]
    Inspect {
        file: std::path::PathBuf,
        what: String,
        remedy: String,
    },

    /// `wasmesh new` refused its arguments (nothing was written) or could not write the crate.
    #[error("wasmesh new: {problem}; {remedy}")]
    New { problem: String, remedy: String },

    #[error("no plugin could be loaded; the host has nothing to serve: {reasons}")]
    NothingToServe { reasons: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every code this crate puts into events and gRPC statuses, with what it says: the host's own,
/// a plugin call's (WASMESH-RUNTIME, given by the adapter) and drift's. The cluster and grant
/// crates list theirs ([`host_codes`] has them all); `wasmesh plugins --codes` prints them, and
/// a test fails on a `WASMESH-` code in a host crate's sources that no list has.
pub const CODES: &[(&str, &str)] = &[
    (
        "WASMESH-HOST-1001",
        "a plugin read the cluster where no cluster is available (describe)",
    ),
    ("WASMESH-HOST-1002", "the plugin's plan is not usable"),
    ("WASMESH-HOST-1003", "the request names no Kubernetes cluster"),
    (
        "WASMESH-HOST-1004",
        "the operation failed on some of the request's clusters",
    ),
    ("WASMESH-HOST-1005", "unknown operation for this adapter"),
    (
        "WASMESH-HOST-1006",
        "the custom body or the design is over its size limit",
    ),
    ("WASMESH-HOST-1007", "the request's namespace is not usable"),
    (
        "WASMESH-HOST-1009",
        "the adapter is busy: limits.max_in_flight operations are running",
    ),
    (
        "WASMESH-HOST-1010",
        "the request names more clusters than limits.max_clusters",
    ),
    (
        "WASMESH-HOST-1011",
        "the configuration does not grant the plugin this operation",
    ),
    (
        "WASMESH-HOST-1012",
        "another design deploy of this adapter did not end in time",
    ),
    (
        "WASMESH-HOST-1020",
        "the adapter has as many event subscribers as it allows",
    ),
    ("WASMESH-HOST-1021", "a request field is over its size limit"),
    ("WASMESH-HOST-1022", "the adapter requires a bearer token"),
    ("WASMESH-HOST-1030", "the operation was stopped by the host's shutdown"),
    ("WASMESH-RUNTIME-1001", "the plugin ran past its time limit"),
    (
        "WASMESH-RUNTIME-1002",
        "the plugin tried to use more memory than its limit",
    ),
    ("WASMESH-RUNTIME-1003", "the plugin crashed"),
    ("WASMESH-RUNTIME-1004", "the plugin could not be started for this call"),
    (
        "WASMESH-RUNTIME-1005",
        "the plugin is overloaded: its instance slots are in use",
    ),
    (
        "WASMESH-RUNTIME-1006",
        "the plugin's answer is larger than the host copies per call",
    ),
    (
        "WASMESH-RUNTIME-1020",
        "an asset folder is configured for a plugin whose manifest does not declare assets",
    ),
    (
        "WASMESH-RUNTIME-1021",
        "a plugin's asset folder is missing or not a folder",
    ),
    (
        "WASMESH-DRIFT-1001",
        "an object a plugin applied was changed by someone else",
    ),
    (
        "WASMESH-DRIFT-1002",
        "an object a plugin applied was deleted by someone else",
    ),
    (
        "WASMESH-DRIFT-1003",
        "re-applying the plan was paused: the objects keep drifting",
    ),
    (
        "WASMESH-DRIFT-1004",
        "objects of the plan are not watched for drift (a limit, or the grant)",
    ),
    ("WASMESH-DRIFT-1005", "re-applying the plan failed"),
];

/// Every code of the host, from each crate's list: (code, what it says, the crate).
pub fn host_codes() -> Vec<(&'static str, &'static str, &'static str)> {
    let of = |krate: &'static str, list: &'static [(&'static str, &'static str)]| {
        list.iter().map(move |(code, what)| (*code, *what, krate))
    };
    of("wasmesh", CODES)
        .chain(of("wasmesh-cluster", wasmesh_cluster::CODES))
        .chain(of("wasmesh-grant", wasmesh_grant::CODES))
        .collect()
}
