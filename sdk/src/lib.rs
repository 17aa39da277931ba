//! The wasmesh translator SDK.
//!
//! A translator is a WebAssembly component (target `wasm32-wasip2`) that implements [`Guest`]
//! and exports it with [`export_translator!`]. It turns a Meshery operation into a [`Plan`] of
//! declarative steps; the host checks the plan against the translator's grant and carries it out.
//!
//! What the translator needs (Kubernetes rules, outbound hosts, assets) is declared in a
//! `manifest.json` next to its `Cargo.toml`, embedded with [`manifest!`] so the host can read it
//! without running the plugin, and reused by `describe` (see [`manifest`](mod@manifest)).
//!
//! ```ignore
//! const MANIFEST: &str = wasmesh_sdk::manifest!("manifest.json");
//! struct MyMesh;
//! impl wasmesh_sdk::Guest for MyMesh {
//!     /* describe (capabilities: wasmesh_sdk::manifest::capabilities(MANIFEST)), plan, provision */
//! }
//! impl wasmesh_sdk::registry::Guest for MyMesh {
//!     /* design_kinds: the kinds it handles in designs (an empty list registers nothing) */
//! }
//! wasmesh_sdk::export_translator!(MyMesh);
//! ```

// The generated code names this crate by its own name, also from inside it.
extern crate self as wasmesh_sdk;

pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        // The translator world plus the registry export (what the host registers with Meshery).
        world: "registrable-translator",
        pub_export_macro: true,
        export_macro_name: "export_translator",
        default_bindings_module: "wasmesh_sdk::bindings",
        runtime_path: "wasmesh_sdk::__wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

pub mod cluster;
pub mod design;
mod error;
pub mod manifest;
pub mod ops;
pub mod options;
pub mod plan;
pub mod registry;
pub mod yaml;

pub use bindings::wasmesh::adapter::progress;
pub use bindings::wasmesh::adapter::types::{
    Capabilities, Category, ClusterInfo, Condition, DesignPlan, DesignRequest, Error, Info, KubeRule, Level,
    NamespaceChange, NamespaceScope, ObjectRef, Operation, OperationRequest, Plan, RejectedComponent, Stage, Step,
    WaitFor,
};
pub use bindings::{Guest, export_translator};
pub use error::error;
