//! The document root and its aliases: mapping a URL path to a file under one
//! of them, so that no request can ever reach a byte outside them.
//!
//! Each mount's directory is opened once, at start-up; every file is then
//! opened *beneath* that handle (`openat2` with `RESOLVE_BENEATH` and
//! `RESOLVE_NO_MAGICLINKS`): the kernel refuses a path that would leave the
//! directory, through `..`, an absolute symlink, a symlink pointing out, or a
//! `/proc` magic link — also when a directory is swapped for a symlink while
//! requests run, since nothing is looked up by path twice. Only regular
//! files and directories are served: a FIFO or device is opened without
//! blocking and refused after `fstat`.
//!
//! Refused before any lookup (as not found): `.` and `..` segments (also
//! percent-encoded), percent-encoded `/` and `\`, a backslash or NUL
//! anywhere.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustix::fs::{Mode, OFlags, ResolveFlags};

/// A mount's directory, open: what every file under it is opened relative to.
#[derive(Debug)]
pub struct RootDir {
    fd: OwnedFd,
    /// Where it is (for names, never for opening).
    path: PathBuf,
}

/// What opening a path beneath a root found.
#[derive(Debug)]
pub struct Opened {
    /// The open file or directory.
    pub file: File,
    /// Its metadata, from the open handle.
    pub meta: std::fs::Metadata,
}

impl RootDir {
    /// Opens the directory at `path`.
    pub fn open_dir(path: &Path) -> io::Result<RootDir> {
        let fd = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(RootDir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// Where the directory is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `rel` (relative, may be empty for the directory itself)
    /// beneath this directory: a regular file or a directory, never anything
    /// outside. Nothing there, a path that leads out, or another kind of
    /// file is [`ResolveError::Missing`] or [`ResolveError::Refused`].
    pub fn open(&self, rel: &Path) -> Result<Opened, ResolveError> {
        let rel: &Path = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let fd = match self.open_beneath(rel) {
            // An absolute symlink: allowed where it leads back inside. Its
            // target, made relative, is opened beneath the directory again,
            // so a link changed meanwhile still cannot lead out.
            Err(rustix::io::Errno::XDEV) => {
                let inside = self
                    .path
                    .join(rel)
                    .canonicalize()
                    .ok()
                    .and_then(|real| real.strip_prefix(&self.path).ok().map(Path::to_path_buf))
                    .ok_or(ResolveError::Refused("leads outside the document root"))?;
                let inside: &Path = if inside.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    &inside
                };
                self.open_beneath(inside)
            }
            other => other,
        }
        .map_err(|e| match e {
            rustix::io::Errno::XDEV => ResolveError::Refused("leads outside the document root"),
            rustix::io::Errno::NOENT
            | rustix::io::Errno::NOTDIR
            | rustix::io::Errno::LOOP
            | rustix::io::Errno::NAMETOOLONG => ResolveError::Missing,
            other => ResolveError::Io(other.into()),
        })?;
        let file = File::from(fd);
        let meta = file.metadata().map_err(ResolveError::Io)?;
        if !(meta.is_file() || meta.is_dir()) {
            return Err(ResolveError::Refused("not a regular file"));
        }
        Ok(Opened { file, meta })
    }

    fn open_beneath(&self, rel: &Path) -> Result<OwnedFd, rustix::io::Errno> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
        let how = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        rustix::fs::openat2(&self.fd, rel, flags, Mode::empty(), how)
    }

    /// The bytes of `rel` beneath this directory; `Ok(None)` when there is
    /// nothing usable there.
    pub fn read(&self, rel: &Path) -> io::Result<Option<Vec<u8>>> {
        use std::io::Read;
        match self.open(rel) {
            Ok(mut opened) if opened.meta.is_file() => {
                let mut bytes = Vec::with_capacity(opened.meta.len() as usize);
                opened.file.read_to_end(&mut bytes)?;
                Ok(Some(bytes))
            }
            Ok(_) | Err(ResolveError::Missing | ResolveError::Refused(_)) => Ok(None),
            Err(ResolveError::Io(e)) => Err(e),
        }
    }
}

