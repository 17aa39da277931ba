//! `wasmesh new NAME`: writes a translator crate that builds for wasm32-wasip2 and passes its own
//! tests as written. The files are the templates in `host/wasmesh/templates/new`, with the names
//! filled in; the crate depends on the SDK by path (the one this binary was built from, or
//! `--sdk`).

use std::path::{Path, PathBuf};

use crate::errors::{Error, Result};

/// Each file of the crate and its template.
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../templates/new/Cargo.toml.in")),
    (
        "rust-toolchain.toml",
        include_str!("../templates/new/rust-toolchain.toml"),
    ),
    (".gitignore", include_str!("../templates/new/gitignore")),
    ("README.md", include_str!("../templates/new/README.md")),
    ("manifest.json", include_str!("../templates/new/manifest.json")),
    ("wasmesh.yaml", include_str!("../templates/new/wasmesh.yaml")),
    ("src/lib.rs", include_str!("../templates/new/src/lib.rs")),
    ("src/tests.rs", include_str!("../templates/new/src/tests.rs")),
];

/// `{mesh}-system` names the control plane's namespace, itself at most 63 characters.
const MAX_MESH: usize = 56;
/// What crates.io accepts.
const MAX_CRATE: usize = 64;

/// What `wasmesh new` was asked for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The crate's name.
    pub name: String,
    /// Where to write it; `./NAME` when absent.
    pub dir: Option<PathBuf>,
    /// The mesh (lower case, a DNS label); NAME with `_` as `-` when absent.
    pub mesh: Option<String>,
    /// The SDK's folder; [`default_sdk`] when absent.
    pub sdk: Option<PathBuf>,
}

/// What was written.
#[derive(Debug)]
pub struct Created {
    pub dir: PathBuf,
    pub crate_name: String,
    pub mesh: String,
    pub sdk: PathBuf,
    pub files: Vec<&'static str>,
}

impl Created {
    /// What `wasmesh new` prints: what it wrote and what to run next.
    pub fn text(&self) -> String {
        let lib = self.crate_name.replace('-', "_");
        let mut out = format!(
            "created {} in {} (mesh {}, adapter {}), against the SDK at {}:\n",
            self.crate_name,
            self.dir.display(),
            self.mesh,
            self.mesh.to_ascii_uppercase(),
            self.sdk.display()
        );
        for f in &self.files {
            out.push_str(&format!("  {f}\n"));
        }
        out.push_str(&format!(
            "next:\n  cd {}\n  cargo test\n  cargo build --release --target wasm32-wasip2\n  \
             wasmesh inspect target/wasm32-wasip2/release/{lib}.wasm\n  wasmesh --config wasmesh.yaml serve\n",
            self.dir.display()
        ));
        out
    }
}

fn refused(problem: impl Into<String>, remedy: impl Into<String>) -> Error {
    Error::New {
        problem: problem.into(),
        remedy: remedy.into(),
    }
}

/// The SDK this binary was built from, when its folder is still there.
pub fn default_sdk() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk");
    is_sdk(&sdk).then(|| sdk.canonicalize().ok()).flatten()
}

/// Whether `dir` holds the wasmesh SDK's crate.
fn is_sdk(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|t| t.lines().any(|l| l.trim() == "name = \"wasmesh-sdk\""))
}

