//! Builds the hostile test plugins for wasm32-wasip2.

use std::path::Path;

fn main() {
    // Read when the script runs, not when it is compiled: a build script reused from another
    // checkout (a shared target directory) must build this checkout's plugins.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo");
    let plugins = Path::new(&manifest_dir).join("../plugins");
    let root = Path::new(&manifest_dir).join("../..");
    wasmesh_build_support::rerun_if_changed(&[
        &plugins.join("hostile"),
        &plugins.join("broken-describe"),
        &plugins.join("aliased"),
        &plugins.join("Cargo.toml"),
        &root.join("sdk/src"),
        &root.join("wit"),
    ]);
    let wasm = wasmesh_build_support::build_components(
        &plugins.join("Cargo.toml"),
        &[
            "wasmesh-test-hostile",
            "wasmesh-test-broken-describe",
            "wasmesh-test-aliased",
        ],
    );
    println!("cargo:rustc-env=WASMESH_TEST_HOSTILE={}", wasm[0].display());
    println!("cargo:rustc-env=WASMESH_TEST_BROKEN_DESCRIBE={}", wasm[1].display());
    println!("cargo:rustc-env=WASMESH_TEST_ALIASED={}", wasm[2].display());
    // Compiled components are cached here between test runs.
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    println!("cargo:rustc-env=WASMESH_TEST_CACHE={out}/compile-cache");
}
