//! Loading plugins: a bad plugin is refused with a reason and the host serves the others;
//! compiled components are cached and reused.

use std::path::PathBuf;

use wasmesh::config::PluginConfig;
use wasmesh_e2e::meshery::Generation;
use wasmesh_e2e::{BROKEN_DESCRIBE_WASM, cache_dir, client, test_config};

fn scratch(name: &str) -> PathBuf {
    let dir = cache_dir()
        .join("..")
        .join(format!("scratch-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn plugin(name: &str, path: PathBuf) -> PluginConfig {
    PluginConfig {
        name: name.into(),
        builtin: None,
        path: Some(path),
        port: 0,
        sha256: None,
        grant: None,
        identity: None,
        drift: Default::default(),
        assets: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_plugins_are_refused_and_the_rest_is_served() {
    let dir = scratch("bad");
    // A component that imports something beyond the contract and the WASI subset.
    let backdoor =
        wat::parse_str(r#"(component (import "evil:backdoor/shell@1.0.0" (instance (export "run" (func)))))"#).unwrap();
    std::fs::write(dir.join("backdoor.wasm"), backdoor).unwrap();
    std::fs::write(dir.join("garbage.wasm"), b"\0asm but not really").unwrap();

    let mut config = test_config();
    config.plugins.push(plugin("backdoor", dir.join("backdoor.wasm")));
    config.plugins.push(plugin("garbage", dir.join("garbage.wasm")));
    config.plugins.push(plugin("missing", dir.join("missing.wasm")));
    config
        .plugins
        .push(plugin("broken-describe", BROKEN_DESCRIBE_WASM.into()));
    let host = wasmesh::start(config)
        .await
        .expect("the host starts with the good plugins");

    let reason = |name: &str| {
        host.skipped
            .iter()
            .find(|s| s.plugin == name)
            .unwrap_or_else(|| panic!("{name} should be refused; skipped: {:?}", host.skipped))
            .reason
            .clone()
    };
    let r = reason("backdoor");
    assert!(
        r.contains("evil:backdoor/shell@1.0.0") && r.contains("wasmesh does not provide"),
        "{r}"
    );
    let r = reason("garbage");
    assert!(r.contains("not a valid WebAssembly component"), "{r}");
    let r = reason("missing");
    assert!(r.contains("cannot read") && r.contains("missing.wasm"), "{r}");
    let r = reason("broken-describe");
    assert!(
        r.contains("describe crashed") && r.contains("traps at load on purpose"),
        "{r}"
    );
    assert_eq!(host.skipped.len(), 4);

    // The good ones serve.
    for adapter in ["ISTIO", "LINKERD", "HOSTILE"] {
        assert_eq!(
            client(&host, adapter, Generation::Adapter).await.name().await.unwrap(),
            adapter
        );
    }
    host.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_components_are_cached_by_hash() {
    let dir = scratch("cache");
    let mut config = test_config();
    config.cache_dir = Some(dir.clone());

    let host = wasmesh::start(config.clone()).await.unwrap();
    let shas: Vec<String> = host.adapters.iter().map(|a| a.plugin.sha256().to_string()).collect();
    assert!(
        host.adapters.iter().all(|a| !a.plugin.from_cache()),
        "an empty cache compiles"
    );
    host.shutdown().await;

    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files.len(), shas.len(), "{files:?}");
    for sha in &shas {
        assert!(
            files
                .iter()
                .any(|f| f.starts_with(&format!("{sha}-")) && f.ends_with(".cwasm")),
            "{sha} in {files:?}"
        );
    }

    let host = wasmesh::start(config).await.unwrap();
    assert!(
        host.adapters.iter().all(|a| a.plugin.from_cache()),
        "a warm cache is used"
    );
    // And what came from the cache works.
    let mut c = client(&host, "LINKERD", Generation::Mesh).await;
    let ops = c.supported_operations().await.unwrap().ops;
    assert!(ops.iter().any(|o| o.key == "linkerd"), "{ops:?}");
    host.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}
