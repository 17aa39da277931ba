//! What of Istio is installed in the cluster, read through the host.
//!
//! The control plane is the `istiod` Deployment in `istio-system` (one read: get
//! apps/v1 Deployment istio-system/istiod). The install module records on it:
//! - the label `app.kubernetes.io/version` (the release, as upstream's charts set it);
//! - the annotation `wasmesh.io/istio-profile` (default, minimal, demo or ambient).
//!
//! A control plane installed by someone else (istioctl, Helm) is still recognised: the version
//! falls back to the tag of the discovery container's image, and the profile to `ambient` when
//! istiod runs with `PILOT_ENABLE_AMBIENT=true`, otherwise `default`.

use serde_json::Value;
use wasmesh_sdk::Error;
use wasmesh_sdk::cluster;

/// The namespace of the control plane.
pub const CONTROL_PLANE_NAMESPACE: &str = "istio-system";

/// The label that carries the installed release.
pub const VERSION_LABEL: &str = "app.kubernetes.io/version";

/// The annotation that carries the installed profile.
pub const PROFILE_ANNOTATION: &str = "wasmesh.io/istio-profile";

/// An installed control plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlPlane {
    /// The release, as the plugin lists it (e.g. "1.27.3").
    pub version: String,
    /// default, minimal, demo or ambient.
    pub profile: String,
}

/// The installed control plane, or None when Istio is not installed.
pub fn control_plane() -> Result<Option<ControlPlane>, Error> {
    let deployment = cluster::get("apps/v1", "Deployment", Some(CONTROL_PLANE_NAMESPACE), "istiod")?;
    Ok(deployment.as_ref().and_then(read))
}

/// The control plane an istiod Deployment describes; None when it is being deleted or is not
/// recognisable as istiod.
pub fn read(deployment: &Value) -> Option<ControlPlane> {
    if deployment
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        return None;
    }
    let containers = deployment
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)?;
    let discovery = containers
        .iter()
        .find(|c| c["name"] == "discovery")
        .or_else(|| containers.first())?;

    let labels = deployment.pointer("/metadata/labels");
    let version = text(labels.and_then(|l| l.get(VERSION_LABEL)))
        .map(str::to_string)
        .or_else(|| image_tag(text(discovery.get("image"))?))?;

    let annotations = deployment.pointer("/metadata/annotations");
    let profile = match text(annotations.and_then(|a| a.get(PROFILE_ANNOTATION))) {
        Some(p) => p.to_string(),
        None => {
            let ambient = discovery["env"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["name"] == "PILOT_ENABLE_AMBIENT" && e["value"] == "true");
            if ambient { "ambient" } else { "default" }.to_string()
        }
    };
    Some(ControlPlane { version, profile })
}

fn text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// "1.27.3" of "docker.io/istio/pilot:1.27.3" (a digest or variant suffix is dropped).
fn image_tag(image: &str) -> Option<String> {
    let image = image.split('@').next()?;
    let (repo, tag) = image.rsplit_once(':')?;
    if tag.contains('/') || repo.is_empty() {
        return None; // a registry port, not a tag
    }
    let tag = tag.split('-').next()?.trim_start_matches('v');
    (!tag.is_empty()).then(|| tag.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn istiod(labels: Value, annotations: Value, image: &str, env: Value) -> Value {
        json!({
            "metadata": {"name": "istiod", "labels": labels, "annotations": annotations},
            "spec": {"template": {"spec": {"containers": [{"name": "discovery", "image": image, "env": env}]}}},
        })
    }

    #[test]
    fn recorded_version_and_profile_are_read_back() {
        let d = istiod(
            json!({VERSION_LABEL: "1.26.3"}),
            json!({PROFILE_ANNOTATION: "ambient"}),
            "docker.io/istio/pilot:1.26.3",
            json!([]),
        );
        assert_eq!(
            read(&d),
            Some(ControlPlane {
                version: "1.26.3".into(),
                profile: "ambient".into()
            })
        );
    }

    #[test]
    fn an_istiod_installed_elsewhere_is_recognised() {
        let d = istiod(
            json!({}),
            json!(null),
            "registry.local:5000/istio/pilot:1.27.1-distroless",
            json!([{"name": "PILOT_ENABLE_AMBIENT", "value": "true"}]),
        );
        let cp = read(&d).unwrap();
        assert_eq!((cp.version.as_str(), cp.profile.as_str()), ("1.27.1", "ambient"));
        let d = istiod(json!(null), json!(null), "docker.io/istio/pilot:1.26.3", json!(null));
        assert_eq!(read(&d).unwrap().profile, "default");
    }

    #[test]
    fn unrecognisable_or_terminating_deployments_are_none() {
        assert_eq!(read(&json!({"metadata": {"name": "istiod"}})), None);
        let no_tag = istiod(json!({}), json!({}), "registry.local:5000/pilot", json!([]));
        assert_eq!(read(&no_tag), None);
        let mut d = istiod(json!({VERSION_LABEL: "1.27.3"}), json!({}), "x", json!([]));
        d["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert_eq!(read(&d), None);
    }
}
