//! Builds translator components for `wasm32-wasip2` from a build script, so that a plain
//! `cargo build` or `cargo test` of the host also builds the plugins it embeds or tests.
//!
//! The nested cargo uses its own target folder: the outer cargo holds the lock of its own.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const TARGET: &str = "wasm32-wasip2";

/// Builds `packages` of the workspace whose manifest is `manifest` in release mode and returns
/// the path of each package's `.wasm`, in order. Panics with a message saying what to do when
/// the build fails, as a build script should.
pub fn build_components(manifest: &Path, packages: &[&str]) -> Vec<PathBuf> {
    let target_dir = wasm_target_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(&target_dir);
    for p in packages {
        cmd.arg("-p").arg(p);
    }
    // Flags meant for the host build must not leak into the wasm build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the plugins: {e}"));
    if !status.success() {
        panic!(
            "building the WebAssembly plugins {packages:?} failed (see above). If the error says the \
             target is missing, run `rustup target add {TARGET}` and build again."
        );
    }
    packages
        .iter()
        .map(|p| {
            target_dir
                .join(TARGET)
                .join("release")
                .join(format!("{}.wasm", p.replace('-', "_")))
        })
        .collect()
}

/// `<target dir of the outer build>/wasm`, found from OUT_DIR
/// (`<target>/<profile>/build/<pkg>-<hash>/out`, or with a `<triple>/` level more).
fn wasm_target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return Path::new(&dir).join("wasm");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("called from a build script"));
    let build = out
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .expect("OUT_DIR is inside a target folder");
    // build -> <profile> -> (<triple> ->)? <target>
    let mut target = build
        .parent()
        .and_then(Path::parent)
        .expect("target folder")
        .to_path_buf();
    if target.join("CACHEDIR.TAG").exists() || target.file_name().is_some_and(|n| n == "target") {
        return target.join("wasm");
    }
    target = target.parent().map(Path::to_path_buf).unwrap_or(target);
    target.join("wasm")
}

/// Tells cargo to rebuild when any of these paths (files or folders) change.
pub fn rerun_if_changed(paths: &[&Path]) {
    for p in paths {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}
