//! `wasmesh inspect FILE.wasm`: what a translator component is, as this host sees it: the WIT
//! package it targets, its imports and exports, its operations and the rules its manifest
//! declares for each, its digest, size and how long this host takes to compile it.
//!
//! The component is loaded the way the host loads a plugin (manifest read from the bytes,
//! imports checked, compiled with the host's one Engine configuration, `describe` called), so
//! what inspect accepts the host serves, and what it refuses it refuses with the same reason.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmesh_grant::{DESIGN_OPERATION, Grant, describe_rule};
use wasmesh_runtime::{Runtime, WIT_PACKAGE, surface};

use crate::config::Config;
use crate::errors::{Error, Result};
use crate::host_calls::CallHost;

/// What `wasmesh inspect` reports, in text or as JSON.
#[derive(Debug, Serialize)]
pub struct Inspection {
    pub file: PathBuf,
    pub size_bytes: u64,
    pub sha256: String,
    /// The WIT package the component targets, from its imports (`wasmesh:adapter@0.1.0`).
    pub wit: String,
    /// The package this host serves.
    pub host_wit: &'static str,
    pub wit_matches: bool,
    /// Compiling it with this host's Engine configuration, in milliseconds (no compile cache).
    pub compile_ms: f64,
    pub adapter: Adapter,
    pub imports: Vec<Item>,
    pub exports: Vec<Item>,
    /// Its operations, and `design` for designs, each with the rules the manifest declares for it.
    pub operations: Vec<Operation>,
    pub namespace_metadata: Vec<NamespaceKeys>,
    /// Whether it exports what it registers with the Meshery server (`wasmesh:adapter/registry`).
    pub registrable: bool,
}

