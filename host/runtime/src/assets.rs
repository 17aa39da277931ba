//! The read-only asset folder an operator may grant a plugin (`assets: DIR` in its
//! configuration): upstream-rendered manifests the plugin installs instead of its embedded ones.
//!
//! Only a plugin whose manifest declares `"assets": true` may be given one. The folder is checked
//! with cap-std when the plugin is loaded, and preopened read-only at [`GUEST_PATH`] in every
//! call of that plugin (and no other): wasmtime-wasi resolves every path the guest names inside
//! that handle, so `..`, absolute paths and links that lead out of it reach nothing, and no
//! write, create, rename or removal is allowed.

use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use crate::errors::{Error, Result};

/// Where the plugin sees its asset folder.
pub const GUEST_PATH: &str = "/assets";

/// Given an asset folder, a plugin that does not declare `assets` in its manifest.
pub const NOT_DECLARED: &str = "WASMESH-RUNTIME-1020";
/// The asset folder is missing, not a folder, or cannot be opened.
pub const UNUSABLE: &str = "WASMESH-RUNTIME-1021";

/// Checks the folder granted to `plugin` (`declared`: its manifest's `assets`) and returns the
/// absolute path each call preopens.
pub(crate) fn check(plugin: &str, declared: bool, path: &Path) -> Result<PathBuf> {
    if !declared {
        return Err(Error::Assets {
            plugin: plugin.into(),
            code: NOT_DECLARED,
            message: format!("the configuration grants it the asset folder {}", path.display()),
            cause: "its manifest does not declare \"assets\": true, so it was not written to read one".into(),
            remedy:
                "remove assets: from this plugin's configuration, or use a build of the plugin that declares assets"
                    .into(),
        });
    }
    let unusable = |why: String| Error::Assets {
        plugin: plugin.into(),
        code: UNUSABLE,
        message: format!("its asset folder {} cannot be used", path.display()),
        cause: why,
        remedy: "create the folder (one subfolder per mesh version holding that release's rendered manifests) \
                 and make it readable by the host's user, or fix the path in assets:"
            .into(),
    };
    let absolute = std::fs::canonicalize(path).map_err(|e| unusable(e.to_string()))?;
    let dir = Dir::open_ambient_dir(&absolute, ambient_authority()).map_err(|e| unusable(e.to_string()))?;
    let meta = dir.dir_metadata().map_err(|e| unusable(e.to_string()))?;
    if !meta.is_dir() {
        return Err(unusable("it is not a folder".into()));
    }
    // Listing it is what a plugin does first; a folder the host may open but not read fails here.
    dir.entries().map_err(|e| unusable(e.to_string()))?;
    Ok(absolute)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: Error) -> &'static str {
        match e {
            Error::Assets { code, .. } => code,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn only_a_declared_plugin_gets_an_existing_folder() {
        let base = std::env::temp_dir().join(format!("wasmesh-assets-check-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        let file = base.join("file");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(check("p", true, &base).unwrap(), std::fs::canonicalize(&base).unwrap());
        assert_eq!(code(check("p", false, &base).unwrap_err()), NOT_DECLARED);
        assert_eq!(code(check("p", true, &base.join("missing")).unwrap_err()), UNUSABLE);
        let e = check("p", true, &file).unwrap_err();
        assert!(
            e.to_string().contains(UNUSABLE) && e.to_string().contains("create the folder"),
            "{e}"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
