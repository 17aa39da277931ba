//! Names that reach a URL path. kube-rs pastes namespaces and names into the path as they are,
//! so a name with `/` or `?` would reach a different resource than the one that was checked.

use crate::errors::{Error, Result};

/// A namespace must be a DNS-1123 label.
pub fn check_namespace(ns: &str) -> Result<()> {
    let ok = !ns.is_empty()
        && ns.len() <= 63
        && ns
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !ns.starts_with('-')
        && !ns.ends_with('-');
    if ok {
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
}
