//! What an `istio` request asks for: version, profile and tuning, read from the request and its
//! custom body (JSON or a flat YAML mapping).

use serde::Deserialize;
use serde_json::Value;
use wasmesh_sdk::options::{self, OptionsError, valid};
use wasmesh_sdk::{Error, OperationRequest};

use crate::errors::IstioError;

use super::release::{self, Release};

/// The profiles this plugin installs.
pub const PROFILES: &[&str] = &["default", "minimal", "demo", "ambient"];

/// The profile used when the request names none.
pub const DEFAULT_PROFILE: &str = "default";

pub use wasmesh_sdk::options::{DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub release: &'static Release,
    pub profile: Profile,
    /// 0: do not wait for availability.
    pub wait_seconds: u32,
    /// HorizontalPodAutoscalers for istiod and the gateways, as upstream's profiles have them.
    pub autoscale: bool,
    /// Image repository for the control plane and proxies (a mirror); None: the release's.
    pub hub: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Default,
    Minimal,
    Demo,
    Ambient,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::Minimal => "minimal",
            Profile::Demo => "demo",
            Profile::Ambient => "ambient",
        }
    }

    pub fn parse(name: &str) -> Option<Profile> {
        Some(match name {
            "default" => Profile::Default,
            "minimal" => Profile::Minimal,
            "demo" => Profile::Demo,
            "ambient" => Profile::Ambient,
            _ => return None,
        })
    }

    pub fn ingress_gateway(self) -> bool {
        matches!(self, Profile::Default | Profile::Demo)
    }

    pub fn egress_gateway(self) -> bool {
        self == Profile::Demo
    }

    pub fn ambient(self) -> bool {
        self == Profile::Ambient
    }
}

/// The custom body, as the operation reads it (unknown keys refused, null is the default).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
struct Body {
    #[serde(deserialize_with = "text")]
    version: Option<String>,
    #[serde(deserialize_with = "text")]
    profile: Option<String>,
    #[serde(deserialize_with = "valid::wait_seconds")]
    wait_seconds: u32,
    /// HorizontalPodAutoscalers for istiod and the gateways, as upstream's profiles have them.
    autoscale: bool,
    /// A mirror of the release's images (air-gapped clusters), as `istioctl --set hub=`.
    #[serde(deserialize_with = "hub")]
    hub: Option<String>,
}

impl Default for Body {
    fn default() -> Self {
        Body {
            version: None,
            profile: None,
            wait_seconds: DEFAULT_WAIT_SECONDS,
            autoscale: true,
            hub: None,
        }
    }
}

/// Keys the custom body may carry.
pub fn keys() -> &'static [&'static str] {
    options::fields::<Body>()
}

/// A string (a number is taken as its text: `version: 1.27`), trimmed; empty is none.
fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(serde::de::Error::custom(format!(
            "{other} is {}, not a string",
            options::kind(&other)
        ))),
    }
}

fn hub<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    valid::image_repository(d).map(Some)
}

