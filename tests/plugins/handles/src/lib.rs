//! Asks the host for stdout over and over and never gives a handle back: each one is an entry
//! in the host's resource table, host memory outside the plugin's memory limit.

use wasmesh_sdk::{Category, DesignPlan, DesignRequest, Error, Guest, Info, OperationRequest, Plan};

const MANIFEST: &str = wasmesh_sdk::manifest!("manifest.json");

struct Handles;

impl Guest for Handles {
    fn describe() -> Info {
        Info {
            name: "HANDLES".into(),
            mesh: "handles".into(),
            version: "0.1.0".into(),
            mesh_versions: vec!["1.0.0".into()],
            operations: vec![wasmesh_sdk::ops::operation("hoard-handles", "hoards host handles", Category::Custom)],
            capabilities: wasmesh_sdk::manifest::capabilities(MANIFEST),
        }
    }

    fn plan(_: OperationRequest) -> Result<Plan, Error> {
        let mut held: u64 = 0;
        loop {
            std::mem::forget(wasip2::cli::stdout::get_stdout());
            held += 1;
            if held % 1000 == 0 {
                wasmesh_sdk::progress::report(wasmesh_sdk::Level::Info, &format!("held {held}"), "");
            }
        }
    }

    fn provision(_: DesignRequest) -> Result<DesignPlan, Error> {
        Err(wasmesh_sdk::error("HANDLES", "no designs", "test plugin", "none"))
    }
}

impl wasmesh_sdk::registry::Guest for Handles {
    fn design_kinds() -> Vec<wasmesh_sdk::registry::DesignKind> {
        Vec::new()
    }
}

wasmesh_sdk::export_translator!(Handles);
