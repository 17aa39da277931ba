//! The plugin runtime: translator components run on wasmtime with no ambient authority.
//!
//! One [`Runtime`] holds the Engine (pooling allocator, epoch interruption) and the Linker. Each
//! loaded [`Plugin`] keeps an `InstancePre` made at load; every call gets a fresh Store with a
//! memory limit, an epoch deadline, an empty WASI context and the caller's [`HostCalls`], the
//! single dispatch point for everything the guest asks of the host.
//!
//! What a plugin needs is declared in its `wasmesh:manifest` custom section ([`read_manifest`]),
//! read from the bytes before anything is compiled or run; `describe` must say the same.

pub mod assets;
mod bindings;
mod cache;
mod errors;
pub mod fsdir;
mod manifest;
mod plugin;
mod state;
pub mod surface;

pub use bindings::registrable::exports::wasmesh::adapter::registry::DesignKind;
pub use bindings::wasmesh::adapter::cluster::ListQuery;
pub use bindings::wasmesh::adapter::types;
pub use errors::{Error, Result};
pub use manifest::{DESIGN_OPERATION, MANIFEST_SECTION, Manifest, NamespaceKeys, read_manifest, read_plugin_manifest};
pub use plugin::{
    CallOutcome, DEFAULT_MAX_RESULT_BYTES, MAX_CORE_INSTANCES_PER_CALL, MAX_HOST_RESOURCES_PER_CALL,
    MAX_MEMORIES_PER_CALL, MAX_TABLES_PER_CALL, Plugin, Runtime, RuntimeConfig,
};
pub use state::HostCalls;

/// The WIT package every translator implements.
pub const WIT_PACKAGE: &str = "wasmesh:adapter@0.1.0";