/// Reads the request. Nothing is written when this fails.
pub fn parse(request: &OperationRequest) -> Result<Options, Error> {
    // An option this adapter does not know (a typo, a Helm or IstioOperator value) would not
    // take effect: refused, so the user does not believe it did.
    let body: Body = options::parse(&request.custom_body).map_err(|e| match e {
        OptionsError::Syntax(what) => IstioError::BadBody {
            what,
            keys: keys().join(", "),
        },
        OptionsError::UnknownKey { key, .. } => IstioError::UnknownOption {
            key: key.escape_debug().to_string(),
            keys: keys().join(", "),
        },
        OptionsError::BadValue { key, problem } => {
            let wanted = match key.as_str() {
                "waitSeconds" => format!(
                    "a whole number of seconds from {} to {MAX_WAIT_SECONDS}",
                    options::MIN_WAIT_SECONDS
                ),
                "autoscale" => "true or false".into(),
                "hub" => "the registry and path that hold the Istio images, without scheme or tag, e.g. \
                          registry.example.com/istio (default docker.io/istio)"
                    .into(),
                "profile" => format!("one of {}", PROFILES.join(", ")),
                _ => "a string".into(),
            };
            IstioError::BadOption { key, problem, wanted }
        }
    })?;

    let requested = Some(request.version.trim().to_string())
        .filter(|v| !v.is_empty())
        .or(body.version);
    let release = match requested {
        None => release::default_release(),
        Some(v) => release::find(&v).ok_or_else(|| IstioError::UnknownVersion {
            version: v.clone(),
            versions: release::versions().join(", "),
            default: release::versions()[0].clone(),
        })?,
    };

    let profile = match body.profile {
        None => Profile::Default,
        Some(p) => Profile::parse(&p.to_ascii_lowercase()).ok_or_else(|| IstioError::UnknownProfile {
            profile: p.clone(),
            profiles: PROFILES.join(", "),
            default: DEFAULT_PROFILE,
        })?,
    };

    Ok(Options {
        release,
        profile,
        wait_seconds: body.wait_seconds,
        autoscale: body.autoscale,
        hub: body.hub,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: &str, body: &str) -> OperationRequest {
        OperationRequest {
            key: "istio".into(),
            namespace: "default".into(),
            version: version.into(),
            custom_body: body.into(),
            delete: false,
            operation_id: "op".into(),
            username: "u".into(),
            cluster: wasmesh_sdk::ClusterInfo {
                name: "c".into(),
                server: "s".into(),
            },
        }
    }

    #[test]
    fn empty_request_takes_the_defaults() {
        let o = parse(&request("", "")).unwrap();
        assert_eq!(o.release.version, release::versions()[0]);
        assert_eq!(o.profile, Profile::Default);
        assert_eq!(o.wait_seconds, DEFAULT_WAIT_SECONDS);
        assert!(o.autoscale);
    }

    #[test]
    fn yaml_and_json_bodies_say_the_same() {
        let second = release::versions()[1].clone();
        let yaml = format!(
            "# install\nprofile: ambient  # comment\nversion: \"{second}\"\nwaitSeconds: 30\nautoscale: false\n"
        );
        let json = format!(r#"{{"profile": "ambient", "version": "{second}", "waitSeconds": 30, "autoscale": false}}"#);
        for body in [yaml, json] {
            let o = parse(&request("", &body)).unwrap();
            assert_eq!(o.profile, Profile::Ambient, "{body}");
            assert_eq!(o.release.version, second, "{body}");
            assert_eq!(o.wait_seconds, 30);
            assert!(!o.autoscale);
        }
    }

    #[test]
    fn request_version_wins_over_the_body() {
        let [first, second] = [&release::versions()[0], &release::versions()[1]];
        let o = parse(&request(first, &format!("version: {second}\nprofile: demo"))).unwrap();
        assert_eq!(o.release.version, *first);
        assert_eq!(o.profile, Profile::Demo);
    }

    #[test]
    fn unknown_version_and_profile_name_the_valid_ones() {
        let e = parse(&request("1.0.0", "")).unwrap_err();
        assert_eq!(e.code, "WASMESH-ISTIO-1102");
        for v in release::versions() {
            assert!(e.message.contains(&v), "{}", e.message);
        }
        let e = parse(&request("", "profile: openshift")).unwrap_err();
        assert_eq!(e.code, "WASMESH-ISTIO-1103");
        assert!(e.message.contains("default, minimal, demo, ambient"), "{}", e.message);
        let e = parse(&request("", r#"{"version": "9.9.9"}"#)).unwrap_err();
        assert_eq!(e.code, "WASMESH-ISTIO-1102");
    }

    #[test]
    fn malformed_bodies_and_values_are_refused() {
        for (body, code) in [
            ("{not json", "WASMESH-ISTIO-1101"),
            ("[1, 2]", "WASMESH-ISTIO-1101"),
            ("profile ambient", "WASMESH-ISTIO-1101"),
            ("values:\n  pilot: {}\n", "WASMESH-ISTIO-1105"),
            ("- a\n", "WASMESH-ISTIO-1101"),
            ("\"[1]\"", "WASMESH-ISTIO-1101"),
            ("waitSeconds: -1", "WASMESH-ISTIO-1104"),
            ("waitSeconds: 99999", "WASMESH-ISTIO-1104"),
            ("autoscale: maybe", "WASMESH-ISTIO-1104"),
            ("autoscale: \"true\"", "WASMESH-ISTIO-1104"),
            ("waitSeconds: 0", "WASMESH-ISTIO-1104"),
            ("waitSeconds: \"30\"", "WASMESH-ISTIO-1104"),
            (r#"{"profile": ["ambient"]}"#, "WASMESH-ISTIO-1104"),
        ] {
            let e = parse(&request("", body)).unwrap_err();
            assert_eq!(e.code, code, "{body}");
            assert!(!e.suggested_remediation.is_empty());
        }
    }

    #[test]
    fn a_hub_mirror_reaches_every_control_plane_image() {
        let o = parse(&request("", "hub: mirror.local:5000/istio/\nprofile: ambient")).unwrap();
        assert_eq!(o.hub.as_deref(), Some("mirror.local:5000/istio"));
        let plan = crate::install::build(&o, false);
        let objects: Vec<Value> = plan
            .stages
            .iter()
            .flat_map(|s| &s.steps)
            .filter_map(|s| match s {
                wasmesh_sdk::Step::Apply(j) => Some(serde_json::from_str(j).unwrap()),
                _ => None,
            })
            .collect();
        let text = serde_json::to_string(&objects).unwrap();
        for image in ["pilot", "install-cni", "ztunnel"] {
            assert!(text.contains(&format!("mirror.local:5000/istio/{image}:")), "{image}");
        }
        assert!(!text.contains("docker.io/istio"), "no image left on Docker Hub");
        let injector = objects
            .iter()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "istio-sidecar-injector")
            .unwrap();
        let values: Value = serde_json::from_str(injector["data"]["values"].as_str().unwrap()).unwrap();
        assert_eq!(
            values["global"]["hub"], "mirror.local:5000/istio",
            "injected proxies come from the mirror"
        );
        for bad in ["hub: https://x/istio", "hub: docker.io/istio/pilot:1.27.3", "hub: 5"] {
            assert_eq!(
                parse(&request("", bad)).unwrap_err().code,
                "WASMESH-ISTIO-1104",
                "{bad}"
            );
        }
    }

    #[test]
    fn quoted_hashes_are_values() {
        let v = &release::versions()[0];
        let o = parse(&request(
            "",
            &format!("profile: 'minimal' # the smallest\nversion: \"{v}\" # z\n"),
        ))
        .unwrap();
        assert_eq!(o.profile, Profile::Minimal);
        assert_eq!(o.release.version, *v);
    }
}
