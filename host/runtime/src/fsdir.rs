//! Folders and files the host trusts with its own data (the compile cache; the audit log can use
//! the same functions), reached through cap-std handles.
//!
//! A folder is opened once, without following a link in its last component, and checked on the
//! open handle: owned by this process's effective user and writable by no one else. Everything
//! inside is then reached relative to that handle, files again without following links and
//! checked on the opened file, so a path or link planted in the folder (or a folder swapped in
//! after the check) leads nowhere else.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, File, Metadata, MetadataExt, OpenOptions, OpenOptionsExt};

use crate::errors::{Error, Result};

/// Opens the folder at `path`, creating it (and missing parents) with mode 0700 when `create`
/// is set and it does not exist. Refused when its last component is a link, when it is not a
/// folder, or when the opened folder is owned by another user or writable by group or others.
pub fn open_private_dir(path: &Path, create: bool) -> Result<Dir> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if create {
        use std::os::unix::fs::DirBuilderExt;
        match std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path) {
            Ok(()) => {}
            // A link or a file in the way: reported by the open below, with what it is.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
    }
    let dir = match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            let parent = Dir::open_ambient_dir(parent, ambient_authority()).map_err(io)?;
            match parent.open_dir_nofollow(name) {
                Ok(dir) => dir,
                Err(e) => {
                    return Err(match parent.symlink_metadata(name) {
                        Ok(m) if m.file_type().is_symlink() => not_private(path, "it is a symbolic link".into()),
                        Ok(m) if !m.is_dir() => not_private(path, "it is not a folder".into()),
                        _ => io(e),
                    });
                }
            }
        }
        // `/` or a path ending in `..`: nothing to follow in a last component.
        _ => Dir::open_ambient_dir(path, ambient_authority()).map_err(io)?,
    };
    check_private(path, &dir.dir_metadata().map_err(io)?)?;
    Ok(dir)
}

/// Opens the file `name` in `dir` for reading, without following a link, and checks the opened
/// file: a plain file owned by this process's user that no one else may write. `Ok(None)` when
/// there is no such file. `dir_path` only names the folder in errors.
pub fn open_private_file(dir: &Dir, dir_path: &Path, name: &str) -> Result<Option<File>> {
    let path = dir_path.join(name);
    let mut options = OpenOptions::new();
    options.read(true).follow(FollowSymlinks::No);
    let file = match dir.open_with(name, &options) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(match dir.symlink_metadata(name) {
                Ok(m) if m.file_type().is_symlink() => not_private(&path, "it is a symbolic link".into()),
                _ => Error::Io { path, source: e },
            });
        }
    };
    let meta = file.metadata().map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    if !meta.is_file() {
        return Err(not_private(&path, "it is not a plain file".into()));
    }
    check_private(&path, &meta)?;
    Ok(Some(file))
}

/// Reads the file `name` of `dir` as [`open_private_file`] opens it, refusing one larger than
/// `max_bytes`.
pub fn read_private_file(dir: &Dir, dir_path: &Path, name: &str, max_bytes: u64) -> Result<Option<Vec<u8>>> {
    let Some(file) = open_private_file(dir, dir_path, name)? else {
        return Ok(None);
    };
    let path = dir_path.join(name);
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    if bytes.len() as u64 > max_bytes {
        return Err(not_private(&path, format!("it is larger than {max_bytes} bytes")));
    }
    Ok(Some(bytes))
}

/// Reads the file at `path` through a handle on its folder: a link in that folder may lead to
/// another file in it, never out of it (cap-std refuses such a path). For files the operator
/// names, such as plugin files, which need not belong to the host's user.
pub fn read_in_folder(path: &Path) -> io::Result<Vec<u8>> {
    let (folder, name) = match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => (parent, name),
        (_, Some(name)) => (Path::new("."), name),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path does not name a file",
            ));
        }
    };
    Dir::open_ambient_dir(folder, ambient_authority())?.read(name)
}

/// Writes `bytes` as the file `name` of `dir`: to a new temporary file (mode 0600, never an
/// existing file or link) renamed over `name`, so a reader sees the old file or the whole new
/// one, and a link planted at `name` is replaced, not followed.
pub fn write_private_file(dir: &Dir, name: &str, bytes: &[u8]) -> io::Result<()> {
    // Unique per process and call, so concurrent writers do not collide.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = format!(".{name}.tmp{}-{seq}", std::process::id());
    let mut options = OpenOptions::new();
    options
        .write(true)
        .create_new(true)
        .mode(0o600)
        .follow(FollowSymlinks::No);
    let written = dir
        .open_with(&tmp, &options)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| dir.rename(&tmp, dir, name));
    if written.is_err() {
        let _ = dir.remove_file(&tmp);
    }
    written
}

