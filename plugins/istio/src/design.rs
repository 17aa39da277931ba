//! Designs: IstioMesh, add-ons, every Istio CRD kind, traits, traffic splits. (Being written.)

use wasmesh_sdk::{DesignPlan, DesignRequest, Error};

pub fn provision(request: &DesignRequest) -> Result<DesignPlan, Error> {
    Ok(wasmesh_sdk::design::plan_design(request, crate::CODE, "istio"))
}
