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
