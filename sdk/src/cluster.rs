//! Reads of the cluster a request is about, as JSON values. Every read is checked against the
//! translator's grant by the host.
//!
//! Natively (a translator's unit tests) the reads go to the fake cluster of
//! [`testing::Harness`](crate::testing::Harness), checked against the manifest as the host checks
//! them; without one every read fails.

use serde_json::Value;

use crate::{Error, error};

/// The object, or None when it does not exist.
pub fn get(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Result<Option<Value>, Error> {
    #[cfg(target_family = "wasm")]
    let json = crate::bindings::wasmesh::adapter::cluster::get(api_version, kind, namespace, name)?;
    #[cfg(not(target_family = "wasm"))]
    let json = crate::testing::get(api_version, kind, namespace, name)?;
    json.as_deref().map(parse).transpose()
}

/// The objects of a kind (in one namespace, or every namespace with None) matching a label
/// selector ("" for all).
pub fn list(api_version: &str, kind: &str, namespace: Option<&str>, label_selector: &str) -> Result<Vec<Value>, Error> {
    #[cfg(target_family = "wasm")]
    let found = {
        use crate::bindings::wasmesh::adapter::cluster as raw;
        raw::list(&raw::ListQuery {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            label_selector: label_selector.to_string(),
        })?
    };
    #[cfg(not(target_family = "wasm"))]
    let found = crate::testing::list(api_version, kind, namespace, label_selector)?;
    found.iter().map(|j| parse(j)).collect()
}

fn parse(json: &str) -> Result<Value, Error> {
    serde_json::from_str(json).map_err(|e| {
        error(
            "WASMESH-SDK-0001",
            format!("the host returned an object that is not JSON: {e}"),
            "host and translator disagree on the contract",
            "use a translator built against the host's wasmesh:adapter version",
        )
    })
}
