//! Designs: LinkerdMesh, add-ons, the Linkerd CRD kinds and traits. (Being written.)

use wasmesh_sdk::{DesignPlan, DesignRequest, Error};

pub fn provision(request: &DesignRequest) -> Result<DesignPlan, Error> {
    Ok(wasmesh_sdk::design::plan_design(request, crate::CODE, "linkerd"))
}
