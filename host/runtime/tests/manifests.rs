//! Manifests of real plugins: the built-in translators and the test plugins are built for
//! wasm32-wasip2 (as the host's and the e2e tests' build scripts do, into the same folder) and
//! their `wasmesh:manifest` sections read back; loading reads the manifest before compiling.

use std::path::{Path, PathBuf};

use wasmesh_runtime::{Error, HostCalls, ListQuery, Runtime, RuntimeConfig, read_plugin_manifest, types};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds `packages` of the workspace at `manifest` into `<target dir>/wasm`, where the host's
/// build script builds the plugins too, and returns their .wasm paths.
fn build(manifest: &Path, packages: &[&str]) -> Vec<PathBuf> {
    let exe = std::env::current_exe().unwrap();
    wasmesh_build_support::build_components_in(&wasmesh_build_support::wasm_target_dir(&exe), manifest, packages)
}

/// Each plugin's section holds its manifest.json byte for byte, and reads as a valid manifest.
fn check_plugins(workspace: &Path, plugins: &[(&str, &str)]) {
    let packages: Vec<&str> = plugins.iter().map(|(p, _)| *p).collect();
    let wasm = build(&workspace.join("Cargo.toml"), &packages);
    for ((package, dir), path) in plugins.iter().zip(wasm) {
        let bytes = std::fs::read(&path).unwrap();
        let file = std::fs::read(workspace.join(dir).join("manifest.json")).unwrap();
        let m = read_plugin_manifest(package, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(m.wit, "wasmesh:adapter@0.1.0");
        let sections = sections(&bytes);
        assert_eq!(
            sections,
            std::slice::from_ref(&file),
            "{package}: the section is manifest.json"
        );
        let json: serde_json::Value = serde_json::from_slice(&file).unwrap();
        assert_eq!(
            m.capabilities.kube.len(),
            json["kube"].as_array().unwrap().len(),
            "{package}"
        );
    }
}

/// The contents of every wasmesh:manifest section, found independently of the runtime.
fn sections(wasm: &[u8]) -> Vec<Vec<u8>> {
    wasmparser::Parser::new(0)
        .parse_all(wasm)
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::CustomSection(r) if r.name() == "wasmesh:manifest" => Some(r.data().to_vec()),
            _ => None,
        })
        .collect()
}

#[test]
fn built_in_plugins_carry_their_manifest() {
    check_plugins(
        &root(),
        &[
            ("wasmesh-plugin-linkerd", "plugins/linkerd"),
            ("wasmesh-plugin-istio", "plugins/istio"),
        ],
    );
}

#[test]
fn test_plugins_carry_their_manifest() {
    check_plugins(
        &root().join("tests/plugins"),
        &[
            ("wasmesh-test-hostile", "hostile"),
            ("wasmesh-test-broken-describe", "broken-describe"),
        ],
    );
}

/// Serves describe, which needs nothing from the host.
struct NoHost;

impl HostCalls for NoHost {
    async fn cluster_get(
        &mut self,
        _: String,
        _: String,
        _: Option<String>,
        _: String,
    ) -> Result<Option<String>, types::Error> {
        Ok(None)
    }

    async fn cluster_list(&mut self, _: ListQuery) -> Result<Vec<String>, types::Error> {
        Ok(vec![])
    }

    fn progress(&mut self, _: types::Level, _: String, _: String, _: Option<types::Error>) {}
}

