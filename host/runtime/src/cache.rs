//! On-disk cache of compiled components, keyed by the wasm's sha256 and the engine's
//! compatibility hash. Only files this cache wrote are ever deserialised.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::errors::{Error, Result};

pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl CompileCache {
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Self {
            dir,
            engine_key: format!("{:016x}", h.finish()),
        }
    }

    /// The compiled component for `wasm`, from the cache when present; compiled and stored
    /// otherwise. Returns whether it came from the cache.
    pub(crate) fn load(&self, engine: &Engine, plugin: &str, sha256: &str, wasm: &[u8]) -> Result<(Component, bool)> {
        let Some(dir) = &self.dir else {
            return Ok((compile(engine, plugin, wasm)?, false));
        };
        // The name is made only of hex digits: nothing a plugin controls reaches the path.
        let path = dir.join(format!("{sha256}-{}.cwasm", self.engine_key));
        if !private(dir) {
            tracing::warn!(dir = %dir.display(), "compile cache not used: the folder is writable by others or not a plain folder");
            return Ok((compile(engine, plugin, wasm)?, false));
        }
        if path.is_file() && private(&path) {
            // SAFETY: the file was written by `store` below from a component this same engine
            // configuration compiled; the key includes the engine's compatibility hash.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(c) => return Ok((c, true)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding unusable compile cache entry")
                }
            }
        }
        let component = compile(engine, plugin, wasm)?;
        // A cache that cannot be written costs the next start a compile, nothing more.
        if let Err(e) = self.store(dir, &path, &component) {
            tracing::warn!(plugin, "compile cache not written: {e}");
        }
        Ok((component, false))
    }

    fn store(&self, dir: &Path, path: &Path, component: &Component) -> Result<()> {
        let io = |source| Error::Cache {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        let bytes = component
            .serialize()
            .map_err(|e| io(std::io::Error::other(e.to_string())))?;
        // Write then rename, so a concurrent reader never sees half a file; the temporary name
        // is unique per process and call, so concurrent writers do not collide.
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{seq}", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// Native code is loaded from the cache: only from a plain file or folder (not a link) that
/// no one but its owner can write. A folder that does not exist yet is fine: `store` makes it
/// private.
fn private(path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return !path.exists();
    };
    if meta.file_type().is_symlink() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o022 == 0
    }
    #[cfg(not(unix))]
    true
}

fn compile(engine: &Engine, plugin: &str, wasm: &[u8]) -> Result<Component> {
    Component::new(engine, wasm).map_err(|e| Error::InvalidComponent {
        plugin: plugin.to_string(),
        reason: format!("{e:#}"),
    })
}