/// Checks a crate name as cargo and crates.io do, lower case only (the mesh is made from it).
pub fn check_crate_name(name: &str) -> std::result::Result<(), String> {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
        "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
        "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
        "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
    ];
    const TAKEN: &[&str] = &[
        "std",
        "core",
        "alloc",
        "test",
        "proc_macro",
        "proc-macro",
        "con",
        "prn",
        "aux",
        "nul",
        "com1",
        "com2",
        "com3",
        "com4",
        "com5",
        "com6",
        "com7",
        "com8",
        "com9",
        "lpt1",
        "lpt2",
        "lpt3",
        "lpt4",
        "lpt5",
        "lpt6",
        "lpt7",
        "lpt8",
        "lpt9",
    ];
    let shown = name.escape_debug();
    let Some(first) = name.chars().next() else {
        return Err("the name is empty".into());
    };
    if !first.is_ascii_lowercase() {
        return Err(format!("\"{shown}\" does not start with a lowercase letter (a-z)"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "\"{shown}\" has '{}', which a crate name cannot have (lowercase letters, digits, '-' and '_' only)",
            c.escape_debug()
        ));
    }
    if name.len() > MAX_CRATE {
        return Err(format!("\"{shown}\" is longer than {MAX_CRATE} characters"));
    }
    if KEYWORDS.contains(&name) {
        return Err(format!("\"{shown}\" is a Rust keyword"));
    }
    if TAKEN.contains(&name) {
        return Err(format!(
            "\"{shown}\" is the name of a standard crate or a reserved file name"
        ));
    }
    Ok(())
}

/// Checks a mesh name: a lowercase DNS label (RFC 1123) short enough for `{mesh}-system`.
pub fn check_mesh(mesh: &str) -> std::result::Result<(), String> {
    let shown = mesh.escape_debug();
    let label = !mesh.is_empty()
        && mesh
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !mesh.starts_with('-')
        && !mesh.ends_with('-');
    if !label {
        return Err(format!(
            "the mesh \"{shown}\" is not a DNS label (lowercase letters, digits and '-', neither first nor last)"
        ));
    }
    if mesh.len() > MAX_MESH {
        return Err(format!(
            "the mesh \"{shown}\" is longer than {MAX_MESH} characters (its namespace is {shown}-system, at most 63)"
        ));
    }
    Ok(())
}

