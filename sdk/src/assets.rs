//! Mesh versions beyond the embedded ones, from the read-only asset folder an operator may grant
//! a translator (`assets: DIR` in the host's configuration; the manifest declares
//! `"assets": true`). The host preopens that folder at [`ROOT`]; nothing else of the file system
//! is visible.
//!
//! The folder holds one subfolder per version, named as the version, with that release's own
//! rendered manifests (`linkerd install > DIR/stable-2.14.11/install.yaml`, `istioctl manifest
//! generate > DIR/1.22.0/istio.yaml`): YAML files, several documents each, read in name order.
//!
//! ```text
//! DIR/
//!   stable-2.14.11/
//!     00-crds.yaml
//!     10-control-plane.yaml
//! ```

use std::path::Path;

use serde_json::Value;

use crate::{Error, error};

/// Where the host preopens a translator's asset folder.
pub const ROOT: &str = "/assets";
/// The most one version's files may hold together; a larger folder is refused before any of it
/// is parsed (parsed objects take several times their YAML's size in the plugin's memory).
pub const MAX_VERSION_BYTES: u64 = 16 << 20;
/// The most files one version folder may hold.
pub const MAX_FILES: usize = 1000;

/// The SDK's error numbers for asset folders (see [`crate::error::SDK_NUMBERS`]).
const UNREADABLE: u32 = 1007;
const INVALID: u32 = 1006;

fn unreadable(code_prefix: &str, what: String, cause: &str) -> Error {
    error(
        format!("{code_prefix}-{UNREADABLE}"),
        what,
        cause,
        "check the asset folder the host's configuration grants this adapter (assets:): one readable \
         subfolder per version, holding only that release's rendered YAML files",
    )
}

/// The version folders under [`ROOT`], in name order; none when no folder is granted.
pub fn versions(code_prefix: &str) -> Result<Vec<String>, Error> {
    versions_in(Path::new(ROOT), code_prefix)
}

/// The version folders under `root`: every subfolder whose name is a version (no leading dot,
/// no path characters), in name order. None when `root` does not exist.
pub fn versions_in(root: &Path, code_prefix: &str) -> Result<Vec<String>, Error> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(unreadable(
                code_prefix,
                format!("the asset folder cannot be listed: {e}"),
                "the host granted a folder it may not read",
            ));
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            unreadable(
                code_prefix,
                format!("the asset folder cannot be listed: {e}"),
                "the host granted a folder it may not read",
            )
        })?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if is_version_name(&name) && entry.file_type().is_ok_and(|t| t.is_dir()) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn is_version_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
}

/// The objects of `version`'s folder under [`ROOT`]; `Ok(None)` when there is no such folder.
pub fn load(version: &str, code_prefix: &str) -> Result<Option<Vec<Value>>, Error> {
    load_in(Path::new(ROOT), version, code_prefix)
}

