//! Install options from the request's custom body: a YAML or JSON mapping (empty = defaults).
//!
//! | key | type | default |
//! |---|---|---|
//! | `registry` | string: image registry for air-gapped mirrors | `cr.l5d.io/linkerd` |
//! | `trustDomain` | string: lowercase DNS name of the mesh identities | `cluster.local` |
//! | `waitSeconds` | integer 1..=3600: how long to wait for the control plane | 300 |

use serde_json::{Map, Value};

use wasmesh_sdk::Error;

pub const DEFAULT_REGISTRY: &str = "cr.l5d.io/linkerd";
pub const DEFAULT_TRUST_DOMAIN: &str = "cluster.local";
pub const DEFAULT_WAIT_SECONDS: u32 = 300;
pub const MAX_WAIT_SECONDS: u32 = 3600;
pub const KEYS: &[&str] = &["registry", "trustDomain", "waitSeconds"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub registry: String,
    pub trust_domain: String,
    pub wait_seconds: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            registry: DEFAULT_REGISTRY.into(),
            trust_domain: DEFAULT_TRUST_DOMAIN.into(),
            wait_seconds: DEFAULT_WAIT_SECONDS,
        }
    }
}

pub fn parse(body: &str) -> Result<Options, Error> {
    let map = wasmesh_sdk::yaml::parse_mapping(body).map_err(|e| syntax(format!("install options: {e}")))?;
    from_map(&map)
}

fn from_map(map: &Map<String, Value>) -> Result<Options, Error> {
    let mut options = Options::default();
    for (key, value) in map {
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "registry" => options.registry = registry(value)?,
            "trustDomain" => options.trust_domain = trust_domain(value)?,
            "waitSeconds" => options.wait_seconds = wait_seconds(value)?,
            other => {
                return Err(wasmesh_sdk::error(
                    format!("{}-1103", crate::CODE),
                    format!(
                        "unknown install option \"{}\"; the Linkerd install accepts: {}",
                        other.escape_debug(),
                        KEYS.join(", ")
                    ),
                    "the custom body names an option this adapter does not know (a typo, or an \
                     option of another tool such as a Helm value)",
                    format!("remove it or use one of: {}", KEYS.join(", ")),
                ));
            }
        }
    }
    Ok(options)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn syntax(message: String) -> Error {
    wasmesh_sdk::error(
        format!("{}-1102", crate::CODE),
        message,
        "the custom body of the linkerd operation holds install options and could not be read",
        format!(
            "leave the custom body empty for the defaults, or give a mapping such as \
             `registry: my.mirror/linkerd` (keys: {})",
            KEYS.join(", ")
        ),
    )
}

fn bad_value(key: &str, problem: String, remediation: &str) -> Error {
    wasmesh_sdk::error(
        format!("{}-1104", crate::CODE),
        format!("invalid install option {key}: {problem}"),
        "an install option has the wrong type or an unusable value",
        remediation,
    )
}

fn registry(v: &Value) -> Result<String, Error> {
    let fix = "give the registry and path that hold the Linkerd images, without scheme or tag, e.g. \
               registry.example.com/linkerd (default cr.l5d.io/linkerd)";
    let Value::String(s) = v else {
        return Err(bad_value(
            "registry",
            format!("expected a string, got {}", kind(v)),
            fix,
        ));
    };
    wasmesh_sdk::options::image_repository(s)
        .map_err(|p| bad_value("registry", format!("\"{}\": {p}", s.escape_debug()), fix))
}

fn trust_domain(v: &Value) -> Result<String, Error> {
    let fix = "use the cluster's DNS domain (cluster.local unless the cluster was set up with another) \
               or a lowercase DNS name such as mesh.example.com";
    let Value::String(s) = v else {
        return Err(bad_value(
            "trustDomain",
            format!("expected a string, got {}", kind(v)),
            fix,
        ));
    };
    let ok = !s.is_empty()
        && s.len() <= 236
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
    if ok {
        Ok(s.clone())
    } else {
        Err(bad_value(
            "trustDomain",
            format!("\"{}\" is not a lowercase DNS name", s.escape_debug()),
            fix,
        ))
    }
}

