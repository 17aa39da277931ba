//! Traps as soon as the host asks it to describe itself.

use wasmesh_sdk::{DesignPlan, DesignRequest, Error, Guest, Info, OperationRequest, Plan};

/// A valid manifest (it declares nothing), so the host gets as far as calling describe.
const MANIFEST: &str = wasmesh_sdk::manifest!("manifest.json");

struct Broken;

impl Guest for Broken {
    fn describe() -> Info {
        let _ = wasmesh_sdk::manifest::capabilities(MANIFEST);
        panic!("broken-describe traps at load on purpose")
    }

    fn plan(_: OperationRequest) -> Result<Plan, Error> {
        unreachable!("never loaded")
    }

    fn provision(_: DesignRequest) -> Result<DesignPlan, Error> {
        unreachable!("never loaded")
    }
}

impl wasmesh_sdk::registry::Guest for Broken {
    fn design_kinds() -> Vec<wasmesh_sdk::registry::DesignKind> {
        Vec::new()
    }
}

wasmesh_sdk::export_translator!(Broken);
