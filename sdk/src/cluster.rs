//! Reads of the cluster a request is about, as JSON values. Every read is checked against the
//! translator's grant by the host.

use serde_json::Value;

use crate::bindings::wasmesh::adapter::cluster as raw;
use crate::{Error, error};

pub fn get(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Result<Option<Value>, Error> {
    match raw::get(api_version, kind, namespace, name)? {
        None => Ok(None),
        Some(json) => parse(&json).map(Some),
    }
}

pub fn list(api_version: &str, kind: &str, namespace: Option<&str>, label_selector: &str) -> Result<Vec<Value>, Error> {
    let query = raw::ListQuery {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        namespace: namespace.map(str::to_string),
        label_selector: label_selector.to_string(),
    };
    raw::list(&query)?.iter().map(|j| parse(j)).collect()
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
