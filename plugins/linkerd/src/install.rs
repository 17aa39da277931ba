//! `linkerd`: install or uninstall the control plane. (Being written.)

use wasmesh_sdk::{Error, OperationRequest, Plan};

pub fn versions() -> Vec<String> {
    vec!["stable-2.14.10".into()]
}

pub fn plan(_request: &OperationRequest) -> Result<Plan, Error> {
    Err(crate::not_built("linkerd install"))
}
