//! Builds the Python translator (`plugins/python`) into a component with componentize-py, the
//! version `plugins/python/requirements.txt` pins, installed in `.toolchain/python` at the
//! repository's root.
//!
//! The build does not install anything: when the toolchain is missing or another version, it
//! returns an error that gives the install command, and the test that needs the component fails
//! with it (a missing toolchain is not a reason to skip).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the toolchain is installed, relative to the repository's root.
pub const TOOLCHAIN_DIR: &str = ".toolchain/python";
/// The translator's folder, relative to the repository's root.
pub const PLUGIN_DIR: &str = "plugins/python";

/// The command that installs the pinned toolchain, run from the repository's root.
pub fn install_command() -> String {
    // Without --upgrade: a second run changes nothing, so the build is not redone.
    format!("python3 -m pip install -q --target {TOOLCHAIN_DIR} -r {PLUGIN_DIR}/requirements.txt")
}

/// The componentize-py version `requirements.txt` pins (`componentize-py==X.Y.Z`).
pub fn pinned_version(root: &Path) -> Result<String, String> {
    let path = root.join(PLUGIN_DIR).join("requirements.txt");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("componentize-py=="))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| format!("{} pins no componentize-py==VERSION", path.display()))
}

/// The paths a build script watches: the translator, the contract and the toolchain.
pub fn inputs(root: &Path) -> Vec<PathBuf> {
    vec![root.join(PLUGIN_DIR), root.join("wit"), root.join(TOOLCHAIN_DIR)]
}

/// Builds `plugins/python` into `out` (a `.wasm` file) and appends its manifest as the
/// `wasmesh:manifest` custom section. `work` is a scratch folder for the sources as built.
pub fn build(root: &Path, work: &Path, out: &Path) -> Result<(), String> {
    let pinned = pinned_version(root)?;
    let toolchain = root.join(TOOLCHAIN_DIR);
    let missing = |what: String| {
        format!(
            "{what}. The Python translator ({PLUGIN_DIR}) is built with componentize-py {pinned}; install it \
             from the repository's root with\n    {}\nand run the tests again.",
            install_command()
        )
    };
    // A failed build leaves no component behind that a test could take for this one.
    let _ = std::fs::remove_file(out);
    if !toolchain.join("componentize_py").is_dir() {
        return Err(missing(format!("componentize-py is not installed in {TOOLCHAIN_DIR}")));
    }
    let version = componentize_py(&toolchain)
        .arg("--version")
        .output()
        .map_err(|e| missing(format!("cannot run python3: {e}")))?;
    let said = String::from_utf8_lossy(&version.stdout).trim().to_string();
    if !version.status.success() {
        return Err(missing(format!(
            "componentize-py is not installed in {TOOLCHAIN_DIR} ({})",
            String::from_utf8_lossy(&version.stderr).trim()
        )));
    }
    if said != format!("componentize-py {pinned}") {
        return Err(missing(format!(
            "{TOOLCHAIN_DIR} holds {said:?}, not componentize-py {pinned}: remove {TOOLCHAIN_DIR} first"
        )));
    }

    // The sources as built: the translator's Python files and its manifest as a module, so the
    // manifest is written once (describe reports it; the host reads it from the section).
    let plugin = root.join(PLUGIN_DIR);
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let entries = std::fs::read_dir(&plugin).map_err(|e| format!("cannot read {}: {e}", plugin.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "py") {
            std::fs::copy(&path, work.join(entry.file_name()))
                .map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
        }
    }
    let manifest =
        std::fs::read(plugin.join("manifest.json")).map_err(|e| format!("cannot read manifest.json: {e}"))?;
    let text = std::str::from_utf8(&manifest).map_err(|e| format!("manifest.json is not UTF-8: {e}"))?;
    // A JSON string literal is a Python string literal too (the file is UTF-8 text).
    std::fs::write(work.join("manifest_json.py"), format!("TEXT = {}\n", json_string(text)))
        .map_err(|e| format!("cannot write manifest_json.py: {e}"))?;

    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let built = componentize_py(&toolchain)
        .arg("--quiet")
        .arg("--wit-path")
        .arg(root.join("wit"))
        .arg("--world")
        .arg("translator")
        .arg("componentize")
        .arg("--python-path")
        .arg(work)
        .arg("--output")
        .arg(out)
        .arg("translator")
        .output()
        .map_err(|e| missing(format!("cannot run python3: {e}")))?;
    if !built.status.success() {
        return Err(format!(
            "componentize-py could not build {PLUGIN_DIR}:\n{}{}",
            String::from_utf8_lossy(&built.stdout),
            String::from_utf8_lossy(&built.stderr)
        ));
    }
    let mut wasm = std::fs::read(out).map_err(|e| format!("cannot read {}: {e}", out.display()))?;
    append_custom_section(&mut wasm, crate::MANIFEST_SECTION, &manifest);
    std::fs::write(out, wasm).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// componentize-py from the toolchain folder (its console script, without relying on the
/// script's shebang or on PATH).
fn componentize_py(toolchain: &Path) -> Command {
    let mut cmd = Command::new("python3");
    cmd.env("PYTHONPATH", toolchain)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg("-c")
        .arg("import sys; sys.argv[0] = 'componentize-py'; from componentize_py import script; script()");
    cmd
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Appends a custom section (id 0: a LEB128 size, the name as a LEB128-prefixed string, the
/// data) at the end of a component, where the component format allows one.
pub fn append_custom_section(wasm: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut body = Vec::new();
    leb128(&mut body, name.len());
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    wasm.push(0);
    leb128(wasm, body.len());
    wasm.extend_from_slice(&body);
}

fn leb128(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