/// A URL prefix served from a local directory, or one URL served by one file.
#[derive(Debug)]
struct Mount {
    /// The URL path: a prefix ending in `/` for a directory, exact for a file.
    url_path: String,
    /// The directory (the file's directory, for a one-file alias).
    dir: Arc<RootDir>,
    /// The file's name in `dir`, for a one-file alias.
    file: Option<OsString>,
}

/// The document root and the aliases mounted beside it.
#[derive(Debug)]
pub struct Mounts {
    /// Longest URL prefix first; the document root (`/`) last.
    mounts: Vec<Mount>,
}

/// A request path resolved to a place under a mount (not opened yet).
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Where it is: the mount's directory joined with `rel` (for names and
    /// `fs_path`; never opened by this path).
    pub path: PathBuf,
    /// The path below the mount's directory.
    pub rel: PathBuf,
    /// The mount's directory.
    pub root: PathBuf,
    /// The URL prefix of that mount.
    pub url_base: String,
    /// The mount's directory, open.
    pub dir: Arc<RootDir>,
}

impl Resolved {
    /// Opens what is there, beneath the mount's directory.
    pub fn open(&self) -> Result<Opened, ResolveError> {
        self.dir.open(&self.rel)
    }
}

/// Why a path was not resolved: the first two answer 404, the last 500.
#[derive(Debug)]
pub enum ResolveError {
    /// The path is not allowed (traversal, NUL, encoded separators, a way
    /// out of the mount, a FIFO or device…).
    Refused(&'static str),
    /// Nothing is there (or a symlink loop, or a name too long).
    Missing,
    /// Something is there but could not be looked at.
    Io(io::Error),
}

impl std::error::Error for ResolveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ResolveError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::Refused(why) => write!(f, "path refused: {why}"),
            ResolveError::Missing => write!(f, "not found"),
            ResolveError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// A document root or alias that cannot be mounted.
#[derive(Debug)]
pub struct MountError {
    /// `"document root"` or `"alias"`.
    pub what: &'static str,
    /// The path as configured.
    pub path: PathBuf,
    /// The system's answer.
    pub source: io::Error,
}

impl std::fmt::Display for MountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.what, self.path.display(), self.source)
    }
}

