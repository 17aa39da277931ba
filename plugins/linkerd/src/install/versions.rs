//! The Linkerd releases this translator installs, and what differs between them.
//!
//! Facts from the upstream charts (linkerd/linkerd2 `charts/linkerd-control-plane`,
//! `charts/linkerd-crds`, `charts/partials`) of each release. Every image is pinned to an exact
//! tag; nothing is fetched at run time.

use crate::errors::LinkerdError;
use wasmesh_sdk::Error;

/// Which shape of the charts a release follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Generation {
    /// Linkerd 2.14 (stable-2.14.x): no ExternalWorkload, EgressNetwork or rate limits; the
    /// Gateway API HTTPRoute CRD (v1alpha2, v1beta1) installed with the Linkerd CRDs.
    V2_14,
    /// Linkerd 2.18 (edge-25.4.4, tagged version-2.18): ExternalWorkload, HTTPLocalRateLimitPolicy,
    /// EgressNetwork; Gateway API v1.2 HTTPRoute, GRPCRoute, TLSRoute and TCPRoute CRDs.
    V2_18,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Release {
    /// The release as Meshery lists it and as the control plane images are tagged.
    pub name: &'static str,
    /// Other names a user may give for the same release.
    pub aliases: &'static [&'static str],
    pub generation: Generation,
    /// Tag of cr.l5d.io/linkerd/proxy-init (released separately from Linkerd).
    pub proxy_init_tag: &'static str,
    /// The proxy's default log level in that release's values.yaml.
    pub proxy_log_level: &'static str,
    /// The Gateway API bundle the release's linkerd-crds chart carries.
    pub gateway_api_bundle: &'static str,
}

/// Newest-first would put the edge release first; the default is the first entry, and Meshery's
/// Linkerd adapter is tied to 2.14, so stable-2.14.10 leads.
pub const RELEASES: &[Release] = &[
    Release {
        name: "stable-2.14.10",
        aliases: &["2.14.10", "stable-2.14"],
        generation: Generation::V2_14,
        proxy_init_tag: "v2.2.3",
        proxy_log_level: "warn,linkerd=info,trust_dns=error",
        gateway_api_bundle: "v0.7.1",
    },
    Release {
        name: "edge-25.4.4",
        aliases: &["version-2.18", "2.18", "2.18.0"],
        generation: Generation::V2_18,
        proxy_init_tag: "v2.4.2",
        proxy_log_level: "warn,linkerd=info,hickory=error",
        gateway_api_bundle: "v1.2.1",
    },
];

pub fn default_release() -> &'static Release {
    &RELEASES[0]
}

pub fn names() -> Vec<String> {
    RELEASES.iter().map(|r| r.name.to_string()).collect()
}

/// The release a request asks for: empty means the default; a name or alias otherwise.
pub fn resolve(version: &str) -> Result<&'static Release, Error> {
    let wanted = version.trim();
    if wanted.is_empty() {
        return Ok(default_release());
    }
    RELEASES
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(wanted) || r.aliases.iter().any(|a| a.eq_ignore_ascii_case(wanted)))
        .ok_or_else(|| unknown(wanted))
}

fn unknown(wanted: &str) -> Error {
    let known = RELEASES
        .iter()
        .map(|r| {
            if r.aliases.is_empty() {
                r.name.to_string()
            } else {
                format!("{} (also {})", r.name, r.aliases.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    LinkerdError::UnknownVersion {
        wanted: wanted.escape_debug().to_string(),
        known,
        default: default_release().name,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", Some("stable-2.14.10")),
            ("  ", Some("stable-2.14.10")),
            ("stable-2.14.10", Some("stable-2.14.10")),
            (" STABLE-2.14.10 ", Some("stable-2.14.10")),
            ("2.14.10", Some("stable-2.14.10")),
            ("edge-25.4.4", Some("edge-25.4.4")),
            ("version-2.18", Some("edge-25.4.4")),
            ("2.18", Some("edge-25.4.4")),
            ("stable-2.13.0", None),
            ("edge-25.4.3", None),
            ("latest", None),
            ("2.14", None),
        ];
        for (asked, expected) in cases {
            match (resolve(asked), expected) {
                (Ok(r), Some(name)) => assert_eq!(r.name, *name, "{asked:?}"),
                (Err(e), None) => {
                    assert_eq!(e.code, "WASMESH-LINKERD-1101", "{asked:?}");
                    assert!(e.message.contains("stable-2.14.10") && e.message.contains("edge-25.4.4"));
                    assert!(!e.probable_cause.is_empty() && !e.suggested_remediation.is_empty());
                }
                (got, want) => panic!("{asked:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn default_first_and_names_unique() {
        assert_eq!(names()[0], "stable-2.14.10");
        assert!(names().len() >= 2);
        let mut all: Vec<&str> = RELEASES
            .iter()
            .flat_map(|r| std::iter::once(r.name).chain(r.aliases.iter().copied()))
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "names and aliases are unique");
    }
}
