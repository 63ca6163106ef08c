//! The read-only view of the document root that a route may grant a guest:
//! each directory mount at a path in the guest's file system — the
//! document root at [`DOC_ROOT`], an alias at its URL prefix — so that a
//! path a handler builds from its own URL is the path of the file in the
//! view. One-file aliases are left out (their directory holds more).

use crate::mounts::{Mounts, Resolved};
use crate::worlds::handler::{Grant, ViewPaths};

/// Where the document root is in a guest's file system.
pub const DOC_ROOT: &str = "/";

/// Where a directory mounted at URL prefix `url_path` is in the view.
fn guest_path(url_path: &str) -> String {
    if url_path == "/" {
        return DOC_ROOT.to_string();
    }
    url_path.trim_end_matches('/').to_string()
}

/// The view of every directory mount, naming `script` (a file resolved
/// under one of them) as the request's file.
pub fn grant(mounts: &Mounts, script: Option<&Resolved>) -> Grant {
    let mut dirs = Vec::new();
    let mut aliases = Vec::new();
    for (url_path, dir) in mounts.directories() {
        let at = guest_path(url_path);
        if url_path != "/" {
            aliases.push((url_path.to_string(), at.clone()));
        }
        dirs.push((dir.to_path_buf(), at));
    }
    let script = script.map(|r| {
        let base = guest_path(&r.url_base);
        let rel = r.rel.to_string_lossy();
        if base.ends_with('/') {
            format!("{base}{rel}")
        } else {
            format!("{base}/{rel}")
        }
    });
    Grant {
        dirs,
        paths: ViewPaths {
            doc_root: DOC_ROOT.to_string(),
            aliases,
            script,
        },
    }
}