/// "my-mesh" is "MyMesh": the mesh as messages and kinds say it.
fn display(mesh: &str) -> String {
    mesh.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A path as a TOML basic string's content.
fn toml_escaped(path: &Path) -> String {
    path.display().to_string().replace('\\', "\\\\").replace('"', "\\\"")
}

/// The templates with the names filled in, as (path, contents).
pub fn render(crate_name: &str, mesh: &str, sdk: &Path) -> Vec<(&'static str, String)> {
    let values = [
        ("{{crate}}", crate_name.to_string()),
        ("{{lib}}", crate_name.replace('-', "_")),
        ("{{mesh}}", mesh.to_string()),
        ("{{MESH}}", mesh.to_ascii_uppercase()),
        ("{{Display}}", display(mesh)),
        ("{{sdk}}", toml_escaped(sdk)),
    ];
    FILES
        .iter()
        .map(|(path, template)| {
            let text = values
                .iter()
                .fold(template.to_string(), |text, (key, value)| text.replace(key, value));
            (*path, text)
        })
        .collect()
}

/// Writes the crate. Refuses, writing nothing, a bad name or mesh, a folder that exists and is
/// not empty, and an SDK folder that is not the wasmesh SDK.
pub fn create(request: &Request) -> Result<Created> {
    let name = &request.name;
    check_crate_name(name).map_err(|problem| {
        refused(
            format!("NAME: {problem}"),
            "pick a crate name such as my-mesh: lowercase letters, digits, '-' and '_', starting with a letter",
        )
    })?;
    let mesh = request.mesh.clone().unwrap_or_else(|| name.replace('_', "-"));
    check_mesh(&mesh).map_err(|problem| {
        let flag = if request.mesh.is_some() {
            "--mesh"
        } else {
            "the mesh (from NAME)"
        };
        refused(
            format!("{flag}: {problem}"),
            format!("give --mesh MESH: lowercase letters, digits and '-', at most {MAX_MESH} characters"),
        )
    })?;
    let sdk = match &request.sdk {
        Some(path) if is_sdk(path) => path.canonicalize().map_err(|e| {
            refused(
                format!("--sdk {}: {e}", path.display()),
                "give the sdk folder of a wasmesh checkout",
            )
        })?,
        Some(path) => {
            return Err(refused(
                format!("--sdk {} is not the wasmesh SDK (no Cargo.toml of wasmesh-sdk there)", path.display()),
                "give the sdk folder of a wasmesh checkout, e.g. --sdk ../wasmesh/sdk",
            ));
        }
        None => default_sdk().ok_or_else(|| {
            refused(
                format!(
                    "this wasmesh was built from a checkout whose SDK is no longer at {}",
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk").display()
                ),
                "give --sdk PATH, the sdk folder of a wasmesh checkout (the host that loads the plugin should be built from it too)",
            )
        })?,
    };
    let dir = request.dir.clone().unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() {
        let empty = std::fs::read_dir(&dir).map(|mut entries| entries.next().is_none());
        match empty {
            Ok(true) => {}
            Ok(false) => {
                return Err(refused(
                    format!("{} exists and is not empty; nothing was written", dir.display()),
                    "give --dir a new or empty folder, or remove this one",
                ));
            }
            Err(e) => {
                return Err(refused(
                    format!(
                        "{} exists and cannot be read as a folder ({e}); nothing was written",
                        dir.display()
                    ),
                    "give --dir a new or empty folder",
                ));
            }
        }
    }
    let files = render(name, &mesh, &sdk);
    for (path, text) in &files {
        let path = dir.join(path);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        written.map_err(|e| {
            refused(
                format!("cannot write {}: {e}", path.display()),
                "check that the folder is writable, then remove it and run wasmesh new again",
            )
        })?;
    }
    Ok(Created {
        dir,
        crate_name: name.clone(),
        mesh,
        sdk,
        files: files.iter().map(|(p, _)| *p).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_and_the_names_land_where_they_belong() {
        let files = render("my_mesh", "my-mesh", Path::new("/src/wasmesh \"x\"/sdk"));
        assert_eq!(files.len(), FILES.len());
        for (path, text) in &files {
            assert!(!text.contains("{{"), "{path} keeps a placeholder:\n{text}");
        }
        let file = |name: &str| &files.iter().find(|(p, _)| *p == name).unwrap().1;
        assert!(file("Cargo.toml").contains("name = \"my_mesh\""));
        assert!(file("Cargo.toml").contains("path = \"/src/wasmesh \\\"x\\\"/sdk\""));
        assert!(file("src/lib.rs").contains("kind: \"MyMeshMesh\""));
        assert!(file("src/lib.rs").contains(&format!("pub enum PluginError in \"WASMESH-{}\"", "MY-MESH")));
        assert!(file("manifest.json").contains("[\"my-mesh-system\"]"));
        assert!(file("wasmesh.yaml").contains("target/wasm32-wasip2/release/my_mesh.wasm"));
        // The generated manifest is the host's manifest format.
        let manifest: serde_json::Value = serde_json::from_str(file("manifest.json")).unwrap();
        assert_eq!(manifest["wit"], wasmesh_runtime::WIT_PACKAGE);
        let config = crate::Config::from_yaml(file("wasmesh.yaml")).unwrap();
        assert_eq!(config.plugins[0].name, "my-mesh");
    }

    #[test]
    fn names_are_checked_with_a_reason() {
        for ok in ["demo", "my-mesh", "a1_b2", &"x".repeat(MAX_CRATE)] {
            assert_eq!(check_crate_name(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("1mesh", "lowercase letter"),
            ("Demo", "lowercase letter"),
            ("my.mesh", "'.'"),
            ("my mesh", "' '"),
            ("mesh/../x", "'/'"),
            ("fn", "keyword"),
            ("std", "standard crate"),
            ("nul", "reserved"),
            (&"x".repeat(MAX_CRATE + 1), "longer than 64"),
        ] {
            let e = check_crate_name(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert_eq!(check_mesh("demo-2"), Ok(()));
        for bad in ["-demo", "demo-", "de_mo", "Demo", "", &"m".repeat(MAX_MESH + 1)] {
            assert!(check_mesh(bad).is_err(), "{bad:?}");
        }
        assert_eq!(display("my-mesh"), "MyMesh");
        assert_eq!(display("9x"), "9x");
    }
}
