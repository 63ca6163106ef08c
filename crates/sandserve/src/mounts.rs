//! The document root and its aliases: mapping a URL path to a file under one
//! of them, so that no request can ever reach a byte outside them.
//!
//! Refused (as not found): `.` and `..` segments (also percent-encoded),
//! percent-encoded `/` and `\`, a backslash or NUL anywhere, and any path whose
//! real location (after following symlinks) is outside the mount it was
//! requested under.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

/// A URL prefix served from a local directory, or one URL served by one file.
#[derive(Clone, Debug)]
pub struct Mount {
    /// The URL path: a prefix ending in `/` for a directory, exact for a file.
    pub url_path: String,
    /// The local directory or file, canonical.
    pub local: PathBuf,
}

/// The document root and the aliases mounted beside it.
#[derive(Clone, Debug)]
pub struct Mounts {
    /// Longest URL prefix first; the document root (`/`) last.
    mounts: Vec<Mount>,
}

/// A request path resolved to a file system path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The path as requested, under the mount (names come from here).
    pub path: PathBuf,
    /// Where it really is (what is opened).
    pub real: PathBuf,
    /// The root directory of the mount it is under.
    pub root: PathBuf,
    /// The URL prefix of that mount.
    pub url_base: String,
}

/// Why a path was not resolved: the first two answer 404, the last 500.
#[derive(Debug)]
pub enum ResolveError {
    /// The path is not allowed (traversal, NUL, encoded separators…).
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
    /// canonical here.
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
            mounts.push(Mount {
                url_path,
                local: local.canonicalize().map_err(error("alias", local))?,
            });
        }
        mounts.sort_by_key(|m| std::cmp::Reverse(m.url_path.len()));
        mounts.push(Mount {
            url_path: "/".to_string(),
            local: doc_root
                .canonicalize()
                .map_err(error("document root", doc_root))?,
        });
        let mounts = Mounts { mounts };
        if !mounts.doc_root().is_dir() {
            return Err(error("document root", doc_root)(io::Error::other(
                "not a directory",
            )));
        }
        Ok(mounts)
    }

    /// The canonical document root.
    pub fn doc_root(&self) -> &Path {
        &self.mounts[self.mounts.len() - 1].local
    }

    /// Resolves a raw (percent-encoded) URL path.
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
            let rel = trim_slashes(rel);
            let path = if rel.is_empty() {
                mount.local.clone()
            } else {
                mount.local.join(OsStr::from_bytes(rel))
            };
            let real = path.canonicalize().map_err(|e| {
                let gone = matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) || matches!(
                    e.raw_os_error(),
                    Some(libc_errno::ELOOP | libc_errno::ENAMETOOLONG)
                );
                if gone {
                    ResolveError::Missing
                } else {
                    ResolveError::Io(e)
                }
            })?;
            if !real.starts_with(&mount.local) {
                return Err(ResolveError::Refused("leads outside the document root"));
            }
            let root = if mount.local.is_dir() {
                mount.local.clone()
            } else {
                mount.local.parent().unwrap_or(&mount.local).to_path_buf()
            };
            return Ok(Resolved {
                path,
                real,
                root,
                url_base: mount.url_path.clone(),
            });
        }
        Err(ResolveError::Missing)
    }
}

impl Mounts {
    /// How a file under a mount is named in messages: its URL path (the
    /// mount's URL prefix and the path below it), never where it is on the
    /// server's file system. A file outside every mount is named by its file
    /// name alone.
    pub fn display(&self, path: &Path) -> String {
        for mount in &self.mounts {
            if let Ok(rel) = path.strip_prefix(&mount.local) {
                let rel = rel.to_string_lossy();
                return if mount.url_path.ends_with('/') {
                    format!("{}{rel}", mount.url_path)
                } else {
                    mount.url_path.clone()
                };
            }
        }
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The two `errno` values that mean "nothing usable is there".
mod libc_errno {
    pub const ELOOP: i32 = 40;
    pub const ENAMETOOLONG: i32 = 36;
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
        std::os::unix::fs::symlink(root.join("top.txt"), root.join("inside-link")).unwrap();
        let mounts = Mounts::new(&root, &[]).unwrap();
        (base, mounts)
    }

    #[test]
    fn resolves_inside_and_refuses_outside() {
        let (base, m) = tree();
        assert!(m.resolve("/top.txt").is_ok());
        assert!(m.resolve("/dir/a..b.txt").is_ok());
        assert!(m.resolve("/inside-link").is_ok());
        assert!(m.resolve("/dir/").is_ok());
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
            "/./top.txt",
            "/missing",
        ] {
            assert!(m.resolve(bad).is_err(), "{bad}");
        }
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
        assert!(r.real.ends_with("lib/sub/x.js"));
        assert_eq!(m.display(&r.path), "/lib/sub/x.js");
        let r = m.resolve("/single").unwrap();
        assert!(r.real.ends_with("one.txt"));
        assert_eq!(r.root, base.canonicalize().unwrap());
        assert!(m.resolve("/single/more").is_err());
        assert!(
            m.resolve("/top.txt").is_ok(),
            "the document root is still there"
        );
        assert!(matches!(
            m.resolve("/lib/../top.txt"),
            Err(ResolveError::Refused(_))
        ));
        std::fs::remove_dir_all(base).unwrap();
    }
}
