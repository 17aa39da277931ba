//! The Istio releases this plugin installs, with the image coordinates upstream publishes for them
//! (release images live on Docker Hub under `docker.io/istio`, tagged with the bare version).

#[derive(Debug, PartialEq, Eq)]
pub struct Release {
    /// As Meshery lists it, e.g. "1.27.3".
    pub version: &'static str,
    /// Image repository prefix.
    pub hub: &'static str,
}

/// Newest first: the first is the default.
pub const RELEASES: &[Release] = &[
    Release {
        version: "1.27.3",
        hub: "docker.io/istio",
    },
    Release {
        version: "1.26.3",
        hub: "docker.io/istio",
    },
];

pub fn versions() -> Vec<String> {
    RELEASES.iter().map(|r| r.version.to_string()).collect()
}

pub fn default_release() -> &'static Release {
    &RELEASES[0]
}

/// The release for a version; a leading "v" is accepted ("v1.27.3").
pub fn find(version: &str) -> Option<&'static Release> {
    let v = version.trim();
    let v = v.strip_prefix('v').unwrap_or(v);
    RELEASES.iter().find(|r| r.version == v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_and_lookups() {
        let r = find("v1.27.3").unwrap();
        assert_eq!((r.version, r.hub), ("1.27.3", "docker.io/istio"));
        assert!(find("1.27").is_none());
        assert_eq!(versions(), ["1.27.3", "1.26.3"]);
    }
}