/// The effective user id of this process: the owner every trusted folder and file must have.
pub fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn check_private(path: &Path, meta: &Metadata) -> Result<()> {
    let euid = effective_uid();
    if meta.uid() != euid {
        return Err(not_private(path, format!("it is owned by uid {}", meta.uid())));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(not_private(
            path,
            format!("its mode {mode:03o} lets group or others write it"),
        ));
    }
    Ok(())
}

fn not_private(path: &Path, problem: String) -> Error {
    Error::NotPrivate {
        path: PathBuf::from(path),
        problem,
        euid: effective_uid(),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{PermissionsExt, symlink};

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "wasmesh-fsdir-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    fn problem(e: Error) -> String {
        match e {
            Error::NotPrivate { problem, .. } => problem,
            other => panic!("not a NotPrivate error: {other}"),
        }
    }

    #[test]
    fn a_private_folder_is_created_written_and_read() {
        let root = scratch("ok");
        let path = root.join("a/b");
        let dir = open_private_dir(&path, true).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o700);
        write_private_file(&dir, "x", b"hello").unwrap();
        assert_eq!(read_private_file(&dir, &path, "x", 5).unwrap().unwrap(), b"hello");
        assert!(read_private_file(&dir, &path, "missing", 5).unwrap().is_none());
        assert!(problem(read_private_file(&dir, &path, "x", 4).unwrap_err()).contains("larger than 4 bytes"));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn links_and_shared_folders_are_refused() {
        let root = scratch("links");
        let real = root.join("real");
        open_private_dir(&real, true).unwrap();
        std::fs::write(real.join("x"), b"x").unwrap();
        std::fs::set_permissions(real.join("x"), std::fs::Permissions::from_mode(0o600)).unwrap();
        // The folder itself a link.
        symlink(&real, root.join("link")).unwrap();
        assert!(problem(open_private_dir(&root.join("link"), true).unwrap_err()).contains("symbolic link"));
        // A link inside, even to a private file next to it.
        let dir = open_private_dir(&real, false).unwrap();
        symlink("x", real.join("y")).unwrap();
        assert!(problem(open_private_file(&dir, &real, "y").unwrap_err()).contains("symbolic link"));
        // Writable by others: the file, then the folder.
        std::fs::set_permissions(real.join("x"), std::fs::Permissions::from_mode(0o620)).unwrap();
        assert!(problem(open_private_file(&dir, &real, "x").unwrap_err()).contains("mode 620"));
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(problem(open_private_dir(&real, false).unwrap_err()).contains("mode 777"));
        // Not a folder.
        assert!(problem(open_private_dir(&real.join("x"), false).unwrap_err()).contains("not a folder"));
        // A write replaces a planted link instead of following it.
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
        symlink(root.join("elsewhere"), real.join("z")).unwrap();
        write_private_file(&dir, "z", b"mine").unwrap();
        assert!(!root.join("elsewhere").exists());
        assert_eq!(std::fs::read(real.join("z")).unwrap(), b"mine");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn others_files_and_folders_are_refused() {
        if effective_uid() != 0 {
            println!("skipped: needs root to give a file to another user");
            return;
        }
        let root = scratch("owner");
        let dir = open_private_dir(&root, false).unwrap();
        std::fs::write(root.join("x"), b"x").unwrap();
        std::os::unix::fs::chown(root.join("x"), Some(65534), None).unwrap();
        assert!(problem(open_private_file(&dir, &root, "x").unwrap_err()).contains("owned by uid 65534"));
        std::os::unix::fs::chown(&root, Some(65534), None).unwrap();
        assert!(problem(open_private_dir(&root, false).unwrap_err()).contains("owned by uid 65534"));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_file_read_in_its_folder_cannot_link_out() {
        let root = scratch("folder");
        std::fs::write(root.join("a.wasm"), b"a").unwrap();
        symlink("a.wasm", root.join("inside.wasm")).unwrap();
        symlink("/etc/hostname", root.join("outside.wasm")).unwrap();
        assert_eq!(read_in_folder(&root.join("inside.wasm")).unwrap(), b"a");
        assert!(read_in_folder(&root.join("outside.wasm")).is_err());
        std::fs::remove_dir_all(root).unwrap();
    }
}