#[derive(Debug, Serialize)]
pub struct Adapter {
    pub name: String,
    pub mesh: String,
    pub version: String,
    pub mesh_versions: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Item {
    pub name: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Operation {
    pub key: String,
    pub category: String,
    pub description: String,
    /// The declared rules that serve it, one line each (as `wasmesh plugins` writes them).
    pub rules: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct NamespaceKeys {
    pub labels: Vec<String>,
    pub annotations: Vec<String>,
    /// Empty: every operation.
    pub operations: Vec<String>,
}

/// Loads `file` as the host would and reports what it is. A file that is not a component of the
/// host's WIT package is refused with what it is and what to do.
pub async fn inspect(config: &Config, file: &Path) -> Result<Inspection> {
    let wasm = std::fs::read(file).map_err(|source| Error::ReadPlugin {
        name: file.display().to_string(),
        path: file.to_path_buf(),
        source,
    })?;
    let refuse = |what: String, remedy: &str| Error::Inspect {
        file: file.to_path_buf(),
        what,
        remedy: remedy.to_string(),
    };
    let name = file
        .file_stem()
        .map_or_else(|| "plugin".into(), |s| s.to_string_lossy().into_owned());
    // The preamble: b"\0asm", a version, a layer (0 a core module, 1 a component).
    match wasm.get(..8) {
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => {}
        Some([0, b'a', b's', b'm', _, _, 0, 0]) => {
            return Err(refuse(
                "a core WebAssembly module, not a component".into(),
                "build the translator for wasm32-wasip2 (cargo build --target wasm32-wasip2), whose linker writes a \
                 component, or wrap the module with `wasm-tools component new`",
            ));
        }
        _ => {
            return Err(refuse(
                format!("not WebAssembly ({} bytes that do not start with \\0asm)", wasm.len()),
                "give the .wasm file the translator's build writes (target/wasm32-wasip2/release/NAME.wasm)",
            ));
        }
    }
    let imports = surface::imports_of(&name, &wasm)?;
    let packages = wasmesh_packages(&imports);
    let wit = match packages.as_slice() {
        [] => {
            return Err(refuse(
                format!(
                    "a WebAssembly component, but not a wasmesh translator: it imports no wasmesh:adapter interface \
                     (its imports: {})",
                    if imports.is_empty() {
                        "none".into()
                    } else {
                        imports.join(", ")
                    }
                ),
                &format!(
                    "a translator implements the world `translator` of {WIT_PACKAGE} (wit/adapter.wit); build it \
                     with the wasmesh SDK (sdk/): `wasmesh new NAME` writes a crate that does (docs/plugin-guide.md)"
                ),
            ));
        }
        [one] if one == WIT_PACKAGE => one.clone(),
        [one] => {
            return Err(refuse(
                format!("a translator for {one}, but this host serves {WIT_PACKAGE}"),
                &format!(
                    "rebuild it against {WIT_PACKAGE} (the wit/ and sdk/ of this host's release), or run it with a \
                     host that serves {one}"
                ),
            ));
        }
        many => {
            return Err(refuse(
                format!("a component that imports several wasmesh packages: {}", many.join(", ")),
                &format!("build it against {WIT_PACKAGE} only, with the wasmesh SDK"),
            ));
        }
    };
    // No compile cache: the time reported is a compile with this host's Engine.
    let mut runtime_config = crate::runtime_config(config);
    runtime_config.cache_dir = None;
    let runtime: Runtime<CallHost> = Runtime::new(runtime_config)?;
    let plugin = runtime.load(&name, &wasm, CallHost::describe(&name)).await?;
    let info = plugin.info();
    let manifest = plugin.manifest();
    let declared = Grant::new(manifest.capabilities.kube.clone(), &manifest.rule_operations);
    let rules = |key: &str| -> Vec<String> { declared.declared_for(key).iter().map(describe_rule).collect() };
    let mut operations: Vec<Operation> = info
        .operations
        .iter()
        .map(|o| Operation {
            key: o.key.clone(),
            category: category(o.category).into(),
            description: o.description.clone(),
            rules: rules(&o.key),
        })
        .collect();
    operations.push(Operation {
        key: DESIGN_OPERATION.into(),
        category: "design".into(),
        description: "designs (Provision, ProcessOAM)".into(),
        rules: rules(DESIGN_OPERATION),
    });
    let items = |items: Vec<surface::Item>| -> Vec<Item> {
        items
            .into_iter()
            .map(|i| Item {
                name: i.name,
                kind: i.kind,
                functions: i.functions,
            })
            .collect()
    };
    let surface = plugin.surface();
    Ok(Inspection {
        file: file.to_path_buf(),
        size_bytes: wasm.len() as u64,
        sha256: hex::encode(Sha256::digest(&wasm)),
        wit_matches: wit == WIT_PACKAGE,
        wit,
        host_wit: WIT_PACKAGE,
        compile_ms: plugin.compile_time().as_secs_f64() * 1000.0,
        adapter: Adapter {
            name: info.name.clone(),
            mesh: info.mesh.clone(),
            version: info.version.clone(),
            mesh_versions: info.mesh_versions.clone(),
        },
        imports: items(surface.imports),
        exports: items(surface.exports),
        operations,
        namespace_metadata: manifest
            .namespace_keys
            .iter()
            .map(|k| NamespaceKeys {
                labels: k.labels.clone(),
                annotations: k.annotations.clone(),
                operations: k.operations.clone(),
            })
            .collect(),
        registrable: plugin.registrable(),
    })
}

/// The wasmesh packages named by import names (`wasmesh:adapter/types@0.1.0` names
/// `wasmesh:adapter@0.1.0`), each once, in order.
fn wasmesh_packages(imports: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in imports.iter().filter(|n| n.starts_with("wasmesh:")) {
        let (path, version) = name.split_once('@').unwrap_or((name, ""));
        let package = path.split('/').next().unwrap_or(path);
        let package = if version.is_empty() {
            package.to_string()
        } else {
            format!("{package}@{version}")
        };
        if !out.contains(&package) {
            out.push(package);
        }
    }
    out
}

fn category(c: wasmesh_runtime::types::Category) -> &'static str {
    use wasmesh_runtime::types::Category as C;
    match c {
        C::Install => "install",
        C::SampleApplication => "sample-application",
        C::Configure => "configure",
        C::Validate => "validate",
        C::Custom => "custom",
    }
}

impl Inspection {
    /// The report as text, one fact per line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!("file: {}", self.file.display()));
        line(format!("size: {} bytes", self.size_bytes));
        line(format!("sha256: {}", self.sha256));
        let verdict = if self.wit_matches {
            "matches this host"
        } else {
            "this host serves another"
        };
        line(format!("wit: {} ({verdict}: {})", self.wit, self.host_wit));
        line(format!(
            "compile: {:.0} ms (this host's Engine configuration, no cache)",
            self.compile_ms
        ));
        let a = &self.adapter;
        line(format!(
            "adapter: {} (mesh {}, translator {}), mesh versions: {}",
            a.name,
            a.mesh,
            a.version,
            a.mesh_versions.join(", ")
        ));
        line(format!(
            "registers component definitions: {}",
            if self.registrable { "yes" } else { "no" }
        ));
        for (title, items) in [("imports", &self.imports), ("exports", &self.exports)] {
            line(format!("{title}:"));
            for i in items {
                if i.functions.is_empty() {
                    line(format!("  {} ({})", i.name, i.kind));
                } else {
                    line(format!("  {} ({}): {}", i.name, i.kind, i.functions.join(", ")));
                }
            }
        }
        line("operations (with the rules the manifest declares for each):".into());
        for o in &self.operations {
            line(format!("  {} [{}]: {}", o.key, o.category, o.description));
            if o.rules.is_empty() {
                line("    (no rules)".into());
            }
            for r in &o.rules {
                line(format!("    {r}"));
            }
        }
        for k in &self.namespace_metadata {
            let ops = if k.operations.is_empty() {
                "every operation".to_string()
            } else {
                k.operations.join(", ")
            };
            line(format!(
                "namespace labels [{}], annotations [{}] for {ops}",
                k.labels.join(", "),
                k.annotations.join(", ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_is_read_from_import_names() {
        let names = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            wasmesh_packages(&names(&[
                "wasi:io/streams@0.2.6",
                "wasmesh:adapter/types@0.1.0",
                "wasmesh:adapter/cluster@0.1.0"
            ])),
            ["wasmesh:adapter@0.1.0"]
        );
        assert_eq!(
            wasmesh_packages(&names(&["wasmesh:adapter/types@0.2.0", "wasmesh:other/x"])),
            ["wasmesh:adapter@0.2.0", "wasmesh:other"]
        );
        assert!(wasmesh_packages(&names(&["wasi:cli/stdout@0.2.6"])).is_empty());
    }
}
