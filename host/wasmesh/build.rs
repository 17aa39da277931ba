//! Builds the built-in translators for wasm32-wasip2; the host embeds them.

use std::path::Path;

fn main() {
    // Read when the script runs, not when it is compiled: a build script reused from another
    // checkout (a shared target directory) must build this checkout's plugins.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo");
    let root = Path::new(&manifest_dir).join("../..");
    wasmesh_build_support::rerun_if_changed(&[
        &root.join("plugins/linkerd/src"),
        &root.join("plugins/linkerd/Cargo.toml"),
        &root.join("plugins/linkerd/manifest.json"),
        &root.join("plugins/istio/src"),
        &root.join("plugins/istio/Cargo.toml"),
        &root.join("plugins/istio/manifest.json"),
        &root.join("plugins/kuma/src"),
        &root.join("plugins/kuma/manifests"),
        &root.join("plugins/kuma/Cargo.toml"),
        &root.join("plugins/kuma/manifest.json"),
        &root.join("plugins/samples/src"),
        &root.join("plugins/samples/Cargo.toml"),
        &root.join("sdk/src"),
        &root.join("sdk/Cargo.toml"),
        &root.join("wit"),
    ]);
    let wasm = wasmesh_build_support::build_components(
        &root.join("Cargo.toml"),
        &["wasmesh-plugin-linkerd", "wasmesh-plugin-istio", "wasmesh-plugin-kuma"],
    );
    println!("cargo:rustc-env=WASMESH_BUILTIN_LINKERD={}", wasm[0].display());
    println!("cargo:rustc-env=WASMESH_BUILTIN_ISTIO={}", wasm[1].display());
    println!("cargo:rustc-env=WASMESH_BUILTIN_KUMA={}", wasm[2].display());
    // The git sha ComponentInfo reports; "unknown" outside a git checkout.
    let sha = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=WASMESH_GIT_SHA={sha}");
}
