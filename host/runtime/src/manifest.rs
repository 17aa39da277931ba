//! The plugin manifest: what a translator declares it needs, read from the component's bytes
//! without compiling or running anything.
//!
//! The SDK's `manifest!` macro puts the plugin's `manifest.json` into a custom section named
//! `wasmesh:manifest`. In a component built by `wasm-component-ld` the section sits in the nested
//! core module; it is looked for in the component itself and in every nested module and
//! component. The JSON schema is the SDK's own file (`sdk/src/manifest/schema.rs`), so the SDK
//! and the host cannot read it differently.

use crate::WIT_PACKAGE;
use crate::bindings::wasmesh::adapter::types;
use crate::errors::{Error, Result};

#[allow(dead_code)]
#[path = "../../../sdk/src/manifest/schema.rs"]
mod schema;

use schema::{KubeRuleJson, ManifestJson, NamespacesJson};

/// The name of the custom section that holds a plugin's manifest.
pub const MANIFEST_SECTION: &str = schema::SECTION;

/// What a plugin declares in its `wasmesh:manifest` section.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The contract the plugin is built against; always [`WIT_PACKAGE`] once read.
    pub wit: String,
    pub capabilities: types::Capabilities,
    /// For each rule of `capabilities.kube`, in order: the operation keys that need it (empty:
    /// every operation). The contract's rule record does not carry this; only the manifest does.
    pub rule_operations: Vec<Vec<String>>,
    /// The namespace label and annotation keys the plugin may set or remove.
    pub namespace_keys: Vec<NamespaceKeys>,
    /// The error codes the plugin declares it may emit: (code, message as written).
    pub errors: Vec<(String, String)>,
}

/// Namespace metadata keys a plugin declares: exact, or a prefix ending in `*`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NamespaceKeys {
    pub labels: Vec<String>,
    pub annotations: Vec<String>,
    /// The operations that use them; empty: every operation.
    pub operations: Vec<String>,
}

/// Reads the manifest of a component from its bytes. Nothing is compiled or run.
///
/// Errors: the bytes are not a component ([`Error::InvalidComponent`]), no manifest section
/// ([`Error::NoManifest`]), more than one ([`Error::DuplicateManifest`]), not valid manifest JSON
/// ([`Error::InvalidManifest`], with serde's message), a contract other than
/// [`WIT_PACKAGE`] ([`Error::ManifestWit`]). Errors name the plugin "(unnamed)"; see
/// [`read_plugin_manifest`].
pub fn read_manifest(wasm: &[u8]) -> Result<Manifest> {
    read_plugin_manifest("(unnamed)", wasm)
}

/// [`read_manifest`], with errors that name the plugin.
pub fn read_plugin_manifest(plugin: &str, wasm: &[u8]) -> Result<Manifest> {
    scan(plugin, wasm)?.manifest(plugin)
}

/// What a walk over the component's sections found.
pub(crate) struct Scan<'a> {
    /// Names of the component's own imports other than types (those of nested components are
    /// internal).
    pub(crate) imports: Vec<&'a str>,
    /// Contents of every `wasmesh:manifest` custom section, at any depth.
    pub(crate) manifests: Vec<&'a [u8]>,
}

/// Walks the component and every nested module and component, without validating code.
pub(crate) fn scan<'a>(plugin: &str, wasm: &'a [u8]) -> Result<Scan<'a>> {
    use wasmparser::{ComponentTypeRef, Encoding, Parser, Payload};

    let invalid = |reason: String| Error::InvalidComponent {
        plugin: plugin.to_string(),
        reason,
    };
    let mut scan = Scan {
        imports: Vec::new(),
        manifests: Vec::new(),
    };
    // 1 while in the component itself, more inside nested modules and components.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| invalid(e.to_string()))? {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding != Encoding::Component {
                    return Err(invalid(
                        "this is a core WebAssembly module, not a component; build the plugin \
                         for wasm32-wasip2"
                            .into(),
                    ));
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.map_err(|e| invalid(e.to_string()))?;
                    // Type imports (the contract's `use types.{...}`) only name types; wasmtime
                    // does not list them either.
                    if !matches!(import.ty, ComponentTypeRef::Type(_)) {
                        scan.imports.push(import.name.name);
                    }
                }
            }
            Payload::CustomSection(reader) if reader.name() == MANIFEST_SECTION => {
                scan.manifests.push(reader.data());
            }
            _ => {}
        }
    }
    Ok(scan)
}

