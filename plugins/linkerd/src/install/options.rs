//! Install options from the request's custom body: a YAML or JSON mapping (empty = defaults).
//!
//! | key | type | default |
//! |---|---|---|
//! | `registry` | string: image registry for air-gapped mirrors | `cr.l5d.io/linkerd` |
//! | `trustDomain` | string: lowercase DNS name of the mesh identities | `cluster.local` |
//! | `waitSeconds` | integer 1..=3600 (the SDK's range): how long to wait for the control plane | 300 |

use serde::Deserialize;
use wasmesh_sdk::Error;
use wasmesh_sdk::options::{self, OptionsError, valid};

use crate::errors::LinkerdError;

pub const DEFAULT_REGISTRY: &str = "cr.l5d.io/linkerd";
pub const DEFAULT_TRUST_DOMAIN: &str = "cluster.local";
pub use wasmesh_sdk::options::{DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS};

/// Identity names are made from the trust domain and must stay DNS names.
use crate::identity::MAX_TRUST_DOMAIN_LEN as MAX_TRUST_DOMAIN;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Options {
    #[serde(deserialize_with = "valid::image_repository")]
    pub registry: String,
    #[serde(deserialize_with = "trust_domain")]
    pub trust_domain: String,
    #[serde(deserialize_with = "valid::wait_seconds")]
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

/// The keys the install accepts.
pub fn keys() -> &'static [&'static str] {
    options::fields::<Options>()
}

pub fn parse(body: &str) -> Result<Options, Error> {
    options::parse(body).map_err(|e| {
        let keys = keys().join(", ");
        match e {
            OptionsError::Syntax(why) => LinkerdError::OptionsSyntax { why, keys },
            OptionsError::UnknownKey { key, .. } => LinkerdError::UnknownOption {
                key: key.escape_debug().to_string(),
                keys,
            },
            OptionsError::BadValue { key, problem } => {
                let fix = match key.as_str() {
                    "registry" => "give the registry and path that hold the Linkerd images, without scheme or tag, \
                                   e.g. registry.example.com/linkerd (default cr.l5d.io/linkerd)"
                        .to_string(),
                    "trustDomain" => "use the cluster's DNS domain (cluster.local unless the cluster was set up with \
                                      another) or a lowercase DNS name such as mesh.example.com"
                        .to_string(),
                    _ => format!(
                        "give a whole number of seconds from {} to {MAX_WAIT_SECONDS} (default {DEFAULT_WAIT_SECONDS})",
                        options::MIN_WAIT_SECONDS
                    ),
                };
                LinkerdError::BadOption { key, problem, fix }
            }
        }
        .into()
    })
}

fn trust_domain<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = valid::dns_name(d)?;
    if s.len() > MAX_TRUST_DOMAIN {
        return Err(serde::de::Error::custom(format!(
            "it is {} characters long; a trust domain has at most {MAX_TRUST_DOMAIN}",
            s.len()
        )));
    }
    Ok(s)
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
            ("registry: 5\n", "1104", "not a string"),
            ("registry: \"\"\n", "1104", "empty"),
            ("registry: https://cr.l5d.io/linkerd\n", "1104", "scheme"),
            ("registry: cr.l5d.io/linkerd/proxy:v1\n", "1104", "tag"),
            ("registry: a b\n", "1104", "contains"),
            ("trustDomain: Cluster.Local\n", "1104", "DNS"),
            ("trustDomain: 3\n", "1104", "not a string"),
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
