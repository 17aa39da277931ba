use std::path::PathBuf;

/// Why a plugin could not be loaded or a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("wasmtime engine could not be configured: {0}")]
    Engine(String),

    #[error("plugin {plugin}: not a valid WebAssembly component: {reason}")]
    InvalidComponent { plugin: String, reason: String },

    #[error(
        "plugin {plugin} imports {imports}, which wasmesh does not provide; a translator may import \
         only the {contract} contract (cluster, progress) and WASI cli, io, clocks, filesystem, \
         random and sockets (granted nothing)"
    )]
    ForbiddenImports {
        plugin: String,
        imports: String,
        contract: &'static str,
    },

    #[error("plugin {plugin} cannot be linked against the {contract} contract: {reason}")]
    Link {
        plugin: String,
        contract: &'static str,
        reason: String,
    },

    #[error("plugin {plugin} has no {section} section; build it with the wasmesh SDK's manifest! macro")]
    NoManifest { plugin: String, section: &'static str },

    #[error("plugin {plugin} has {count} {section} sections; a plugin declares exactly one manifest")]
    DuplicateManifest {
        plugin: String,
        section: &'static str,
        count: usize,
    },

    #[error("plugin {plugin}: its {section} section is not a valid manifest: {reason}")]
    InvalidManifest {
        plugin: String,
        section: &'static str,
        reason: String,
    },

    #[error(
        "plugin {plugin}: its manifest is for the contract \"{wit}\", but this host serves \
         {contract}; rebuild the plugin against {contract}"
    )]
    ManifestWit {
        plugin: String,
        wit: String,
        contract: &'static str,
    },

    #[error(
        "plugin {plugin}: describe and manifest disagree on the capabilities: the manifest \
         declares {manifest} but describe says {described}; describe must answer with \
         wasmesh_sdk::manifest::capabilities of the embedded manifest"
    )]
    ManifestMismatch {
        plugin: String,
        manifest: String,
        described: String,
    },

    #[error(
        "plugin {plugin}: its manifest ties a rule to operation \"{operation}\", which describe does not \
         offer; a grant of some operations would silently drop that rule (name an offered operation \
         key, or \"design\" for designs)"
    )]
    ManifestOperation { plugin: String, operation: String },

    #[error(
        "{path} is not trusted: {problem}; the host only uses folders and files owned by its own user \
         (uid {euid}) that no one else may write, reached without following links: remove it, or \
         make it a plain folder or file owned by uid {euid} (chown) and not writable by group or others (chmod go-w)"
    )]
    NotPrivate { path: PathBuf, problem: String, euid: u32 },

    #[error("compile cache entry {path} refused: {problem}; it is recompiled and replaced")]
    CacheEntry { path: PathBuf, problem: String },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "plugin {plugin} needs more than one plugin call may take from the instance pool: {reason}; \
         a translator may instantiate at most {core_instances} core modules with {memories} linear \
         memories and {tables} tables in all (rebuild it as one module, as cargo's wasm32-wasip2 target does)"
    )]
    TooManyResources {
        plugin: String,
        reason: String,
        core_instances: u32,
        memories: u32,
        tables: u32,
    },

    #[error("plugin {plugin}: {call} did not finish within {limit_ms} ms and was stopped")]
    Timeout {
        plugin: String,
        call: &'static str,
        limit_ms: u64,
    },

    #[error("plugin {plugin}: {call} went past its memory limit of {limit_mib} MiB and was stopped")]
    OutOfMemory {
        plugin: String,
        call: &'static str,
        limit_mib: usize,
    },

    #[error(
        "plugin {plugin}: {call} handed the host more than it copies from one call ({limit_mib} MiB, \
         counting every string's bytes and every list element); refused before it was copied"
    )]
    ResultTooLarge {
        plugin: String,
        call: &'static str,
        limit_mib: usize,
    },

    #[error("plugin {plugin}: {call} crashed: {reason}")]
    Trap {
        plugin: String,
        call: &'static str,
        reason: String,
    },

    #[error("plugin {plugin}: {call} could not start: no plugin instance slot is free for it ({reason})")]
    Busy {
        plugin: String,
        call: &'static str,
        reason: String,
    },

    /// The operator's asset folder for a plugin cannot be granted (see [`crate::assets`]).
    #[error("plugin {plugin}: {message} [{code}]: {cause}; {remedy}")]
    Assets {
        plugin: String,
        code: &'static str,
        message: String,
        cause: String,
        remedy: String,
    },

    #[error("plugin {plugin}: {call} could not start: {reason}")]
    Instantiate {
        plugin: String,
        call: &'static str,
        reason: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