impl Scan<'_> {
    /// The one manifest, parsed and checked.
    pub(crate) fn manifest(&self, plugin: &str) -> Result<Manifest> {
        let json = match self.manifests.as_slice() {
            [] => {
                return Err(Error::NoManifest {
                    plugin: plugin.to_string(),
                    section: MANIFEST_SECTION,
                });
            }
            [one] => *one,
            many => {
                return Err(Error::DuplicateManifest {
                    plugin: plugin.to_string(),
                    section: MANIFEST_SECTION,
                    count: many.len(),
                });
            }
        };
        let m = schema::parse(json).map_err(|e| Error::InvalidManifest {
            plugin: plugin.to_string(),
            section: MANIFEST_SECTION,
            reason: e.to_string(),
        })?;
        if m.wit != WIT_PACKAGE {
            return Err(Error::ManifestWit {
                plugin: plugin.to_string(),
                wit: m.wit,
                contract: WIT_PACKAGE,
            });
        }
        Ok(Manifest {
            wit: m.wit.clone(),
            rule_operations: m.kube.iter().map(|r| r.operations.clone()).collect(),
            namespace_keys: m
                .namespace_metadata
                .iter()
                .map(|k| NamespaceKeys {
                    labels: k.labels.clone(),
                    annotations: k.annotations.clone(),
                    operations: k.operations.clone(),
                })
                .collect(),
            errors: m.errors.iter().map(|e| (e.code.clone(), e.message.clone())).collect(),
            capabilities: to_capabilities(m),
        })
    }
}

/// The operation key that stands for designs (Provision and ProcessOAM) in manifests and grants.
pub const DESIGN_OPERATION: &str = "design";

/// Refuses a manifest whose rules name an operation the plugin does not offer (`design` stands
/// for designs).
pub(crate) fn check_rule_operations(plugin: &str, manifest: &Manifest, offered: &[types::Operation]) -> Result<()> {
    let known = |key: &str| key == DESIGN_OPERATION || offered.iter().any(|o| o.key == key);
    let named = manifest
        .rule_operations
        .iter()
        .flatten()
        .chain(manifest.namespace_keys.iter().flat_map(|k| &k.operations));
    match named.into_iter().find(|k| !known(k)) {
        Some(unknown) => Err(Error::ManifestOperation {
            plugin: plugin.to_string(),
            operation: unknown.clone(),
        }),
        None => Ok(()),
    }
}

/// Refuses a plugin whose `describe` reports other capabilities than its manifest declares.
/// Rules are compared in order, as written: the SDK gives `describe` the manifest's own text.
pub(crate) fn check_describe(
    plugin: &str,
    manifest: &types::Capabilities,
    described: &types::Capabilities,
) -> Result<()> {
    let (m, d) = (to_json(manifest), to_json(described));
    if m == d {
        Ok(())
    } else {
        Err(Error::ManifestMismatch {
            plugin: plugin.to_string(),
            manifest: render(&m),
            described: render(&d),
        })
    }
}

fn to_capabilities(m: ManifestJson) -> types::Capabilities {
    types::Capabilities {
        kube: m
            .kube
            .into_iter()
            .map(|r| types::KubeRule {
                api_groups: r.api_groups,
                resources: r.resources,
                verbs: r.verbs,
                namespaces: match r.namespaces {
                    NamespacesJson::Cluster => types::NamespaceScope::Cluster,
                    NamespacesJson::Request => types::NamespaceScope::Request,
                    NamespacesJson::All => types::NamespaceScope::All,
                    NamespacesJson::Listed(names) => types::NamespaceScope::Listed(names),
                },
            })
            .collect(),
        outbound_hosts: m.outbound_hosts,
        assets: m.assets,
    }
}

/// Capabilities in the manifest's JSON shape (the `wit` left empty), to compare and to show.
fn to_json(c: &types::Capabilities) -> ManifestJson {
    ManifestJson {
        wit: String::new(),
        kube: c
            .kube
            .iter()
            .map(|r| KubeRuleJson {
                api_groups: r.api_groups.clone(),
                resources: r.resources.clone(),
                verbs: r.verbs.clone(),
                namespaces: match &r.namespaces {
                    types::NamespaceScope::Cluster => NamespacesJson::Cluster,
                    types::NamespaceScope::Request => NamespacesJson::Request,
                    types::NamespaceScope::All => NamespacesJson::All,
                    types::NamespaceScope::Listed(names) => NamespacesJson::Listed(names.clone()),
                },
                operations: Vec::new(),
            })
            .collect(),
        outbound_hosts: c.outbound_hosts.clone(),
        assets: c.assets,
        namespace_metadata: Vec::new(),
        errors: Vec::new(),
    }
}

