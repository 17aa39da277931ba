//! What of Linkerd is installed in the cluster, read through the host. The signatures below are
//! fixed: other modules use them.

use serde_json::Value;
use wasmesh_sdk::Error;

/// The namespace of the control plane.
pub const CONTROL_PLANE_NAMESPACE: &str = "linkerd";

/// An installed control plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlPlane {
    /// The release, as the plugin lists it (e.g. "stable-2.14.10").
    pub version: String,
}

/// The installed control plane, or None when Linkerd is not installed (no `linkerd-config`
/// ConfigMap in the control plane namespace, or no such namespace). Reads one ConfigMap.
pub fn control_plane() -> Result<Option<ControlPlane>, Error> {
    let config = wasmesh_sdk::cluster::get("v1", "ConfigMap", Some(CONTROL_PLANE_NAMESPACE), "linkerd-config")?;
    Ok(config.map(|cm| ControlPlane {
        version: version_of(&cm).unwrap_or_else(|| "unknown".into()),
    }))
}

/// The release of a linkerd-config ConfigMap: the last word of its `linkerd.io/created-by`
/// annotation ("wasmesh/linkerd-0.1.0 stable-2.14.10", or upstream's "linkerd/cli
/// stable-2.14.10"), else `linkerdVersion` in its values (JSON as this adapter writes them, or
/// upstream's YAML).
pub fn version_of(config_map: &Value) -> Option<String> {
    let release = |s: &str| {
        let s = s.trim().trim_matches('"').trim_matches('\'');
        (!s.is_empty() && s.chars().any(|c| c.is_ascii_digit()) && !s.contains(char::is_whitespace))
            .then(|| s.to_string())
    };
    if let Some(word) = config_map
        .pointer("/metadata/annotations/linkerd.io~1created-by")
        .and_then(Value::as_str)
        .and_then(|a| a.split_whitespace().last())
        .and_then(release)
    {
        return Some(word);
    }
    let values = config_map.pointer("/data/values").and_then(Value::as_str)?;
    if let Ok(v) = serde_json::from_str::<Value>(values) {
        return v.get("linkerdVersion").and_then(Value::as_str).and_then(release);
    }
    values
        .lines()
        .find_map(|l| l.strip_prefix("linkerdVersion:"))
        .and_then(release)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn version_from_annotation_or_values() {
        let cases = [
            (
                json!({"metadata": {"annotations": {"linkerd.io/created-by": "wasmesh/linkerd-0.1.0 edge-25.4.4"}}}),
                Some("edge-25.4.4"),
            ),
            (
                json!({"metadata": {"annotations": {"linkerd.io/created-by": "linkerd/cli stable-2.14.10"}}}),
                Some("stable-2.14.10"),
            ),
            (
                json!({"metadata": {"annotations": {"linkerd.io/created-by": "helm"}},
                "data": {"values": "clusterDomain: cluster.local\nlinkerdVersion: stable-2.14.9\n"}}),
                Some("stable-2.14.9"),
            ),
            (
                json!({"data": {"values": "{\"linkerdVersion\": \"edge-25.4.4\"}"}}),
                Some("edge-25.4.4"),
            ),
            (json!({"metadata": {"name": "linkerd-config"}}), None),
            (json!({"data": {"values": "linkerdVersion: \"\"\n"}}), None),
        ];
        for (cm, want) in cases {
            assert_eq!(version_of(&cm).as_deref(), want, "{cm}");
        }
    }
}
