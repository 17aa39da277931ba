//! The compile cache holds native code the host runs unchecked, so it trusts an entry only when
//! the folder and the file are its own user's (checked on the opened handles, reached without
//! following links) and the entry's header binds it to the very component being loaded and to
//! its own digest. Everything else is recompiled (and replaced), never deserialized: each host
//! start below must compile the tampered plugin (from_cache false) and serve it as itself.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use wasmesh_e2e::meshery::Generation;
use wasmesh_e2e::{cache_dir, client, test_config};

/// Not root (chown to another user needs it): the ownership cases cannot be set up.
fn can_chown() -> bool {
    wasmesh_runtime::fsdir::effective_uid() == 0
}

const NOBODY: u32 = 65534;

fn scratch(name: &str) -> PathBuf {
    let dir = cache_dir()
        .join("..")
        .join(format!("scratch-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts the host on `cache`, checks every adapter answers as itself, and returns which
/// plugins came from the cache.
async fn start(cache: &Path) -> Vec<(String, bool)> {
    let mut config = test_config();
    config.cache_dir = Some(cache.to_path_buf());
    let host = wasmesh::start(config).await.expect("host starts");
    assert!(host.skipped.is_empty(), "{:?}", host.skipped);
    for adapter in ["ISTIO", "LINKERD", "HOSTILE"] {
        let mut c = client(&host, adapter, Generation::Adapter).await;
        assert_eq!(
            c.name().await.unwrap(),
            adapter,
            "the {adapter} listener runs its own code"
        );
    }
    let loaded = host
        .adapters
        .iter()
        .map(|a| (a.plugin.name().to_string(), a.plugin.from_cache()))
        .collect();
    host.shutdown().await;
    loaded
}

fn from_cache(loaded: &[(String, bool)], plugin: &str) -> bool {
    loaded.iter().find(|(p, _)| p == plugin).unwrap().1
}

/// The cache entry of `plugin` (found by the sha256 the host reported).
fn entry(cache: &Path, sha: &str) -> PathBuf {
    std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(&format!("{sha}-")) && name.ends_with(".cwasm")
        })
        .unwrap_or_else(|| panic!("no cache entry for {sha} in {}", cache.display()))
}

fn uid_of(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).unwrap().uid()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_or_foreign_cache_entries_are_never_run() {
    let cache = scratch("cache-trust");
    let outside = scratch("cache-outside");
    let first = start(&cache).await;
    assert!(first.iter().all(|(_, c)| !c), "{first:?}");
    let shas: std::collections::HashMap<String, String> = {
        let mut config = test_config();
        config.cache_dir = Some(cache.clone());
        let (_rt, loaded, _) = wasmesh::load_plugins(&config).await.unwrap();
        loaded
            .iter()
            .map(|(pc, p, _)| (pc.name.clone(), p.sha256().to_string()))
            .collect()
    };
    let linkerd = || entry(&cache, &shas["linkerd"]);
    let istio = || entry(&cache, &shas["istio"]);
    let hostile = || entry(&cache, &shas["hostile"]);
    assert!(from_cache(&start(&cache).await, "linkerd"), "a warm cache is used");

    // 1. Another plugin's artifact under linkerd's name (it would run the hostile plugin's code
    // on linkerd's listener, with linkerd's grant).
    std::fs::copy(hostile(), linkerd()).unwrap();
    let loaded = start(&cache).await;
    assert!(!from_cache(&loaded, "linkerd"), "a swapped artifact is recompiled");
    assert!(from_cache(&loaded, "hostile"));
    assert!(
        from_cache(&start(&cache).await, "linkerd"),
        "and replaced by a good entry"
    );

    // 2. A modified artifact: one byte of its native code changed.
    let mut bytes = std::fs::read(istio()).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(istio(), bytes).unwrap();
    assert!(
        !from_cache(&start(&cache).await, "istio"),
        "a modified artifact is recompiled"
    );

    // 3. A link in the cache, to a good entry outside it.
    std::fs::copy(hostile(), outside.join("planted.cwasm")).unwrap();
    let planted = hostile();
    std::fs::remove_file(&planted).unwrap();
    std::os::unix::fs::symlink(outside.join("planted.cwasm"), &planted).unwrap();
    let loaded = start(&cache).await;
    assert!(!from_cache(&loaded, "hostile"), "a link is not followed");
    assert!(
        !std::fs::symlink_metadata(&planted).unwrap().file_type().is_symlink(),
        "the link is replaced by the host's own entry"
    );

    // 4. An entry others may write.
    std::fs::set_permissions(linkerd(), std::fs::Permissions::from_mode(0o666)).unwrap();
    assert!(
        !from_cache(&start(&cache).await, "linkerd"),
        "a world-writable entry is recompiled"
    );

    if !can_chown() {
        println!("ownership cases skipped: they need root to give files to another user");
        return;
    }
    // 5. An entry owned by another user, with a private mode.
    std::os::unix::fs::chown(linkerd(), Some(NOBODY), Some(NOBODY)).unwrap();
    assert!(
        !from_cache(&start(&cache).await, "linkerd"),
        "a foreign entry is recompiled"
    );
    assert_eq!(uid_of(&linkerd()), 0, "and replaced by the host's own");

    // 6. A cache folder owned by another user, with a private mode: not used at all.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&cache, Some(NOBODY), Some(NOBODY)).unwrap();
    let loaded = start(&cache).await;
    assert!(
        loaded.iter().all(|(_, c)| !c),
        "a foreign folder is not used: {loaded:?}"
    );

    std::fs::remove_dir_all(cache).unwrap();
    std::fs::remove_dir_all(outside).unwrap();
}

/// Plugin files are read through a handle on their folder: a link there may name another file
/// in the folder, never one outside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_path_cannot_link_out_of_its_folder() {
    let dir = scratch("plugin-links");
    std::fs::copy(wasmesh_e2e::HOSTILE_WASM, dir.join("real.wasm")).unwrap();
    std::os::unix::fs::symlink("real.wasm", dir.join("inside.wasm")).unwrap();
    std::os::unix::fs::symlink(wasmesh_e2e::HOSTILE_WASM, dir.join("outside.wasm")).unwrap();
    let mut config = test_config();
    for p in config.plugins.iter_mut().filter(|p| p.name == "hostile") {
        p.path = Some(dir.join("inside.wasm"));
    }
    let mut outside = config.plugins.iter().find(|p| p.name == "hostile").unwrap().clone();
    outside.name = "outside".into();
    outside.path = Some(dir.join("outside.wasm"));
    config.plugins.push(outside);
    let host = wasmesh::start(config).await.unwrap();
    assert_eq!(host.skipped.len(), 1, "{:?}", host.skipped);
    let s = &host.skipped[0];
    assert_eq!(s.plugin, "outside");
    assert!(
        s.reason.contains("cannot read") && s.reason.contains("outside.wasm"),
        "{}",
        s.reason
    );
    let mut c = client(&host, "hostile", Generation::Adapter).await;
    assert_eq!(c.name().await.unwrap(), "HOSTILE");
    host.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}
