//! Names that reach a URL path. kube-rs pastes namespaces and names into the path as they are,
//! so a name with `/` or `?` would reach a different resource than the one that was checked.

use crate::errors::{Error, Result};

/// A namespace must be a DNS-1123 label.
pub fn check_namespace(ns: &str) -> Result<()> {
    if is_dns_label(ns) {
        Ok(())
    } else {
        Err(Error::InvalidObject {
            reason: format!(
                "namespace \"{}\" is not a valid Kubernetes namespace name (lower-case letters, digits and '-', at most 63)",
                ns.escape_debug()
            ),
        })
    }
}

/// An object name: non-empty, at most 253 bytes, and nothing that changes a URL path.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| matches!(b, b'/' | b'?' | b'#' | b'%' | b'\\') || b.is_ascii_whitespace() || b.is_ascii_control());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidObject {
            reason: format!(
                "name \"{}\" is not a valid Kubernetes object name (no '/', '?', '#', '%', spaces, or '.'/'..')",
                name.escape_debug()
            ),
        })
    }
}

/// A DNS-1123 label: lower-case letters, digits and '-', starting and ending alphanumeric.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 bytes.
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

fn invalid_type(api_version: &str, kind: &str, why: &str) -> Error {
    Error::InvalidObject {
        reason: format!(
            "apiVersion \"{}\" and kind \"{}\" do not name a Kubernetes type: {why}",
            api_version.escape_debug(),
            kind.escape_debug()
        ),
    }
}

/// Checks an apiVersion and kind before they reach any URL (discovery included): the group is
/// empty or a DNS subdomain, the version a DNS label, the kind letters and digits. Returns
/// (group, version).
pub fn check_type<'a>(api_version: &'a str, kind: &str) -> Result<(&'a str, &'a str)> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    if !group.is_empty() && !is_dns_subdomain(group) {
        return Err(invalid_type(api_version, kind, "the group is not a DNS subdomain"));
    }
    if !is_dns_label(version) || !version.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(invalid_type(
            api_version,
            kind,
            "the version is not a Kubernetes version name (like v1 or v1beta1)",
        ));
    }
    let kind_ok = !kind.is_empty()
        && kind.len() <= 63
        && kind.starts_with(|c: char| c.is_ascii_alphabetic())
        && kind.bytes().all(|b| b.is_ascii_alphanumeric());
    if !kind_ok {
        return Err(invalid_type(
            api_version,
            kind,
            "the kind is not a Kubernetes kind name (letters and digits)",
        ));
    }
    Ok((group, version))
}

/// An API group as RBAC rules name it: empty (core), `*`, or a DNS subdomain.
pub fn check_group(group: &str) -> Result<()> {
    if group.is_empty() || group == "*" || is_dns_subdomain(group) {
        return Ok(());
    }
    Err(Error::InvalidObject {
        reason: format!("API group \"{}\" is not a DNS subdomain", group.escape_debug()),
    })
}

/// A resource name as discovery returns it: lower-case, no path separators.
pub(crate) fn is_resource_name(plural: &str) -> bool {
    is_dns_subdomain(plural)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_changing_names_are_refused() {
        for ns in [
            "kube-system?",
            "a/b",
            "A",
            "",
            "-a",
            "a b",
            "x".repeat(64).as_str(),
            "kube-system/secrets/db",
        ] {
            assert!(check_namespace(ns).is_err(), "{ns:?}");
        }
        for ns in ["default", "kube-system", "a1-b2"] {
            assert!(check_namespace(ns).is_ok(), "{ns:?}");
        }
        for name in ["", ".", "..", "a/b", "x?y", "x#y", "x%2F", "a b", "a\nb"] {
            assert!(check_name(name).is_err(), "{name:?}");
        }
        for name in ["coredns", "system:controller:x", "my.config", "Upper_ok"] {
            assert!(check_name(name).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn types_that_would_change_a_discovery_url_are_refused() {
        let bad = [
            ("/v1/secrets", "X"),
            ("v1/namespaces/kube-system/secrets/x", "X"),
            ("v1/namespaces/default/services/s/proxy", "X"),
            ("v1?watch=true", "X"),
            ("apps/v1/../../api/v1/secrets", "Deployment"),
            ("apps/", "Deployment"),
            ("", "ConfigMap"),
            ("V1", "ConfigMap"),
            ("1", "ConfigMap"),
            ("Apps.io/v1", "X"),
            ("v1", "Config/Map"),
            ("v1", "Config Map"),
            ("v1", ""),
            ("v1", "1x"),
            ("x..io/v1", "X"),
        ];
        for (v, k) in bad {
            assert!(check_type(v, k).is_err(), "{v:?} {k:?}");
        }
        assert_eq!(check_type("v1", "ConfigMap").unwrap(), ("", "v1"));
        assert_eq!(check_type("apps/v1", "Deployment").unwrap(), ("apps", "v1"));
        assert_eq!(
            check_type("networking.istio.io/v1beta1", "VirtualService").unwrap(),
            ("networking.istio.io", "v1beta1")
        );
        for g in ["", "*", "apps", "rbac.authorization.k8s.io"] {
            assert!(check_group(g).is_ok(), "{g:?}");
        }
        for g in ["/api", "a/b", "x?y", "A"] {
            assert!(check_group(g).is_err(), "{g:?}");
        }
    }
}
