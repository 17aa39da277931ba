//! Checks of common operation options, shared by translators so they accept and refuse alike.

/// An image repository prefix such as `registry.example.com:5000/mesh` (where a mirror of an
/// air-gapped cluster keeps a mesh's images): no scheme, no tag or digest, only the characters
/// image references use. Returns it without a trailing `/`, or what is wrong with it.
pub fn image_repository(s: &str) -> Result<String, String> {
    let r = s.trim().trim_end_matches('/');
    if r.is_empty() {
        return Err("it is empty".into());
    }
    if r.contains("://") {
        return Err("it has a URL scheme".into());
    }
    if let Some(c) = r.chars().find(|c| !(c.is_ascii_alphanumeric() || "._-/:".contains(*c))) {
        return Err(format!("it contains {c:?}"));
    }
    // A colon is a port in the first segment (registry:5000/x), a tag anywhere after it.
    let tagged = r.contains('@') || (r.contains('/') && r.rsplit('/').next().is_some_and(|last| last.contains(':')));
    if tagged {
        return Err("it names a tag; the adapter pins every image's tag itself".into());
    }
    Ok(r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_with_ports_and_paths_pass_schemes_tags_and_odd_characters_do_not() {
        for (given, want) in [
            ("cr.l5d.io/linkerd", "cr.l5d.io/linkerd"),
            ("mirror.local:5000/l5d/", "mirror.local:5000/l5d"),
            (" docker.io/istio ", "docker.io/istio"),
            ("localhost:5000", "localhost:5000"),
        ] {
            assert_eq!(image_repository(given).as_deref(), Ok(want), "{given}");
        }
        for (given, says) in [
            ("", "empty"),
            ("https://docker.io/istio", "scheme"),
            ("docker.io/istio/pilot:1.27.3", "tag"),
            ("docker.io/istio@sha256:abc", "'@'"),
            ("a b", "contains ' '"),
        ] {
            let e = image_repository(given).unwrap_err();
            assert!(e.contains(says), "{given}: {e}");
        }
    }
}
