//! The wasmesh translator SDK.
//!
//! A translator is a WebAssembly component (target `wasm32-wasip2`) that turns a Meshery
//! operation into a [`Plan`] of declarative steps; the host checks the plan against the
//! translator's grant and carries it out. A translator is written in four parts:
//!
//! - **One description** ([`translator::Translator`]): the mesh (name, code prefix, control-plane
//!   kind, versions, add-ons, the CRD kinds it passes through in designs) and a table of
//!   operations, each with its key, description, category, planner and the manifest rules it
//!   needs. [`translator!`] implements the component from it: `describe`, the dispatch of `plan`,
//!   and a unit test that `manifest.json` (what the host reads without running the plugin) is
//!   exactly what the description generates. A key given twice does not compile.
//! - **Errors** ([`errors!`]): one enum, each variant with its number, message, cause and remedy;
//!   numbers are unique by construction. The description's `errors` (the enum's `CODES`) puts
//!   every code into the manifest, with the SDK's own, for `wasmesh plugins --codes`.
//! - **Options** ([`options`]): typed structs read from the request's body (YAML or JSON),
//!   unknown keys refused, with shared validators (DNS names, image repositories, wait seconds).
//! - **Designs** ([`design::Design`]): the shared flow for Meshery designs; the translator adds
//!   only its [`design::Hooks`].
//!
//! ```ignore
//! use wasmesh_sdk::translator::{ControlPlane, Namespaces, Op, Rule, Translator};
//! use wasmesh_sdk::{Category, DesignPlan, DesignRequest, Error, OperationRequest, Plan};
//!
//! wasmesh_sdk::errors! {
//!     pub enum MyMeshError in "WASMESH-MYMESH" {
//!         NotInstalled = 1100 => {
//!             message: "MyMesh is not installed",
//!             cause: "the control plane's namespace mymesh-system is missing",
//!             remedy: "install MyMesh first (operation \"mymesh\")",
//!         },
//!     }
//! }
//!
//! const NAMESPACES: Rule = Rule::kube(&[""], &["namespaces"], &["get", "create", "patch"], Namespaces::Cluster);
//!
//! pub static MYMESH: Translator = Translator {
//!     name: "MYMESH",
//!     mesh: "mymesh",
//!     display: "MyMesh",
//!     version: env!("CARGO_PKG_VERSION"),
//!     code_prefix: MyMeshError::PREFIX,
//!     errors: MyMeshError::CODES,
//!     manifest: wasmesh_sdk::manifest!("manifest.json"),
//!     versions: || vec!["1.0.0".into()],
//!     control_plane: ControlPlane {
//!         kind: "MyMeshMesh",
//!         operation: "mymesh",
//!         namespace: "mymesh-system",
//!         settings: &[],
//!         settings_remedy: "set settings.version to a MyMesh release such as \"1.0.0\"",
//!         install_first: "install MyMesh first, or add its component (MyMeshMesh) to the design",
//!     },
//!     addons: &[],
//!     kinds: &[],
//!     operations: &[
//!         Op::new("mymesh", "MyMesh service mesh", Category::Install, install, &[&NAMESPACES]),
//!         Op::custom("Apply or delete custom Kubernetes YAML", &[]),
//!     ],
//!     design_rules: &[&NAMESPACES],
//!     outbound_hosts: &[],
//!     assets: false,
//! };
//!
//! fn install(request: &OperationRequest) -> Result<Plan, Error> {
//!     /* read the cluster with wasmesh_sdk::cluster, build stages with wasmesh_sdk::plan */
//! #   unimplemented!()
//! }
//!
//! fn provision(request: &DesignRequest) -> Result<DesignPlan, Error> {
//!     struct NoHooks;
//!     impl wasmesh_sdk::design::Hooks for NoHooks {}
//!     wasmesh_sdk::design::Design::new(&MYMESH, request).plan(NoHooks)
//! }
//!
//! struct MyMesh;
//! wasmesh_sdk::translator!(MyMesh, MYMESH, provision: provision, design_kinds: Vec::new);
//! ```
//!
//! `cargo test` on the host target runs the translator's unit tests, among them the manifest
//! check; `cargo build --target wasm32-wasip2` builds the component.

// The generated code names this crate by its own name, also from inside it.
extern crate self as wasmesh_sdk;

#[cfg(feature = "certs")]
pub mod certs;
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

pub mod assets;
pub mod checks;
pub mod cluster;
pub mod design;
pub mod error;
pub mod manifest;
pub mod ops;
pub mod options;
pub mod plan;
pub mod progress;
pub mod registry;
#[cfg(not(target_family = "wasm"))]
pub mod testing;
pub mod translator;
pub mod yaml;

pub use bindings::wasmesh::adapter::types::{
    Capabilities, Category, ClusterInfo, Condition, DesignPlan, DesignRequest, Error, Info, KubeRule, Level,
    NamespaceChange, NamespaceScope, ObjectRef, Operation, OperationRequest, Plan, RejectedComponent, Stage, Step,
    WaitFor,
};
pub use bindings::{Guest, export_translator};
pub use error::error;
