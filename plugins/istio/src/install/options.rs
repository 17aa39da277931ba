//! What an `istio` request asks for: version, profile and tuning, read from the request and its
//! custom body (JSON or a flat YAML mapping).

use serde_json::{Map, Value};
use wasmesh_sdk::{Error, OperationRequest, error};

use super::release::{self, Release};

/// The profiles this plugin installs.
pub const PROFILES: &[&str] = &["default", "minimal", "demo", "ambient"];

/// The profile used when the request names none.
pub const DEFAULT_PROFILE: &str = "default";

/// Seconds the availability waits get by default (istioctl waits five minutes too).
pub const DEFAULT_WAIT_SECONDS: u32 = 300;

/// Largest `waitSeconds` accepted.
pub const MAX_WAIT_SECONDS: u32 = 3600;

/// Keys the custom body may carry.
pub const KEYS: &[&str] = &["version", "profile", "waitSeconds", "autoscale", "hub"];

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

/// Reads the request. Nothing is written when this fails.
pub fn parse(request: &OperationRequest) -> Result<Options, Error> {
    let body = parse_body(&request.custom_body)?;
    // An option this adapter does not know (a typo, a Helm or IstioOperator value) would not
    // take effect: refused, so the user does not believe it did.
    if let Some(unknown) = body.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(error(
            "WASMESH-ISTIO-1105",
            format!(
                "unknown install option `{}`; the Istio install accepts: {}",
                unknown.escape_debug(),
                KEYS.join(", ")
            ),
            "the custom body names an option this adapter does not know (a typo, or a Helm or IstioOperator value)",
            format!("remove it, or use one of: {}", KEYS.join(", ")),
        ));
    }
    let text = |key: &str| -> Result<Option<String>, Error> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(bad_value(key, other, "a string")),
        }
    };

    let requested = Some(request.version.trim().to_string())
        .filter(|v| !v.is_empty())
        .or(text("version")?);
    let release = match requested {
        None => release::default_release(),
        Some(v) => release::find(&v).ok_or_else(|| unknown_version(&v))?,
    };

    let profile = match text("profile")? {
        None => Profile::Default,
        Some(p) => Profile::parse(&p.to_ascii_lowercase()).ok_or_else(|| unknown_profile(&p))?,
    };

    let wait_seconds = match body.get("waitSeconds") {
        None | Some(Value::Null) => DEFAULT_WAIT_SECONDS,
        Some(v) => {
            let n = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            match n {
                Some(n) if n <= MAX_WAIT_SECONDS as u64 => n as u32,
                _ => {
                    return Err(bad_value(
                        "waitSeconds",
                        v,
                        &format!("a whole number from 0 to {MAX_WAIT_SECONDS}"),
                    ));
                }
            }
        }
    };

    let autoscale = match body.get("autoscale") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" => true,
        Some(Value::String(s)) if s == "false" => false,
        Some(v) => return Err(bad_value("autoscale", v, "true or false")),
    };

    // A mirror of the release's images (air-gapped clusters), as `istioctl --set hub=`.
    let hub = match body.get("hub") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(wasmesh_sdk::options::image_repository(s).map_err(|problem| {
            error(
                "WASMESH-ISTIO-1104",
                format!(
                    "the istio operation's `hub` \"{}\" is not usable: {problem}",
                    s.escape_debug()
                ),
                "the custom body gives `hub` a value that is not an image repository",
                "set `hub` to the registry and path that hold the Istio images, without scheme or tag, e.g. \
                 registry.example.com/istio (default docker.io/istio)",
            )
        })?),
        Some(v) => {
            return Err(bad_value(
                "hub",
                v,
                "an image repository such as registry.example.com/istio",
            ));
        }
    };

    Ok(Options {
        release,
        profile,
        wait_seconds,
        autoscale,
        hub,
    })
}

/// The custom body as a mapping: empty, JSON or YAML.
pub fn parse_body(body: &str) -> Result<Map<String, Value>, Error> {
    wasmesh_sdk::yaml::parse_mapping(body).map_err(|e| bad_body(&e))
}

fn bad_body(what: &str) -> Error {
    error(
        "WASMESH-ISTIO-1101",
        format!("the istio operation's body is not usable: {what}"),
        "the custom body must be empty, or a YAML or JSON mapping",
        format!("send e.g. `profile: ambient` (keys: {})", KEYS.join(", ")),
    )
}

fn bad_value(key: &str, value: &Value, wanted: &str) -> Error {
    error(
        "WASMESH-ISTIO-1104",
        format!("the istio operation's `{key}` is {value}, expected {wanted}"),
        format!("the custom body gives `{key}` a value of the wrong type or out of range"),
        format!("set `{key}` to {wanted}"),
    )
}

fn unknown_version(version: &str) -> Error {
    error(
        "WASMESH-ISTIO-1102",
        format!(
            "Istio version \"{version}\" is not offered; valid versions: {}",
            release::versions().join(", ")
        ),
        "the request names a version this adapter does not embed",
        format!(
            "pick one of {} (or leave it empty for {})",
            release::versions().join(", "),
            release::versions()[0]
        ),
    )
}

fn unknown_profile(profile: &str) -> Error {
    error(
        "WASMESH-ISTIO-1103",
        format!(
            "Istio profile \"{profile}\" is not offered; valid profiles: {}",
            PROFILES.join(", ")
        ),
        "the custom body names a profile this adapter does not install",
        format!(
            "set `profile:` to one of {} (or leave it out for {DEFAULT_PROFILE})",
            PROFILES.join(", ")
        ),
    )
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
        let json =
            format!(r#"{{"profile": "ambient", "version": "{second}", "waitSeconds": "30", "autoscale": false}}"#);
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
    fn quoted_hashes_are_values_and_zero_waits_not() {
        let o = parse(&request("", "profile: 'minimal' # the smallest\n")).unwrap();
        assert_eq!(o.profile, Profile::Minimal);
        let m = parse_body("a: \"x # y\" # z\nb: 0\n").unwrap();
        assert_eq!(m["a"], "x # y");
        assert_eq!(m["b"], 0);
        assert_eq!(parse(&request("", "waitSeconds: 0")).unwrap().wait_seconds, 0);
    }
}
