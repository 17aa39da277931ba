//! Builds translator components for `wasm32-wasip2` from a build script, so that a plain
//! `cargo build` or `cargo test` of the host also builds the plugins it embeds or tests.
//!
//! The nested cargo uses its own target folder: the outer cargo holds the lock of its own.

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod python;

pub const TARGET: &str = "wasm32-wasip2";
/// The custom section the host reads a plugin's manifest from (the SDK's `manifest!` writes it
/// for Rust plugins; [`python`] appends it).
pub const MANIFEST_SECTION: &str = "wasmesh:manifest";

/// Builds `packages` of the workspace whose manifest is `manifest` in release mode and returns
/// the path of each package's `.wasm`, in order. Panics with a message saying what to do when
/// the build fails, as a build script should.
pub fn build_components(manifest: &Path, packages: &[&str]) -> Vec<PathBuf> {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("called from a build script"));
    build_components_in(&wasm_target_dir(&out), manifest, packages)
}

/// [`build_components`] into `<target_dir>` (a test can find it with [`wasm_target_dir`] from
/// its own executable's path).
pub fn build_components_in(target_dir: &Path, manifest: &Path, packages: &[&str]) -> Vec<PathBuf> {
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

/// `<target dir of the outer build>/wasm`, found from a path inside it: a build script's OUT_DIR
/// (`<target>/<profile>/build/<pkg>-<hash>/out`) or a test's executable
/// (`<target>/<profile>/deps/<test>`), with or without a `<triple>/` level more.
pub fn wasm_target_dir(inside: &Path) -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return Path::new(&dir).join("wasm");
    }
    let level = inside
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build" || n == "deps"))
        .expect("the path is inside a target folder");
    // build|deps -> <profile> -> (<triple> ->)? <target>
    let target = level
        .parent()
        .and_then(Path::parent)
        .expect("target folder")
        .to_path_buf();
    if target.join("CACHEDIR.TAG").exists() || target.file_name().is_some_and(|n| n == "target") {
        return target.join("wasm");
    }
    target.parent().map(Path::to_path_buf).unwrap_or(target).join("wasm")
}

/// Tells cargo to rebuild when any of these paths (files or folders) change.
pub fn rerun_if_changed(paths: &[&Path]) {
    for p in paths {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}
