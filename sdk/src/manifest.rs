//! The plugin manifest: what a translator needs, declared once, read by the host without running
//! the plugin.
//!
//! Write `manifest.json` next to the plugin's `Cargo.toml` (schema in [`schema`]), embed it with
//! [`manifest!`](crate::manifest!) and answer `describe` from the same text, so the custom
//! section the host reads and what `describe` says never disagree (the host refuses a plugin
//! whose `describe` differs from its manifest):
//!
//! ```ignore
//! const MANIFEST: &str = wasmesh_sdk::manifest!("manifest.json");
//!
//! impl wasmesh_sdk::Guest for MyMesh {
//!     fn describe() -> Info {
//!         Info {
//!             capabilities: wasmesh_sdk::manifest::capabilities(MANIFEST),
//!             /* name, mesh, version, mesh_versions, operations */
//!         }
//!     }
//!     /* plan, provision */
//! }
//! ```

pub mod schema;

use schema::{KubeRuleJson, ManifestJson, NamespacesJson};

use crate::{Capabilities, KubeRule, NamespaceScope};

pub use schema::{SECTION, WIT};

/// Embeds a manifest file in the component and evaluates to its text (`&'static str`).
///
/// The path is relative to the plugin crate's folder (where its `Cargo.toml` is). On wasm
/// targets the file's bytes go into a custom section named `wasmesh:manifest`, which the host
/// reads before it compiles or runs anything. Use it once per plugin (two uses would put two
/// manifests into the one section, which the host refuses), typically as
/// `const MANIFEST: &str = wasmesh_sdk::manifest!("manifest.json");`, and give the text to
/// [`manifest::capabilities`](crate::manifest::capabilities) in `describe`.
#[macro_export]
macro_rules! manifest {
    ($path:literal) => {{
        #[cfg_attr(target_family = "wasm", unsafe(link_section = "wasmesh:manifest"))]
        #[used]
        static WASMESH_MANIFEST: [u8; ::core::include_bytes!(::core::concat!(
            ::core::env!("CARGO_MANIFEST_DIR"),
            "/",
            $path
        ))
        .len()] = *::core::include_bytes!(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", $path));
        ::core::include_str!(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", $path))
    }};
}

/// A parsed manifest.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The contract the plugin is built against; always [`WIT`] once parsed.
    pub wit: String,
    pub capabilities: Capabilities,
    /// The error codes the plugin declares it may emit.
    pub errors: Vec<schema::ErrorCodeJson>,
}

/// Parses manifest JSON and checks that it names the contract this SDK implements.
pub fn parse(json: &str) -> Result<Manifest, String> {
    let m = schema::parse(json.as_bytes()).map_err(|e| format!("invalid manifest: {e}"))?;
    if m.wit != WIT {
        return Err(format!(
            "the manifest names the contract \"{}\", but this SDK implements \"{WIT}\"",
            m.wit
        ));
    }
    Ok(Manifest {
        wit: m.wit.clone(),
        errors: m.errors.clone(),
        capabilities: to_capabilities(m),
    })
}

/// The capabilities a manifest declares, for `describe`.
///
/// Panics when the manifest is invalid; the host refuses such a plugin before it ever calls
/// `describe`, so in a loaded plugin this does not happen.
pub fn capabilities(json: &str) -> Capabilities {
    match parse(json) {
        Ok(m) => m.capabilities,
        Err(e) => panic!("{e}"),
    }
}

fn to_capabilities(m: ManifestJson) -> Capabilities {
    Capabilities {
        kube: m.kube.into_iter().map(to_rule).collect(),
        outbound_hosts: m.outbound_hosts,
        assets: m.assets,
    }
}

fn to_rule(r: KubeRuleJson) -> KubeRule {
    KubeRule {
        api_groups: r.api_groups,
        resources: r.resources,
        verbs: r.verbs,
        namespaces: match r.namespaces {
            NamespacesJson::Cluster => NamespaceScope::Cluster,
            NamespacesJson::Request => NamespaceScope::Request,
            NamespacesJson::All => NamespaceScope::All,
            NamespacesJson::Listed(names) => NamespaceScope::Listed(names),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{
        "wit": "wasmesh:adapter@0.1.0",
        "kube": [
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"], "namespaces": "cluster"},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"], "namespaces": "request"},
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"], "namespaces": "all"},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"], "namespaces": ["a", "b"]}
        ],
        "outboundHosts": ["charts.example.com"],
        "assets": true
    }"#;

    #[test]
    fn every_scope_and_field() {
        let c = capabilities(FULL);
        assert_eq!(c.kube.len(), 4);
        assert!(matches!(c.kube[0].namespaces, NamespaceScope::Cluster));
        assert!(matches!(c.kube[1].namespaces, NamespaceScope::Request));
        assert!(matches!(c.kube[2].namespaces, NamespaceScope::All));
        match &c.kube[3].namespaces {
            NamespaceScope::Listed(ns) => assert_eq!(ns, &["a", "b"]),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.kube[1].api_groups, [""]);
        assert_eq!(c.kube[1].resources, ["configmaps"]);
        assert_eq!(c.kube[1].verbs, ["get", "list"]);
        assert_eq!(c.outbound_hosts, ["charts.example.com"]);
        assert!(c.assets);
    }

    #[test]
    fn omitted_lists_declare_nothing() {
        let c = capabilities(r#"{"wit": "wasmesh:adapter@0.1.0"}"#);
        assert!(c.kube.is_empty() && c.outbound_hosts.is_empty() && !c.assets);
    }

    #[test]
    fn unknown_fields_are_errors() {
        let e = parse(r#"{"wit": "wasmesh:adapter@0.1.0", "kub": []}"#).unwrap_err();
        assert!(e.contains("unknown field `kub`"), "{e}");
        let e = parse(
            r#"{"wit": "wasmesh:adapter@0.1.0", "kube": [{"apiGroups": [""], "resources": ["pods"],
                "verbs": ["get"], "namespaces": "all", "resourceNames": ["x"]}]}"#,
        )
        .unwrap_err();
        assert!(e.contains("unknown field `resourceNames`"), "{e}");
    }

    #[test]
    fn bad_scope_wit_and_json() {
        let e = parse(
            r#"{"wit": "wasmesh:adapter@0.1.0", "kube": [{"apiGroups": [""], "resources": ["pods"],
                "verbs": ["get"], "namespaces": "everywhere"}]}"#,
        )
        .unwrap_err();
        assert!(
            e.contains("everywhere") && e.contains(r#""request", "cluster", "all""#),
            "{e}"
        );
        let e = parse(r#"{"wit": "wasmesh:adapter@0.2.0"}"#).unwrap_err();
        assert!(e.contains("wasmesh:adapter@0.2.0"), "{e}");
        let e = parse(r#"{"wit": "wasmesh:adapter@0.1.0""#).unwrap_err();
        assert!(e.contains("invalid manifest"), "{e}");
        // Two manifests in one section (the macro used twice) are refused.
        let e = parse(r#"{"wit": "wasmesh:adapter@0.1.0"}{"wit": "wasmesh:adapter@0.1.0"}"#).unwrap_err();
        assert!(e.contains("trailing characters"), "{e}");
    }

    #[test]
    #[should_panic(expected = "invalid manifest")]
    fn capabilities_panics_on_an_invalid_manifest() {
        capabilities("{}");
    }

    #[test]
    fn the_macro_gives_the_file_text() {
        const M: &str = crate::manifest!("src/manifest/test-manifest.json");
        assert_eq!(M, include_str!("manifest/test-manifest.json"));
        assert_eq!(capabilities(M).kube.len(), 1);
    }

    #[test]
    fn round_trip_through_the_schema() {
        let m = schema::parse(FULL.as_bytes()).unwrap();
        let again = schema::parse(serde_json::to_string(&m).unwrap().as_bytes()).unwrap();
        assert_eq!(m, again);
    }
}