fn wait_seconds(v: &Value) -> Result<u32, Error> {
    let fix = format!("give a whole number of seconds from 1 to {MAX_WAIT_SECONDS} (default {DEFAULT_WAIT_SECONDS})");
    match v.as_u64() {
        Some(n) if (1..=u64::from(MAX_WAIT_SECONDS)).contains(&n) => Ok(n as u32),
        Some(n) => Err(bad_value("waitSeconds", format!("{n} is out of range"), &fix)),
        None => Err(bad_value(
            "waitSeconds",
            format!("expected a whole number, got {} ({v})", kind(v)),
            &fix,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(registry: &str, td: &str, wait: u32) -> Options {
        Options {
            registry: registry.into(),
            trust_domain: td.into(),
            wait_seconds: wait,
        }
    }

    #[test]
    fn accepted_bodies() {
        let d = Options::default();
        let cases: Vec<(&str, Options)> = vec![
            ("", d.clone()),
            ("  \n", d.clone()),
            ("# only a comment\n", d.clone()),
            ("{}", d.clone()),
            ("---\n", d.clone()),
            (
                "registry: mirror.local/l5d\n",
                opts("mirror.local/l5d", "cluster.local", 300),
            ),
            (
                "registry: mirror.local:5000/l5d/\n",
                opts("mirror.local:5000/l5d", "cluster.local", 300),
            ),
            (
                "---\ntrustDomain: mesh.example.com\nwaitSeconds: 30\n",
                opts(DEFAULT_REGISTRY, "mesh.example.com", 30),
            ),
            (
                "{\"registry\": \"m.io/x\", \"waitSeconds\": 5}",
                opts("m.io/x", "cluster.local", 5),
            ),
            ("{registry: m.io/x, waitSeconds: 7}", opts("m.io/x", "cluster.local", 7)),
            (
                "registry: null\nwaitSeconds: 3600 # max\n",
                opts(DEFAULT_REGISTRY, "cluster.local", 3600),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                parse(body).unwrap_or_else(|e| panic!("{body:?}: {e:?}")),
                want,
                "{body:?}"
            );
        }
    }

    #[test]
    fn refused_bodies() {
        let cases = [
            ("registry: [a\n", "1102", "not valid YAML"),
            ("- a\n- b\n", "1102", "a list"),
            ("just a string", "1102", "a string"),
            ("a: 1\n---\nb: 2\n", "1102", "one YAML document"),
            ("registy: x\n", "1103", "registy"),
            ("version: stable-2.14.10\n", "1103", "version"),
            ("registry: 5\n", "1104", "expected a string"),
            ("registry: \"\"\n", "1104", "empty"),
            ("registry: https://cr.l5d.io/linkerd\n", "1104", "scheme"),
            ("registry: cr.l5d.io/linkerd/proxy:v1\n", "1104", "tag"),
            ("registry: a b\n", "1104", "contains"),
            ("trustDomain: Cluster.Local\n", "1104", "DNS"),
            ("trustDomain: 3\n", "1104", "expected a string"),
            ("waitSeconds: 0\n", "1104", "out of range"),
            ("waitSeconds: 3601\n", "1104", "out of range"),
            ("waitSeconds: -5\n", "1104", "whole number"),
            ("waitSeconds: \"30\"\n", "1104", "whole number"),
            ("waitSeconds: 2.5\n", "1104", "whole number"),
            ("{\"waitSeconds\": true}", "1104", "boolean"),
        ];
        for (body, code, says) in cases {
            let e = parse(body).expect_err(body);
            assert_eq!(e.code, format!("WASMESH-LINKERD-{code}"), "{body:?}: {e:?}");
            assert!(e.message.contains(says), "{body:?}: {}", e.message);
            assert!(!e.probable_cause.is_empty() && !e.suggested_remediation.is_empty());
        }
    }

    #[test]
    fn yaml_errors_name_the_users_line() {
        let e = parse("registry: a\nwaitSeconds: [1\n").unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
    }
}
