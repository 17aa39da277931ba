//! On-disk cache of compiled components, keyed by the wasm's sha256 and the engine's
//! compatibility hash.
//!
//! Native code from the cache runs unchecked (`Component::deserialize` is unsafe), so an entry is
//! used only when (1) the folder and the file are the host user's own and writable by no one
//! else, both checked on the open handles reached without following links (see [`fsdir`]), and
//! (2) the entry's header, written by this cache, names the sha256 of the very component being
//! loaded and the sha256 of the native code that follows it. An entry compiled from another
//! component (renamed or copied over), or changed after it was written, is refused and
//! recompiled, and the fresh entry replaces it. A folder that is not private is not used at all.
//!
//! The digests bind an entry to its component; they are not a signature: whoever can write the
//! folder as the host's user can write a matching header. Keeping others out is the ownership
//! check's job.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use cap_std::fs::Dir;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::errors::{Error, Result};
use crate::fsdir;

/// The start of every entry: what wrote it, and the layout version.
const MAGIC: &[u8; 16] = b"wasmesh-cwasm-1\n";
const HEADER_LEN: usize = MAGIC.len() + 32 + 32;
/// Larger entries are refused unread: compiled translators are a few MiB.
const MAX_ENTRY_BYTES: u64 = 512 << 20;

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

    /// The compiled component for `wasm` (whose sha256 is `sha256`), from the cache when a
    /// trusted entry is there; compiled and stored otherwise. Returns whether it came from the
    /// cache.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        plugin: &str,
        sha256: &str,
        wasm: &[u8],
        compile: impl Fn(&[u8]) -> Result<Component>,
    ) -> Result<(Component, bool)> {
        let Some(path) = &self.dir else {
            return Ok((compile(wasm)?, false));
        };
        let dir = match fsdir::open_private_dir(path, true) {
            Ok(dir) => dir,
            Err(e) => {
                tracing::warn!(plugin, "compile cache not used: {e}");
                return Ok((compile(wasm)?, false));
            }
        };
        // The name is made only of hex digits: nothing a plugin controls reaches the path.
        let name = format!("{sha256}-{}.cwasm", self.engine_key);
        match read_entry(&dir, path, &name, sha256) {
            Ok(Some(native)) => {
                // SAFETY: the folder and file are the host user's own (checked on the open
                // handles), and the header written by `store` binds the native code to this very
                // component and to its own digest; the name includes the engine's compatibility
                // hash.
                match unsafe { Component::deserialize(engine, native) } {
                    Ok(c) => return Ok((c, true)),
                    Err(e) => {
                        tracing::warn!(plugin, entry = %path.join(&name).display(), error = %e, "discarding unusable compile cache entry")
                    }
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(plugin, "{e}"),
        }
        let component = compile(wasm)?;
        // A cache that cannot be written costs the next start a compile, nothing more.
        if let Err(e) = store(&dir, &name, sha256, &component) {
            tracing::warn!(
                plugin,
                "compile cache entry {} not written: {e}",
                path.join(&name).display()
            );
        }
        Ok((component, false))
    }
}

/// The native code of the entry `name`, once its header vouches for it; None when absent.
fn read_entry(dir: &Dir, dir_path: &Path, name: &str, sha256: &str) -> Result<Option<Vec<u8>>> {
    let refuse = |problem: String| Error::CacheEntry {
        path: dir_path.join(name),
        problem,
    };
    let bytes = match fsdir::read_private_file(dir, dir_path, name, MAX_ENTRY_BYTES) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(None),
        Err(e) => return Err(refuse(e.to_string())),
    };
    if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return Err(refuse("it was not written by this version of wasmesh".into()));
    }
    let (wasm_digest, rest) = bytes[MAGIC.len()..].split_at(32);
    let (native_digest, native) = rest.split_at(32);
    if hex::encode(wasm_digest) != sha256 {
        return Err(refuse(format!(
            "it was compiled from another component (sha256 {}), not from this one ({sha256})",
            hex::encode(wasm_digest)
        )));
    }
    if Sha256::digest(native).as_slice() != native_digest {
        return Err(refuse(
            "its native code does not match the digest written with it (it was changed)".into(),
        ));
    }
    Ok(Some(native.to_vec()))
}

fn store(dir: &Dir, name: &str, sha256: &str, component: &Component) -> std::io::Result<()> {
    let native = component
        .serialize()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let wasm_digest = hex::decode(sha256).map_err(std::io::Error::other)?;
    let mut entry = Vec::with_capacity(HEADER_LEN + native.len());
    entry.extend_from_slice(MAGIC);
    entry.extend_from_slice(&wasm_digest);
    entry.extend_from_slice(&Sha256::digest(&native));
    entry.extend_from_slice(&native);
    fsdir::write_private_file(dir, name, &entry)
}
