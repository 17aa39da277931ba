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

    // The Python translator. A build that cannot run (the toolchain is missing) does not stop
    // the other tests from building: its error goes to a file beside the component's path, and
    // the Python tests fail with it.
    let python = wasmesh_build_support::python::inputs(&root);
    wasmesh_build_support::rerun_if_changed(&python.iter().map(|p| p.as_path()).collect::<Vec<_>>());
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let wasm = wasmesh_build_support::wasm_target_dir(&out).join("python/pyexample.wasm");
    let error = wasm.with_extension("error.txt");
    let _ = std::fs::remove_file(&error);
    if let Err(e) = wasmesh_build_support::python::build(&root, &out.join("python-src"), &wasm) {
        println!(
            "cargo:warning=the Python translator was not built; its tests will fail: {}",
            e.lines().next().unwrap_or_default()
        );
        // On a fresh target nothing has made the component's folder yet.
        std::fs::create_dir_all(error.parent().expect("a folder")).expect("make the Python component's folder");
        std::fs::write(&error, e).expect("write the Python build's error");
        // A path that does not exist makes cargo run this script again at every build, until
        // the component is there (a toolchain restored with old timestamps is then seen too).
        println!("cargo:rerun-if-changed={}", wasm.display());
    }
    println!("cargo:rustc-env=WASMESH_TEST_PYTHON={}", wasm.display());
    // Compiled components are cached here between test runs.
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    println!("cargo:rustc-env=WASMESH_TEST_CACHE={out}/compile-cache");
}
