//! (Being written.)

use wasmesh_sdk::{Error, OperationRequest, Plan};

pub fn plan(key: &str, _request: &OperationRequest) -> Result<Plan, Error> {
    Err(crate::not_built(key))
}