impl std::error::Error for MountError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Mounts {
    /// The document root and aliases `(url_path, local_path)`. Paths must
    /// exist, and the document root must be a directory; they are made
    /// canonical and their directories opened here.
    pub fn new(doc_root: &Path, aliases: &[(String, PathBuf)]) -> Result<Self, MountError> {
        let error = |what: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| MountError { what, path, source }
        };
        let mut mounts = Vec::with_capacity(aliases.len() + 1);
        for (url_path, local) in aliases {
            let url_path = if url_path.starts_with('/') {
                url_path.clone()
            } else {
                format!("/{url_path}")
            };
            let canonical = local.canonicalize().map_err(error("alias", local))?;
            let (dir, file) = if canonical.is_dir() {
                (canonical, None)
            } else {
                let name = canonical.file_name().map(OsStr::to_os_string);
                let parent = canonical.parent().unwrap_or(Path::new("/")).to_path_buf();
                (parent, name)
            };
            mounts.push(Mount {
                url_path,
                dir: Arc::new(RootDir::open_dir(&dir).map_err(error("alias", local))?),
                file,
            });
        }
        mounts.sort_by_key(|m| std::cmp::Reverse(m.url_path.len()));
        let canonical = doc_root
            .canonicalize()
            .map_err(error("document root", doc_root))?;
        if !canonical.is_dir() {
            return Err(error("document root", doc_root)(io::Error::other(
                "not a directory",
            )));
        }
        mounts.push(Mount {
            url_path: "/".to_string(),
            dir: Arc::new(RootDir::open_dir(&canonical).map_err(error("document root", doc_root))?),
            file: None,
        });
        Ok(Mounts { mounts })
    }

    /// Every mount that is a directory: its URL prefix and its canonical
    /// directory, the document root (`/`) last.
    pub fn directories(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.mounts
            .iter()
            .filter(|m| m.file.is_none())
            .map(|m| (m.url_path.as_str(), m.dir.path()))
    }

    /// The canonical document root.
    pub fn doc_root(&self) -> &Path {
        self.doc_root_dir().path()
    }

    /// The document root, open.
    pub fn doc_root_dir(&self) -> &Arc<RootDir> {
        &self.mounts[self.mounts.len() - 1].dir
    }

    /// Resolves a raw (percent-encoded) URL path to a place under a mount.
    pub fn resolve(&self, raw_path: &str) -> Result<Resolved, ResolveError> {
        let lower_has = |needle: &str| {
            raw_path
                .as_bytes()
                .windows(3)
                .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
        };
        if lower_has("%2f") || lower_has("%5c") {
            return Err(ResolveError::Refused("encoded path separator"));
        }
        let decoded: Vec<u8> = percent_decode_str(raw_path).collect();
        if decoded.contains(&0) {
            return Err(ResolveError::Refused("NUL byte"));
        }
        if decoded.contains(&b'\\') {
            return Err(ResolveError::Refused("backslash"));
        }
        if decoded
            .split(|&b| b == b'/')
            .any(|seg| seg == b".." || seg == b".")
        {
            return Err(ResolveError::Refused("dot segment"));
        }
        let decoded = if decoded.first() == Some(&b'/') {
            decoded
        } else {
            [b"/".as_slice(), &decoded].concat()
        };
        for mount in &self.mounts {
            let url = mount.url_path.as_bytes();
            let rel = if url.ends_with(b"/") {
                match decoded.strip_prefix(url) {
                    Some(rel) => rel,
                    None if decoded == url[..url.len() - 1] => b"",
                    None => continue,
                }
            } else if decoded == url {
                b""
            } else {
                continue;
            };
            let rel = match &mount.file {
                Some(name) => PathBuf::from(name),
                None => PathBuf::from(OsStr::from_bytes(trim_slashes(rel))),
            };
            let root = mount.dir.path().to_path_buf();
            let path = if rel.as_os_str().is_empty() {
                root.clone()
            } else {
                root.join(&rel)
            };
            return Ok(Resolved {
                path,
                rel,
                root,
                url_base: mount.url_path.clone(),
                dir: mount.dir.clone(),
            });
        }
        Err(ResolveError::Missing)
    }

    /// How a file under a mount is named in messages: its URL path (the
    /// mount's URL prefix and the path below it), never where it is on the
    /// server's file system. A file outside every mount is named by its file
    /// name alone.
    pub fn display(&self, path: &Path) -> String {
        for mount in &self.mounts {
            if let Ok(rel) = path.strip_prefix(mount.dir.path()) {
                match &mount.file {
                    Some(name) if rel == Path::new(name) => return mount.url_path.clone(),
                    Some(_) => continue,
                    None => return format!("{}{}", mount.url_path, rel.to_string_lossy()),
                }
            }
        }
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

fn trim_slashes(mut s: &[u8]) -> &[u8] {
    while let Some(rest) = s.strip_prefix(b"/") {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (PathBuf, Mounts) {
        let base = std::env::temp_dir().join(format!("sandserve-resolve-{}", fastrand::u64(..)));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("dir")).unwrap();
        std::fs::create_dir_all(base.join("outside")).unwrap();
        std::fs::write(root.join("dir/a..b.txt"), "x").unwrap();
        std::fs::write(root.join("top.txt"), "x").unwrap();
        std::fs::write(base.join("outside/secret"), "s").unwrap();
        std::os::unix::fs::symlink(base.join("outside"), root.join("escape")).unwrap();
        std::os::unix::fs::symlink("../outside/secret", root.join("relative-escape")).unwrap();
        std::os::unix::fs::symlink("/proc/self/root/etc/passwd", root.join("magic")).unwrap();
        std::os::unix::fs::symlink(root.join("top.txt"), root.join("inside-link")).unwrap();
        std::os::unix::fs::symlink("top.txt", root.join("relative-inside")).unwrap();
        let mounts = Mounts::new(&root, &[]).unwrap();
        (base, mounts)
    }

    fn opens(m: &Mounts, path: &str) -> bool {
        m.resolve(path).and_then(|r| r.open()).is_ok()
    }

    #[test]
    fn resolves_inside_and_refuses_outside() {
        let (base, m) = tree();
        for good in [
            "/top.txt",
            "/dir/a..b.txt",
            "/relative-inside",
            "/inside-link",
            "/dir/",
            "/",
        ] {
            assert!(opens(&m, good), "{good}");
        }
        let top = m.resolve("/top.txt").unwrap();
        assert_eq!(m.display(&top.path), "/top.txt");
        assert_eq!(m.display(Path::new("/elsewhere/x.wasm")), "x.wasm");
        for bad in [
            "/../outside/secret",
            "/dir/../top.txt",
            "/%2e%2e/outside/secret",
            "/dir/%2E%2E/top.txt",
            "/..%2foutside/secret",
            "/%2fetc/passwd",
            "/dir%5c..%5ctop.txt",
            "/top.txt%00.html",
            "/escape/secret",
            "/relative-escape",
            "/magic",
            "/./top.txt",
            "/missing",
        ] {
            assert!(!opens(&m, bad), "{bad}");
        }
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn fifos_and_devices_are_not_files() {
        let (base, m) = tree();
        let fifo = base.join("root/pipe");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        std::os::unix::fs::symlink("/dev/zero", base.join("root/zero")).unwrap();
        assert!(matches!(
            m.resolve("/pipe").unwrap().open(),
            Err(ResolveError::Refused(_))
        ));
        assert!(!opens(&m, "/zero"), "an absolute link out");
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn a_directory_swapped_for_a_link_while_open_leads_nowhere() {
        let (base, m) = tree();
        let resolved = m.resolve("/dir/a..b.txt").unwrap();
        std::fs::rename(base.join("root/dir"), base.join("root/dir-moved")).unwrap();
        std::os::unix::fs::symlink(base.join("outside"), base.join("root/dir")).unwrap();
        std::fs::write(base.join("outside/a..b.txt"), "outside!").unwrap();
        assert!(resolved.open().is_err(), "the swapped-in link leads out");
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn aliases_take_the_longest_prefix() {
        let (base, _) = tree();
        std::fs::create_dir_all(base.join("lib/sub")).unwrap();
        std::fs::write(base.join("lib/sub/x.js"), "x").unwrap();
        std::fs::write(base.join("one.txt"), "1").unwrap();
        let m = Mounts::new(
            &base.join("root"),
            &[
                ("/lib/".to_string(), base.join("lib")),
                ("/lib/sub/".to_string(), base.join("lib/sub")),
                ("/single".to_string(), base.join("one.txt")),
            ],
        )
        .unwrap();
        let r = m.resolve("/lib/sub/x.js").unwrap();
        assert_eq!(r.url_base, "/lib/sub/");
        assert!(r.open().is_ok());
        assert_eq!(m.display(&r.path), "/lib/sub/x.js");
        let r = m.resolve("/single").unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut r.open().unwrap().file, &mut text).unwrap();
        assert_eq!(text, "1");
        assert_eq!(m.display(&r.path), "/single");
        assert!(!opens(&m, "/single/more"));
        assert!(opens(&m, "/top.txt"), "the document root is still there");
        assert!(matches!(
            m.resolve("/lib/../top.txt"),
            Err(ResolveError::Refused(_))
        ));
        std::fs::remove_dir_all(base).unwrap();
    }
}