fn runtime() -> Runtime<NoHost> {
    Runtime::new(RuntimeConfig {
        max_instances: 4,
        ..RuntimeConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn loaded_plugins_declare_what_describe_says() {
    let rt = runtime();
    let wasm = build(
        &root().join("Cargo.toml"),
        &["wasmesh-plugin-linkerd", "wasmesh-plugin-istio", "wasmesh-plugin-kuma"],
    );
    for (name, path) in ["linkerd", "istio", "kuma"].iter().zip(wasm) {
        let plugin = rt.load(name, &std::fs::read(path).unwrap(), NoHost).await.unwrap();
        let declared = plugin.declared();
        let file = std::fs::read(root().join("plugins").join(name).join("manifest.json")).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&file).unwrap();
        let rules = json["kube"].as_array().unwrap();
        assert_eq!(declared.kube.len(), rules.len(), "{name}");
        for (rule, want) in declared.kube.iter().zip(rules) {
            let strings = |v: &serde_json::Value| -> Vec<String> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect()
            };
            assert_eq!(rule.api_groups, strings(&want["apiGroups"]), "{name}");
            assert_eq!(rule.resources, strings(&want["resources"]), "{name}");
            assert_eq!(rule.verbs, strings(&want["verbs"]), "{name}");
            let scope = match &rule.namespaces {
                types::NamespaceScope::Cluster => serde_json::json!("cluster"),
                types::NamespaceScope::Request => serde_json::json!("request"),
                types::NamespaceScope::All => serde_json::json!("all"),
                types::NamespaceScope::Listed(ns) => serde_json::json!(ns),
            };
            assert_eq!(scope, want["namespaces"], "{name}");
        }
        // The load refused any disagreement; describe said exactly this.
        assert_eq!(format!("{:?}", plugin.info().capabilities), format!("{declared:?}"));
        assert_eq!(plugin.manifest().wit, "wasmesh:adapter@0.1.0");
    }
}

/// A component whose core module does not validate (its function returns nothing where it
/// promises an i32): it parses, but compiling it fails.
fn uncompilable(manifest: Option<&str>) -> Vec<u8> {
    let custom = manifest
        .map(|m| format!("(@custom \"wasmesh:manifest\" \"{}\")", m.replace('"', "\\\"")))
        .unwrap_or_default();
    wat::parse_str(format!(
        "(component (core module (func (result i32)) {custom}) (core instance (instantiate 0)))"
    ))
    .unwrap()
}

#[tokio::test]
async fn the_manifest_is_read_before_compiling() {
    let rt = runtime();
    // Without a manifest: refused for that, so never compiled.
    let e = rt.load("bare", &uncompilable(None), NoHost).await.err().unwrap();
    assert!(matches!(e, Error::NoManifest { .. }), "{e}");
    assert!(
        e.to_string().contains("plugin bare has no wasmesh:manifest section"),
        "{e}"
    );
    // A bad manifest, likewise.
    let e = rt
        .load(
            "bad",
            &uncompilable(Some(r#"{"wit": "wasmesh:adapter@9.0.0"}"#)),
            NoHost,
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::ManifestWit { .. }), "{e}");
    // With a valid manifest the same component gets as far as the compiler, which refuses it.
    let e = rt
        .load(
            "good",
            &uncompilable(Some(r#"{"wit": "wasmesh:adapter@0.1.0"}"#)),
            NoHost,
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::InvalidComponent { .. }), "{e}");
    // Forbidden imports are reported first: they say more about such a component.
    let backdoor =
        wat::parse_str(r#"(component (import "evil:backdoor/shell@1.0.0" (instance (export "run" (func)))))"#).unwrap();
    let e = rt.load("backdoor", &backdoor, NoHost).await.err().unwrap();
    assert!(
        matches!(e, Error::ForbiddenImports { ref imports, .. } if imports == "evil:backdoor/shell@1.0.0"),
        "{e}"
    );
}

/// When every instance slot is taken, a call is refused as busy (not as a broken plugin), and
/// the slot comes back when the running call ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_refuses_calls_as_busy() {
    let rt = std::sync::Arc::new(
        Runtime::new(RuntimeConfig {
            max_instances: 1,
            call_timeout: std::time::Duration::from_millis(1500),
            ..RuntimeConfig::default()
        })
        .unwrap(),
    );
    let wasm = build(&root().join("tests/plugins/Cargo.toml"), &["wasmesh-test-hostile"]);
    let plugin = std::sync::Arc::new(
        rt.load("hostile", &std::fs::read(&wasm[0]).unwrap(), NoHost)
            .await
            .unwrap(),
    );
    let request = types::OperationRequest {
        key: "loop".into(),
        namespace: "default".into(),
        version: String::new(),
        custom_body: String::new(),
        delete: false,
        operation_id: "busy".into(),
        username: "test".into(),
        cluster: types::ClusterInfo {
            name: "none".into(),
            server: "none".into(),
        },
    };
    let looping = {
        let plugin = plugin.clone();
        let request = request.clone();
        tokio::spawn(async move { plugin.plan(NoHost, &request).await.0 })
    };
    // Give the looping call time to take the only slot.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (second, _) = plugin.describe(NoHost).await;
    assert!(matches!(second, Err(Error::Busy { .. })), "{second:?}");
    assert!(matches!(looping.await.unwrap(), Err(Error::Timeout { .. })));
    let (after, _) = plugin.describe(NoHost).await;
    assert!(after.is_ok(), "the slot is free again: {after:?}");
}