fn render(m: &ManifestJson) -> String {
    serde_json::json!({
        "kube": m.kube,
        "outboundHosts": m.outbound_hosts,
        "assets": m.assets,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_may_only_name_offered_operations_or_design() {
        let manifest = |ops: &[&str]| Manifest {
            wit: WIT_PACKAGE.into(),
            capabilities: types::Capabilities {
                kube: Vec::new(),
                outbound_hosts: Vec::new(),
                assets: false,
            },
            rule_operations: vec![vec![], ops.iter().map(|s| s.to_string()).collect()],
            namespace_keys: Vec::new(),
            errors: Vec::new(),
        };
        let offered = [types::Operation {
            key: "install".into(),
            description: String::new(),
            category: types::Category::Install,
        }];
        assert!(check_rule_operations("p", &manifest(&["install", "design"]), &offered).is_ok());
        let e = check_rule_operations("p", &manifest(&["install", "instal"]), &offered).unwrap_err();
        assert!(
            matches!(&e, Error::ManifestOperation { operation, .. } if operation == "instal"),
            "{e}"
        );
        assert!(e.to_string().contains("does not offer"), "{e}");
    }

    const OK: &str = r#"{"wit": "wasmesh:adapter@0.1.0", "kube": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "namespaces": "request"}, {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"], "namespaces": ["a", "b"]}], "outboundHosts": ["example.com"], "assets": true}"#;

    /// `s` as a WAT string literal.
    fn wat_string(s: &str) -> String {
        let mut out = String::from("\"");
        for b in s.bytes() {
            match b {
                b'"' | b'\\' => {
                    out.push('\\');
                    out.push(b as char);
                }
                0x20..=0x7e => out.push(b as char),
                _ => out.push_str(&format!("\\{b:02x}")),
            }
        }
        out.push('"');
        out
    }

    /// A component whose core module carries these custom sections, as wasm-component-ld lays
    /// out a plugin built with the SDK.
    fn component(sections: &[&str]) -> Vec<u8> {
        let customs: String = sections
            .iter()
            .map(|s| format!("(@custom \"wasmesh:manifest\" {})", wat_string(s)))
            .collect();
        wat::parse_str(format!(
            "(component (core module (memory 1) {customs}) (core instance (instantiate 0)))"
        ))
        .unwrap()
    }

    #[test]
    fn found_in_the_nested_core_module() {
        let m = read_manifest(&component(&[OK])).unwrap();
        assert_eq!(m.wit, "wasmesh:adapter@0.1.0");
        let c = &m.capabilities;
        assert_eq!(c.kube.len(), 2);
        assert_eq!(c.kube[0].api_groups, [""]);
        assert_eq!(c.kube[0].resources, ["configmaps"]);
        assert_eq!(c.kube[0].verbs, ["get"]);
        assert!(matches!(c.kube[0].namespaces, types::NamespaceScope::Request));
        assert!(matches!(&c.kube[1].namespaces, types::NamespaceScope::Listed(ns) if ns == &["a", "b"]));
        assert_eq!(c.outbound_hosts, ["example.com"]);
        assert!(c.assets);
    }

    #[test]
    fn found_in_the_component_itself_and_deeper() {
        // A custom section of the component.
        let top = wat::parse_str(format!("(component (@custom \"wasmesh:manifest\" {}))", wat_string(OK))).unwrap();
        assert_eq!(read_manifest(&top).unwrap().capabilities.kube.len(), 2);
        // A core module inside a nested component.
        let deep = wat::parse_str(format!(
            "(component (component (core module (@custom \"wasmesh:manifest\" {}))))",
            wat_string(OK)
        ))
        .unwrap();
        assert_eq!(read_manifest(&deep).unwrap().capabilities.kube.len(), 2);
    }

    #[test]
    fn missing() {
        let e = read_plugin_manifest("mine", &component(&[])).unwrap_err();
        assert!(matches!(e, Error::NoManifest { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "plugin mine has no wasmesh:manifest section; build it with the wasmesh SDK's \
             manifest! macro"
        );
        // Another custom section is no manifest.
        let other = wat::parse_str(r#"(component (core module (@custom "wasmesh:manifests" "{}")))"#).unwrap();
        assert!(matches!(read_manifest(&other), Err(Error::NoManifest { .. })));
    }

    #[test]
    fn invalid_json() {
        let e = read_plugin_manifest("mine", &component(&[r#"{"wit": "wasmesh:adapter@0.1.0","#])).unwrap_err();
        assert!(matches!(e, Error::InvalidManifest { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.starts_with("plugin mine: its wasmesh:manifest section is not a valid manifest: ")
                && text.contains("EOF while parsing"),
            "{text}"
        );
        let e = read_manifest(&component(&["\u{7f}\u{ff}"])).unwrap_err();
        assert!(matches!(e, Error::InvalidManifest { .. }), "{e:?}");
        // A bad namespace scope says what is allowed.
        let e = read_manifest(&component(&[
            r#"{"wit": "wasmesh:adapter@0.1.0", "kube": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], "namespaces": "some"}]}"#,
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(r#"invalid value: string "some""#) && e.contains(r#""request", "cluster", "all""#),
            "{e}"
        );
        // A rule without verbs.
        let e = read_manifest(&component(&[
            r#"{"wit": "wasmesh:adapter@0.1.0", "kube": [{"apiGroups": [""], "resources": ["pods"], "namespaces": "all"}]}"#,
        ]))
        .unwrap_err()
        .to_string();
        assert!(e.contains("missing field `verbs`"), "{e}");
    }

    #[test]
    fn wrong_wit() {
        let e = read_plugin_manifest("mine", &component(&[r#"{"wit": "wasmesh:adapter@0.2.0"}"#])).unwrap_err();
        assert!(
            matches!(e, Error::ManifestWit { ref wit, .. } if wit == "wasmesh:adapter@0.2.0"),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .contains("\"wasmesh:adapter@0.2.0\", but this host serves wasmesh:adapter@0.1.0"),
            "{e}"
        );
        let e = read_manifest(&component(&[r#"{"kube": []}"#])).unwrap_err();
        assert!(e.to_string().contains("missing field `wit`"), "{e}");
    }

    #[test]
    fn unknown_field() {
        let e = read_manifest(&component(&[
            r#"{"wit": "wasmesh:adapter@0.1.0", "kube": [], "secrets": true}"#,
        ]))
        .unwrap_err();
        assert!(matches!(e, Error::InvalidManifest { .. }), "{e:?}");
        assert!(e.to_string().contains("unknown field `secrets`"), "{e}");
        let e = read_manifest(&component(&[
            r#"{"wit": "wasmesh:adapter@0.1.0", "kube": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], "namespaces": "all", "resourceNames": ["x"]}]}"#,
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `resourceNames`"), "{e}");
    }

    #[test]
    fn two_sections() {
        let e = read_plugin_manifest("mine", &component(&[OK, OK])).unwrap_err();
        assert!(matches!(e, Error::DuplicateManifest { count: 2, .. }), "{e:?}");
        assert!(e.to_string().contains("has 2 wasmesh:manifest sections"), "{e}");
        // Two sections in different modules count too.
        let two = wat::parse_str(format!(
            "(component (core module (@custom \"wasmesh:manifest\" {m})) (core module (@custom \"wasmesh:manifest\" {m})))",
            m = wat_string(OK)
        ))
        .unwrap();
        assert!(matches!(
            read_manifest(&two),
            Err(Error::DuplicateManifest { count: 2, .. })
        ));
        // The macro used twice in one crate: the linker joins both into one section.
        let e = read_manifest(&component(&[&format!("{OK}{OK}")])).unwrap_err();
        assert!(e.to_string().contains("trailing characters"), "{e}");
    }

    #[test]
    fn not_a_component() {
        let e = read_manifest(b"\0asm but not really").unwrap_err();
        assert!(matches!(e, Error::InvalidComponent { .. }), "{e:?}");
        let module = wat::parse_str(format!("(module (@custom \"wasmesh:manifest\" {}))", wat_string(OK))).unwrap();
        let e = read_manifest(&module).unwrap_err();
        assert!(
            e.to_string().contains("core WebAssembly module, not a component"),
            "{e}"
        );
    }

    #[test]
    fn top_level_imports_only() {
        let wasm = wat::parse_str(
            r#"(component
                 (import "a:b/c@1.0.0" (instance))
                 (type $b bool)
                 (import "t" (type (eq $b)))
                 (import "f" (func))
                 (component (import "nested:only/x" (instance))))"#,
        )
        .unwrap();
        assert_eq!(scan("x", &wasm).unwrap().imports, ["a:b/c@1.0.0", "f"]);
    }

    #[test]
    fn describe_must_agree() {
        let declared = read_manifest(&component(&[OK])).unwrap().capabilities;
        check_describe("mine", &declared, &declared.clone()).unwrap();

        let mut wider = declared.clone();
        wider.kube[0].verbs.push("delete".into());
        let e = check_describe("mine", &declared, &wider).unwrap_err();
        assert!(matches!(e, Error::ManifestMismatch { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.starts_with("plugin mine: describe and manifest disagree")
                && text.contains(r#""verbs":["get"]"#)
                && text.contains(r#""verbs":["get","delete"]"#),
            "{text}"
        );
        let mut scope = declared.clone();
        scope.kube[0].namespaces = types::NamespaceScope::All;
        assert!(check_describe("mine", &declared, &scope).is_err());
        let mut hosts = declared.clone();
        hosts.outbound_hosts.clear();
        assert!(check_describe("mine", &declared, &hosts).is_err());
        let mut assets = declared.clone();
        assets.assets = false;
        assert!(check_describe("mine", &declared, &assets).is_err());
    }
}