/// The objects of the folder `root/version`: every `.yaml` or `.yml` file in name order, every
/// document of each (a `kind: List` unrolled), each with apiVersion, kind and metadata.name.
/// `Ok(None)` when `version` is not one of [`versions_in`]. Any other file, a file that is not
/// YAML, an object without its names, no object at all, or more than [`MAX_VERSION_BYTES`] are
/// errors naming the file: nothing of a half-valid folder is installed.
pub fn load_in(root: &Path, version: &str, code_prefix: &str) -> Result<Option<Vec<Value>>, Error> {
    let version = version.trim();
    if !versions_in(root, code_prefix)?.iter().any(|v| v == version) {
        return Ok(None);
    }
    let folder = root.join(version);
    let listing_failed = |e: std::io::Error| {
        unreadable(
            code_prefix,
            format!("the asset folder {version}/ cannot be listed: {e}"),
            "the host granted a folder it may not read",
        )
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&folder).map_err(listing_failed)? {
        let entry = entry.map_err(listing_failed)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            return Err(error(
                format!("{code_prefix}-{INVALID}"),
                format!("asset file {version}/{name} is not a .yaml or .yml file"),
                "a version folder holds only the release's rendered manifests",
                format!("remove {version}/{name} from the asset folder, or rename it to .yaml if it is YAML"),
            ));
        }
        files.push(name);
    }
    if files.len() > MAX_FILES {
        return Err(unreadable(
            code_prefix,
            format!(
                "the asset folder {version}/ holds {} files, over the limit of {MAX_FILES}",
                files.len()
            ),
            "the folder holds more than one release's manifests",
        ));
    }
    files.sort();
    let mut total = 0u64;
    let mut texts = Vec::new();
    for name in &files {
        let path = folder.join(name);
        let failed = |e: std::io::Error| {
            unreadable(
                code_prefix,
                format!("asset file {version}/{name} cannot be read: {e}"),
                "the file is not readable, or is a link that leads out of the asset folder (which the host does not follow)",
            )
        };
        total += std::fs::metadata(&path).map_err(failed)?.len();
        if total > MAX_VERSION_BYTES {
            return Err(unreadable(
                code_prefix,
                format!("the asset folder {version}/ holds more than {MAX_VERSION_BYTES} bytes of files"),
                "the folder holds more than one release's manifests",
            ));
        }
        texts.push((name, std::fs::read_to_string(&path).map_err(failed)?));
    }
    let mut objects = Vec::new();
    for (name, text) in texts {
        let parsed = if text.trim().is_empty() {
            Vec::new()
        } else {
            crate::yaml::parse_objects(&text, code_prefix).map_err(|e| {
                error(
                    format!("{code_prefix}-{INVALID}"),
                    format!("asset file {version}/{name}: {}", e.message),
                    "the file is not the release's rendered manifests: not YAML, or an object without apiVersion, kind or metadata.name",
                    format!("render the release again into {version}/ (e.g. `linkerd install`, `istioctl manifest generate`) or fix {name}"),
                )
            })?
        };
        objects.extend(parsed);
    }
    if objects.is_empty() {
        return Err(error(
            format!("{code_prefix}-{INVALID}"),
            format!("the asset folder {version}/ holds no Kubernetes object"),
            "the version folder is empty or its files only have comments",
            format!("render the release's manifests into {version}/ as .yaml files"),
        ));
    }
    Ok(Some(objects))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("wasmesh-sdk-assets-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn file(&self, path: &str, text: &str) {
            let path = self.0.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ";

    #[test]
    fn versions_are_the_folders_in_name_order() {
        let s = Scratch::new("versions");
        assert!(versions_in(&s.0.join("absent"), "X").unwrap().is_empty());
        s.file("2.0.0/a.yaml", &format!("{CM}a\n"));
        s.file("1.0.0/a.yaml", &format!("{CM}a\n"));
        s.file(".hidden/a.yaml", &format!("{CM}a\n"));
        s.file("README.md", "not a version");
        assert_eq!(versions_in(&s.0, "X").unwrap(), ["1.0.0", "2.0.0"]);
    }

    #[test]
    fn files_load_in_name_order_with_every_document() {
        let s = Scratch::new("load");
        s.file("v1/20-b.yml", &format!("{CM}c\n---\n{CM}d\n"));
        s.file("v1/10-a.yaml", &format!("# comment\n---\n{CM}a\n---\n{CM}b\n"));
        s.file("v1/.editor-swap", "ignored");
        s.file("v1/sub/x.yaml", "ignored: a folder");
        let objects = load_in(&s.0, " v1 ", "X").unwrap().unwrap();
        let names: Vec<_> = objects
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert!(load_in(&s.0, "v2", "X").unwrap().is_none());
        // A version is a folder name, never a path.
        assert!(load_in(&s.0, "../v1", "X").unwrap().is_none());
        assert!(load_in(&s.0, "v1/..", "X").unwrap().is_none());
    }

    #[test]
    fn bad_folders_are_refused_naming_the_file() {
        let s = Scratch::new("bad");
        s.file("yaml/a.yaml", "key: [unclosed\n");
        let e = load_in(&s.0, "yaml", "X").unwrap_err();
        assert_eq!(e.code, "X-1006");
        assert!(
            e.message.contains("yaml/a.yaml") && e.message.contains("not valid YAML"),
            "{e:?}"
        );

        s.file("nameless/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n");
        let e = load_in(&s.0, "nameless", "X").unwrap_err();
        assert_eq!(e.code, "X-1006");
        assert!(
            e.message.contains("nameless/a.yaml") && e.message.contains("metadata.name"),
            "{e:?}"
        );

        s.file("kindless/a.yaml", "apiVersion: v1\nmetadata: {name: x}\n");
        assert!(load_in(&s.0, "kindless", "X").unwrap_err().message.contains("kind"));

        s.file("other/a.txt", "text");
        let e = load_in(&s.0, "other", "X").unwrap_err();
        assert!(e.message.contains("other/a.txt is not a .yaml"), "{e:?}");

        s.file("empty/a.yaml", "# nothing\n");
        assert!(
            load_in(&s.0, "empty", "X")
                .unwrap_err()
                .message
                .contains("no Kubernetes object")
        );

        let big = format!(
            "{CM}big\ndata:\n  x: \"{}\"\n",
            "y".repeat((MAX_VERSION_BYTES / 2) as usize)
        );
        s.file("big/a.yaml", &big);
        s.file("big/b.yaml", &big);
        let e = load_in(&s.0, "big", "X").unwrap_err();
        assert_eq!(e.code, "X-1007");
        assert!(e.message.contains("more than"), "{e:?}");
    }
}
