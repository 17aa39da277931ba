//! Traps as soon as the host asks it to describe itself.

use wasmesh_sdk::{DesignPlan, DesignRequest, Error, Guest, Info, OperationRequest, Plan};

struct Broken;

impl Guest for Broken {
    fn describe() -> Info {
        panic!("broken-describe traps at load on purpose")
    }

    fn plan(_: OperationRequest) -> Result<Plan, Error> {
        unreachable!("never loaded")
    }

    fn provision(_: DesignRequest) -> Result<DesignPlan, Error> {
        unreachable!("never loaded")
    }
}

wasmesh_sdk::export_translator!(Broken);
