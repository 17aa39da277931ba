//! The translators built into the binary, and reading the others from disk.

use std::borrow::Cow;

use crate::config::PluginConfig;
use crate::errors::{Error, Result};

static LINKERD: &[u8] = include_bytes!(env!("WASMESH_BUILTIN_LINKERD"));
static ISTIO: &[u8] = include_bytes!(env!("WASMESH_BUILTIN_ISTIO"));
static KUMA: &[u8] = include_bytes!(env!("WASMESH_BUILTIN_KUMA"));

/// Names of the built-in translators.
pub const BUILTINS: &[&str] = &["linkerd", "istio", "kuma"];

pub fn component_bytes(pc: &PluginConfig) -> Result<Cow<'static, [u8]>> {
    match (&pc.builtin, &pc.path) {
        (Some(b), None) => match b.as_str() {
            "linkerd" => Ok(Cow::Borrowed(LINKERD)),
            "istio" => Ok(Cow::Borrowed(ISTIO)),
            "kuma" => Ok(Cow::Borrowed(KUMA)),
            other => Err(Error::Config(format!(
                "plugin \"{}\": there is no built-in translator \"{other}\" (built-in: {})",
                pc.name,
                BUILTINS.join(", ")
            ))),
        },
        // Read through a handle on the plugin's folder: a link there cannot lead out of it.
        (None, Some(path)) => wasmesh_runtime::fsdir::read_in_folder(path)
            .map(Cow::Owned)
            .map_err(|source| Error::ReadPlugin {
                name: pc.name.clone(),
                path: path.clone(),
                source,
            }),
        _ => Err(Error::Config(format!(
            "plugin \"{}\" must name exactly one of builtin or path",
            pc.name
        ))),
    }
}
